// CUDA twins of core/ops/loss.cpp (nll_loss), and the deterministic mean over the valid
// pixels that cross_entropy (cuda/ops/cross_entropy.cu) shares with it. Tensors are
// contiguous and on one device: scores [N, C, ...], target int32 [N, ...], |V| a float64
// scalar; outputs are preallocated.
#pragma once
#include "core/tensor.h"

namespace tdseg::cuda {

// The first pixel, as the flat index n * L + i of target, whose label is outside [0, C)
// and not the ignore label; pixel = -1 when there is none.
struct BadLabel {
  int64_t pixel = -1;
  int32_t label = 0;
};

// out[] = -(1 / |V|) sum_V log_probs[n, target, i] (0 when V is empty), valid[] = |V|.
// Returns after reading the bad-label flag back: the one synchronisation of the stream.
BadLabel nll_loss_forward(const Tensor& log_probs, const Tensor& target, const Tensor& out,
                          const Tensor& valid, int32_t ignore_index);
// dx = -dy / |V| at (n, target, i) of valid pixels, 0 elsewhere; dy, valid on the device.
void nll_loss_backward(const Tensor& target, const Tensor& dy, const Tensor& valid,
                       const Tensor& dx, int32_t ignore_index);

// The reduction behind both losses. A kernel over the P = target.numel() pixels, launched
// with `blocks` blocks of kThreads (its body: loss_partials of cuda/ops/loss.cuh), writes
// for each block b the sum of its pixels' losses to partial[b] and their count to
// partial[blocks + b], and folds the flat index of every bad label into *first_bad with
// atomicMin (the minimum does not depend on the order).
struct LossPartials {
  explicit LossPartials(const Tensor& target);  // allocates; first_bad = none (all ones)
  int blocks;
  Tensor partial;    // float64 [2 * blocks]
  Tensor first_bad;  // 8 bytes read as one unsigned 64-bit index
  unsigned long long* first_bad_ptr() const;
  // out[] = sum of the losses / count (0 when the count is 0), valid[] = the count; then
  // the flag back on the host, and the offending label if there is one.
  BadLabel finish(const Tensor& target, const Tensor& out, const Tensor& valid) const;
};

}  // namespace tdseg::cuda
