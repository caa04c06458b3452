// CUDA twins of core/ops/cross_entropy.cpp: the fused nll_loss(log_softmax(logits)).
// Tensors are contiguous and on one device: logits [N, C, ...], target int32 [N, ...],
// lse [N, ...] in the logits' dtype, |V| a float64 scalar; outputs are preallocated.
#pragma once
#include "core/tensor.h"
#include "cuda/ops/loss.h"

namespace tdseg::cuda {

// lse[n, i] = log sum_c exp(logits[n, c, i]) at the valid pixels (the others are left
// unwritten), out[] = the mean of lse - logits[n, target, i] over them, valid[] = |V|.
// Returns after reading the bad-label flag back, as nll_loss_forward does.
BadLabel cross_entropy_forward(const Tensor& logits, const Tensor& target, const Tensor& lse,
                               const Tensor& out, const Tensor& valid, int32_t ignore_index);
// dx = (exp(logits - lse) - [c == target]) * dy / |V| at valid pixels, 0 at ignored ones.
void cross_entropy_backward(const Tensor& logits, const Tensor& target, const Tensor& lse,
                            const Tensor& dy, const Tensor& valid, const Tensor& dx,
                            int32_t ignore_index);

}  // namespace tdseg::cuda
