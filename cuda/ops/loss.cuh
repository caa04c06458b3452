// The device half of LossPartials (cuda/ops/loss.h), shared by the partials kernels of
// nll_loss (cuda/ops/loss.cu) and cross_entropy (cuda/ops/cross_entropy.cu).
#pragma once
#include <cstdint>

#include "cuda/block_reduce.cuh"

namespace tdseg::cuda {

// The body of a partials kernel over the P pixels of target, one thread per pixel in a
// grid-stride loop: an ignored pixel is skipped, a label outside [0, C) folds its flat
// index into *first_bad, and a valid pixel p of label k adds pixel_loss(p, k) (a double)
// to the block's loss and 1 to its count. Thread 0 writes the block's sums to
// partial[blockIdx.x] and partial[gridDim.x + blockIdx.x]. Called by every thread.
template <typename PixelLoss>
__device__ void loss_partials(int64_t P, int64_t C, const int32_t* __restrict__ target,
                              int32_t ignore_index, double* __restrict__ partial,
                              unsigned long long* first_bad, PixelLoss pixel_loss) {
  double loss = 0, count = 0;
  for (int64_t p = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; p < P;
       p += int64_t(gridDim.x) * blockDim.x) {
    const int32_t k = target[p];
    if (k == ignore_index) continue;
    if (k < 0 || k >= C) {
      atomicMin(first_bad, static_cast<unsigned long long>(p));
      continue;
    }
    loss += pixel_loss(p, k);
    count += 1;
  }
  loss = block_sum(loss);
  count = block_sum(count);
  if (threadIdx.x == 0) {
    partial[blockIdx.x] = loss;
    partial[gridDim.x + blockIdx.x] = count;
  }
}

}  // namespace tdseg::cuda
