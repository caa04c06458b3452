// The fused STD op's backward iteration on CUDA as one kernel, without the edge weight
// when only dL/do is asked for (lambda, eps and sigma frozen, the paper's setting; VP-STD's
// own terms are folded into its gz first): the adjoint Gaussian of eq. 7 is computed
// inside the kernel that needs it, on a shared-memory tile of each class plane, so that gP
// and gu never go to memory. Internal to std_fused_cuda.cu, which uses it where it applies
// (tile_fits) and the one-kernel iteration (std_fused_cuda_pipeline.h) does not fit (C too
// large for its shared memory); the separate passes of std_fused_cuda_blur.cu elsewhere.
//
// It reads gz_{t+1} (its halo from L2), u_t and go, and writes go and gz_t: 20 B per element
// in float32, in place of the separate passes' 64 B (docs/PERFORMANCE.md). The arithmetic
// is theirs, operation for operation: rows with g_c summed in tap order from 0, then
// columns, zero padding, the sum over classes in double.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "layers/std/std_fused_cuda_argument.cuh"

namespace tdseg::cuda::std_tile {

// Whether the tile holds the halo of a Gaussian of K taps.
bool tile_fits(int64_t K);

// One iteration back, from gz = dL/dz_{t+1} with z_{t+1} = (o - lambda P_t) / eps:
//   go += gz / eps,  gP = lambda (-gz / eps)
//   gu = -2 k*gP  (- star_div on the star class: SS, div(gG s); star_div may be null)
//   gz_out = u_t (gu - sum_c u_t gu)            (the softmax's backward)
// taps: [C, K], g_c of each class. gz and gz_out must not overlap: the tile reads gz's
// neighbours.
template <typename T>
void adjoint_softmax(const std_device::Dims& d, const T* taps, int64_t K, T lambda, T eps,
                     const T* gz, const T* u, const T* star_div, int64_t star, T* go, T* gz_out,
                     cudaStream_t stream);

}  // namespace tdseg::cuda::std_tile
