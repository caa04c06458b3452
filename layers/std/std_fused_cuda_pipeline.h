// The fused STD op's iteration on CUDA as one kernel, forward and back, without the edge
// weight: the row pass of the blur is carried from one iteration to the next, so that P
// and the blur's rows never make a round trip through memory. Forward:
//   P_t       = k*(1 - 2u_t), the column pass of rows_t                          (eq. 7)
//   z_{t+1}   = (o - lambda P_t) / eps   [- div(q s) / eps on SS's star class]
//   u_{t+1}   = softmax(z_{t+1})                                     (Algorithms 1, 3)
//   rows_{t+1} = the row pass of 1 - 2u_{t+1}, which iteration t + 1 reads
// It reads rows_t and o and writes u_{t+1} and rows_{t+1}: 16 B per element in float32,
// where the separate passes (std_fused_cuda_blur.cu, then argument_softmax) move 28
// (docs/PERFORMANCE.md). The arithmetic is theirs, operation for operation: rows with
// g_c summed in tap order from 0, then columns, zero padding, the softmax's sum in double.
// VP-STD's dual step (eq. 10) needs S = sum_x softmax(a_t) over whole planes between P_t
// and z_{t+1}: a first kernel (weight_sums) sums the column pass, a_t and w from the same
// rows and leaves S in shares (8 B), then the iteration runs with q_{t+1}: 24 B in all,
// against the passes' 44.
// Back (only dL/do asked for, as std_fused_cuda_tile.h's kernel, which it replaces there):
//   gu   = -2 k*gP_{t+1} [- div(gG s) on the star class], the column pass of its rows
//   gz_t = u_t (gu - sum_c u_t gu),  go += gz_t / eps
//   rows of gP_t = lambda (-gz_t / eps), which iteration t - 1 back reads
// reading the rows, u_t and go and writing go and the next rows: 20 B per element, as the
// tile kernel, but with no barrier per class. VP-STD's own terms need gz_t whole (its
// planes' sums) before the rows of gP_t can be written, so its iteration back is four
// kernels (vp_weights, vp_fold_rows and adjoint writing gz_t, after start_rows of u_t):
// 14 values an element against the passes' and the tile kernel's 19 (docs/PERFORMANCE.md).
// Internal to std_fused_cuda.cu, which uses it where `fits` and the passes elsewhere (the
// edge weight needs two row passes).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "layers/std/std_fused_cuda_argument.cuh"

namespace tdseg::cuda::std_pipeline {

// Whether the kernel serves d and K: a block's shared memory holds the C classes of its
// pixels and their halo (K <= 33), and an image's offsets fit in 32 bits.
bool fits(const std_device::Dims& d, int64_t K, size_t value_bytes, int rows_per_block = 1);

// rows = the row pass of 1 - 2u, by the code the iteration below runs for rows_{t+1}: the
// start of a chain of iterations, from u_0 or from a checkpoint, gives the rows the
// chain's own steps would have given.
template <typename T>
void start_rows(const std_device::Dims& d, const T* taps, int64_t K, const T* u, T* rows,
                cudaStream_t stream);

// One iteration from rows_t (the argument a without P: the kernel term comes from rows;
// rows null: none, the start z_0 = o / eps, u_0, rows_0 in one kernel):
// z_{t+1} when z is not null, u_{t+1} when u_next is not null (with star_only and SS-STD's
// term in a, its planes of class a.star alone, which the next dual step reads), rows_{t+1}
// when rows_next is not null. rows_next must not overlap rows. rows_per_block is 1 or 2
// (tools/kernels/blur_softmax_versions.cu times both).
template <typename T>
void iterate(const std_device::Dims& d, const T* taps, int64_t K,
             const std_device::Argument<T>& a, const T* rows, T* z, T* u_next, T* rows_next,
             cudaStream_t stream, int rows_per_block = 1, bool star_only = false);

// VP-STD's first half of an iteration (eq. 10) from rows_t: a_t = (o - lambda P_t + q_t)
// / eps (a with q_plane = q_t), w = softmax(a_t), and of w only its sums over pixel blocks,
// sums[(n C + c) B + b] for B = weight_sum_blocks(d) blocks an image (the dual's step adds
// them: std_prior::vp_dual_from_sums). Reads rows_t and o: 8 B per element in float32.
int64_t weight_sum_blocks(const std_device::Dims& d);
template <typename T>
void weight_sums(const std_device::Dims& d, const T* taps, int64_t K,
                 const std_device::Argument<T>& a, const T* rows, double* sums,
                 cudaStream_t stream);

// The start of the backward's chain: go = gz / eps (go's first values) and rows = the row
// pass of lambda (-gz / eps), from gz = dL/dz_T.
template <typename T>
void start_adjoint(const std_device::Dims& d, const T* taps, int64_t K, T lambda, T eps,
                   const T* gz, T* go, T* rows, cudaStream_t stream);

// One iteration back from the rows of gP_{t+1}, go holding gz_{t+1} / eps already: adds
// gz_t / eps to go, writes the rows of gP_t to rows_next and gz_t to gz_out, each when not
// null. star_div [N, L] (SS: div(gG s)) enters class `star` only; null for none. With
// star_div, gz_out gets only the planes of class `star` (SS-STD's dual reads no other);
// without, every plane (VP-STD's terms). rows_next must not overlap rows.
template <typename T>
void adjoint(const std_device::Dims& d, const T* taps, int64_t K, T lambda, T eps, const T* rows,
             const T* u, const T* star_div, int64_t star, T* go, T* rows_next, T* gz_out,
             cudaStream_t stream);

// VP-STD's iteration t back, its own terms (eq. 10 back), given gz = dL/dz_{t+1}:
// vp_weights, from rows_t (start_rows of u_t) and a as in weight_sums: w = softmax(a_t)
// into w, and the shares of the planes' sums of w and of gz, into sums[(n C + c) B + b]
// and sums[N C B + (n C + c) B + b] (std_prior::vp_planes_from_sums adds them). Reads
// rows_t, o, gz, writes w: 16 B per element in float32.
template <typename T>
void vp_weights(const std_device::Dims& d, const T* taps, int64_t K,
                const std_device::Argument<T>& a, const T* rows, const T* gz, T* w, double* sums,
                cudaStream_t stream);

// Then, with dL/dS per plane in dS [N, C]: ga = w (dS - sum_c w dS) through the softmax,
// gz' = gz + ga, go += gz' / eps (go = gz' / eps, its first values, where first) and
// rows = the row pass of lambda (-gz' / eps), which adjoint reads; and the shares of ga's
// plane sums into ga_sums[(n C + c) B + b] (the dual's gradient:
// std_prior::vp_dual_from_ga_sums). vp_fold's and the tile kernel's arithmetic. Reads w,
// gz, go, writes go and rows: 20 B per element (16 where first).
template <typename T>
void vp_fold_rows(const std_device::Dims& d, const T* taps, int64_t K, T lambda, T eps,
                  const T* w, const T* dS, const T* gz, T* go, bool first, T* rows,
                  double* ga_sums, cudaStream_t stream);

}  // namespace tdseg::cuda::std_pipeline
