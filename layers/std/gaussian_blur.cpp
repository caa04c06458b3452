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

// Both passes sum each pixel's K products in tap order, starting from 0 (or from out, for
// dk's second pass), skipping the taps outside the image: the order the CUDA kernels
// follow (std_fused_cuda_blur.cu). Where all K taps are inside (all but r pixels at each
// end of a row or column), the sum runs in a register over a long run of pixels, which
// the compiler vectorises when K is known at compile time (kK; 0: any K). The pixels
// near the ends are summed with their taps inside, in the same order.

// dst[k] = (from_zero ? 0 : dst[k]) + sum_b w[b] * src[b][k], in tap order, for k < n.
template <int kK, typename T>
void sum_taps(int64_t K, const T* w, const T* const* src, int64_t n, bool from_zero, T* dst) {
  if constexpr (kK > 0) K = kK;
  for (int64_t k = 0; k < n; ++k) {
    T acc = from_zero ? T(0) : dst[k];
    for (int64_t b = 0; b < K; ++b) acc += w[b] * src[b][k];
    dst[k] = acc;
  }
}

// Pixel x of a row of n near an end: its taps that fall in the row.
template <typename T>
T row_end_sum(int64_t K, const T* w, int64_t x, int64_t n, const T* row) {
  const int64_t r = (K - 1) / 2;
  T acc = 0;
  for (int64_t b = std::max(r - x, int64_t(0)); b < std::min(K, n + r - x); ++b)
    acc += w[b] * row[x + b - r];
  return acc;
}

// f(i) for each i of [0, n) within r of an end.
template <typename F>
void for_ends(int64_t n, int64_t r, F f) {
  for (int64_t i = 0; i < std::min(r, n); ++i) f(i);
  for (int64_t i = std::max(r, n - r); i < n; ++i) f(i);
}

// out (+)= gv (x) gh * in on one H x W plane: rows with gh into tmp, then columns with gv;
// src holds the K taps' source pointers.
template <int kK, typename T>
void separable(const T* gv, const T* gh, int64_t K, int64_t H, int64_t W, const T* in, T* tmp,
               const T** src, T* out, bool accumulate) {
  const int64_t r = (K - 1) / 2, L = H * W;
  // Rows: the plane as one run from its pixel r to L - r, then each row's r pixels at
  // each end, whose sums in the run took taps from the next or previous row, again.
  for (int64_t b = 0; b < K; ++b) src[b] = in + b;
  if (L > 2 * r) sum_taps<kK>(K, gh, src, L - 2 * r, true, tmp + r);
  for (int64_t y = 0; y < H; ++y)
    for_ends(W, r, [&](int64_t x) { tmp[y * W + x] = row_end_sum(K, gh, x, W, in + y * W); });
  // Columns: rows r to H - r as one run, then the r rows at each end, a tap at a time.
  for (int64_t a = 0; a < K; ++a) src[a] = tmp + a * W;
  if (H > 2 * r) sum_taps<kK>(K, gv, src, (H - 2 * r) * W, !accumulate, out + r * W);
  for_ends(H, r, [&](int64_t y) {
    T* d = out + y * W;
    if (!accumulate) std::fill(d, d + W, T(0));
    for (int64_t a = std::max(r - y, int64_t(0)); a < std::min(K, H + r - y); ++a)
      for (int64_t x = 0; x < W; ++x) d[x] += gv[a] * tmp[(y + a - r) * W + x];
  });
}

}  // namespace

template <typename T>
void gaussian_blur(const GaussianTaps& t, int64_t N, int64_t H, int64_t W, const T* in, T* out,
                   bool dsigma) {
  const int64_t planes = N * t.C, L = H * W, K = t.K;
  std::vector<T> g(t.g.begin(), t.g.end()), dg(t.dg.begin(), t.dg.end());  // as T
  // The paper's 7 taps, and the sizes next to it, with the sums vectorised.
  auto plane = K == 7 ? separable<7, T> : K == 5 ? separable<5, T> : K == 9 ? separable<9, T>
             : K == 3 ? separable<3, T> : separable<0, T>;
#pragma omp parallel if (planes * L >= kParallelMinElements)
  {
    std::vector<T> tmp(L);
    std::vector<const T*> src(K);
#pragma omp for
    for (int64_t k = 0; k < planes; ++k) {
      const T* gc = g.data() + k % t.C * K;
      const T* dgc = dg.data() + k % t.C * K;
      if (!dsigma) {
        plane(gc, gc, K, H, W, in + k * L, tmp.data(), src.data(), out + k * L, false);
      } else {
        plane(dgc, gc, K, H, W, in + k * L, tmp.data(), src.data(), out + k * L, false);
        plane(gc, dgc, K, H, W, in + k * L, tmp.data(), src.data(), out + k * L, true);
      }
    }
  }
}

template void gaussian_blur<float>(const GaussianTaps&, int64_t, int64_t, int64_t, const float*,
                                   float*, bool);
template void gaussian_blur<double>(const GaussianTaps&, int64_t, int64_t, int64_t, const double*,
                                    double*, bool);

}  // namespace tdseg
