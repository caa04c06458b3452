// image_grad, image_div and gaussian_kernel: forward against the formulas written out per
// pixel, the adjoint identity <image_grad(a), w> = -<a, image_div(w)>, gradients by finite
// differences, and the errors.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <vector>

#include "core/ops/gaussian.h"
#include "core/ops/image_grad.h"
#include "tests/check_close.h"
#include "tests/gradcheck.h"

namespace tdseg::testing {
namespace {

// x[n, c, h, w] of a contiguous float64 tensor.
double at(const Tensor& x, int64_t n, int64_t c, int64_t h, int64_t w) {
  return x.data<double>()[((n * x.size(1) + c) * x.size(2) + h) * x.size(3) + w];
}

Tensor uniform64(const Shape& shape, uint64_t seed, double lo, double hi) {
  Generator gen(seed);
  return Tensor::uniform(shape, gen, lo, hi, DType::Float64);
}

double dot(const Tensor& a, const Tensor& b) {
  double s = 0;
  for (int64_t i = 0; i < a.numel(); ++i) s += a.data<double>()[i] * b.data<double>()[i];
  return s;
}

TEST(ImageGradForward, ForwardDifferencesZeroOnTheFarEdge) {
  Tensor u = randn64({2, 1, 5, 7}, 1);
  Tensor g = ops::image_grad(u);
  ASSERT_EQ(g.shape(), (Shape{2, 2, 5, 7}));
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t y = 0; y < 5; ++y)
      for (int64_t x = 0; x < 7; ++x) {
        EXPECT_EQ(at(g, n, 0, y, x), x == 6 ? 0.0 : at(u, n, 0, y, x + 1) - at(u, n, 0, y, x));
        EXPECT_EQ(at(g, n, 1, y, x), y == 4 ? 0.0 : at(u, n, 0, y + 1, x) - at(u, n, 0, y, x));
      }
}

TEST(ImageGradForward, RampHasConstantSlopes) {
  // u[y][x] = 2x + 3y: slopes 2 and 3 inside, 0 on the last column / row.
  Tensor u = Tensor::empty({1, 1, 3, 4}, DType::Float64);
  for (int64_t y = 0; y < 3; ++y)
    for (int64_t x = 0; x < 4; ++x) u.data<double>()[y * 4 + x] = 2.0 * x + 3.0 * y;
  Tensor g = ops::image_grad(u);
  for (int64_t y = 0; y < 3; ++y)
    for (int64_t x = 0; x < 4; ++x) {
      EXPECT_EQ(at(g, 0, 0, y, x), x < 3 ? 2.0 : 0.0);
      EXPECT_EQ(at(g, 0, 1, y, x), y < 2 ? 3.0 : 0.0);
    }
}

TEST(ImageDivForward, BackwardDifferencesWithBoundaryCases) {
  Tensor w = randn64({2, 2, 5, 7}, 2);
  Tensor d = ops::image_div(w);
  ASSERT_EQ(d.shape(), (Shape{2, 1, 5, 7}));
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t y = 0; y < 5; ++y)
      for (int64_t x = 0; x < 7; ++x) {
        const double dx = x == 0 ? at(w, n, 0, y, 0)
                          : x == 6 ? -at(w, n, 0, y, 5)
                                   : at(w, n, 0, y, x) - at(w, n, 0, y, x - 1);
        const double dy = y == 0 ? at(w, n, 1, 0, x)
                          : y == 4 ? -at(w, n, 1, 3, x)
                                   : at(w, n, 1, y, x) - at(w, n, 1, y - 1, x);
        EXPECT_NEAR(at(d, n, 0, y, x), dx + dy, 1e-15);
      }
}

TEST(ImageGradDiv, NegativeAdjoint) {
  for (auto [N, H, W] : std::vector<std::array<int64_t, 3>>{
           {2, 5, 7}, {1, 9, 3}, {3, 1, 7}, {2, 6, 1}, {1, 1, 1}, {1, 8, 8}}) {
    const uint64_t seed = N * 10000 + H * 100 + W;
    Tensor a = randn64({N, 1, H, W}, seed), w = randn64({N, 2, H, W}, seed + 1);
    const double lhs = dot(ops::image_grad(a), w), rhs = -dot(a, ops::image_div(w));
    EXPECT_NEAR(lhs, rhs, 1e-12 * (1 + std::abs(lhs))) << N << "x" << H << "x" << W;
  }
}

TEST(ImageGradDiv, Float32) {
  Generator gen(3);
  Tensor u = Tensor::randn({2, 1, 6, 5}, gen), w = Tensor::randn({2, 2, 6, 5}, gen);
  EXPECT_EQ(ops::image_grad(u).dtype(), DType::Float32);
  EXPECT_TRUE(all_close(ops::image_grad(u), ops::image_grad(u.to(DType::Float64)), 1e-6, 1e-6));
  EXPECT_TRUE(all_close(ops::image_div(w), ops::image_div(w.to(DType::Float64)), 1e-6, 1e-6));
}

TEST(GradCheck, ImageGrad) {
  expect_gradients([](auto& t) { return ops::image_grad(t[0]); }, {randn64({2, 1, 5, 7}, 4)});
}
TEST(GradCheck, ImageDiv) {
  expect_gradients([](auto& t) { return ops::image_div(t[0]); }, {randn64({2, 2, 5, 7}, 5)});
}
TEST(GradCheck, ImageDivOfImageGrad) {  // the Laplacian of the star-shape prior
  expect_gradients([](auto& t) { return ops::image_div(ops::image_grad(t[0])); },
                   {randn64({1, 1, 4, 6}, 6)});
}

TEST(GaussianKernelForward, MatchesFormula) {
  Tensor sigma = uniform64({3}, 7, 0.5, 2.5);
  const int64_t K = 7;
  Tensor k = ops::gaussian_kernel(sigma, K);
  ASSERT_EQ(k.shape(), (Shape{3, 1, K, K}));
  for (int64_t c = 0; c < 3; ++c) {
    const double s = sigma.data<double>()[c];
    double z = 0;
    for (int64_t a = -3; a <= 3; ++a)
      for (int64_t b = -3; b <= 3; ++b) z += std::exp(-(a * a + b * b) / (2 * s * s));
    double total = 0;
    for (int64_t a = -3; a <= 3; ++a)
      for (int64_t b = -3; b <= 3; ++b) {
        const double v = at(k, c, 0, a + 3, b + 3);
        EXPECT_NEAR(v, std::exp(-(a * a + b * b) / (2 * s * s)) / z, 1e-15);
        total += v;
      }
    EXPECT_NEAR(total, 1.0, 1e-14);
  }
}

TEST(GaussianKernelForward, SizeOneAndFloat32) {
  EXPECT_TRUE(all_close(ops::gaussian_kernel(uniform64({2}, 8, 0.5, 2.0), 1),
                        Tensor::ones({2, 1, 1, 1}, DType::Float64), 0, 0));
  Tensor sigma = uniform64({4}, 9, 0.5, 3.0);
  Tensor k32 = ops::gaussian_kernel(sigma.to(DType::Float32), 5);
  EXPECT_EQ(k32.dtype(), DType::Float32);
  EXPECT_TRUE(all_close(k32, ops::gaussian_kernel(sigma, 5), 1e-7, 1e-6));
}

TEST(GradCheck, GaussianKernel) {
  expect_gradients([](auto& t) { return ops::gaussian_kernel(t[0], 5); },
                   {uniform64({3}, 10, 0.5, 2.5)});
}
TEST(GradCheck, GaussianKernelWide) {
  expect_gradients([](auto& t) { return ops::gaussian_kernel(t[0], 9); },
                   {uniform64({2}, 11, 1.0, 4.0)});
}

TEST(ImageGradGaussianErrors, NameTheOpAndShapes) {
  EXPECT_THROW_MSG(ops::image_grad(randn64({2, 2, 5, 5}, 1)), ShapeError,
                   "image_grad: input must be [N, 1, H, W], got [2, 2, 5, 5]");
  EXPECT_THROW_MSG(ops::image_div(randn64({2, 1, 5, 5}, 1)), ShapeError,
                   "image_div: input must be [N, 2, H, W], got [2, 1, 5, 5]");
  EXPECT_THROW_MSG(ops::image_div(randn64({2, 5, 5}, 1)), ShapeError,
                   "image_div: input must be [N, 2, H, W], got [2, 5, 5]");
  EXPECT_THROW_MSG(ops::gaussian_kernel(uniform64({3}, 1, 0.5, 1.0), 4), ValueError,
                   "gaussian_kernel: kernel size K must be odd and >= 1, got 4");
  EXPECT_THROW_MSG(ops::gaussian_kernel(uniform64({3}, 1, 0.5, 1.0), -1), ValueError,
                   "gaussian_kernel: kernel size K must be odd and >= 1, got -1");
  EXPECT_THROW_MSG(ops::gaussian_kernel(Tensor::from_vector<double>({2}, {1.0, -0.5}), 3),
                   ValueError, "gaussian_kernel: sigma[1] = -0.5 must be positive");
  EXPECT_THROW_MSG(ops::gaussian_kernel(uniform64({3, 1}, 1, 0.5, 1.0), 3), ShapeError,
                   "gaussian_kernel: sigma [C] must have 1 dims, got [3, 1]");
}

}  // namespace
}  // namespace tdseg::testing
