// softmax, log_softmax over channels and nll_loss with ignore index 255: forward against
// direct formulas, gradients by finite differences, extreme logits, errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/ops/loss.h"
#include "core/ops/softmax.h"
#include "tests/check_close.h"
#include "tests/gradcheck.h"

namespace tdseg::testing {
namespace {

// softmax over dim 1 of [N, C, H, W], one pixel at a time, without the max shift.
Tensor softmax_naive(const Tensor& x, bool log) {
  const int64_t N = x.size(0), C = x.size(1), L = x.size(2) * x.size(3);
  Tensor y = Tensor::empty(x.shape(), DType::Float64);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t i = 0; i < L; ++i) {
      double z = 0;
      for (int64_t c = 0; c < C; ++c) z += std::exp(x.data<double>()[(n * C + c) * L + i]);
      for (int64_t c = 0; c < C; ++c) {
        const double v = x.data<double>()[(n * C + c) * L + i];
        y.data<double>()[(n * C + c) * L + i] = log ? v - std::log(z) : std::exp(v) / z;
      }
    }
  return y;
}

Tensor labels(const Shape& shape, int32_t classes, uint64_t seed, double ignore_fraction) {
  Generator gen(seed);
  Tensor t = Tensor::empty(shape, DType::Int32);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.data<int32_t>()[i] = gen.uniform(0, 1) < ignore_fraction ? 255 : int32_t(gen.integer(0, classes - 1));
  return t;
}

TEST(SoftmaxForward, MatchesFormula) {
  Tensor x = randn64({2, 5, 3, 4}, 1, 2.0);
  EXPECT_TRUE(all_close(ops::softmax(x), softmax_naive(x, false), 1e-15, 1e-13));
  EXPECT_TRUE(all_close(ops::log_softmax(x), softmax_naive(x, true), 1e-13, 1e-13));
  Generator gen(2);
  Tensor x32 = Tensor::randn({3, 21, 7, 5}, gen, DType::Float32, 0, 3);
  EXPECT_TRUE(all_close(ops::softmax(x32), softmax_naive(x32.to(DType::Float64), false), 1e-6, 1e-5));
}

TEST(SoftmaxForward, ManyPixelBlocksAndThreads) {
  // 2 x 21 x 61 x 59: pixel blocks of 512 with a ragged last one, and enough work for
  // the parallel loop; the backward is checked against the formula y * (dy - sum dy y).
  Tensor x = randn64({2, 21, 61, 59}, 21, 2.0), dy = randn64({2, 21, 61, 59}, 22);
  Tensor y = softmax_naive(x, false);
  EXPECT_TRUE(all_close(ops::softmax(x), y, 1e-15, 1e-13));
  EXPECT_TRUE(all_close(ops::log_softmax(x), softmax_naive(x, true), 1e-13, 1e-13));
  x.set_requires_grad(true);
  ops::softmax(x).backward(dy);
  const int64_t L = 61 * 59;
  Tensor expect = Tensor::empty(x.shape(), DType::Float64);
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t i = 0; i < L; ++i) {
      double s = 0;
      for (int64_t c = 0; c < 21; ++c) s += dy.data<double>()[(n * 21 + c) * L + i] * y.data<double>()[(n * 21 + c) * L + i];
      for (int64_t c = 0; c < 21; ++c) {
        const int64_t k = (n * 21 + c) * L + i;
        expect.data<double>()[k] = y.data<double>()[k] * (dy.data<double>()[k] - s);
      }
    }
  EXPECT_TRUE(all_close(x.grad(), expect, 1e-14, 1e-12));
}

TEST(SoftmaxForward, StableForHugeLogits) {
  Tensor x = Tensor::from_vector<float>({1, 3, 1, 1}, {1000.f, 0.f, -1000.f});
  Tensor lp = ops::log_softmax(x);
  EXPECT_FLOAT_EQ(lp.data<float>()[0], 0.f);
  EXPECT_FLOAT_EQ(lp.data<float>()[2], -2000.f);
  EXPECT_FLOAT_EQ(ops::softmax(x).data<float>()[0], 1.f);
}

// channel_max, the CPU kernels' per-pixel max, against std::max from -inf: the same
// value to the bit, NaN passed over, for blocks of pixels as long as a vector, shorter
// and with a ragged tail.
TEST(SoftmaxForward, ChannelMaxIsStdMaxOverTheChannels) {
  Generator gen(3);
  for (const int64_t C : {1, 5, 21})
    for (const int64_t len : {1, 3, 4, 7, 64, 513}) {
      SCOPED_TRACE("C = " + std::to_string(C) + ", len = " + std::to_string(len));
      const int64_t L = len + 2;  // the channels' rows a little apart
      std::vector<float> x(C * L), m(len);
      for (float& v : x) v = static_cast<float>(100 * gen.normal());
      x[gen.integer(0, C * L - 1)] = std::nanf("");
      ops::channel_max(C, L, len, x.data(), m.data());
      for (int64_t i = 0; i < len; ++i) {
        float expect = -std::numeric_limits<float>::infinity();
        for (int64_t c = 0; c < C; ++c) expect = std::max(expect, x[c * L + i]);
        ASSERT_EQ(m[i], expect) << "pixel " << i;
      }
    }
}

TEST(GradCheck, Softmax) {
  expect_gradients([](auto& t) { return ops::softmax(t[0]); }, {randn64({2, 4, 3, 3}, 3)});
}
TEST(GradCheck, LogSoftmax) {
  expect_gradients([](auto& t) { return ops::log_softmax(t[0]); }, {randn64({2, 4, 3, 3}, 4)});
}

TEST(NllLossForward, MeanOverNonIgnoredPixels) {
  Tensor lp = ops::log_softmax(randn64({2, 4, 5, 3}, 5));
  Tensor t = labels({2, 5, 3}, 4, 6, 0.3);
  double s = 0;
  int64_t valid = 0;
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t i = 0; i < 15; ++i) {
      const int32_t k = t.data<int32_t>()[n * 15 + i];
      if (k == 255) continue;
      s -= lp.data<double>()[(n * 4 + k) * 15 + i];
      ++valid;
    }
  ASSERT_GT(valid, 0);
  ASSERT_LT(valid, 30);
  EXPECT_NEAR(ops::nll_loss(lp, t).item(), s / valid, 1e-14);
}

TEST(NllLossForward, AllIgnoredIsZero) {
  Tensor t = Tensor::full({1, 2, 2}, 255, DType::Int32);
  EXPECT_EQ(ops::nll_loss(randn64({1, 3, 2, 2}, 7), t).item(), 0.0);
}

TEST(GradCheck, NllLoss) {
  expect_gradients([t = labels({2, 3, 4}, 5, 8, 0.25)](auto& in) { return ops::nll_loss(in[0], t); },
                   {randn64({2, 5, 3, 4}, 9)});
}
TEST(GradCheck, LogSoftmaxNllLoss) {  // the cross-entropy of a segmentation head
  expect_gradients([t = labels({2, 4, 3}, 3, 10, 0.2)](auto& in) { return ops::nll_loss(ops::log_softmax(in[0]), t); },
                   {randn64({2, 3, 4, 3}, 11)});
}

TEST(NllLossErrors, LabelsAndShapes) {
  Tensor lp = randn64({1, 3, 2, 2}, 12);
  Tensor bad = Tensor::from_vector<int32_t>({1, 2, 2}, {0, 1, 7, 2});
  EXPECT_THROW_MSG(ops::nll_loss(lp, bad), ValueError,
                   "nll_loss: label 7 at image 0, pixel 2 is outside [0, 3) and is not the ignore label 255");
  EXPECT_THROW_MSG(ops::nll_loss(lp, Tensor::zeros({1, 2, 3}, DType::Int32)), ShapeError,
                   "nll_loss: target [1, 2, 3] must be [1, 2, 2] for log_probs [1, 3, 2, 2]");
  EXPECT_THROW_MSG(ops::nll_loss(lp, Tensor::zeros({1, 2, 2}, DType::Float64)), DTypeError,
                   "nll_loss: target must be int32 labels");
}

}  // namespace
}  // namespace tdseg::testing
