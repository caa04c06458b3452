// The STD kernel k as a separable filter. The K x K Gaussian of class c,
//   k_c(a, b) = exp(-(a^2 + b^2) / (2 sigma_c^2)) / Z_c,   a, b in [-(K-1)/2, (K-1)/2],
// factorises as k_c(a, b) = g_c(a) g_c(b) with g_c(a) = exp(-a^2 / (2 sigma_c^2)) / z_c,
// z_c = sum_a exp(-a^2 / (2 sigma_c^2)) (so Z_c = z_c^2): a row pass and a column pass of
// K taps each (2K multiply-adds per pixel instead of K^2), exact for zero padding.
// Its sigma derivative is dk_c = dg_c (x) g_c + g_c (x) dg_c, two separable passes, with
//   dg_c(a) = g_c(a) * (a^2 - sum_b g_c(b) b^2) / sigma_c^3.
#pragma once
#include <cstdint>
#include <vector>

namespace tdseg {

struct GaussianTaps {
  GaussianTaps(const std::vector<double>& sigma, int64_t K);
  int64_t K, C;
  std::vector<double> g, dg;  // [C, K]
};

// out[n, c] = k_c * in[n, c] ("same" size, zero padding) for [N, C, H, W] planes;
// with `dsigma`, out[n, c] = (dk_c / dsigma_c) * in[n, c]. out is overwritten.
template <typename T>
void gaussian_blur(const GaussianTaps& taps, int64_t N, int64_t H, int64_t W, const T* in, T* out,
                   bool dsigma = false);

}  // namespace tdseg
