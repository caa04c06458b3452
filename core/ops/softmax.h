// Softmax and log-softmax over dim 1 (the classes of [N, C, ...]), numerically stable:
//   softmax(x)[n, c, i]     = exp(x[n, c, i] - m) / sum_k exp(x[n, k, i] - m)
//   log_softmax(x)[n, c, i] = x[n, c, i] - m - log sum_k exp(x[n, k, i] - m)
// with m = max_k x[n, k, i]. The per-pixel reduction over C has stride H*W in NCHW.
#pragma once
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

}  // namespace tdseg::ops
