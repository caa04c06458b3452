// cross_entropy, the fused nll_loss(log_softmax(x)): forward and gradient against the
// two-op composition (ragged pixel blocks, ignored pixels, float32 and float64), finite
// differences in float64, extreme logits, and the errors of nll_loss under its own name.
#include <gtest/gtest.h>

#include "core/ops/cross_entropy.h"
#include "core/ops/softmax.h"
#include "tests/check_close.h"
#include "tests/gradcheck.h"

namespace tdseg::testing {
namespace {

Tensor labels(const Shape& shape, int32_t classes, uint64_t seed, double ignore_fraction) {
  Generator gen(seed);
  Tensor t = Tensor::empty(shape, DType::Int32);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.data<int32_t>()[i] =
        gen.uniform(0, 1) < ignore_fraction ? 255 : int32_t(gen.integer(0, classes - 1));
  return t;
}

// The loss and the logits' gradient for dy = 1.7, fused and composed, agree: relative tol,
// absolute tol times the gradients' scale dy / |V| (~ 2 / pixels).
void expect_same_as_composition(const Tensor& x, const Tensor& t, double tol) {
  Tensor a = x.clone().set_requires_grad(true), b = x.clone().set_requires_grad(true);
  const Tensor fused = ops::cross_entropy(a, t), composed = ops::nll_loss(ops::log_softmax(b), t);
  EXPECT_NEAR(fused.item(), composed.item(), tol * std::abs(composed.item()));
  const Tensor dy = Tensor::full({}, 1.7, x.dtype());
  fused.backward(dy);
  composed.backward(dy);
  EXPECT_TRUE(all_close(a.grad(), b.grad(), tol * 2.0 / t.numel(), tol));
}

TEST(CrossEntropy, MatchesNllOfLogSoftmax) {
  // 2 x 21 x 61 x 59: pixel blocks of 512 with a ragged last one and the parallel loop.
  expect_same_as_composition(randn64({2, 21, 61, 59}, 1, 3.0), labels({2, 61, 59}, 21, 2, 0.1),
                             1e-13);
  expect_same_as_composition(randn64({1, 1, 17, 13}, 3), labels({1, 17, 13}, 1, 4, 0.3), 1e-13);
  Generator gen(5);
  const Tensor x32 = Tensor::randn({3, 256, 9, 7}, gen, DType::Float32, 0, 2);
  expect_same_as_composition(x32, labels({3, 9, 7}, 256, 6, 0.2), 1e-5);
}

TEST(CrossEntropy, AllIgnoredIsZeroWithZeroGradient) {
  Tensor x = randn64({1, 3, 2, 2}, 7).set_requires_grad(true);
  const Tensor loss = ops::cross_entropy(x, Tensor::full({1, 2, 2}, 255, DType::Int32));
  EXPECT_EQ(loss.item(), 0.0);
  loss.backward();
  EXPECT_TRUE(all_close(x.grad(), Tensor::zeros({1, 3, 2, 2}, DType::Float64), 0, 0));
}

TEST(CrossEntropy, OtherIgnoreIndexAndRank) {  // [N, C, L] logits, ignore label 0
  const Tensor x = randn64({2, 4, 6}, 8);
  const Tensor t = Tensor::from_vector<int32_t>({2, 6}, {0, 1, 2, 3, 0, 1, 3, 3, 0, 2, 1, 0});
  EXPECT_NEAR(ops::cross_entropy(x, t, 0).item(),
              ops::nll_loss(ops::log_softmax(x), t, 0).item(), 1e-14);
}

TEST(CrossEntropy, StableForHugeLogits) {
  const Tensor x = Tensor::from_vector<float>({1, 3, 1, 1}, {1000.f, 0.f, -1000.f});
  EXPECT_FLOAT_EQ(ops::cross_entropy(x, Tensor::full({1, 1, 1}, 0, DType::Int32)).item(), 0.f);
  EXPECT_FLOAT_EQ(ops::cross_entropy(x, Tensor::full({1, 1, 1}, 2, DType::Int32)).item(), 2000.f);
}

TEST(GradCheck, CrossEntropy) {
  expect_gradients([t = labels({2, 4, 3}, 5, 9, 0.25)](auto& in) { return ops::cross_entropy(in[0], t); },
                   {randn64({2, 5, 4, 3}, 10)});
}

TEST(CrossEntropyErrors, LabelsShapesDTypes) {
  const Tensor x = randn64({1, 3, 2, 2}, 11);
  const Tensor bad = Tensor::from_vector<int32_t>({1, 2, 2}, {0, 1, 7, -1});
  EXPECT_THROW_MSG(ops::cross_entropy(x, bad), ValueError,
                   "cross_entropy: label 7 at image 0, pixel 2 is outside [0, 3) and is not the "
                   "ignore label 255");
  EXPECT_THROW_MSG(ops::cross_entropy(x, Tensor::zeros({1, 2, 3}, DType::Int32)), ShapeError,
                   "cross_entropy: target [1, 2, 3] must be [1, 2, 2] for logits [1, 3, 2, 2]");
  EXPECT_THROW_MSG(ops::cross_entropy(x, Tensor::zeros({1, 2, 2}, DType::Float64)), DTypeError,
                   "cross_entropy: target must be int32 labels");
  EXPECT_THROW_MSG(ops::cross_entropy(Tensor::zeros({1, 2, 2}, DType::Int32),
                                      Tensor::zeros({1, 2}, DType::Int32)),
                   DTypeError, "cross_entropy: expected float32 or float64");
  EXPECT_THROW_MSG(ops::cross_entropy(Tensor::zeros({3}, DType::Float64),
                                      Tensor::zeros({}, DType::Int32)),
                   ShapeError, "cross_entropy: logits must be [N, C, ...], got [3]");
}

}  // namespace
}  // namespace tdseg::testing
