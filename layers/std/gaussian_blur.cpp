#include "layers/std/gaussian_blur.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/parallel.h"

namespace tdseg {

GaussianTaps::GaussianTaps(const std::vector<double>& sigma, int64_t K_)
    : K(K_), C(static_cast<int64_t>(sigma.size())), g(C * K), dg(C * K) {
  check<ValueError>(K >= 1 && K % 2 == 1, "gaussian kernel: size ", K, " must be odd and >= 1");
  const int64_t r = (K - 1) / 2;
  for (int64_t c = 0; c < C; ++c) {
    const double s = sigma[c];
    check<ValueError>(s > 0 && std::isfinite(s), "gaussian kernel: sigma ", s,
                      " of class ", c, " must be positive");
    double z = 0, m2 = 0;
    for (int64_t a = -r; a <= r; ++a) z += std::exp(-0.5 * a * a / (s * s));
    for (int64_t a = -r; a <= r; ++a) {
      g[c * K + a + r] = std::exp(-0.5 * a * a / (s * s)) / z;
      m2 += g[c * K + a + r] * a * a;
    }
    for (int64_t a = -r; a <= r; ++a) dg[c * K + a + r] = g[c * K + a + r] * (a * a - m2) / (s * s * s);
  }
}

namespace {

// dst[x] += sum_b taps[b] * src[x + b - r] along one line of n samples (stride 1 or
// `step` apart), zero outside; shift-and-add so the inner loop has no branch.
template <typename T>
void filter_line(const double* taps, int64_t K, int64_t n, int64_t step, const T* src, T* dst) {
  const int64_t r = (K - 1) / 2;
  for (int64_t b = 0; b < K; ++b) {
    const int64_t shift = b - r;
    const int64_t lo = std::max<int64_t>(0, -shift), hi = std::min<int64_t>(n, n - shift);
    const T w = static_cast<T>(taps[b]);
    for (int64_t x = lo; x < hi; ++x) dst[x * step] += w * src[(x + shift) * step];
  }
}

// out = gv (x) gh applied to one H x W plane: rows with gh into tmp, then columns with gv.
template <typename T>
void separable(const double* gv, const double* gh, int64_t K, int64_t H, int64_t W, const T* in,
               T* tmp, T* out, bool accumulate) {
  std::fill(tmp, tmp + H * W, T(0));
  for (int64_t y = 0; y < H; ++y) filter_line(gh, K, W, 1, in + y * W, tmp + y * W);
  if (!accumulate) std::fill(out, out + H * W, T(0));
  // Column pass, written row by row so the inner loop runs along contiguous rows.
  const int64_t r = (K - 1) / 2;
  for (int64_t a = 0; a < K; ++a) {
    const int64_t shift = a - r;
    const T w = static_cast<T>(gv[a]);
    for (int64_t y = std::max<int64_t>(0, -shift); y < std::min<int64_t>(H, H - shift); ++y) {
      const T* s = tmp + (y + shift) * W;
      T* d = out + y * W;
      for (int64_t x = 0; x < W; ++x) d[x] += w * s[x];
    }
  }
}

}  // namespace

template <typename T>
void gaussian_blur(const GaussianTaps& t, int64_t N, int64_t H, int64_t W, const T* in, T* out,
                   bool dsigma) {
  const int64_t planes = N * t.C, L = H * W;
#pragma omp parallel if (planes * L >= kParallelMinElements)
  {
    std::vector<T> tmp(L);
#pragma omp for
    for (int64_t k = 0; k < planes; ++k) {
      const int64_t c = k % t.C;
      const double* g = t.g.data() + c * t.K;
      const double* dg = t.dg.data() + c * t.K;
      if (!dsigma) {
        separable(g, g, t.K, H, W, in + k * L, tmp.data(), out + k * L, false);
      } else {
        separable(dg, g, t.K, H, W, in + k * L, tmp.data(), out + k * L, false);
        separable(g, dg, t.K, H, W, in + k * L, tmp.data(), out + k * L, true);
      }
    }
  }
}

template void gaussian_blur<float>(const GaussianTaps&, int64_t, int64_t, int64_t, const float*,
                                   float*, bool);
template void gaussian_blur<double>(const GaussianTaps&, int64_t, int64_t, int64_t, const double*,
                                    double*, bool);

}  // namespace tdseg
