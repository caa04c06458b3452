// Device tensors: creation, copies both ways, fills and casts on the device, the error
// when ops mix devices, and the caching allocator under a real training step.
#include <gtest/gtest.h>

#include <string>

#include "core/ops.h"
#include "cuda/caching_allocator.h"
#include "cuda/device.h"
#include "layers/std/std_head.h"
#include "tests/check_close.h"
#include "tests/cuda/gpu.h"

#if defined(TDSEG_WITH_CUDA)
#include "cuda/context.h"
#endif

namespace tdseg::testing {
namespace {

TEST(DeviceTensor, WithoutAGpuCreationFailsWithTheReason) {
  if (gpu_unavailable().empty()) GTEST_SKIP() << "this machine has a GPU";
  EXPECT_THROW_MSG(Tensor::zeros({2, 3}, DType::Float32, Device::cuda()), DeviceError, "cuda");
  Generator g(1);
  EXPECT_THROW_MSG(Tensor::randn({4}, g).to(Device::cuda()), DeviceError, "cuda");
}

TEST(DeviceTensor, TheLastGpuHoldsTensorsAndOneBeyondIsNamed) {
  TDSEG_REQUIRE_GPU();
  const int count = static_cast<int>(cuda::query_devices().devices.size());
  const Device last = Device::cuda(count - 1), beyond = Device::cuda(count);
  EXPECT_EQ(cuda::why_unusable(last), "");
  Generator g(12);
  const Tensor x = Tensor::randn({5, 7}, g);
  const Tensor y = x.to(last);
  EXPECT_EQ(y.device(), last);
  EXPECT_TRUE(all_close(y.to(Device::cpu()), x, 0, 0));
  EXPECT_NE(cuda::why_unusable(beyond).find(cat("this machine has ", count, " CUDA device")),
            std::string::npos)
      << cuda::why_unusable(beyond);
  EXPECT_THROW_MSG(Tensor::zeros({2}, DType::Float32, beyond), DeviceError,
                   cat(beyond.str(), " is not available"));
}

TEST(DeviceTensor, ToTheSameDeviceIsTheTensorItself) {
  Generator g(7);
  Tensor x = Tensor::randn({3, 4}, g);
  x.set_requires_grad(true);
  EXPECT_TRUE(x.to(Device::cpu()).same(x));
  const Tensor h = host_copy(x);
  EXPECT_EQ(h.data<float>(), x.data<float>());  // no copy on the host, only detached
  EXPECT_FALSE(h.requires_grad());
  move_to_(x, Device::cpu());
  EXPECT_EQ(x.device(), Device::cpu());
  EXPECT_THROW_MSG(move_to_(ops::relu(x), Device::cpu()), AutogradError, "not a leaf");
}

TEST(DeviceTensor, RoundTripIsBitExact) {
  TDSEG_REQUIRE_GPU();
  Generator g(2);
  for (DType t : {DType::Float32, DType::Float64}) {
    const Tensor x = Tensor::randn({3, 5, 7, 9}, g, t);
    const Tensor y = x.to(Device::cuda());
    EXPECT_EQ(y.device(), Device::cuda());
    EXPECT_EQ(y.str(), x.str().substr(0, x.str().size() - 3) + "cuda:0");
    EXPECT_TRUE(all_close(y.to(Device::cpu()), x, 0, 0));
    EXPECT_TRUE(all_close(y.clone().to(Device::cpu()), x, 0, 0));
  }
  const Tensor labels = Tensor::from_vector<int32_t>({5}, {0, 3, 255, 7, 1});
  EXPECT_TRUE(all_close(labels.to(Device::cuda()).to(Device::cpu()), labels, 0, 0));
}

TEST(DeviceTensor, CreationFillCastAndItem) {
  TDSEG_REQUIRE_GPU();
  const Tensor z = Tensor::zeros({257, 3}, DType::Float64, Device::cuda());
  EXPECT_TRUE(all_close(z.to(Device::cpu()), Tensor::zeros({257, 3}, DType::Float64), 0, 0));
  const Tensor f = Tensor::full({1001}, 2.5, DType::Float32, Device::cuda());
  EXPECT_TRUE(all_close(f.to(Device::cpu()), Tensor::full({1001}, 2.5), 0, 0));
  EXPECT_EQ(Tensor::full({1}, -3.25, DType::Float32, Device::cuda()).item(), -3.25);
  Generator g(3);
  const Tensor x = Tensor::randn({17, 19}, g, DType::Float64);
  EXPECT_TRUE(all_close(x.to(Device::cuda()).to(DType::Float32).to(Device::cpu()),
                        x.to(DType::Float32), 0, 0));
  Tensor acc = x.to(Device::cuda());
  add_inplace(acc, x.to(Device::cuda()));
  EXPECT_TRUE(all_close(acc.to(Device::cpu()), ops::scale(x, 2.0), 0, 0));
}

TEST(DeviceTensor, MixingDevicesIsAnError) {
  TDSEG_REQUIRE_GPU();
  Generator g(4);
  const Tensor a = Tensor::randn({4, 4}, g), b = a.to(Device::cuda());
  EXPECT_THROW_MSG(ops::add(a, b), DeviceError, "add: tensors on cpu and cuda:0");
  EXPECT_THROW_MSG(b.data<float>(), DeviceError, "host access");
}

TEST(DeviceTensor, GradientFlowsBackAcrossTheCopy) {
  TDSEG_REQUIRE_GPU();
  Generator g(5);
  Tensor x = Tensor::randn({6, 7}, g);
  x.set_requires_grad(true);
  ops::sum(ops::relu(x.to(Device::cuda()))).backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_EQ(x.grad().device(), Device::cpu());
  const float* px = x.data<float>();
  const float* pg = x.grad().data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) EXPECT_EQ(pg[i], px[i] > 0 ? 1.f : 0.f) << i;
}

TEST(DeviceTensor, ModuleToMovesAnStdHeadsFrozenConstantsToo) {
  TDSEG_REQUIRE_GPU();
  StdConfig cfg;
  cfg.prior = StdPrior::STD;
  cfg.learn_lambda = true;  // a parameter; eps and sigma stay frozen constants
  cfg.learn_eps = cfg.learn_sigma = false;
  StdHead head(3, cfg);
  head.to(Device::cuda());
  for (const Tensor* t : {&head.params().lambda, &head.params().eps, &head.params().sigma})
    EXPECT_EQ(t->device(), Device::cuda());
}

#if defined(TDSEG_WITH_CUDA)
TEST(DeviceTensor, AllocatorReusesBlocksInTheSteadyState) {
  TDSEG_REQUIRE_GPU();
  if (!CachingAllocator::caching_from_environment())
    GTEST_SKIP() << "TDSEG_CUDA_CACHING=0: the allocator does not cache";
  cuda::synchronize();
  cuda::empty_cache();
  const auto before = cuda::memory_stats();
  {
    const Tensor t = Tensor::empty({1000}, DType::Float32, Device::cuda());
    EXPECT_EQ(cuda::memory_stats().in_use - before.in_use, CachingAllocator::size_class(4000));
  }
  EXPECT_EQ(cuda::memory_stats().in_use, before.in_use);
  EXPECT_EQ(cuda::memory_stats().cached, CachingAllocator::size_class(4000));

  Generator g(6);
  Tensor w = Tensor::randn({64, 32}, g).to(Device::cuda());
  w.set_requires_grad(true);
  const Tensor x = Tensor::randn({64, 32}, g).to(Device::cuda());
  auto step = [&] {
    ops::sum(ops::relu(ops::mul(w, x))).backward();
    w.zero_grad();
  };
  step();  // warm-up: fills the cache
  const int64_t raw = cuda::memory_stats().raw_allocations;
  for (int i = 0; i < 5; ++i) step();
  EXPECT_EQ(cuda::memory_stats().raw_allocations, raw) << "steady state must not cudaMalloc";
  cuda::empty_cache();
  EXPECT_EQ(cuda::memory_stats().cached, 0u);
}
#endif

}  // namespace
}  // namespace tdseg::testing
