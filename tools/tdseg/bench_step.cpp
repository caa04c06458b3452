// `tdseg bench step`: the time of a whole training step of a registry model with each head
// (softmax, STD, VP-STD, SS-STD), beside the paper's Table 5. A step is what train does
// for one batch: forward, cross-entropy, backward and an SGD update (train/optimizer.h),
// timed between points on the device's timeline (CUDA events on its stream, or the host
// clock) around the whole and its three phases (forward with the loss, backward, update);
// the medians over --repeat steps after one untimed step (which also runs
// cuDNN's algorithm searches). The data are random but fixed: normalised images drawn
// from a seeded generator and uniformly random labels, with VP-STD's volumes counted from
// the labels and SS-STD's centre the centroid of its star class, as the data loader makes
// them. On the GPU without --batch, the batch is the largest of kBatches that fits: each
// is tried, largest first, until every head's step runs without running out of memory.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/ops.h"
#include "models/registry.h"
#include "tools/tdseg/bench_common.h"
#include "tools/tdseg/commands.h"
#include "train/optimizer.h"

namespace tdseg::cli {

namespace {

struct Head {
  const char* name;    // --head
  const char* prefix;  // of the registry name
  double paper_its;    // Table 5: training iterations per second; 0 where it has none
};

// Table 5 of the paper: DeepLabV3+ 1.43 it/s, STD-DeepLabV3+ 1.21, VP-STD 0.77.
const Head kHeads[] = {
    {"softmax", "", 1.43}, {"std", "std-", 1.21}, {"vp", "vp-std-", 0.77}, {"ss", "ss-std-", 0}};

const int64_t kBatches[] = {16, 12, 8, 6, 4, 3, 2};  // 16: the paper's VOC batch
constexpr double kLearningRate = 1e-4;               // small: the weights stay sane

struct Setup {
  std::string model;
  int64_t classes = 21, H = 0, W = 0;
  Device device;
  int repeat = 0;
};

struct Result {
  const Head* head = nullptr;
  double ms = 0;
  double forward_ms = 0, backward_ms = 0, update_ms = 0;  // the step's three phases
  std::optional<double> peak_mib;
  std::string error;  // a failure other than running out of memory
};

// Median ms of a training step of `head` at `batch`. Out of memory (std::bad_alloc from the
// allocator, or a library's) propagates: the caller tries a smaller batch; any other error
// becomes the result's.
Result time_steps(const Setup& s, const Head& head, int64_t batch) {
  Result res{&head};
  try {
    DeepLabV3Plus model(model_config(head.prefix + s.model, s.classes));
    model.to(s.device);  // before the optimiser makes its slots beside the parameters
    model.train();
    Optimizer optimizer(model.named_parameters(), OptimizerOptions{});
    Generator gen(1);
    const Tensor images = Tensor::randn({batch, 3, s.H, s.W}, gen).to(s.device);
    const Tensor labels = random_labels(batch, s.H, s.W, s.classes, gen);
    const StdExtras extras =
        label_extras(labels, s.classes, model.config().head.star_class, DType::Float32, s.device);
    const Tensor target = labels.to(s.device);
    reset_peak_memory(s.device);
    Timeline line(s.device, 4);
    std::vector<double> ms, forward, backward, update;
    for (int r = 0; r <= s.repeat; ++r) {
      model.seed_dropout(1);
      line.mark(0);
      const Tensor loss = ops::cross_entropy(model.forward(images, extras), target);
      line.mark(1);
      loss.backward();
      line.mark(2);
      optimizer.step(kLearningRate);
      line.mark(3);
      if (r == 0) continue;  // step 0 warms up
      ms.push_back(line.ms(0, 3));
      forward.push_back(line.ms(0, 1));
      backward.push_back(line.ms(1, 2));
      update.push_back(line.ms(2, 3));
    }
    res.ms = median(ms);
    res.forward_ms = median(forward);
    res.backward_ms = median(backward);
    res.update_ms = median(update);
    res.peak_mib = peak_memory_mib(s.device);
  } catch (const CudaError& e) {
    if (is_out_of_memory(e)) throw;
    res.error = e.what();
  } catch (const Error& e) {
    res.error = e.what();
  }
  return res;
}

// Every head at `batch`, the most memory-hungry first (SS-STD keeps 51 iterates) so that a
// batch too large fails early; the results in the order of kHeads.
std::vector<Result> time_heads(const Setup& s, const std::vector<const Head*>& heads, int64_t batch) {
  std::vector<Result> results(heads.size());
  for (size_t k = heads.size(); k-- > 0;) results[k] = time_steps(s, *heads[k], batch);
  return results;
}

}  // namespace

int bench_step(Args& args) {
  Setup s;
  s.device = bench_device(args, "bench step");
  const bool gpu = s.device.is_cuda();
  s.model = args.option_or("model", gpu ? "deeplabv3plus-xception65" : "deeplabv3plus-xception-tiny");
  const std::vector<std::string> head_args = args.options("head");
  s.classes = args.int_or("classes", 21, 2, 1000);
  const auto batch_arg = args.option("batch");
  const int64_t batch_given = args.int_or("batch", 2, 2, 1024);
  const std::vector<int64_t> input =
      parse_sizes(args.option_or("input", gpu ? "513x513" : "33x33"), 'x', 2,
                  "bench step: --input expects HxW such as 513x513");
  s.H = input[0];
  s.W = input[1];
  s.repeat = static_cast<int>(args.int_or("repeat", gpu ? 5 : 3, 1, 10000));
  const bool json = args.flag("json");
  const std::string math = math_options(args, "bench step");
  const std::string precision = gpu ? "float32, " + math : "float32";
  args.finish(1);
  check<UsageError>(model_family(s.model) == s.model, "bench step: --model ", s.model,
                    " names a head; give the plain model (",
                    model_family(s.model), ") and the head with --head");
  model_config(s.model, s.classes);  // an unknown model is an error before any work
  std::vector<const Head*> heads;
  for (const std::string& name : head_args) {
    const Head* found = nullptr;
    for (const Head& h : kHeads)
      if (name == h.name) found = &h;
    check<UsageError>(found != nullptr, "bench step: --head must be softmax, std, vp or ss, got '", name, "'");
    heads.push_back(found);
  }
  if (heads.empty())
    for (const Head& h : kHeads) heads.push_back(&h);
  if (!json && !gpu) note_cpu_fallback();

  // The batch: --batch, or on the GPU the largest of kBatches that fits.
  std::vector<int64_t> batches{batch_given};
  if (gpu && !batch_arg) batches.assign(std::begin(kBatches), std::end(kBatches));
  std::vector<Result> results;
  std::vector<int64_t> too_large;
  int64_t batch = 0;
  for (const int64_t b : batches) {
    try {
      results = time_heads(s, heads, b);
      batch = b;
      break;
    } catch (const CudaError& e) {
      if (batches.size() == 1 || !is_out_of_memory(e)) throw;
    } catch (const std::bad_alloc&) {
      if (batches.size() == 1) throw;
    }
    too_large.push_back(b);
  }
  check<DeviceError>(batch > 0, "bench step: out of memory even at batch ", batches.back());
  const std::string batch_note = batch_arg ? "--batch" : gpu ? "the largest of 16, 12, 8, 6, 4, 3, 2 that fits" : "CPU default";

  const Result* softmax = nullptr;
  for (const Result& r : results)
    if (r.head == &kHeads[0] && r.error.empty()) softmax = &r;
  bool failed = false;
  nlohmann::json rows = nlohmann::json::array();
  if (!json)
    std::printf("Training step (forward, loss, backward, SGD) of %s on %s, %lld classes, batch %lld (%s), "
                "input %lldx%lld, %s; median of %d steps\n%-8s %10s %7s %10s %8s %8s %8s %10s  %s\n",
                s.model.c_str(), device_name(s.device).c_str(), static_cast<long long>(s.classes),
                static_cast<long long>(batch), batch_note.c_str(), static_cast<long long>(s.H),
                static_cast<long long>(s.W), precision.c_str(), s.repeat, "head", "ms/step", "it/s", "overhead",
                "fwd ms", "bwd ms", "sgd ms", "peak MiB",
                "paper, Table 5 (it/s, overhead)");
  for (const Result& r : results) {
    failed |= !r.error.empty();
    const Head& h = *r.head;
    std::optional<double> overhead, paper_overhead;
    if (softmax && r.error.empty()) overhead = r.ms / softmax->ms - 1;
    if (h.paper_its > 0) paper_overhead = kHeads[0].paper_its / h.paper_its - 1;
    const std::optional<double> paper_its = h.paper_its > 0 ? std::optional<double>(h.paper_its) : std::nullopt;
    if (json) {
      nlohmann::json j = {{"head", h.name}, {"paper_it_per_s", number_or_null(paper_its)},
                          {"paper_overhead", number_or_null(paper_overhead)}};
      if (!r.error.empty()) {
        j["error"] = r.error;
      } else {
        j["ms"] = r.ms;
        j["forward_ms"] = r.forward_ms;
        j["backward_ms"] = r.backward_ms;
        j["update_ms"] = r.update_ms;
        j["it_per_s"] = 1000 / r.ms;
        j["overhead"] = number_or_null(overhead);
        j["peak_mib"] = number_or_null(r.peak_mib);
      }
      rows.push_back(j);
      continue;
    }
    const std::string paper = paper_its ? cat(fixed(paper_its, 2), " it/s, ",
                                              paper_overhead ? "+" + fixed(*paper_overhead * 100, 0) + "%" : "-")
                                        : std::string("-");
    if (!r.error.empty()) {
      std::printf("%-8s n/a: %s\n", h.name, r.error.c_str());
      continue;
    }
    const std::string over = overhead ? (*overhead >= 0 ? "+" : "") + fixed(*overhead * 100, 1) + "%" : "-";
    std::printf("%-8s %10.1f %7.2f %10s %8.1f %8.1f %8.1f %10s  %s\n", h.name, r.ms, 1000 / r.ms,
                over.c_str(), r.forward_ms, r.backward_ms, r.update_ms, fixed(r.peak_mib, 0).c_str(),
                paper.c_str());
  }
  if (json) {
    const nlohmann::json out = {{"benchmark", "step"}, {"model", s.model},
                                {"device", device_name(s.device)}, {"classes", s.classes},
                                {"batch", batch}, {"batches_too_large", too_large},
                                {"input", {s.H, s.W}}, {"precision", precision}, {"repeat", s.repeat},
                                {"rows", rows}};
    std::printf("%s\n", out.dump(2).c_str());
  }
  return failed ? 1 : 0;
}

}  // namespace tdseg::cli
