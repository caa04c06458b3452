// add, sub, mul, scale, relu: forward against the formula elementwise, gradients by
// finite differences, and the shape/dtype errors.
#include <gtest/gtest.h>

#include "core/ops/dropout.h"
#include "core/ops/elementwise.h"
#include "core/philox.h"
#include "tests/check_close.h"
#include "tests/gradcheck.h"

namespace tdseg::testing {
namespace {

// expected[i] = f(a[i], b[i]) computed here, element by element.
template <typename F>
Tensor apply(const Tensor& a, const Tensor& b, F f) {
  Tensor out = Tensor::empty(a.shape(), DType::Float64);
  for (int64_t i = 0; i < a.numel(); ++i)
    out.data<double>()[i] = f(a.data<double>()[i], b.data<double>()[i]);
  return out;
}

const Shape kShape = {2, 3, 5, 7};

TEST(ElementwiseForward, MatchesFormula) {
  Tensor a = randn64(kShape, 1), b = randn64(kShape, 2);
  EXPECT_TRUE(all_close(ops::add(a, b), apply(a, b, [](double x, double y) { return x + y; }), 0, 0));
  EXPECT_TRUE(all_close(ops::sub(a, b), apply(a, b, [](double x, double y) { return x - y; }), 0, 0));
  EXPECT_TRUE(all_close(ops::mul(a, b), apply(a, b, [](double x, double y) { return x * y; }), 0, 0));
  EXPECT_TRUE(all_close(ops::scale(a, -2.5), apply(a, b, [](double x, double) { return -2.5 * x; }), 0, 0));
  EXPECT_TRUE(all_close(ops::relu(a), apply(a, b, [](double x, double) { return x > 0 ? x : 0; }), 0, 0));
}

TEST(ElementwiseForward, Float32) {
  Generator gen(3);
  Tensor a = Tensor::randn(kShape, gen), b = Tensor::randn(kShape, gen);
  Tensor expect = apply(a.to(DType::Float64), b.to(DType::Float64),
                        [](double x, double y) { return x * y - x; });
  EXPECT_EQ(ops::mul(a, b).dtype(), DType::Float32);
  EXPECT_TRUE(all_close(ops::sub(ops::mul(a, b), a), expect, 1e-6, 1e-6));
}

TEST(GradCheck, Add) {
  expect_gradients([](auto& t) { return ops::add(t[0], t[1]); }, {randn64(kShape, 4), randn64(kShape, 5)});
}
TEST(GradCheck, Sub) {
  expect_gradients([](auto& t) { return ops::sub(t[0], t[1]); }, {randn64(kShape, 6), randn64(kShape, 7)});
}
TEST(GradCheck, Mul) {
  expect_gradients([](auto& t) { return ops::mul(t[0], t[1]); }, {randn64(kShape, 8), randn64(kShape, 9)});
}
TEST(GradCheck, MulSameInputTwice) {  // d(x*x)/dx = 2x: both edges reach one leaf
  expect_gradients([](auto& t) { return ops::mul(t[0], t[0]); }, {randn64(kShape, 10)});
}
TEST(GradCheck, Scale) {
  expect_gradients([](auto& t) { return ops::scale(t[0], 0.37); }, {randn64(kShape, 11)});
}
TEST(GradCheck, Relu) {
  expect_gradients([](auto& t) { return ops::relu(t[0]); }, {randn64(kShape, 12)},
                   {1e-6, 1e-7, 1e-6, /*kink=*/1e-3});
}

TEST(DropoutForward, KeepsAboutKeepProbAndRescales) {
  const Tensor x = randn64({4, 8, 16, 16}, 13);
  Generator gen(14);
  const Tensor y = ops::dropout(x, 0.9, gen);
  int64_t kept = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double a = x.data<double>()[i], b = y.data<double>()[i];
    if (b != 0) {
      ++kept;
      EXPECT_NEAR(b, a / 0.9, 1e-15);
    }
  }
  // 8192 Bernoulli(0.9) draws: 5 standard deviations is about 0.017.
  EXPECT_NEAR(double(kept) / x.numel(), 0.9, 0.017);
  Generator again(14);
  EXPECT_TRUE(all_close(ops::dropout(x, 0.9, again), y, 0, 0));  // seeded: reproducible
  EXPECT_FALSE(all_close(ops::dropout(x, 0.9, again), y, 0, 0));  // the next key: another mask
  Generator any(15);
  EXPECT_TRUE(all_close(ops::dropout(x, 1.0, any), x, 0, 0));
  EXPECT_THROW_MSG(ops::dropout(x, 0.0, any), ValueError, "dropout: keep probability 0 must be in (0, 1]");
}

// Element i of n is kept when word i / G of Philox block i % G (G = ceil(n / 4)), under a
// key drawn from the generator, is below floor(keep_prob 2^32): written out here, for an
// n that is not a multiple of 4.
TEST(DropoutForward, MaskIsPhiloxWordsUnderTheThreshold) {
  const Tensor x = randn64({3, 5, 7, 11}, 18);
  const double keep = 0.6;
  Generator gen(19), same(19);
  const Tensor y = ops::dropout(x, keep, gen);
  const auto key = static_cast<uint64_t>(same.integer(0, INT64_MAX));
  const int64_t n = x.numel(), G = (n + 3) / 4;
  ASSERT_NE(n % 4, 0);
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t word = philox::block(i % G, key).w[i / G];
    const bool kept = word < static_cast<uint64_t>(keep * 4294967296.0);
    ASSERT_EQ(y.data<double>()[i], kept ? x.data<double>()[i] * (1 / keep) : 0.0) << "element " << i;
  }
}

TEST(GradCheck, Dropout) {  // a fresh generator per call, so every call draws the same mask
  expect_gradients([](auto& t) {
    Generator gen(16);
    return ops::dropout(t[0], 0.7, gen);
  }, {randn64(kShape, 17)});
}

TEST(ElementwiseErrors, ShapeAndDtype) {
  EXPECT_THROW_MSG(ops::add(randn64({2, 3}, 1), randn64({3, 2}, 2)), ShapeError,
                   "add: shapes [2, 3] and [3, 2] differ");
  EXPECT_THROW_MSG(ops::mul(randn64({2}, 1), randn64({2}, 2).to(DType::Float32)), DTypeError,
                   "mul: dtypes float64 and float32 differ");
  EXPECT_THROW_MSG(ops::relu(Tensor::zeros({2}, DType::Int32)), DTypeError,
                   "relu: expected float32 or float64, got int32[2] on cpu");
  EXPECT_THROW_MSG(ops::sub(Tensor(), randn64({2}, 1)), ValueError, "sub: first input is undefined");
}

}  // namespace
}  // namespace tdseg::testing
