// global_avg_pool, resize_bilinear (align_corners=True), concat, flip_width, sum and mean: forward
// against direct formulas, gradients by finite differences, errors.
#include <gtest/gtest.h>

#include <cmath>

#include "core/ops/concat.h"
#include "core/ops/flip.h"
#include "core/ops/pooling.h"
#include "core/ops/reduce.h"
#include "core/ops/resize.h"
#include "tests/check_close.h"
#include "tests/gradcheck.h"

namespace tdseg::testing {
namespace {

TEST(GlobalAvgPoolForward, MeanOfEachPlane) {
  Tensor x = randn64({2, 3, 5, 4}, 1);
  Tensor y = ops::global_avg_pool(x);
  ASSERT_EQ(y.shape(), (Shape{2, 3, 1, 1}));
  for (int64_t k = 0; k < 6; ++k) {
    double s = 0;
    for (int64_t i = 0; i < 20; ++i) s += x.data<double>()[k * 20 + i];
    EXPECT_NEAR(y.data<double>()[k], s / 20, 1e-14);
  }
}

TEST(FlipWidthForward, MirrorsTheLastDimension) {
  const Tensor x = randn64({2, 3, 4, 5}, 3);
  const Tensor y = ops::flip_width(x);
  ASSERT_EQ(y.shape(), x.shape());
  for (int64_t r = 0; r < 24; ++r)
    for (int64_t w = 0; w < 5; ++w) EXPECT_EQ(y.data<double>()[r * 5 + w], x.data<double>()[r * 5 + 4 - w]);
  EXPECT_TRUE(all_close(ops::flip_width(y), x, 0, 0));  // its own inverse
  EXPECT_THROW_MSG(ops::flip_width(Tensor::zeros({3}, DType::Int32)), DTypeError, "flip_width");
}

TEST(GradCheck, FlipWidth) {
  expect_gradients([](auto& t) { return ops::flip_width(t[0]); }, {randn64({2, 3, 4, 5}, 4)});
}

TEST(GradCheck, GlobalAvgPool) {
  expect_gradients([](auto& t) { return ops::global_avg_pool(t[0]); }, {randn64({2, 3, 5, 4}, 2)});
}

// TensorFlow's resize_bilinear(align_corners=True) written out for one output pixel.
double resize_at(const Tensor& x, int64_t k, int64_t oy, int64_t ox, int64_t OH, int64_t OW) {
  const int64_t H = x.size(2), W = x.size(3);
  const double sy = OH > 1 ? oy * double(H - 1) / (OH - 1) : 0;
  const double sx = OW > 1 ? ox * double(W - 1) / (OW - 1) : 0;
  const int64_t y0 = int64_t(std::floor(sy)), x0 = int64_t(std::floor(sx));
  const int64_t y1 = std::min(y0 + 1, H - 1), x1 = std::min(x0 + 1, W - 1);
  const double ly = sy - y0, lx = sx - x0;
  auto at = [&](int64_t y, int64_t xx) { return x.data<double>()[(k * H + y) * W + xx]; };
  return (1 - ly) * ((1 - lx) * at(y0, x0) + lx * at(y0, x1)) + ly * ((1 - lx) * at(y1, x0) + lx * at(y1, x1));
}

TEST(ResizeBilinearForward, MatchesAlignCornersFormula) {
  for (auto [H, W, OH, OW] : std::vector<std::array<int64_t, 4>>{
           {5, 7, 9, 13}, {33, 33, 129, 129}, {9, 6, 4, 3}, {4, 5, 1, 1}, {1, 1, 5, 3}, {6, 6, 6, 6}}) {
    Tensor x = randn64({2, 3, H, W}, H * 100 + W);
    Tensor y = ops::resize_bilinear(x, OH, OW);
    Tensor expect = Tensor::empty({2, 3, OH, OW}, DType::Float64);
    for (int64_t k = 0; k < 6; ++k)
      for (int64_t oy = 0; oy < OH; ++oy)
        for (int64_t ox = 0; ox < OW; ++ox)
          expect.data<double>()[(k * OH + oy) * OW + ox] = resize_at(x, k, oy, ox, OH, OW);
    EXPECT_TRUE(all_close(y, expect, 1e-13, 1e-13)) << H << "x" << W << " -> " << OH << "x" << OW;
  }
}

TEST(ResizeBilinearForward, CornersAlignAndMidpointsAverage) {
  // 2x2 -> 3x3: corners copy, edge midpoints average two, the centre averages four.
  Tensor x = Tensor::from_vector<double>({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor y = ops::resize_bilinear(x, 3, 3);
  EXPECT_TRUE(all_close(y, Tensor::from_vector<double>({1, 1, 3, 3}, {1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4}), 1e-15, 0));
  EXPECT_TRUE(all_close(ops::resize_bilinear(y, 2, 2), x, 1e-15, 0));  // corners only
}

TEST(GradCheck, ResizeBilinearUp) {
  expect_gradients([](auto& t) { return ops::resize_bilinear(t[0], 11, 8); }, {randn64({2, 2, 4, 3}, 3)});
}
TEST(GradCheck, ResizeBilinearDown) {
  expect_gradients([](auto& t) { return ops::resize_bilinear(t[0], 3, 4); }, {randn64({1, 2, 7, 9}, 4)});
}

TEST(ConcatForward, ChannelsInOrder) {
  Tensor a = randn64({2, 1, 3, 2}, 5), b = randn64({2, 3, 3, 2}, 6);
  Tensor y = ops::concat({a, b});
  ASSERT_EQ(y.shape(), (Shape{2, 4, 3, 2}));
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 4; ++c)
      for (int64_t i = 0; i < 6; ++i) {
        const double want = c < 1 ? a.data<double>()[(n * 1 + c) * 6 + i] : b.data<double>()[(n * 3 + c - 1) * 6 + i];
        EXPECT_EQ(y.data<double>()[(n * 4 + c) * 6 + i], want);
      }
}

TEST(GradCheck, ConcatChannels) {
  expect_gradients([](auto& t) { return ops::concat({t[0], t[1], t[2]}); },
                   {randn64({2, 2, 3, 3}, 7), randn64({2, 1, 3, 3}, 8), randn64({2, 3, 3, 3}, 9)});
}
TEST(GradCheck, ConcatLastDim) {
  expect_gradients([](auto& t) { return ops::concat({t[0], t[1]}, 3); },
                   {randn64({2, 2, 3, 1}, 10), randn64({2, 2, 3, 4}, 11)});
}

TEST(ReduceForward, SumAndMean) {
  Tensor x = randn64({3, 4, 5}, 12);
  double s = 0;
  for (int64_t i = 0; i < 60; ++i) s += x.data<double>()[i];
  EXPECT_EQ(ops::sum(x).shape(), Shape{});
  EXPECT_NEAR(ops::sum(x).item(), s, 1e-13);
  EXPECT_NEAR(ops::mean(x).item(), s / 60, 1e-14);
}

TEST(GradCheck, Sum) {
  expect_gradients([](auto& t) { return ops::sum(t[0]); }, {randn64({3, 4, 5}, 13)});
}
TEST(GradCheck, Mean) {
  expect_gradients([](auto& t) { return ops::mean(t[0]); }, {randn64({3, 4, 5}, 14)});
}

TEST(ShapeOpErrors, NameTheOpAndShapes) {
  EXPECT_THROW_MSG(ops::concat({randn64({2, 2, 3, 3}, 1), randn64({2, 2, 4, 3}, 2)}), ShapeError,
                   "concat: input 1 [2, 2, 4, 3] differs from input 0 [2, 2, 3, 3] outside dim 1");
  EXPECT_THROW_MSG(ops::resize_bilinear(randn64({2, 3, 4}, 3), 5, 5), ShapeError,
                   "resize_bilinear: input [N, C, H, W] must have 4 dims, got [2, 3, 4]");
  EXPECT_THROW_MSG(ops::resize_bilinear(randn64({1, 1, 4, 4}, 3), 0, 5), ShapeError,
                   "resize_bilinear: output size 0x5 must be positive");
  EXPECT_THROW_MSG(ops::global_avg_pool(randn64({2, 3}, 4)), ShapeError, "global_avg_pool: input");
  EXPECT_THROW_MSG(ops::mean(randn64({0, 3}, 5)), ShapeError, "mean: mean of an empty tensor [0, 3]");
}

}  // namespace
}  // namespace tdseg::testing
