// CPU/GPU parity of softmax, log_softmax, nll_loss and the fused cross_entropy, forward
// and gradients, on [16, 21, 33, 33] (a VOC batch at 1/16 of 513), [1, 1, 17, 13] (one
// class, odd sizes) and [2, 256, 9, 7] (many classes), float32 and float64, with ignored
// pixels and with all pixels ignored. Tolerances: float32 1e-5 relative (1e-6 absolute,
// for values near 0): the two devices sum the classes in another order (the GPU's online
// normaliser rescales its running sum) and the pixels in another order; float64 1e-10
// relative (1e-12 absolute). Also: a bad label on the GPU is the CPU's ValueError.
#include <gtest/gtest.h>

#include "core/ops.h"
#include "tests/check_close.h"
#include "tests/cuda/gpu.h"
#include "tests/cuda/parity.h"

namespace tdseg::testing {
namespace {

std::vector<ParityCase> cases() {
  using V = const std::vector<Tensor>&;
  const auto softmax = [](V x) { return ops::softmax(x[0]); };
  const auto log_softmax = [](V x) { return ops::log_softmax(x[0]); };
  const auto nll = [](V x) { return ops::nll_loss(x[0], x[1]); };
  const auto nll_of_log_softmax = [](V x) { return ops::nll_loss(ops::log_softmax(x[0]), x[1]); };
  const auto cross_entropy = [](V x) { return ops::cross_entropy(x[0], x[1]); };
  std::vector<ParityCase> all;
  for (DType dtype : {DType::Float32, DType::Float64}) {
    const std::string suffix = dtype == DType::Float64 ? " float64" : "";
    for (const Shape& s : {Shape{16, 21, 33, 33}, Shape{1, 1, 17, 13}, Shape{2, 256, 9, 7}}) {
      const std::string name = shape_str(s) + suffix;
      const Shape labels = {s[0], s[2], s[3]};
      const int classes = static_cast<int>(s[1]);
      all.push_back({"softmax " + name, {randn_input(s, dtype)}, softmax});
      all.push_back({"log_softmax " + name, {randn_input(s, dtype)}, log_softmax});
      all.push_back({"nll_loss " + name,
                     {randn_input(s, dtype), labels_input(labels, classes, 0.1)}, nll});
      all.push_back({"nll_loss(log_softmax) " + name,
                     {randn_input(s, dtype), labels_input(labels, classes, 0.1)},
                     nll_of_log_softmax});
      all.push_back({"cross_entropy " + name,
                     {randn_input(s, dtype), labels_input(labels, classes, 0.1)},
                     cross_entropy});
    }
    const Shape s = {2, 5, 7, 3};
    all.push_back({"nll_loss all ignored" + suffix,
                   {randn_input(s, dtype), labels_input({2, 7, 3}, 5, 1.0)}, nll});
    all.push_back({"cross_entropy all ignored" + suffix,
                   {randn_input(s, dtype), labels_input({2, 7, 3}, 5, 1.0)}, cross_entropy});
  }
  for (ParityCase& c : all) {
    const bool fp64 = c.name.find("float64") != std::string::npos;
    c.rtol = fp64 ? 1e-10 : 1e-5;
    c.atol = fp64 ? 1e-12 : 1e-6;
  }
  return all;
}

TEST(GpuParity, SoftmaxAndLosses) {
  TDSEG_REQUIRE_GPU();
  for (const ParityCase& c : cases()) expect_parity(c);
}

TEST(GpuParity, AllIgnoredLossIsExactlyZero) {
  TDSEG_REQUIRE_GPU();
  const Tensor x = Tensor::zeros({2, 5, 7, 3}, DType::Float32, Device::cuda());
  const Tensor t = Tensor::full({2, 7, 3}, 255, DType::Int32, Device::cuda());
  EXPECT_EQ(ops::nll_loss(x, t).item(), 0.0);
  EXPECT_EQ(ops::cross_entropy(x, t).item(), 0.0);
}

TEST(GpuLoss, BadLabelIsTheCpuValueError) {
  TDSEG_REQUIRE_GPU();
  // Two bad labels: the message names the first in memory order, as on the CPU.
  const Tensor x = Tensor::zeros({2, 3, 2, 2}, DType::Float32, Device::cuda());
  const Tensor t = Tensor::from_vector<int32_t>({2, 2, 2}, {0, 1, 255, 2, 1, 9, 0, -4})
                       .to(Device::cuda());
  EXPECT_THROW_MSG(ops::nll_loss(x, t), ValueError,
                   "nll_loss: label 9 at image 1, pixel 1 is outside [0, 3) and is not the "
                   "ignore label 255");
  EXPECT_THROW_MSG(ops::cross_entropy(x, t), ValueError,
                   "cross_entropy: label 9 at image 1, pixel 1 is outside [0, 3) and is not "
                   "the ignore label 255");
  // The flag is cleared for every call: good labels after a bad call do not throw.
  const Tensor good = Tensor::full({2, 2, 2}, 1, DType::Int32, Device::cuda());
  EXPECT_NO_THROW(ops::cross_entropy(x, good));
}

TEST(GpuLoss, TargetOnAnotherDeviceIsADeviceError) {
  TDSEG_REQUIRE_GPU();
  const Tensor x = Tensor::zeros({1, 3, 2, 2}, DType::Float32, Device::cuda());
  EXPECT_THROW(ops::cross_entropy(x, Tensor::zeros({1, 2, 2}, DType::Int32)), DeviceError);
  EXPECT_THROW(ops::nll_loss(x, Tensor::zeros({1, 2, 2}, DType::Int32)), DeviceError);
}

}  // namespace
}  // namespace tdseg::testing
