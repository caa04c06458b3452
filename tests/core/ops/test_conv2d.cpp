// conv2d: forward against the direct 7-loop formula over a grid of stride, padding,
// dilation and groups (depthwise and 1x1 included), in float32 and float64; gradients by
// finite differences in float64; and the errors for bad shapes.
#include <gtest/gtest.h>

#include "core/ops/conv2d.h"
#include "tests/check_close.h"
#include "tests/gradcheck.h"

namespace tdseg::testing {
namespace {

using ops::Conv2dOptions;

// out[n, m, oy, ox] = b[m] + sum_{c, ky, kx} w[m, c, ky, kx] * x[n, g*Cg + c, iy, ix]
Tensor conv_naive(const Tensor& x64, const Tensor& w64, const Tensor& b64, const Conv2dOptions& o) {
  const Tensor x = x64.to(DType::Float64), w = w64.to(DType::Float64);
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t M = w.size(0), Cg = w.size(1), KH = w.size(2), KW = w.size(3);
  const int64_t OH = (H + 2 * o.padding[0] - o.dilation[0] * (KH - 1) - 1) / o.stride[0] + 1;
  const int64_t OW = (W + 2 * o.padding[1] - o.dilation[1] * (KW - 1) - 1) / o.stride[1] + 1;
  Tensor out = Tensor::zeros({N, M, OH, OW}, DType::Float64);
  const double *px = x.data<double>(), *pw = w.data<double>();
  double* po = out.data<double>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t m = 0; m < M; ++m) {
      const int64_t g = m / (M / o.groups);
      for (int64_t oy = 0; oy < OH; ++oy)
        for (int64_t ox = 0; ox < OW; ++ox) {
          double s = b64.defined() ? b64.to(DType::Float64).data<double>()[m] : 0.0;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t ky = 0; ky < KH; ++ky)
              for (int64_t kx = 0; kx < KW; ++kx) {
                const int64_t iy = oy * o.stride[0] - o.padding[0] + ky * o.dilation[0];
                const int64_t ix = ox * o.stride[1] - o.padding[1] + kx * o.dilation[1];
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                s += pw[((m * Cg + c) * KH + ky) * KW + kx] *
                     px[((n * C + g * Cg + c) * H + iy) * W + ix];
              }
          po[((n * M + m) * OH + oy) * OW + ox] = s;
        }
    }
  return out;
}

struct Case {
  int64_t C, M, K, stride, pad, dilation, groups;
};

// Plain, strided, padded, dilated (atrous), grouped, depthwise (multiplier 1 and 2),
// pointwise 1x1 (the im2col-free path) and strided 1x1.
const Case kGrid[] = {
    {3, 4, 3, 1, 1, 1, 1}, {3, 5, 3, 2, 1, 1, 1}, {4, 4, 3, 1, 0, 1, 1}, {4, 6, 3, 1, 2, 2, 1},
    {4, 4, 3, 2, 3, 3, 1}, {6, 4, 3, 1, 1, 1, 2}, {5, 5, 3, 1, 1, 1, 5}, {5, 5, 3, 2, 2, 2, 5},
    {3, 6, 3, 1, 1, 1, 3}, {4, 6, 1, 1, 0, 1, 1}, {4, 6, 1, 2, 0, 1, 1}, {4, 4, 5, 1, 2, 1, 1},
};

TEST(Conv2dForward, GridMatchesNaiveFloat32) {
  uint64_t seed = 100;
  for (const Case& c : kGrid) {
    SCOPED_TRACE(::testing::Message() << "C=" << c.C << " M=" << c.M << " K=" << c.K << " s="
                                      << c.stride << " p=" << c.pad << " d=" << c.dilation
                                      << " g=" << c.groups);
    Generator gen(seed++);
    const Conv2dOptions o(c.stride, c.pad, c.dilation, c.groups);
    Tensor x = Tensor::randn({2, c.C, 11, 9}, gen);  // odd, non-square planes
    Tensor w = Tensor::randn({c.M, c.C / c.groups, c.K, c.K}, gen);
    Tensor b = Tensor::randn({c.M}, gen);
    EXPECT_TRUE(all_close(ops::conv2d(x, w, b, o), conv_naive(x, w, b, o), 1e-4, 1e-4));
  }
}

TEST(Conv2dForward, GridMatchesNaiveFloat64) {
  uint64_t seed = 200;
  for (const Case& c : kGrid) {
    const Conv2dOptions o(c.stride, c.pad, c.dilation, c.groups);
    Tensor x = randn64({1, c.C, 8, 10}, seed++);
    Tensor w = randn64({c.M, c.C / c.groups, c.K, c.K}, seed++);
    EXPECT_TRUE(all_close(ops::conv2d(x, w, Tensor(), o), conv_naive(x, w, Tensor(), o), 1e-12,
                          1e-12));
  }
}

TEST(Conv2dForward, AsymmetricStridePaddingDilation) {
  Conv2dOptions o;
  o.stride = {2, 1};
  o.padding = {1, 3};
  o.dilation = {1, 3};
  Tensor x = randn64({2, 3, 9, 12}, 5), w = randn64({4, 3, 3, 3}, 6), b = randn64({4}, 7);
  EXPECT_TRUE(all_close(ops::conv2d(x, w, b, o), conv_naive(x, w, b, o), 1e-12, 1e-12));
}

TEST(Conv2dForward, LargeEnoughForTheParallelPaths) {
  // Sizes above kParallelMinElements, so the OpenMP loops of im2col and depthwise run.
  for (const Case& c : {Case{16, 8, 3, 1, 2, 2, 1}, Case{32, 32, 3, 1, 1, 1, 32}}) {
    const Conv2dOptions o(c.stride, c.pad, c.dilation, c.groups);
    Tensor x = randn64({2, c.C, 33, 35}, 31), w = randn64({c.M, c.C / c.groups, 3, 3}, 32);
    EXPECT_TRUE(all_close(ops::conv2d(x, w, Tensor(), o), conv_naive(x, w, Tensor(), o), 1e-11, 1e-11));
  }
}

// conv is bilinear, so for y = conv(x, w) and any dy: <y, dy> = <dx, x> = <dw, w>.
// This checks the parallel backward paths at sizes finite differences cannot afford.
TEST(Conv2dBackward, AdjointIdentityLarge) {
  for (const Case& c : {Case{16, 8, 3, 2, 2, 2, 1}, Case{32, 64, 3, 1, 2, 2, 32}}) {
    const Conv2dOptions o(c.stride, c.pad, c.dilation, c.groups);
    Tensor x = randn64({2, c.C, 33, 35}, 33), w = randn64({c.M, c.C / c.groups, 3, 3}, 34);
    x.set_requires_grad(true);
    w.set_requires_grad(true);
    Tensor y = ops::conv2d(x, w, Tensor(), o);
    Tensor dy = randn64(y.shape(), 35);
    double ydy = 0, xdx = 0, wdw = 0;
    for (int64_t i = 0; i < y.numel(); ++i) ydy += y.data<double>()[i] * dy.data<double>()[i];
    y.backward(dy);
    for (int64_t i = 0; i < x.numel(); ++i) xdx += x.data<double>()[i] * x.grad().data<double>()[i];
    for (int64_t i = 0; i < w.numel(); ++i) wdw += w.data<double>()[i] * w.grad().data<double>()[i];
    EXPECT_NEAR(xdx, ydy, 1e-9 * std::abs(ydy));
    EXPECT_NEAR(wdw, ydy, 1e-9 * std::abs(ydy));
  }
}

void grad_case(const Case& c, bool bias, uint64_t seed) {
  const Conv2dOptions o(c.stride, c.pad, c.dilation, c.groups);
  std::vector<Tensor> in = {randn64({2, c.C, 7, 6}, seed), randn64({c.M, c.C / c.groups, c.K, c.K}, seed + 1)};
  if (bias) in.push_back(randn64({c.M}, seed + 2));
  expect_gradients(
      [o](const std::vector<Tensor>& t) {
        return ops::conv2d(t[0], t[1], t.size() > 2 ? t[2] : Tensor(), o);
      },
      in, {1e-6, 1e-7, 1e-6});
}

TEST(GradCheck, Conv2dPlain) { grad_case({3, 4, 3, 1, 1, 1, 1}, true, 11); }
TEST(GradCheck, Conv2dNoBias) { grad_case({3, 4, 3, 1, 1, 1, 1}, false, 12); }
TEST(GradCheck, Conv2dStrided) { grad_case({3, 5, 3, 2, 1, 1, 1}, true, 13); }
TEST(GradCheck, Conv2dUnpadded) { grad_case({4, 3, 3, 1, 0, 1, 1}, true, 14); }
TEST(GradCheck, Conv2dDilated) { grad_case({4, 3, 3, 1, 2, 2, 1}, true, 15); }
TEST(GradCheck, Conv2dStridedDilated) { grad_case({2, 3, 3, 2, 2, 2, 1}, true, 16); }
TEST(GradCheck, Conv2dGrouped) { grad_case({6, 4, 3, 1, 1, 1, 2}, true, 17); }
TEST(GradCheck, Conv2dDepthwise) { grad_case({5, 5, 3, 1, 1, 1, 5}, true, 18); }
TEST(GradCheck, Conv2dDepthwiseDilatedStrided) { grad_case({4, 4, 3, 2, 2, 2, 4}, false, 19); }
TEST(GradCheck, Conv2dDepthwiseMultiplier) { grad_case({3, 6, 3, 1, 1, 1, 3}, true, 20); }
TEST(GradCheck, Conv2dPointwise) { grad_case({4, 6, 1, 1, 0, 1, 1}, true, 21); }
TEST(GradCheck, Conv2dPointwiseStrided) { grad_case({4, 6, 1, 2, 0, 1, 1}, true, 22); }

TEST(Conv2dErrors, ChannelMismatchNamesShapes) {
  Tensor x = randn64({1, 3, 8, 8}, 1), w = randn64({4, 2, 3, 3}, 2);
  EXPECT_THROW_MSG(ops::conv2d(x, w, Tensor()), ShapeError,
                   "conv2d: weight [4, 2, 3, 3] expects 2 input channels with groups=1, input [1, 3, 8, 8] has 3");
}

TEST(Conv2dErrors, RankDtypeGroupsAndSize) {
  Tensor x = randn64({1, 4, 8, 8}, 1), w = randn64({4, 4, 3, 3}, 2);
  EXPECT_THROW_MSG(ops::conv2d(x.reshape({4, 8, 8}), w, Tensor()), ShapeError,
                   "conv2d: input [N, C, H, W] must have 4 dims, got [4, 8, 8]");
  EXPECT_THROW_MSG(ops::conv2d(x.to(DType::Float32), w, Tensor()), DTypeError,
                   "conv2d: dtypes float32 and float64 differ");
  EXPECT_THROW_MSG(ops::conv2d(x, w, Tensor(), Conv2dOptions(1, 1, 1, 3)), ValueError,
                   "conv2d: groups 3 must divide input channels 4");
  EXPECT_THROW_MSG(ops::conv2d(x, randn64({4, 4, 9, 9}, 3), Tensor()), ShapeError,
                   "smaller than the dilated kernel extent 9");
  EXPECT_THROW_MSG(ops::conv2d(x, w, randn64({3}, 4)), ShapeError, "conv2d: bias [3] must be [4]");
}

}  // namespace
}  // namespace tdseg::testing
