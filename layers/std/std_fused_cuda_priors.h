// The priors' own terms of the fused STD op on CUDA: VP-STD's volume dual (eq. 10,
// Algorithm 2) and SS-STD's star-shape dual (Algorithm 3), forward and backward, each the
// twin of a loop of std_fused.cpp. std_fused_cuda.cu runs them around the blur and the
// softmax of every iteration. Arrays are [N, C, L] (L = H*W) in T; VP's dual and its
// gradient are [N, C], SS's [N, L]; sums run in double.
//
// A launcher whose kernel reduces writes block shares into `partial` (kMaxPartials apart
// for a second sum) and returns how many blocks it ran, for add_sum.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "layers/std/std_fused_cuda_argument.cuh"

namespace tdseg::cuda::std_prior {

using std_device::Dims;

// ---- forward -------------------------------------------------------------------------

// VP, one inner iteration (eq. 10): q_next = q + eps (log V - log max(S, floor)) with
// S = sum_x w per (n, c) plane and w = softmax(a_t). Reads w: 4 B per element.
template <typename T>
void vp_dual_step(const Dims& d, const T* w, const T* log_v, const T* q, T* q_next, T eps,
                  double floor, cudaStream_t stream);

// The same step from S given in shares, B a plane: S = sum_b sums[(n C + c) B + b], added
// in order (std_pipeline::weight_sums leaves them).
template <typename T>
void vp_dual_from_sums(const Dims& d, const double* sums, int64_t blocks, const T* log_v,
                       const T* q, T* q_next, T eps, double floor, cudaStream_t stream);

// SS (Algorithm 3, step 1): q_next = max(q - tau s . grad u_star, 0) per pixel of [N, L].
// Reads u's star plane, s, q; writes q_next: 20/C B per element.
template <typename T>
void ss_dual_step(const Dims& d, int64_t star, const T* u, const T* s, const T* q, T* q_next,
                  T tau, cudaStream_t stream);

// ---- backward, VP --------------------------------------------------------------------

// Per (n, c) plane, given gz = dL/dz_{t+1} and w = softmax(a_t):
//   gq += sum_x gz / eps,  dS = -eps gq / max(S, floor) where S = sum_x w > floor, else 0,
//   eps_part = gq (log V - log max(S, floor))
// Reads gz and w: 8 B per element.
template <typename T>
void vp_planes(const Dims& d, const T* gz, const T* w, const T* log_v, T* gq, T* dS,
               double* eps_part, T eps, double floor, cudaStream_t stream);

// The same from the planes' sums in shares, B a plane (std_pipeline::vp_weights leaves
// them): w's at sums[(n C + c) B + b], gz's at sums[N C B + (n C + c) B + b].
template <typename T>
void vp_planes_from_sums(const Dims& d, const double* sums, int64_t blocks, const T* log_v,
                         T* gq, T* dS, double* eps_part, T eps, double floor,
                         cudaStream_t stream);

// Through w = softmax(a_t), a_t = (o - lambda P + q_t) / eps: ga = w (dS - sum_c w dS),
//   go += ga / eps,  gP = lambda (gP - ga / eps),  ga kept
// and the shares of <ga, a_t> (first sum) and <gP - ga / eps, P> (second). Reads w (twice),
// a, P, go, gP; writes go, gP, ga: 32 B per element.
template <typename T>
int vp_softmax_backward(const Dims& d, const T* w, const T* a, const T* dS, const T* P, T* go,
                        T* gP, T* ga, T lambda, T eps, double* partial, cudaStream_t stream);

// ga as above, folded into the gradient the tile kernel takes: folded = gz + ga, ga kept.
// Reads w, gz; writes ga, folded: 16 B per element.
template <typename T>
void vp_fold(const Dims& d, const T* w, const T* dS, const T* gz, T* ga, T* folded,
             cudaStream_t stream);

// The dual through a_t: gq += sum_x ga / eps per plane. Reads ga: 4 B per element.
template <typename T>
void vp_dual_from_ga(const Dims& d, const T* ga, T* gq, T eps, cudaStream_t stream);

// The same from ga's plane sums in shares, sums[(n C + c) B + b]
// (std_pipeline::vp_fold_rows leaves them).
template <typename T>
void vp_dual_from_ga_sums(const Dims& d, const double* sums, int64_t blocks, T* gq, T eps,
                          cudaStream_t stream);

// ---- backward, SS --------------------------------------------------------------------

// The dual per pixel of [N, L], with G = s . grad u_star:
//   gq += s . grad(gz_star) / eps,  gq <- [q - tau G > 0] gq,  gG = -tau gq
// and the shares of -<gq, G> (dL/dtau). Reads gz's and u's star planes, s, q, gq; writes
// gq, gG: 32/C B per element.
template <typename T>
int ss_dual_backward(const Dims& d, int64_t star, const T* gz, const T* u, const T* s,
                     const T* q, T* gq, T* gG, T tau, T eps, double* partial,
                     cudaStream_t stream);

// div(gG s) per pixel of [N, L], which the star class's gu subtracts. 16/C B per element.
template <typename T>
void ss_div(const Dims& d, const T* gG, const T* s, T* out, cudaStream_t stream);

}  // namespace tdseg::cuda::std_prior
