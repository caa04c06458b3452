// spatial_sum, add_per_plane, expand_channels, sum_channels and slice: forward against
// index-by-index formulas, gradients by finite differences, and the errors.
#include <gtest/gtest.h>

#include <vector>

#include "core/ops/broadcast.h"
#include "tests/check_close.h"
#include "tests/gradcheck.h"

namespace tdseg::testing {
namespace {

const Shape kShape = {2, 3, 5, 4};

// x[n, c, h, w] of a contiguous float64 tensor.
double at(const Tensor& x, int64_t n, int64_t c, int64_t h, int64_t w) {
  return x.data<double>()[((n * x.size(1) + c) * x.size(2) + h) * x.size(3) + w];
}

TEST(SpatialSumForward, SumOfEachPlane) {
  Tensor x = randn64(kShape, 1);
  Tensor y = ops::spatial_sum(x);
  ASSERT_EQ(y.shape(), (Shape{2, 3}));
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 3; ++c) {
      double s = 0;
      for (int64_t h = 0; h < 5; ++h)
        for (int64_t w = 0; w < 4; ++w) s += at(x, n, c, h, w);
      EXPECT_NEAR(y.data<double>()[n * 3 + c], s, 1e-13);
    }
}

TEST(AddPerPlaneForward, BroadcastsOverThePlane) {
  Tensor x = randn64(kShape, 2), b = randn64({2, 3}, 3);
  Tensor y = ops::add_per_plane(x, b);
  ASSERT_EQ(y.shape(), kShape);
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t h = 0; h < 5; ++h)
        for (int64_t w = 0; w < 4; ++w)
          EXPECT_EQ(at(y, n, c, h, w), at(x, n, c, h, w) + b.data<double>()[n * 3 + c]);
}

TEST(ChannelsForward, ExpandCopiesAndSumAdds) {
  Tensor x = randn64({2, 1, 5, 4}, 4), z = randn64(kShape, 5);
  Tensor e = ops::expand_channels(x, 3), s = ops::sum_channels(z);
  ASSERT_EQ(e.shape(), kShape);
  ASSERT_EQ(s.shape(), (Shape{2, 1, 5, 4}));
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t h = 0; h < 5; ++h)
      for (int64_t w = 0; w < 4; ++w) {
        for (int64_t c = 0; c < 3; ++c) EXPECT_EQ(at(e, n, c, h, w), at(x, n, 0, h, w));
        const double sum = at(z, n, 0, h, w) + at(z, n, 1, h, w) + at(z, n, 2, h, w);
        EXPECT_NEAR(at(s, n, 0, h, w), sum, 1e-15);
      }
}

TEST(SliceForward, EveryDimOfRank4) {
  Tensor x = randn64({3, 4, 5, 6}, 6);
  for (int dim = 0; dim < 4; ++dim) {
    const int64_t start = 1, end = x.size(dim) - 1;
    Tensor y = ops::slice(x, dim, start, end);
    Shape want = x.shape();
    want[dim] = end - start;
    ASSERT_EQ(y.shape(), want);
    for (int64_t n = 0; n < y.size(0); ++n)
      for (int64_t c = 0; c < y.size(1); ++c)
        for (int64_t h = 0; h < y.size(2); ++h)
          for (int64_t w = 0; w < y.size(3); ++w) {
            int64_t i[4] = {n, c, h, w};
            i[dim] += start;
            EXPECT_EQ(at(y, n, c, h, w), at(x, i[0], i[1], i[2], i[3])) << "dim " << dim;
          }
  }
}

TEST(SliceForward, OtherRanksAndDtypes) {
  Tensor v = randn64({7}, 7);
  Tensor y = ops::slice(v, 0, 2, 5);
  ASSERT_EQ(y.shape(), Shape{3});
  for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(y.data<double>()[i], v.data<double>()[i + 2]);
  Tensor m = Tensor::from_vector<int32_t>({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor col = ops::slice(m, 1, 1, 3);
  ASSERT_EQ(col.shape(), (Shape{2, 2}));
  EXPECT_EQ(std::vector<int32_t>(col.data<int32_t>(), col.data<int32_t>() + 4),
            (std::vector<int32_t>{2, 3, 5, 6}));
  EXPECT_EQ(ops::slice(m, 0, 1, 1).shape(), (Shape{0, 3}));
}

TEST(GradCheck, SpatialSum) {
  expect_gradients([](auto& t) { return ops::spatial_sum(t[0]); }, {randn64(kShape, 8)});
}
TEST(GradCheck, AddPerPlane) {
  expect_gradients([](auto& t) { return ops::add_per_plane(t[0], t[1]); },
                   {randn64(kShape, 9), randn64({2, 3}, 10)});
}
TEST(GradCheck, ExpandChannels) {
  expect_gradients([](auto& t) { return ops::expand_channels(t[0], 4); },
                   {randn64({2, 1, 5, 4}, 11)});
}
TEST(GradCheck, SumChannels) {
  expect_gradients([](auto& t) { return ops::sum_channels(t[0]); }, {randn64(kShape, 12)});
}
TEST(GradCheck, SliceChannels) {
  expect_gradients([](auto& t) { return ops::slice(t[0], 1, 1, 3); }, {randn64({2, 4, 3, 3}, 13)});
}
TEST(GradCheck, SliceLastDim) {
  expect_gradients([](auto& t) { return ops::slice(t[0], 3, 0, 2); }, {randn64({2, 2, 3, 5}, 14)});
}
TEST(GradCheck, SliceRank2) {
  expect_gradients([](auto& t) { return ops::slice(t[0], 0, 2, 4); }, {randn64({5, 3}, 15)});
}

TEST(BroadcastErrors, NameTheOpAndShapes) {
  EXPECT_THROW_MSG(ops::spatial_sum(randn64({2, 3, 4}, 1)), ShapeError,
                   "spatial_sum: input [N, C, H, W] must have 4 dims, got [2, 3, 4]");
  EXPECT_THROW_MSG(ops::add_per_plane(randn64(kShape, 1), randn64({3, 2}, 2)), ShapeError,
                   "add_per_plane: bias [3, 2] does not match input [2, 3, 5, 4] "
                   "(expected [N, C] = [2, 3])");
  EXPECT_THROW_MSG(ops::add_per_plane(randn64(kShape, 1), randn64({2, 3}, 2).to(DType::Float32)),
                   DTypeError, "add_per_plane: dtypes float64 and float32 differ");
  EXPECT_THROW_MSG(ops::expand_channels(randn64(kShape, 1), 3), ShapeError,
                   "expand_channels: input must be [N, 1, H, W], got [2, 3, 5, 4]");
  EXPECT_THROW_MSG(ops::expand_channels(randn64({2, 1, 5, 4}, 1), 0), ValueError,
                   "expand_channels: channel count 0 must be positive");
  EXPECT_THROW_MSG(ops::sum_channels(Tensor::zeros({2, 3, 4, 4}, DType::Int32)), DTypeError,
                   "sum_channels: expected float32 or float64, got int32[2, 3, 4, 4] on cpu");
  EXPECT_THROW_MSG(ops::slice(randn64(kShape, 1), 4, 0, 1), ShapeError,
                   "slice: dim 4 out of range for [2, 3, 5, 4]");
  EXPECT_THROW_MSG(ops::slice(randn64(kShape, 1), 1, 2, 4), ShapeError,
                   "slice: range [2, 4) out of bounds for size 3 along dim 1 of [2, 3, 5, 4]");
  EXPECT_THROW_MSG(ops::slice(randn64(kShape, 1), 2, 3, 2), ShapeError,
                   "slice: range [3, 2) out of bounds for size 5 along dim 2 of [2, 3, 5, 4]");
}

}  // namespace
}  // namespace tdseg::testing
