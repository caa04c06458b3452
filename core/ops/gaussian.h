// Normalised 2-D Gaussian kernels, one per class, as a depthwise conv2d weight:
//   sigma [C] (positive), K odd >= 1 -> weight [C, 1, K, K],
//   k_c(a, b) = exp(-r^2 / (2 sigma_c^2)) / Z_c,  r^2 = a^2 + b^2,
// over the offsets a (row) and b (column) in [-(K-1)/2, (K-1)/2], with Z_c making each
// class's kernel sum to 1. Backward, with m_c = sum_{a, b} k_c(a, b) r^2:
//   dk_c(a, b) / dsigma_c = k_c(a, b) (r^2 - m_c) / sigma_c^3,
//   dsigma_c = sum_{a, b} dy[c, 0, a, b] k_c(a, b) (r^2 - m_c) / sigma_c^3.
#pragma once
#include "core/tensor.h"

namespace tdseg::ops {

Tensor gaussian_kernel(const Tensor& sigma, int64_t K);

}  // namespace tdseg::ops
