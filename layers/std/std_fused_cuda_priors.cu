// The priors' own terms of the fused STD op on CUDA (see std_fused_cuda_priors.h).
// Per-plane sums run one block per (n, c) plane; per-pixel terms one thread per pixel with
// the pixel's C classes in a loop at stride L, so a warp touches 32 consecutive pixels.
#include "layers/std/std_fused_cuda_priors.h"

#include <cmath>

#include "cuda/block_reduce.cuh"
#include "cuda/launch.h"

namespace tdseg::cuda::std_prior {

namespace {

using std_device::div_q_s;
using std_device::s_dot_grad;

// ---- forward -------------------------------------------------------------------------

// q_{t+1} = q_t + eps (log V - log max(S_t, floor)),  S_t = sum_x w      (eq. 10)
template <typename T>
__global__ void vp_dual_step_kernel(int64_t L, const T* __restrict__ w,
                                    const T* __restrict__ log_v, const T* __restrict__ q,
                                    T* __restrict__ q_next, T eps, double floor) {
  const int64_t plane = blockIdx.x;
  double s = 0;
  for (int64_t k = threadIdx.x; k < L; k += blockDim.x) s += w[plane * L + k];
  s = block_sum(s);
  if (threadIdx.x == 0)
    q_next[plane] = q[plane] + eps * (log_v[plane] - static_cast<T>(::log(::fmax(s, floor))));
}

// The same step from S in shares: sums[plane * B + b], added in order.
template <typename T>
__global__ void vp_dual_from_sums_kernel(const double* __restrict__ sums, int64_t B,
                                         const T* __restrict__ log_v, const T* __restrict__ q,
                                         T* __restrict__ q_next, T eps, double floor) {
  const int64_t plane = blockIdx.x;
  const double s = sum_of_shares(sums + plane * B, B);
  if (threadIdx.x == 0)
    q_next[plane] = q[plane] + eps * (log_v[plane] - static_cast<T>(::log(::fmax(s, floor))));
}

// q_{t+1} = max(q_t - tau s . grad u_{t,i}, 0)                  (Algorithm 3, step 1)
template <typename T>
__global__ void ss_dual_step_kernel(Dims d, int64_t star, const T* __restrict__ u,
                                    const T* __restrict__ s, const T* __restrict__ q,
                                    T* __restrict__ q_next, T tau) {
  for (int64_t p = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; p < d.pixels();
       p += int64_t(gridDim.x) * blockDim.x) {
    const int64_t n = p / d.L, k = p - n * d.L;
    const T* sx = s + n * 2 * d.L;
    const T v = q[p] - tau * s_dot_grad(u + (n * d.C + star) * d.L, sx, sx + d.L, k, d);
    q_next[p] = v < T(0) ? T(0) : v;
  }
}

// ---- backward, VP --------------------------------------------------------------------

// Backward of eq. 10 per plane: z_{t+1} holds q_{t+1} (gq += sum_x gz / eps), and
// q_{t+1} = q_t + eps (log V - log S~) with S~ = max(S, floor) gives dS and dL/deps.
template <typename T>
__device__ void vp_plane_terms(int64_t plane, double sum_gz, double sum_w,
                               const T* __restrict__ log_v, T* __restrict__ gq,
                               T* __restrict__ dS, double* __restrict__ eps_part, T eps,
                               double floor) {
  const T g = gq[plane] + static_cast<T>(sum_gz / eps);
  const double floored = ::fmax(sum_w, floor);
  gq[plane] = g;
  eps_part[plane] = g * (static_cast<double>(log_v[plane]) - ::log(floored));
  const T num = -eps * g;
  dS[plane] = sum_w > floor ? static_cast<T>(num / floored) : T(0);
}

template <typename T>
__global__ void vp_planes_kernel(int64_t L, const T* __restrict__ gz, const T* __restrict__ w,
                                 const T* __restrict__ log_v, T* __restrict__ gq,
                                 T* __restrict__ dS, double* __restrict__ eps_part, T eps,
                                 double floor) {
  const int64_t plane = blockIdx.x;
  double sum_gz = 0, sum_w = 0;
  for (int64_t k = threadIdx.x; k < L; k += blockDim.x) {
    sum_gz += gz[plane * L + k];
    sum_w += w[plane * L + k];
  }
  sum_gz = block_sum(sum_gz);
  sum_w = block_sum(sum_w);
  if (threadIdx.x == 0) vp_plane_terms(plane, sum_gz, sum_w, log_v, gq, dS, eps_part, eps, floor);
}

// The same from the planes' sums in shares: w's at sums[plane B + b], gz's at
// sums[planes B + plane B + b], each added in order.
template <typename T>
__global__ void vp_planes_from_sums_kernel(const double* __restrict__ sums, int64_t B,
                                           const T* __restrict__ log_v, T* __restrict__ gq,
                                           T* __restrict__ dS, double* __restrict__ eps_part,
                                           T eps, double floor) {
  const int64_t plane = blockIdx.x;
  const double sum_w = sum_of_shares(sums + plane * B, B);
  const double sum_gz = sum_of_shares(sums + (gridDim.x + plane) * B, B);
  if (threadIdx.x == 0) vp_plane_terms(plane, sum_gz, sum_w, log_v, gq, dS, eps_part, eps, floor);
}

// std_device::vp_ga_at at pixel p of [N, L]: fn(i, ga_c) for each class's element i.
template <typename T, typename Fn>
__device__ inline void vp_ga_at_pixel(const Dims& d, const T* w, const T* dS, int64_t p,
                                      Fn&& fn) {
  const int64_t n = p / d.L;
  std_device::vp_ga_at(d, w, dS, n, n * d.C * d.L + (p - n * d.L),
                       [&](int64_t, int64_t i, T g) { fn(i, g); });
}

template <typename T>
__global__ void vp_softmax_backward_kernel(Dims d, const T* __restrict__ w,
                                           const T* __restrict__ a, const T* __restrict__ dS,
                                           const T* __restrict__ P, T* __restrict__ go,
                                           T* __restrict__ gP, T* __restrict__ ga, T lambda,
                                           T eps, double* __restrict__ partial) {
  double s_eps = 0, s_lambda = 0;
  for (int64_t p = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; p < d.pixels();
       p += int64_t(gridDim.x) * blockDim.x)
    vp_ga_at_pixel(d, w, dS, p, [&](int64_t i, T g) {
      ga[i] = g;
      go[i] += g / eps;
      const T gp = gP[i] - g / eps;
      s_eps += static_cast<double>(g) * a[i];
      s_lambda += static_cast<double>(gp) * P[i];
      gP[i] = gp * lambda;
    });
  store_block_sum(s_eps, partial + blockIdx.x);
  store_block_sum(s_lambda, partial + kMaxPartials + blockIdx.x);
}

template <typename T>
__global__ void vp_fold_kernel(Dims d, const T* __restrict__ w, const T* __restrict__ dS,
                               const T* __restrict__ gz, T* __restrict__ ga,
                               T* __restrict__ folded) {
  for (int64_t p = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; p < d.pixels();
       p += int64_t(gridDim.x) * blockDim.x)
    vp_ga_at_pixel(d, w, dS, p, [&](int64_t i, T g) {
      ga[i] = g;
      folded[i] = gz[i] + g;
    });
}

template <typename T>
__global__ void vp_dual_from_ga_kernel(int64_t L, const T* __restrict__ ga, T* __restrict__ gq,
                                       T eps) {
  const int64_t plane = blockIdx.x;
  double s = 0;
  for (int64_t k = threadIdx.x; k < L; k += blockDim.x) s += ga[plane * L + k];
  s = block_sum(s);
  if (threadIdx.x == 0) gq[plane] += static_cast<T>(s / eps);
}

// The same from ga's plane sums in shares, sums[plane B + b], added in order.
template <typename T>
__global__ void vp_dual_from_ga_sums_kernel(const double* __restrict__ sums, int64_t B,
                                            T* __restrict__ gq, T eps) {
  const int64_t plane = blockIdx.x;
  const double s = sum_of_shares(sums + plane * B, B);
  if (threadIdx.x == 0) gq[plane] += static_cast<T>(s / eps);
}

// ---- backward, SS --------------------------------------------------------------------

// z_{t+1,i} -= div(q_{t+1} s) / eps with div^T = -grad gives gq += s . grad(gz_i) / eps;
// through the max, gq <- [q_t - tau G_t > 0] gq is dL/dq_t, and G_t's gradient is -tau gq.
template <typename T>
__global__ void ss_dual_backward_kernel(Dims d, int64_t star, const T* __restrict__ gz,
                                        const T* __restrict__ u, const T* __restrict__ s,
                                        const T* __restrict__ q, T* __restrict__ gq,
                                        T* __restrict__ gG, T tau, T eps,
                                        double* __restrict__ partial) {
  double s_tau = 0;
  for (int64_t p = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; p < d.pixels();
       p += int64_t(gridDim.x) * blockDim.x) {
    const int64_t n = p / d.L, k = p - n * d.L, star_plane = (n * d.C + star) * d.L;
    const T *sx = s + n * 2 * d.L, *sy = sx + d.L;
    const T from_z = s_dot_grad(gz + star_plane, sx, sy, k, d);
    const T G = s_dot_grad(u + star_plane, sx, sy, k, d);
    T g = gq[p] + from_z / eps;
    g = q[p] - tau * G > 0 ? g : T(0);
    s_tau -= static_cast<double>(g) * G;
    gq[p] = g;
    gG[p] = -tau * g;
  }
  store_block_sum(s_tau, partial + blockIdx.x);
}

// G = s . grad u_i and grad^T = -div: the star class's gu takes -div(gG s).
template <typename T>
__global__ void ss_div_kernel(Dims d, const T* __restrict__ gG, const T* __restrict__ s,
                              T* __restrict__ out) {
  for (int64_t p = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; p < d.pixels();
       p += int64_t(gridDim.x) * blockDim.x) {
    const int64_t n = p / d.L, k = p - n * d.L;
    const T* sx = s + n * 2 * d.L;
    out[p] = div_q_s(gG + n * d.L, sx, sx + d.L, k, d);
  }
}

unsigned plane_blocks(const Dims& d) { return static_cast<unsigned>(d.N * d.C); }

}  // namespace

template <typename T>
void vp_dual_step(const Dims& d, const T* w, const T* log_v, const T* q, T* q_next, T eps,
                  double floor, cudaStream_t stream) {
  vp_dual_step_kernel<<<plane_blocks(d), kThreads, 0, stream>>>(d.L, w, log_v, q, q_next, eps,
                                                                floor);
  TDSEG_LAUNCH_CHECK();
}

template <typename T>
void vp_dual_from_sums(const Dims& d, const double* sums, int64_t blocks, const T* log_v,
                       const T* q, T* q_next, T eps, double floor, cudaStream_t stream) {
  vp_dual_from_sums_kernel<<<plane_blocks(d), kMaxPartials, 0, stream>>>(sums, blocks, log_v, q,
                                                                         q_next, eps, floor);
  TDSEG_LAUNCH_CHECK();
}

template <typename T>
void ss_dual_step(const Dims& d, int64_t star, const T* u, const T* s, const T* q, T* q_next,
                  T tau, cudaStream_t stream) {
  ss_dual_step_kernel<<<blocks_for(d.pixels()), kThreads, 0, stream>>>(d, star, u, s, q, q_next,
                                                                       tau);
  TDSEG_LAUNCH_CHECK();
}

template <typename T>
void vp_planes(const Dims& d, const T* gz, const T* w, const T* log_v, T* gq, T* dS,
               double* eps_part, T eps, double floor, cudaStream_t stream) {
  vp_planes_kernel<<<plane_blocks(d), kThreads, 0, stream>>>(d.L, gz, w, log_v, gq, dS,
                                                             eps_part, eps, floor);
  TDSEG_LAUNCH_CHECK();
}

template <typename T>
void vp_planes_from_sums(const Dims& d, const double* sums, int64_t blocks, const T* log_v,
                         T* gq, T* dS, double* eps_part, T eps, double floor,
                         cudaStream_t stream) {
  vp_planes_from_sums_kernel<<<plane_blocks(d), kMaxPartials, 0, stream>>>(
      sums, blocks, log_v, gq, dS, eps_part, eps, floor);
  TDSEG_LAUNCH_CHECK();
}

template <typename T>
int vp_softmax_backward(const Dims& d, const T* w, const T* a, const T* dS, const T* P, T* go,
                        T* gP, T* ga, T lambda, T eps, double* partial, cudaStream_t stream) {
  const int blocks = partial_blocks(d.pixels());
  vp_softmax_backward_kernel<<<blocks, kThreads, 0, stream>>>(d, w, a, dS, P, go, gP, ga, lambda,
                                                              eps, partial);
  TDSEG_LAUNCH_CHECK();
  return blocks;
}

template <typename T>
void vp_fold(const Dims& d, const T* w, const T* dS, const T* gz, T* ga, T* folded,
             cudaStream_t stream) {
  vp_fold_kernel<<<blocks_for(d.pixels()), kThreads, 0, stream>>>(d, w, dS, gz, ga, folded);
  TDSEG_LAUNCH_CHECK();
}

template <typename T>
void vp_dual_from_ga(const Dims& d, const T* ga, T* gq, T eps, cudaStream_t stream) {
  vp_dual_from_ga_kernel<<<plane_blocks(d), kThreads, 0, stream>>>(d.L, ga, gq, eps);
  TDSEG_LAUNCH_CHECK();
}

template <typename T>
void vp_dual_from_ga_sums(const Dims& d, const double* sums, int64_t blocks, T* gq, T eps,
                          cudaStream_t stream) {
  vp_dual_from_ga_sums_kernel<<<plane_blocks(d), kMaxPartials, 0, stream>>>(sums, blocks, gq,
                                                                            eps);
  TDSEG_LAUNCH_CHECK();
}

template <typename T>
int ss_dual_backward(const Dims& d, int64_t star, const T* gz, const T* u, const T* s,
                     const T* q, T* gq, T* gG, T tau, T eps, double* partial,
                     cudaStream_t stream) {
  const int blocks = partial_blocks(d.pixels());
  ss_dual_backward_kernel<<<blocks, kThreads, 0, stream>>>(d, star, gz, u, s, q, gq, gG, tau, eps,
                                                           partial);
  TDSEG_LAUNCH_CHECK();
  return blocks;
}

template <typename T>
void ss_div(const Dims& d, const T* gG, const T* s, T* out, cudaStream_t stream) {
  ss_div_kernel<<<blocks_for(d.pixels()), kThreads, 0, stream>>>(d, gG, s, out);
  TDSEG_LAUNCH_CHECK();
}

#define TDSEG_STD_PRIORS(T)                                                                    \
  template void vp_dual_from_sums<T>(const Dims&, const double*, int64_t, const T*, const T*,  \
                                     T*, T, double, cudaStream_t);                              \
  template void vp_dual_step<T>(const Dims&, const T*, const T*, const T*, T*, T, double,     \
                                cudaStream_t);                                                 \
  template void ss_dual_step<T>(const Dims&, int64_t, const T*, const T*, const T*, T*, T,    \
                                cudaStream_t);                                                 \
  template void vp_planes<T>(const Dims&, const T*, const T*, const T*, T*, T*, double*, T,   \
                             double, cudaStream_t);                                            \
  template int vp_softmax_backward<T>(const Dims&, const T*, const T*, const T*, const T*, T*, \
                                      T*, T*, T, T, double*, cudaStream_t);                    \
  template void vp_fold<T>(const Dims&, const T*, const T*, const T*, T*, T*, cudaStream_t);  \
  template void vp_dual_from_ga<T>(const Dims&, const T*, T*, T, cudaStream_t);               \
  template void vp_planes_from_sums<T>(const Dims&, const double*, int64_t, const T*, T*, T*, \
                                       double*, T, double, cudaStream_t);                      \
  template void vp_dual_from_ga_sums<T>(const Dims&, const double*, int64_t, T*, T,           \
                                        cudaStream_t);                                         \
  template int ss_dual_backward<T>(const Dims&, int64_t, const T*, const T*, const T*,        \
                                   const T*, T*, T*, T, T, double*, cudaStream_t);             \
  template void ss_div<T>(const Dims&, const T*, const T*, T*, cudaStream_t);
TDSEG_STD_PRIORS(float)
TDSEG_STD_PRIORS(double)
#undef TDSEG_STD_PRIORS

}  // namespace tdseg::cuda::std_prior
