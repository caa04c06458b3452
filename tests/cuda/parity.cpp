#include "tests/cuda/parity.h"

#include <gtest/gtest.h>

#include "core/ops.h"
#include "tests/check_close.h"

namespace tdseg::testing {

InputMaker randn_input(Shape shape, DType dtype) {
  return [=](Generator& g) { return Tensor::randn(shape, g, dtype); };
}

InputMaker uniform_input(Shape shape, double lo, double hi, DType dtype) {
  return [=](Generator& g) { return Tensor::uniform(shape, g, lo, hi, dtype); };
}

InputMaker labels_input(Shape shape, int classes, double ignore_fraction) {
  return [=](Generator& g) {
    std::vector<int32_t> v(numel(shape));
    for (int32_t& x : v)
      x = g.uniform(0, 1) < ignore_fraction ? 255 : static_cast<int32_t>(g.uniform(0, classes));
    return Tensor::from_vector(shape, v);
  };
}

void expect_parity(const ParityCase& c, uint64_t seed) {
  SCOPED_TRACE(c.name);
  Generator gen(seed);
  std::vector<Tensor> cpu, gpu;
  for (const InputMaker& make : c.inputs) {
    Tensor x = make(gen);
    Tensor y = x.to(Device::cuda());
    if (is_floating(x.dtype())) {
      x.set_requires_grad(true);
      y.set_requires_grad(true);
    }
    cpu.push_back(x);
    gpu.push_back(y);
  }
  const Tensor out_cpu = c.op(cpu), out_gpu = c.op(gpu);
  ASSERT_EQ(out_gpu.device(), Device::cuda());
  EXPECT_TRUE(all_close(out_gpu.to(Device::cpu()), out_cpu, c.atol, c.rtol)) << "forward";

  const Tensor R = Tensor::randn(out_cpu.shape(), gen, out_cpu.dtype());
  ops::sum(ops::mul(out_cpu, R)).backward();
  ops::sum(ops::mul(out_gpu, R.to(Device::cuda()))).backward();
  for (size_t i = 0; i < cpu.size(); ++i) {
    if (!cpu[i].requires_grad()) continue;
    ASSERT_EQ(cpu[i].grad().defined(), gpu[i].grad().defined()) << "gradient of input " << i;
    if (!cpu[i].grad().defined()) continue;
    ASSERT_EQ(gpu[i].grad().device(), Device::cuda()) << "gradient of input " << i;
    EXPECT_TRUE(all_close(gpu[i].grad().to(Device::cpu()), cpu[i].grad(), c.atol, c.rtol))
        << "gradient of input " << i;
  }
}

}  // namespace tdseg::testing
