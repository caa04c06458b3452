// mul_scalar, div_scalar, add_scalar, log and clamp_min: forward against the formula
// elementwise, gradients by finite differences (the scalar's included), and the errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/ops/pointwise.h"
#include "core/ops/reduce.h"
#include "core/ops/scalar.h"
#include "tests/check_close.h"
#include "tests/gradcheck.h"

namespace tdseg::testing {
namespace {

// expected[i] = f(x[i]) computed here, element by element.
template <typename F>
Tensor apply(const Tensor& x, F f) {
  Tensor out = Tensor::empty(x.shape(), DType::Float64);
  for (int64_t i = 0; i < x.numel(); ++i) out.data<double>()[i] = f(x.data<double>()[i]);
  return out;
}

Tensor uniform64(const Shape& shape, uint64_t seed, double lo, double hi) {
  Generator gen(seed);
  return Tensor::uniform(shape, gen, lo, hi, DType::Float64);
}

const Shape kShape = {2, 3, 5, 7};

TEST(ScalarForward, MatchesFormula) {
  Tensor x = randn64(kShape, 1), s = randn64({}, 2);
  const double sv = s.item();
  EXPECT_TRUE(all_close(ops::mul_scalar(x, s), apply(x, [sv](double v) { return sv * v; }), 0, 0));
  EXPECT_TRUE(all_close(ops::div_scalar(x, s), apply(x, [sv](double v) { return v / sv; }), 0, 0));
  EXPECT_TRUE(
      all_close(ops::add_scalar(x, -0.75), apply(x, [](double v) { return v - 0.75; }), 0, 0));
}

TEST(PointwiseForward, MatchesFormula) {
  Tensor x = uniform64(kShape, 3, 0.5, 2.0), y = randn64(kShape, 4);
  EXPECT_TRUE(all_close(ops::log(x), apply(x, [](double v) { return std::log(v); }), 0, 0));
  EXPECT_TRUE(all_close(ops::clamp_min(y, 0.3),
                        apply(y, [](double v) { return v > 0.3 ? v : 0.3; }), 0, 0));
}

TEST(ScalarPointwiseForward, Float32) {
  Generator gen(5);
  Tensor x = Tensor::uniform(kShape, gen, 0.5, 2.0), s = Tensor::full({}, 1.7);
  Tensor scaled = ops::div_scalar(ops::mul_scalar(x, s), s);
  Tensor y = ops::clamp_min(ops::log(ops::add_scalar(scaled, 1)), 0.6);
  EXPECT_EQ(y.dtype(), DType::Float32);
  Tensor expect =
      apply(x.to(DType::Float64), [](double v) { return std::max(std::log(v + 1), 0.6); });
  EXPECT_TRUE(all_close(y, expect, 1e-6, 1e-6));
}

TEST(GradCheck, MulScalar) {
  expect_gradients([](auto& t) { return ops::mul_scalar(t[0], t[1]); },
                   {randn64(kShape, 6), randn64({}, 7)});
}
TEST(GradCheck, DivScalar) {  // s kept away from 0
  expect_gradients([](auto& t) { return ops::div_scalar(t[0], t[1]); },
                   {randn64(kShape, 8), uniform64({}, 9, 0.5, 2.0)});
}
TEST(GradCheck, MulScalarSameTensorTwice) {  // d(s*s)/ds = 2s through both edges
  expect_gradients([](auto& t) { return ops::mul_scalar(t[0], t[0]); }, {randn64({}, 10)});
}
TEST(GradCheck, AddScalar) {
  expect_gradients([](auto& t) { return ops::add_scalar(t[0], 2.5); }, {randn64(kShape, 11)});
}
TEST(GradCheck, Log) {
  expect_gradients([](auto& t) { return ops::log(t[0]); }, {uniform64(kShape, 12, 0.5, 2.0)});
}
TEST(GradCheck, ClampMin) {
  expect_gradients([](auto& t) { return ops::clamp_min(t[0], 0.0); }, {randn64(kShape, 13)},
                   {1e-6, 1e-7, 1e-6, /*kink=*/1e-3});
}
TEST(GradCheck, ClampMinNonzeroFloor) {  // no input lies within 1e-3 of the floor
  const Tensor x = randn64(kShape, 14);
  for (int64_t i = 0; i < x.numel(); ++i) ASSERT_GT(std::abs(x.data<double>()[i] + 0.4), 1e-3);
  expect_gradients([](auto& t) { return ops::clamp_min(t[0], -0.4); }, {x});
}

TEST(ClampMinBackward, ZeroAtAndBelowTheFloor) {
  Tensor x = Tensor::from_vector<double>({3}, {-1.5, 0.5, 2.5});
  x.set_requires_grad(true);
  ops::sum(ops::clamp_min(x, 0.5)).backward();
  EXPECT_TRUE(all_close(x.grad(), Tensor::from_vector<double>({3}, {0, 0, 1}), 0, 0));
}

TEST(ScalarPointwiseErrors, NameTheOpAndShapes) {
  EXPECT_THROW_MSG(ops::mul_scalar(randn64({2, 3}, 1), randn64({1}, 2)), ShapeError,
                   "mul_scalar: scalar must have 0 dims (shape []), got [1]");
  EXPECT_THROW_MSG(ops::div_scalar(randn64({2}, 1), randn64({}, 2).to(DType::Float32)), DTypeError,
                   "div_scalar: dtypes float64 and float32 differ");
  EXPECT_THROW_MSG(ops::mul_scalar(randn64({2}, 1), Tensor()), ValueError,
                   "mul_scalar: scalar is undefined");
  EXPECT_THROW_MSG(ops::add_scalar(Tensor::zeros({2}, DType::Int32), 1), DTypeError,
                   "add_scalar: expected float32 or float64, got int32[2] on cpu");
  EXPECT_THROW_MSG(ops::log(Tensor()), ValueError, "log: input is undefined");
  EXPECT_THROW_MSG(ops::clamp_min(Tensor::zeros({2}, DType::Int32), 0), DTypeError,
                   "clamp_min: expected float32 or float64, got int32[2] on cpu");
}

}  // namespace
}  // namespace tdseg::testing
