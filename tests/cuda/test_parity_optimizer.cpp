// CPU/GPU parity of the optimiser (cuda/optimizer.cu against train/optimizer.cpp): SGD and
// Adam with weight decay and global-norm clipping over 90 parameters (three launches of
// 40), of sizes around a block's 2048-element chunk, with an empty one and some that get
// no gradient; clipping at work (a limit of 1), not at work (1000, above the norm, which
// the test checks) and off. Three steps; the norms before each step, the weights and the
// slots after them.
//
// Tolerances: the norm 1e-12 relative (double sums in another order); weights and slots
// 1e-6 (the same float32 formulas, which the GPU may contract into fused multiply-adds).
#include <gtest/gtest.h>

#include "tests/check_close.h"
#include "tests/cuda/gpu.h"
#include "train/optimizer.h"

namespace tdseg::testing {
namespace {

// Parameter k: a decayed convolution weight, a batch-norm vector, or a bias, of one of the
// sizes below; drawn on the CPU.
Module::Named parameters(Generator& g) {
  const Shape shapes[] = {{1}, {2047}, {2048}, {2049}, {8, 4, 3, 3}, {64, 32, 1, 1}, {5000}, {0}};
  Module::Named out;
  for (int k = 0; k < 90; ++k) {
    const Shape& s = shapes[k % 8];
    const std::string name = s.size() == 4 ? cat("conv", k, ".weight") : cat("bn", k, ".bias");
    out.emplace_back(name, Tensor::randn(s, g));
  }
  return out;
}

Module::Named on_gpu(const Module::Named& params) {
  Module::Named out;
  for (const auto& [name, p] : params) out.emplace_back(name, p.to(Device::cuda()));
  return out;
}

TEST(GpuParity, Optimizer) {
  TDSEG_REQUIRE_GPU();
  for (const auto& [kind, clip] : {std::pair<const char*, double>{"sgd", 1.0}, {"adam", 1.0},
                                   {"sgd", 1000.0}, {"adam", 0.0}}) {
    SCOPED_TRACE(cat(kind, ", clip ", clip));
    Generator g(31);
    const Module::Named cpu = parameters(g), gpu = on_gpu(cpu);
    Optimizer on_cpu(cpu, {kind, 0.9, 0.999, 0.01, clip}), on_device(gpu, {kind, 0.9, 0.999, 0.01, clip});
    for (int step = 0; step < 3; ++step) {
      for (size_t k = 0; k < cpu.size(); ++k) {
        if (k % 7 == 3) continue;  // no gradient this time
        const Tensor grad = Tensor::randn(cpu[k].second.shape(), g, DType::Float32, 0, 0.3);
        cpu[k].second.impl().grad = grad.impl_ptr();
        gpu[k].second.impl().grad = grad.to(Device::cuda()).impl_ptr();
      }
      const double norm = on_cpu.grad_norm();
      EXPECT_GT(norm, 1.0);
      EXPECT_LT(norm, 1000.0);
      EXPECT_NEAR(on_device.grad_norm(), norm, 1e-12 * norm) << "step " << step;
      on_cpu.step(0.1);
      on_device.step(0.1);
    }
    for (size_t k = 0; k < cpu.size(); ++k)
      EXPECT_TRUE(all_close(gpu[k].second.to(Device::cpu()), cpu[k].second, 1e-6, 1e-6))
          << cpu[k].first;
    const Module::Named a = on_cpu.state(), b = on_device.state();
    ASSERT_EQ(a.size(), b.size());
    for (size_t k = 0; k < a.size(); ++k)
      EXPECT_TRUE(all_close(b[k].second.to(Device::cpu()), a[k].second, 1e-6, 1e-6)) << a[k].first;
  }
}

}  // namespace
}  // namespace tdseg::testing
