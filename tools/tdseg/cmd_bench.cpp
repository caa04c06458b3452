// `tdseg bench conv`: the CPU convolution path against the BLAS it is lowered onto.
// FLOPs per forward: 2 * N * M * OH * OW * (C/groups) * KH * KW (one multiply-add per
// tap); the backward computes both dx and dweight, twice the forward's FLOPs.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/autograd.h"
#include "core/gemm.h"
#include "core/ops.h"
#include "tools/tdseg/commands.h"
#include "tools/tdseg/timing.h"

namespace tdseg::cli {

int bench_std(Args& args);   // bench_std.cpp
int bench_step(Args& args);  // bench_step.cpp
int bench_ops(Args& args);  // bench_ops.cpp

namespace {

struct ConvCase {
  const char* name;
  int64_t in, out, kernel, stride, dilation, groups, scale;  // input side = size / scale
};

// The convolution kinds of Xception-65 DeepLabV3+ (output stride 16), at the feature
// sizes they see for an input of `size`.
const ConvCase kCases[] = {
    {"entry conv1 3x3/2 3->32", 3, 32, 3, 2, 1, 1, 1},
    {"entry conv2 3x3 32->64", 32, 64, 3, 1, 1, 1, 2},
    {"depthwise 3x3 128", 128, 128, 3, 1, 1, 128, 4},
    {"pointwise 1x1 128->256", 128, 256, 1, 1, 1, 1, 4},
    {"depthwise 3x3 728", 728, 728, 3, 1, 1, 728, 16},
    {"pointwise 1x1 728->728", 728, 728, 1, 1, 1, 1, 16},
    {"atrous dw 3x3 r6 2048", 2048, 2048, 3, 1, 6, 2048, 16},
    {"decoder 1x1 304->256", 304, 256, 1, 1, 1, 1, 4},
};

// GFLOP/s of a square float GEMM of side n: the rate the im2col path can at best reach.
double sgemm_gflops(int64_t n, int repeat) {
  Generator gen(7);
  Tensor a = Tensor::randn({n, n}, gen), b = Tensor::randn({n, n}, gen), c = Tensor::empty({n, n});
  const double ms = median_ms(repeat, [&] {
    gemm<float>(false, false, n, n, n, 1.f, a.data<float>(), n, b.data<float>(), n, 0.f,
                c.data<float>(), n);
  });
  return 2.0 * n * n * n / (ms * 1e6);
}

int bench_conv(Args& args) {
  const int repeat = static_cast<int>(args.int_or("repeat", 10, 1, 100000));
  const int64_t batch = args.int_or("batch", 2, 1, 1024);
  const int64_t size = args.int_or("size", 129, 16, 2048);
  const bool json = args.flag("json");
  args.finish(1);
  note_cpu_fallback();

  const double peak = sgemm_gflops(1024, repeat);
  nlohmann::json rows = nlohmann::json::array();
  if (!json)
    std::printf("conv2d on the CPU, batch %lld, input %lldx%lld, median of %d runs; "
                "sgemm 1024^3: %.1f GFLOP/s; backward = dx + dweight\n"
                "%-26s %-16s %9s %8s %6s %9s %8s %6s\n",
                static_cast<long long>(batch), static_cast<long long>(size),
                static_cast<long long>(size), repeat, peak, "layer", "input", "fwd ms",
                "GFLOP/s", "/gemm", "bwd ms", "GFLOP/s", "/gemm");
  Generator gen(1);
  for (const ConvCase& c : kCases) {
    const int64_t side = (size + c.scale - 1) / c.scale;
    const ops::Conv2dOptions opt(c.stride, c.dilation * (c.kernel / 2), c.dilation, c.groups);
    Tensor x = Tensor::randn({batch, c.in, side, side}, gen);
    Tensor w = Tensor::randn({c.out, c.in / c.groups, c.kernel, c.kernel}, gen, DType::Float32, 0, 0.1);
    x.set_requires_grad(true);
    w.set_requires_grad(true);
    const auto [oh, ow] = ops::conv2d_output_size(x.shape(), w.shape(), opt);
    const double flops = 2.0 * batch * c.out * oh * ow * (c.in / c.groups) * c.kernel * c.kernel;
    const double fwd = median_ms(repeat, [&] {
      InferenceGuard no_record;
      ops::conv2d(x, w, Tensor(), opt);
    });
    const Tensor dy = Tensor::randn({batch, c.out, oh, ow}, gen);
    std::vector<double> times;  // backward alone: the forward that records the graph is untimed
    for (int r = 0; r <= repeat; ++r) {
      Tensor out = ops::conv2d(x, w, Tensor(), opt);
      const double t0 = now_ms();
      out.backward(dy);
      if (r > 0) times.push_back(now_ms() - t0);  // run 0 warms up
      x.zero_grad();
      w.zero_grad();
    }
    const double bwd = median(times);
    const double gf = flops / (fwd * 1e6), gb = 2 * flops / (bwd * 1e6);
    const std::string input = shape_str({batch, c.in, side, side});
    rows.push_back({{"layer", c.name}, {"input", input}, {"forward_ms", fwd},
                    {"forward_gflops", gf}, {"backward_ms", bwd}, {"backward_gflops", gb},
                    {"sgemm_gflops", peak}});
    if (!json)
      std::printf("%-26s %-16s %9.2f %8.1f %6.2f %9.2f %8.1f %6.2f\n", c.name,
                  input.c_str(), fwd, gf, gf / peak, bwd, gb, gb / peak);
  }
  if (json) std::printf("%s\n", rows.dump(2).c_str());
  return 0;
}

}  // namespace

int cmd_bench(Args& args) {
  const std::string what = args.positional(0, "what to benchmark (conv, std, step or ops)");
  if (what == "conv") return bench_conv(args);
  if (what == "std") return bench_std(args);
  if (what == "step") return bench_step(args);
  if (what == "ops") return bench_ops(args);
  throw UsageError("bench: unknown benchmark '" + what + "' (available: conv, std, step, ops)");
}

}  // namespace tdseg::cli
