// A whole network on both devices: the tiny DeepLabV3+ with each head, built twice from one
// seed (the same weights and dropout masks), one training forward and backward on the same
// batch; the loss and every parameter's gradient on the GPU agree with the CPU's. The op
// tables test each kernel alone; this catches what only their composition shows (a layer
// that keeps host state, a gradient that is not accumulated, a tensor left on the host).
//
// Tolerances: float64, 1e-9 relative per gradient; float32 (TF32 off), bounds on the error
// against the float64 result (below).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/random.h"
#include "layers/std/std_extras.h"
#include "models/registry.h"
#include "tests/check_close.h"
#include "tests/cuda/gpu.h"

#if defined(TDSEG_WITH_CUDA)
#include "cuda/context.h"
#endif

namespace tdseg::testing {
namespace {

#if defined(TDSEG_WITH_CUDA)
double max_abs(const Tensor& t) {
  const Tensor d = t.to(DType::Float64);
  double m = 0;
  for (int64_t i = 0; i < d.numel(); ++i) m = std::max(m, std::abs(d.data<double>()[i]));
  return m;
}

struct Step {
  double loss;
  Module::Named grads;  // on the host
};

Step training_step(const std::string& name, DType dtype, Device device, const Tensor& x,
                   const Tensor& labels) {
  DeepLabV3Plus model(model_config(name, 5), dtype);
  model.train();
  model.to(device);
  StdExtras extras;
  if (model.config().head.prior == StdPrior::VP)
    extras.volumes = volumes_from_labels(labels, 5, dtype).to(device);
  const Tensor z = model.forward(x.to(device), extras);
  const Tensor loss = ops::cross_entropy(z, labels.to(device));
  loss.backward();
  Step s{host_copy(loss).to(DType::Float64).data<double>()[0], {}};
  for (const auto& [n, p] : model.named_parameters())
    if (p.grad().defined()) s.grads.emplace_back(n, host_copy(p.grad()));
  return s;
}

// max |a - b| over a scale: the largest of b's own entries or a thousandth of the model's
// largest gradient. Some gradients are 0 in exact arithmetic, e.g. the bias of a batch norm
// that a convolution and another batch norm follow (the second one's mean removes any
// shift), and both devices give rounding noise for them.
std::vector<double> errors(const Module::Named& a, const Module::Named& b) {
  double largest = 0;
  for (const auto& [_, g] : b) largest = std::max(largest, max_abs(g));
  std::vector<double> e;
  for (size_t k = 0; k < b.size(); ++k) {
    const Tensor d = ops::sub(a[k].second.to(DType::Float64), b[k].second.to(DType::Float64));
    e.push_back(max_abs(d) / std::max(max_abs(b[k].second), 1e-3 * largest));
  }
  return e;
}

struct Batch {
  Tensor x, labels;
};

Batch batch() {
  Generator gen(11);
  const Tensor x = Tensor::randn({2, 3, 37, 41}, gen, DType::Float64);
  std::vector<int32_t> l(2 * 37 * 41);
  for (auto& v : l) v = static_cast<int32_t>(gen.integer(0, 5));  // 5: ignored, below
  for (auto& v : l)
    if (v == 5) v = ops::kIgnoreIndex;
  return {x, Tensor::from_vector<int32_t>({2, 37, 41}, l)};
}

void expect_same_names(const Step& a, const Step& b) {
  ASSERT_EQ(a.grads.size(), b.grads.size());
  ASSERT_GT(b.grads.size(), 50u);
  for (size_t k = 0; k < b.grads.size(); ++k) ASSERT_EQ(a.grads[k].first, b.grads[k].first);
}

TEST(GpuModel, TinyDeepLabTrainingStepMatchesTheCpuInFloat64) {
  TDSEG_REQUIRE_GPU();
  const Batch b = batch();
  for (const char* name : {"deeplabv3plus-xception-tiny", "std-deeplabv3plus-xception-tiny",
                           "vp-std-deeplabv3plus-xception-tiny"}) {
    SCOPED_TRACE(name);
    const Step cpu = training_step(name, DType::Float64, Device::cpu(), b.x, b.labels);
    const Step gpu = training_step(name, DType::Float64, Device::cuda(0), b.x, b.labels);
    EXPECT_NEAR(gpu.loss, cpu.loss, 1e-12 * cpu.loss);
    expect_same_names(gpu, cpu);
    const std::vector<double> e = errors(gpu.grads, cpu.grads);
    for (size_t k = 0; k < e.size(); ++k) EXPECT_LE(e[k], 1e-9) << "d loss / d " << cpu.grads[k].first;
  }
}

// In float32 the step is ill-conditioned at initialisation (batch statistics of 18 values
// per channel at the deepest layers): the CPU's own float32 gradients, whose operations
// round at 6e-8, differ from its float64 ones by a median 4e-4 and up to 6e-2 (with the STD
// head). cuDNN's float32 algorithms round differently from the CPU's double-accumulating
// loops, and the step amplifies it: on an H100 (2026-11-25) the GPU's errors had a median
// of 3.2e-2 (softmax head) and reached 0.25 on gradients that are almost 0 in exact
// arithmetic. The bounds take that with a margin. They are there for a precision loss of
// another order, such as TF32 left on (inputs rounded 8000 times more coarsely);
// correctness itself is the float64 test's.
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

TEST(GpuModel, TinyDeepLabTrainingStepInStrictFloat32IsWithinTheBounds) {
  TDSEG_REQUIRE_GPU();
  const bool tf32 = cuda::allow_tf32();
  cuda::set_allow_tf32(false);
  const Batch b = batch();
  const Tensor x32 = b.x.to(DType::Float32);
  for (const char* name : {"deeplabv3plus-xception-tiny", "std-deeplabv3plus-xception-tiny"}) {
    SCOPED_TRACE(name);
    const Step exact = training_step(name, DType::Float64, Device::cpu(), b.x, b.labels);
    const Step cpu = training_step(name, DType::Float32, Device::cpu(), x32, b.labels);
    const Step gpu = training_step(name, DType::Float32, Device::cuda(0), x32, b.labels);
    EXPECT_NEAR(gpu.loss, exact.loss, 2 * std::abs(cpu.loss - exact.loss) + 1e-4 * exact.loss);
    expect_same_names(gpu, exact);
    const std::vector<double> e_cpu = errors(cpu.grads, exact.grads), e_gpu = errors(gpu.grads, exact.grads);
    for (size_t k = 0; k < e_gpu.size(); ++k)
      EXPECT_LE(e_gpu[k], 0.5) << "d loss / d " << exact.grads[k].first
                               << ": the CPU's float32 error is " << e_cpu[k];
    EXPECT_LE(median(e_gpu), 0.15) << "the CPU's median float32 error is " << median(e_cpu);
  }
  cuda::set_allow_tf32(tf32);
}
#endif

}  // namespace
}  // namespace tdseg::testing
