// One kernel per iteration of the fused STD op on CUDA, for blocks without the edge
// weight: the Gaussian of eq. 7 is computed inside the kernel that needs it, on a
// shared-memory tile of each class plane, so that the blurred planes never go to memory.
// Internal to std_fused_cuda.cu, which uses them where they apply (tile_fits) and the
// separate blur passes of std_fused_cuda_blur.cu elsewhere.
//
// Each kernel reads the planes it blurs once per class (their halo from L2) and writes
// its result once, in place of the 28 B (forward) and 64 B (backward) per element and
// iteration of the separate passes (docs/PERFORMANCE.md):
//   blur_argument_softmax   reads o, u_t; writes u_{t+1} (or z, or both): 12 B
//   adjoint_softmax         reads gz_{t+1}, u_t, go; writes go, gz_t: 20 B
// The arithmetic is the separate passes', operation for operation: rows with g_c summed
// in tap order from 0, then columns, zero padding, sums over classes in double.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "layers/std/std_fused_cuda_argument.cuh"

namespace tdseg::cuda::std_tile {

// Whether the tile kernels take a Gaussian of K taps and a batch of N images.
bool tile_fits(int64_t K, int64_t N);

// z = arg with P = k_c * (1 - 2 u) (eq. 7; arg.P is ignored), then u_next = softmax(z)
// over the classes of each pixel. z (the op's output z_T) is stored when not null, u_next
// when not null. taps: [C, K], g_c of each class.
template <typename T>
void blur_argument_softmax(const std_device::Dims& d, const T* taps, int64_t K,
                           const std_device::Argument<T>& arg, const T* u, T* z, T* u_next,
                           cudaStream_t stream);

// One iteration back for STD and SS when only dL/do is asked for (lambda, eps and sigma
// frozen, no edge weight), from gz = dL/dz_{t+1} with z_{t+1} = (o - lambda P_t) / eps:
//   go += gz / eps,  gP = lambda (-gz / eps)
//   gu = -2 k*gP  (- star_div on the star class: SS, div(gG s); star_div may be null)
//   gz_out = u_t (gu - sum_c u_t gu)            (the softmax's backward)
// gz and gz_out must not overlap: the tile reads gz's neighbours.
template <typename T>
void adjoint_softmax(const std_device::Dims& d, const T* taps, int64_t K, T lambda, T eps,
                     const T* gz, const T* u, const T* star_div, int64_t star, T* go, T* gz_out,
                     cudaStream_t stream);

}  // namespace tdseg::cuda::std_tile
