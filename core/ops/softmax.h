// Softmax and log-softmax over dim 1 (the classes of [N, C, ...]), numerically stable:
//   softmax(x)[n, c, i]     = exp(x[n, c, i] - m) / sum_k exp(x[n, k, i] - m)
//   log_softmax(x)[n, c, i] = x[n, c, i] - m - log sum_k exp(x[n, k, i] - m)
// with m = max_k x[n, k, i]. The per-pixel reduction over C has stride H*W in NCHW.
#pragma once
#include <cstdint>
#include <limits>

#include "core/tensor.h"

namespace tdseg::ops {

Tensor softmax(const Tensor& x);
Tensor log_softmax(const Tensor& x);

// The CPU kernels, for fused layers that apply them to raw buffers of [N, C, L]:
// y = softmax(x) (or log_softmax with `log`), and dx = the vector-Jacobian product for
// dy given the forward's output y. Outputs are overwritten.
template <typename T>
void softmax_forward_cpu(int64_t N, int64_t C, int64_t L, const T* x, T* y, bool log);
template <typename T>
void softmax_backward_cpu(int64_t N, int64_t C, int64_t L, const T* y, const T* dy, T* dx,
                          bool log);

// m[i] = max(-inf, x[i], x[L + i], ..., x[(C - 1) L + i]) for i < len: the per-pixel max
// of a block of pixels, in the CPU kernels above and the cross-entropy's, with what
// std::max gives (a NaN x is passed over). Written on values, not std::max's references,
// which GCC 12 compiles to a compare and a branch an element into a local array (its
// profile's hottest instructions); this form it vectorises (maxps).
template <typename T>
void channel_max(int64_t C, int64_t L, int64_t len, const T* x, T* m) {
  for (int64_t i = 0; i < len; ++i) m[i] = -std::numeric_limits<T>::infinity();
  for (int64_t c = 0; c < C; ++c)
    for (int64_t i = 0; i < len; ++i) {
      const T a = m[i], b = x[c * L + i];
      m[i] = a < b ? b : a;
    }
}

}  // namespace tdseg::ops
