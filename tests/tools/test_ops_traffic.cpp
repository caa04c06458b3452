// What the memory-bound ops of `tdseg bench ops` move, counted on the emulated GPU
// (tools/cuda_emulator/traffic.h) against the kernels' byte counts (docs/PERFORMANCE.md,
// "The memory-bound ops, counted"). Batch norm in training: where a channel fits on chip,
// the floor, 8 B an element forward (read x, write y) and 12 back (read x and dy, write
// dx); on the two passes 12 forward (the statistics' pass reads x; the normalisation reads
// x and writes y) and 20 back (the sums' pass reads x and dy; dx's reads x and dy and
// writes dx). Bilinear resize at the floor, each array once. A kernel that moves more (a
// copy, a zeroing, a pass more) fails here.
#include <gtest/gtest.h>

#include <functional>

#include "core/ops.h"
#include "cuda/ops/batch_norm.h"
#include "cuda/ops/conv2d.h"
#include "train/optimizer.h"
#include "tools/cuda_emulator/traffic.h"

namespace tdseg {
namespace {

struct Bytes {
  double forward = 0, backward = 0;
};

// The bytes of forward(x) and of its backward from a random dy, on the emulated GPU.
template <typename F>
Bytes count(const Shape& xs, F forward) {
  Generator gen(11);
  Tensor x = Tensor::randn(xs, gen).to(Device::cuda());
  x.set_requires_grad(true);
  Bytes b;
  emu::traffic::start();
  const Tensor y = forward(x);
  b.forward = static_cast<double>(emu::traffic::total(emu::traffic::stop()));
  const Tensor dy = Tensor::randn(y.shape(), gen).to(Device::cuda());
  emu::traffic::start();
  y.backward(dy);
  b.backward = static_cast<double>(emu::traffic::total(emu::traffic::stop()));
  return b;
}

// Within 2%: the per-channel statistics, sums and parameters are the rest (at most 0.75%
// in these cases; a pass more over x would be 20% or more).
TEST(OpsTraffic, BatchNormTrainingMovesTheFloorOnChipAndAPassMoreOtherwise) {
  using cuda::BatchNormKernel;
  struct Case {
    Shape shape;
    BatchNormKernel kernel;
    double forward, backward;  // B an element
  };
  const Case cases[] = {
      {{2, 64, 33, 33}, BatchNormKernel::OnChip, 8, 12},
      {{3, 21, 17, 13}, BatchNormKernel::OnChip, 8, 12},
      {{16, 3, 37, 33}, BatchNormKernel::OnChip, 12, 20},  // 19536 values a channel: too many
      {{2, 64, 33, 33}, BatchNormKernel::TwoPass, 12, 20},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(shape_str(k.shape) + (k.kernel == BatchNormKernel::OnChip ? " on chip" : " two passes"));
    const int64_t C = k.shape[1];
    Generator gen(5);
    Tensor w = Tensor::randn({C}, gen).to(Device::cuda()), bias = Tensor::randn({C}, gen).to(Device::cuda());
    w.set_requires_grad(true);
    bias.set_requires_grad(true);
    const Tensor mean = Tensor::zeros({C}).to(Device::cuda()), var = Tensor::ones({C}).to(Device::cuda());
    const BatchNormKernel previous = cuda::batch_norm_kernel();
    cuda::set_batch_norm_kernel(k.kernel);
    const Bytes b = count(k.shape, [&](const Tensor& x) { return ops::batch_norm2d(x, w, bias, mean, var, true); });
    cuda::set_batch_norm_kernel(previous);
    const double n = static_cast<double>(numel(k.shape));
    EXPECT_NEAR(b.forward / n, k.forward, 0.02 * k.forward);
    EXPECT_NEAR(b.backward / n, k.backward, 0.02 * k.backward);
  }
}

// Forward reads x and writes y, backward reads dy and writes dx, each once; within 1%, the
// rest being the taps (16 B an output row and column, written and read).
TEST(OpsTraffic, BilinearResizeMovesEachArrayOnce) {
  for (const auto& [xs, oh, ow] : {std::tuple{Shape{2, 8, 33, 33}, 129, 129}, std::tuple{Shape{4, 16, 17, 13}, 40, 31}}) {
    SCOPED_TRACE(shape_str(xs));
    const Bytes b = count(xs, [&](const Tensor& x) { return ops::resize_bilinear(x, oh, ow); });
    const double x_bytes = 4.0 * static_cast<double>(numel(xs)), y_bytes = x_bytes / (xs[2] * xs[3]) * oh * ow;
    EXPECT_NEAR(b.forward, x_bytes + y_bytes, 0.01 * (x_bytes + y_bytes));
    EXPECT_NEAR(b.backward, x_bytes + y_bytes, 0.01 * (x_bytes + y_bytes));
  }
}

// The handwritten depthwise kernels (cuda::DepthwiseKernel::Handwritten; cuDNN's traffic
// is not counted) move what bench ops counts for them, each array once: forward x, w, y;
// backward data dy, w, dx; backward filter x, dy, dw. Within 2%: their halos are re-reads,
// and the filter's per-split partial sums of dw, written and read, are 1.2% here (3 splits
// a channel; one at bench ops' shapes).
TEST(OpsTraffic, HandwrittenDepthwiseMovesEachArrayOnce) {
  const cuda::DepthwiseKernel previous = cuda::depthwise_kernel();
  cuda::set_depthwise_kernel(cuda::DepthwiseKernel::Handwritten);
  for (const int64_t dilation : {1, 6}) {
    SCOPED_TRACE(dilation);
    const int64_t N = 2, C = 256, S = 33, K = 3;
    const ops::Conv2dOptions opt(1, dilation * (K / 2), dilation, C);
    Generator gen(13);
    const Device gpu = Device::cuda();
    const Tensor x = Tensor::randn({N, C, S, S}, gen).to(gpu), w = Tensor::randn({C, 1, K, K}, gen).to(gpu);
    const Tensor dy = Tensor::randn({N, C, S, S}, gen).to(gpu);
    const Tensor y = Tensor::empty({N, C, S, S}).to(gpu), dx = Tensor::empty({N, C, S, S}).to(gpu);
    const Tensor dw = Tensor::empty({C, 1, K, K}).to(gpu);
    const double xb = 4.0 * static_cast<double>(x.numel()), wb = 4.0 * static_cast<double>(w.numel());
    auto bytes_of = [](const std::function<void()>& run) {
      emu::traffic::start();
      run();
      return static_cast<double>(emu::traffic::total(emu::traffic::stop()));
    };
    const double fwd = bytes_of([&] { cuda::conv2d_forward(x, w, Tensor(), y, opt); });
    const double data = bytes_of([&] { cuda::conv2d_backward(x, w, dy, dx, Tensor(), Tensor(), opt); });
    const double filter = bytes_of([&] { cuda::conv2d_backward(x, w, dy, Tensor(), dw, Tensor(), opt); });
    EXPECT_NEAR(fwd, 2 * xb + wb, 0.02 * (2 * xb + wb));
    EXPECT_NEAR(data, 2 * xb + wb, 0.02 * (2 * xb + wb));
    EXPECT_NEAR(filter, 2 * xb + wb, 0.02 * (2 * xb + wb));
  }
  cuda::set_depthwise_kernel(previous);
}

// A step of train's optimiser (SGD with momentum, weight decay, clipping at the global
// norm) moves bench ops' 24 B a parameter: the norm reads g (4); the update reads w, g, v
// and writes w, v (20). Counted on the second step (the first creates v).
TEST(OpsTraffic, OptimizerStepMovesTwentyFourBytesAParameter) {
  Generator gen(17);
  const Device gpu = Device::cuda();
  Module::Named params = {{"conv.weight", Tensor::randn({64, 32, 3, 3}, gen).to(gpu)},
                          {"bn.weight", Tensor::randn({64}, gen).to(gpu)},
                          {"classifier.bias", Tensor::randn({21}, gen).to(gpu)}};
  int64_t values = 0;
  for (auto& [name, p] : params) {
    p.set_requires_grad(true);
    values += p.numel();
  }
  Optimizer optimizer(params, {"sgd", 0.9, 0.999, 4e-5, 1e-3});
  double counted = 0;
  for (int step = 0; step < 2; ++step) {
    for (auto& [name, p] : params) p.impl().grad = Tensor::randn(p.shape(), gen).to(gpu).impl_ptr();
    emu::traffic::start();
    optimizer.step(0.01);
    counted = static_cast<double>(emu::traffic::total(emu::traffic::stop()));
  }
  EXPECT_NEAR(counted / static_cast<double>(values), 24, 0.24);
}

}  // namespace
}  // namespace tdseg
