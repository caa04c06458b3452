// `tdseg bench std`: the STD heads against a plain softmax + NLL head, on the GPU or the CPU.
// Each row times loss = cross_entropy(head(o), labels) on random logits o [N, C, H, W]: its
// forward (recording the graph, as in training) and its forward + backward (dL/do only;
// lambda, eps and sigma frozen, as in the paper), medians over --repeat runs after one
// warm-up, between points on the device's timeline (CUDA events on its stream, or the host
// clock). Beside the times: the bytes the row must move by the byte model (byte_model.h),
// the GB/s that makes, its fraction of the device-to-device copy's GB/s measured in the
// same run, and the peak of the GPU's caching allocator during the row (the logits, labels and
// copies of the logits included; the CPU keeps no count). On the GPU, --kernels passes
// runs the fused heads on the separate blur passes forward and the tile kernel back
// instead of the one-kernel iteration (cuda::set_std_kernels), and --kernels both adds
// those rows after the others: one run times one against the other.
#include <algorithm>
#include <cstdio>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/ops.h"
#include "layers/std/std_block.h"
#if defined(TDSEG_WITH_CUDA)
#include "layers/std/std_fused_cuda.h"
#endif
#include "tools/tdseg/bench_common.h"
#include "tools/tdseg/byte_model.h"
#include "tools/tdseg/commands.h"

namespace tdseg::cli {

namespace {

struct Head {
  const char* key;   // the JSON name
  const char* name;  // the table's
  StdPrior prior;    // None: the baseline, the loss on the logits themselves
  StdImpl impl;
  int64_t iters;
  bool passes = false;  // the fused form on the passes and the tile kernel (--kernels)
};

const Head kHeads[] = {
    {"softmax_nll", "softmax + NLL", StdPrior::None, StdImpl::Fused, 0},
    {"std_composed", "STD composed", StdPrior::STD, StdImpl::Composed, 10},
    {"std_fused", "STD fused", StdPrior::STD, StdImpl::Fused, 10},
    {"vp_std_fused", "VP-STD fused", StdPrior::VP, StdImpl::Fused, 10},
    {"ss_std_fused", "SS-STD fused", StdPrior::SS, StdImpl::Fused, 50},
};

// The fused heads on the passes forward and the tile kernel back (--kernels passes, both).
const Head kPassesHeads[] = {
    {"std_passes", "STD passes", StdPrior::STD, StdImpl::Fused, 10, true},
    {"vp_std_passes", "VP-STD passes", StdPrior::VP, StdImpl::Fused, 10, true},
    {"ss_std_passes", "SS-STD passes", StdPrior::SS, StdImpl::Fused, 50, true},
};

// The rows of --kernels one, passes or both.
std::vector<Head> heads_for(const std::string& kernels) {
  std::vector<Head> heads(std::begin(kHeads), std::end(kHeads));
  if (kernels == "passes") heads.resize(2);  // the baseline and STD composed
  if (kernels != "one") heads.insert(heads.end(), std::begin(kPassesHeads), std::end(kPassesHeads));
  return heads;
}

// While a row runs: the kernels it names; then the one-kernel iteration again.
struct KernelChoice {
  explicit KernelChoice(bool passes) { set(passes); }
  ~KernelChoice() { set(false); }
  static void set(bool passes) {
#if defined(TDSEG_WITH_CUDA)
    cuda::set_std_kernels(passes ? cuda::StdKernels::Passes : cuda::StdKernels::OneKernel);
#else
    (void)passes;
#endif
  }
};

// A row's StdConfig: the paper's block with this row's prior, form and T.
StdConfig head_config(const Head& h) {
  StdConfig c;
  c.prior = h.prior;
  c.impl = h.impl;
  c.iters = h.iters;
  return c;
}

// What the fused form keeps for its backward (std_memory_plan): "all" or "checkpoints/k".
std::string save_name(const Head& h, const Shape& shape) {
  if (h.prior == StdPrior::None || h.impl == StdImpl::Composed) return "-";
  const StdMemoryPlan plan = std_memory_plan(head_config(h), shape, DType::Float32);
  return plan.every == 1 ? "all" : cat("checkpoints/", plan.every);
}

struct Inputs {
  Tensor logits, labels;
  StdExtras extras;
};

struct Result {
  double forward_ms = 0, total_ms = 0;
  std::optional<double> peak_mib;
  std::string error;  // why the row could not run (out of memory, a missing CUDA twin)
};

Result time_head(const Head& h, const Inputs& in, Device device, int repeat) {
  const KernelChoice kernels(h.passes);
  const StdConfig c = head_config(h);
  StdParams p = std_params(c, in.logits.size(1), in.logits.dtype());
  for (Tensor* t : {&p.lambda, &p.eps, &p.sigma}) *t = t->to(device);
  auto loss_of = [&](const Tensor& o) {
    return ops::cross_entropy(h.prior == StdPrior::None ? o : std_block(o, p, in.extras, c), in.labels);
  };
  Result res;
  try {
    reset_peak_memory(device);
    Timeline line(device, 3);
    std::vector<double> forward, total;
    for (int r = 0; r <= repeat; ++r) {
      Tensor o = in.logits.clone();
      o.set_requires_grad(true);
      line.mark(0);
      const Tensor loss = loss_of(o);
      line.mark(1);
      loss.backward();
      line.mark(2);
      if (r == 0) continue;  // warm-up
      forward.push_back(line.ms(0, 1));
      total.push_back(line.ms(0, 2));
    }
    res.forward_ms = median(forward);
    res.total_ms = median(total);
    res.peak_mib = peak_memory_mib(device);
  } catch (const std::bad_alloc&) {
    res.error = "out of memory";
  } catch (const Error& e) {
    res.error = e.what();
  }
  return res;
}

// --preset: the paper's training shapes, batch 16 for all three (Cityscapes' float32
// [16, 19, 769, 769] is 0.72 GB an array; whether STD composed's graph fits a GPU there is
// not measured yet: a row that runs out of memory reports it, and the others run).
Shape preset_shape(const std::string& name) {
  if (name == "voc") return {16, 21, 513, 513};
  if (name == "cityscapes") return {16, 19, 769, 769};
  if (name == "isic") return {16, 2, 513, 513};
  throw UsageError("bench std: --preset must be voc, cityscapes or isic, got '" + name + "'");
}

}  // namespace

int bench_std(Args& args) {
  const Device device = bench_device(args, "bench std");
  const int repeat = static_cast<int>(args.int_or("repeat", device.is_cuda() ? 20 : 5, 1, 10000));
  const auto preset = args.option("preset");
  const auto shape_arg = args.option("shape");
  const std::string dtype_arg = args.option_or("dtype", "float32");
  const std::string kernels = args.option_or("kernels", "one");
  const bool json = args.flag("json");
  args.finish(1);
  check<UsageError>(kernels == "one" || kernels == "passes" || kernels == "both",
                    "bench std: --kernels must be one, passes or both, got '", kernels, "'");
  check<UsageError>(kernels == "one" || device.is_cuda(), "bench std: --kernels ", kernels,
                    " chooses the GPU's kernels; it needs --device cuda");
  check<UsageError>(!(preset && shape_arg), "bench std: give --preset or --shape, not both");
  check<UsageError>(dtype_arg == "float32" || dtype_arg == "float64",
                    "bench std: --dtype must be float32 or float64, got '", dtype_arg, "'");
  const DType dtype = dtype_arg == "float32" ? DType::Float32 : DType::Float64;
  Shape shape = device.is_cuda() ? preset_shape("voc") : Shape{2, 21, 129, 129};
  if (preset) shape = preset_shape(*preset);
  if (shape_arg) shape = parse_sizes(*shape_arg, ',', 4, "bench std: --shape expects N,C,H,W such as 16,21,513,513");
  const int64_t N = shape[0], C = shape[1], H = shape[2], W = shape[3];
  check<UsageError>(C >= 2, "bench std: --shape needs C >= 2 classes (SS-STD's star class is 1), got ", C);
  if (!json && device.is_cpu()) note_cpu_fallback();

  Generator gen(1);
  const Tensor labels = random_labels(N, H, W, C, gen);
  const Inputs in{Tensor::randn(shape, gen, dtype).to(device), labels.to(device),
                  label_extras(labels, C, StdConfig().star_class, dtype, device)};
  const double copy = copy_gbps(device, repeat);
  const std::vector<Head> heads = heads_for(kernels);
  std::vector<Result> results;
  for (const Head& h : heads) results.push_back(time_head(h, in, device, repeat));

  const double base = results[0].total_ms, elements = static_cast<double>(numel(shape));
  bool failed = false;
  nlohmann::json rows = nlohmann::json::array();
  if (!json)
    std::printf("STD heads on %s, logits %s %s, K=7, sigma=5, median of %d runs; copy %.1f GB/s\n"
                "%-14s %3s %-14s %9s %11s %7s %9s %8s %6s %9s\n",
                device_name(device).c_str(), dtype_name(dtype), shape_str(shape).c_str(), repeat, copy,
                "head", "T", "saved", "fwd ms", "fwd+bwd ms", "/base", "model GB", "GB/s", "/copy",
                "peak MiB");
  for (size_t k = 0; k < results.size(); ++k) {
    const Head& h = heads[k];
    const Result& r = results[k];
    failed |= !r.error.empty();
    const std::optional<Traffic> per_element = bytes_moved(head_config(h), h.passes, shape, dtype);
    std::optional<double> bytes, forward_bytes, gbps, forward_gbps, of_copy;
    if (per_element && r.error.empty()) {
      forward_bytes = per_element->forward * elements;
      bytes = (per_element->forward + per_element->backward) * elements;
      forward_gbps = *forward_bytes / (r.forward_ms * 1e6);
      gbps = *bytes / (r.total_ms * 1e6);
      of_copy = *gbps / copy;
    }
    if (json) {
      nlohmann::json j = {{"key", h.key}, {"head", h.name}, {"iters", h.iters}, {"saved", save_name(h, shape)}};
      if (!r.error.empty()) {
        j["error"] = r.error;
      } else {
        j["forward_ms"] = r.forward_ms;
        j["forward_backward_ms"] = r.total_ms;
        j["ratio_to_baseline"] = r.total_ms / base;
        j["forward_bytes"] = number_or_null(forward_bytes);
        j["bytes"] = number_or_null(bytes);
        j["forward_gbps"] = number_or_null(forward_gbps);
        j["gbps"] = number_or_null(gbps);
        j["fraction_of_copy"] = number_or_null(of_copy);
        j["peak_mib"] = number_or_null(r.peak_mib);
      }
      rows.push_back(j);
      continue;
    }
    if (!r.error.empty()) {
      std::printf("%-14s %3lld n/a: %s\n", h.name, static_cast<long long>(h.iters), r.error.c_str());
      continue;
    }
    const std::optional<double> gb = bytes ? std::optional<double>(*bytes * 1e-9) : std::nullopt;
    std::printf("%-14s %3lld %-14s %9.2f %11.2f %7.2f %9s %8s %6s %9s\n", h.name,
                static_cast<long long>(h.iters), save_name(h, shape).c_str(), r.forward_ms, r.total_ms,
                r.total_ms / base,
                fixed(gb, 2).c_str(), fixed(gbps, 0).c_str(), fixed(of_copy, 2).c_str(),
                fixed(r.peak_mib, 0).c_str());
  }
  if (json) {
    const nlohmann::json out = {{"benchmark", "std"}, {"device", device_name(device)},
                                {"shape", shape},     {"dtype", dtype_name(dtype)},
                                {"repeat", repeat},   {"copy_gbps", copy},
                                {"rows", rows}};
    std::printf("%s\n", out.dump(2).c_str());
  }
  return failed ? 1 : 0;
}

}  // namespace tdseg::cli
