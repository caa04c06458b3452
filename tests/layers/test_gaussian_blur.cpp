// gaussian_blur, the CPU's separable Gaussian of the fused STD form: against the K x K
// Gaussian summed per pixel (float64), and, exactly, against each pixel's two passes
// summed in tap order from 0 (float32 and float64), the order the CUDA kernels follow; on
// planes smaller than, as large as and larger than the kernel, at the sizes compiled
// apart (3, 5, 7, 9) and others (1, 11).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/random.h"
#include "layers/std/gaussian_blur.h"

namespace tdseg::testing {
namespace {

struct Plane {
  int64_t H, W;
};
const Plane kPlanes[] = {{1, 1}, {2, 9}, {7, 6}, {6, 7}, {13, 17}, {31, 24}};
const int64_t kSizes[] = {1, 3, 5, 7, 9, 11};

template <typename T>
std::vector<T> random_planes(int64_t n, uint64_t seed) {
  Generator gen(seed);
  std::vector<T> v(n);
  for (T& x : v) x = static_cast<T>(gen.normal());
  return v;
}

// The taps of class c as T: the filter's g, or dg.
template <typename T>
std::vector<T> taps_of(const std::vector<double>& all, int64_t K, int64_t c) {
  return std::vector<T>(all.begin() + c * K, all.begin() + (c + 1) * K);
}

// out = gv (x) gh * in on one plane, each pixel's row pass then column pass summed in tap
// order from `from` (0, or out's value), the taps outside the plane skipped.
template <typename T>
void two_passes(const std::vector<T>& gv, const std::vector<T>& gh, int64_t H, int64_t W,
                const T* in, T* out, bool accumulate) {
  const int64_t K = static_cast<int64_t>(gv.size()), r = (K - 1) / 2;
  std::vector<T> rows(H * W);
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x) {
      T acc = 0;
      for (int64_t b = 0; b < K; ++b)
        if (x + b - r >= 0 && x + b - r < W) acc += gh[b] * in[y * W + x + b - r];
      rows[y * W + x] = acc;
    }
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x) {
      T acc = accumulate ? out[y * W + x] : T(0);
      for (int64_t a = 0; a < K; ++a)
        if (y + a - r >= 0 && y + a - r < H) acc += gv[a] * rows[(y + a - r) * W + x];
      out[y * W + x] = acc;
    }
}

template <typename T>
void expect_tap_order(uint64_t seed) {
  const int64_t N = 2, C = 2;
  for (const int64_t K : kSizes)
    for (const Plane& p : kPlanes) {
      SCOPED_TRACE(::testing::Message() << "K " << K << ", " << p.H << " x " << p.W);
      const GaussianTaps taps({1.3, 4.0}, K);
      const int64_t L = p.H * p.W;
      const std::vector<T> in = random_planes<T>(N * C * L, seed);
      for (const bool dsigma : {false, true}) {
        std::vector<T> out(N * C * L), want(N * C * L);
        gaussian_blur(taps, N, p.H, p.W, in.data(), out.data(), dsigma);
        for (int64_t k = 0; k < N * C; ++k) {
          const auto g = taps_of<T>(taps.g, K, k % C), dg = taps_of<T>(taps.dg, K, k % C);
          const T* x = in.data() + k * L;
          T* y = want.data() + k * L;
          two_passes(dsigma ? dg : g, g, p.H, p.W, x, y, false);
          if (dsigma) two_passes(g, dg, p.H, p.W, x, y, true);
        }
        EXPECT_EQ(std::memcmp(out.data(), want.data(), out.size() * sizeof(T)), 0)
            << (dsigma ? "dk" : "k") << " differs in its bits";
      }
    }
}

TEST(GaussianBlur, SumsEachPixelInTapOrderFloat32) { expect_tap_order<float>(1); }
TEST(GaussianBlur, SumsEachPixelInTapOrderFloat64) { expect_tap_order<double>(2); }

// k_c(a, b) = g_c(a) g_c(b) applied as a K x K window, zero outside; and dk_c =
// dg_c (x) g_c + g_c (x) dg_c. Float64, within 1e-12 of the window's largest term.
TEST(GaussianBlur, IsTheKxKGaussianAndItsSigmaDerivative) {
  for (const int64_t K : kSizes)
    for (const Plane& p : kPlanes) {
      SCOPED_TRACE(::testing::Message() << "K " << K << ", " << p.H << " x " << p.W);
      const GaussianTaps taps({0.9}, K);
      const int64_t L = p.H * p.W, r = (K - 1) / 2;
      const std::vector<double> in = random_planes<double>(L, 3);
      for (const bool dsigma : {false, true}) {
        std::vector<double> out(L);
        gaussian_blur(taps, 1, p.H, p.W, in.data(), out.data(), dsigma);
        const double* g = taps.g.data();
        const double* dg = taps.dg.data();
        for (int64_t y = 0; y < p.H; ++y)
          for (int64_t x = 0; x < p.W; ++x) {
            double want = 0;
            for (int64_t a = -r; a <= r; ++a)
              for (int64_t b = -r; b <= r; ++b) {
                if (y + a < 0 || y + a >= p.H || x + b < 0 || x + b >= p.W) continue;
                const double k = dsigma ? dg[a + r] * g[b + r] + g[a + r] * dg[b + r]
                                        : g[a + r] * g[b + r];
                want += k * in[(y + a) * p.W + x + b];
              }
            EXPECT_NEAR(out[y * p.W + x], want, 1e-12) << "at " << y << ", " << x;
          }
      }
    }
}

}  // namespace
}  // namespace tdseg::testing
