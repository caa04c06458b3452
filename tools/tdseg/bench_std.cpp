// `tdseg bench std`: the STD heads against a plain softmax + NLL head, on the CPU.
// Each row is the head's forward (recording the graph, as in training) and its
// forward + backward, medians over --repeat runs after a warm-up, and the ratio of the
// latter to the baseline's measured in the same run. (The CUDA kernels, the byte model
// and peak memory come with the fused CUDA kernels.)
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/ops.h"
#include "layers/std/std_block.h"
#include "tools/tdseg/commands.h"
#include "tools/tdseg/timing.h"

namespace tdseg::cli {

namespace {

struct Timing {
  double forward = 0, forward_backward = 0;
};

// Medians of forward(o) -> loss and of forward + backward, o fresh each run.
template <typename F>
Timing time_head(int repeat, const Tensor& o_data, const Tensor& labels, F&& head) {
  std::vector<double> fwd, total;
  for (int r = 0; r <= repeat; ++r) {
    Tensor o = o_data.clone();
    o.set_requires_grad(true);
    const double t0 = now_ms();
    Tensor loss = ops::nll_loss(ops::log_softmax(head(o)), labels);
    const double t1 = now_ms();
    loss.backward();
    const double t2 = now_ms();
    if (r == 0) continue;  // warm-up
    fwd.push_back(t1 - t0);
    total.push_back(t2 - t0);
  }
  return {median(fwd), median(total)};
}

}  // namespace

int bench_std(Args& args) {
  const int repeat = static_cast<int>(args.int_or("repeat", 5, 1, 10000));
  const int64_t N = args.int_or("batch", 2, 1, 1024), C = args.int_or("classes", 21, 2, 1024);
  const int64_t S = args.int_or("size", 129, 8, 4096), T = args.int_or("iters", 10, 0, 10000);
  const bool json = args.flag("json");
  args.finish(1);
  note_cpu_fallback();

  Generator gen(1);
  const Tensor o = Tensor::randn({N, C, S, S}, gen);
  Tensor labels = Tensor::empty({N, S, S}, DType::Int32);
  for (int64_t i = 0; i < labels.numel(); ++i) labels.data<int32_t>()[i] = int32_t(gen.integer(0, C - 1));
  StdExtras ex;
  ex.volumes = Tensor::full({N, C}, static_cast<double>(S * S) / C);
  ex.centers = Tensor::full({N, 2}, (S - 1) / 2.0);

  struct Row {
    std::string name;
    Timing t;
  };
  std::vector<Row> rows;
  rows.push_back({"softmax + NLL (baseline)", time_head(repeat, o, labels, [](const Tensor& x) { return x; })});
  auto block = [&](const char* name, StdPrior prior, StdImpl impl, int64_t iters) {
    StdConfig c;
    c.prior = prior;
    c.impl = impl;
    c.iters = iters;
    const StdParams p = std_params(c, C, DType::Float32);
    rows.push_back({cat(name, ", T=", iters),
                    time_head(repeat, o, labels, [&](const Tensor& x) { return std_block(x, p, ex, c); })});
  };
  block("STD composed", StdPrior::STD, StdImpl::Composed, T);
  block("STD fused", StdPrior::STD, StdImpl::Fused, T);
  block("VP-STD fused", StdPrior::VP, StdImpl::Fused, T);
  block("SS-STD fused", StdPrior::SS, StdImpl::Fused, 50);

  const double base = rows[0].t.forward_backward;
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const Row& r : rows)
      out.push_back({{"head", r.name}, {"forward_ms", r.t.forward}, {"forward_backward_ms", r.t.forward_backward},
                     {"ratio_to_baseline", r.t.forward_backward / base}});
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("STD heads on the CPU, logits float32 [%lld, %lld, %lld, %lld], K=7, sigma=5, "
              "median of %d runs\n%-28s %12s %16s %12s\n",
              static_cast<long long>(N), static_cast<long long>(C), static_cast<long long>(S),
              static_cast<long long>(S), repeat, "head", "forward ms", "fwd+bwd ms", "/ baseline");
  for (const Row& r : rows)
    std::printf("%-28s %12.1f %16.1f %12.2f\n", r.name.c_str(), r.t.forward, r.t.forward_backward,
                r.t.forward_backward / base);
  return 0;
}

}  // namespace tdseg::cli
