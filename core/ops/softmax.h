// Softmax and log-softmax over dim 1 (the classes of [N, C, ...]), numerically stable:
//   softmax(x)[n, c, i]     = exp(x[n, c, i] - m) / sum_k exp(x[n, k, i] - m)
//   log_softmax(x)[n, c, i] = x[n, c, i] - m - log sum_k exp(x[n, k, i] - m)
// with m = max_k x[n, k, i]. The per-pixel reduction over C has stride H*W in NCHW.
#pragma once
#include "core/tensor.h"

namespace tdseg::ops {

Tensor softmax(const Tensor& x);
Tensor log_softmax(const Tensor& x);

}  // namespace tdseg::ops
