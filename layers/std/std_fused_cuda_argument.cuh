// Device helpers shared by the kernels of the fused STD op on CUDA (std_fused_cuda.cu,
// std_fused_cuda_priors.cu and std_fused_cuda_tile.cu): the sizes of one call, the layout
// of its sums' shares, the SS image operators, and z_{t+1}, the argument of a softmax.
// Functions only: no kernel and no launch lives here.
#pragma once
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

namespace tdseg::cuda::std_device {

struct Dims {
  int64_t N, C, H, W, L;
  __host__ __device__ int64_t size() const { return N * C * L; }
  __host__ __device__ int64_t pixels() const { return N * L; }
};

// A reducing kernel runs partial_blocks(count) blocks (cuda/block_reduce.cuh). Each block
// leaves its share of a sum in partial[blockIdx.x] (store_block_sum; a second sum's at
// partial[kMaxPartials + blockIdx.x]); one block then adds the shares in a fixed order
// (std_fused_cuda.cu, add_sum): no atomics, so the gradients of lambda, eps, tau and sigma
// are identical run to run.

__device__ __forceinline__ float exp_of(float x) { return expf(x); }
__device__ __forceinline__ double exp_of(double x) { return ::exp(x); }

// ---- the image operators of SS-STD (std_fused_kernels.h) ----------------------------

// s . grad p at pixel k of one image; grad is the forward difference, 0 on the last
// column (x part) and the last row (y part).
template <typename T>
__device__ T s_dot_grad(const T* p, const T* sx, const T* sy, int64_t k, const Dims& d) {
  const int64_t x = k % d.W, y = k / d.W;
  const T gx = x + 1 < d.W ? p[k + 1] - p[k] : T(0);
  const T gy = y + 1 < d.H ? p[k + d.W] - p[k] : T(0);
  return sx[k] * gx + sy[k] * gy;
}

// div(q s) at pixel k of one image, div = -grad^T:
//   (x < W-1 ? q sx : 0) - (x > 0 ? (q sx)[x-1] : 0)
//     + (y < H-1 ? q sy : 0) - (y > 0 ? (q sy)[y-1] : 0)
template <typename T>
__device__ T div_q_s(const T* q, const T* sx, const T* sy, int64_t k, const Dims& d) {
  const int64_t x = k % d.W, y = k / d.W;
  return (x + 1 < d.W ? q[k] * sx[k] : T(0)) - (x > 0 ? q[k - 1] * sx[k - 1] : T(0)) +
         (y + 1 < d.H ? q[k] * sy[k] : T(0)) - (y > 0 ? q[k - d.W] * sy[k - d.W] : T(0));
}

// ---- the head of a backward iteration ------------------------------------------------

// gP = lambda (-gz / eps) of a value gz of dL/dz_{t+1}, as head_kernel (std_fused_cuda.cu)
// computes it: what the backward's one-kernel forms blur (the tile kernel,
// std_fused_cuda_tile.cu, and the one-kernel iteration, std_fused_cuda_pipeline.cu).
template <typename T>
struct HeadGradient {
  T lambda, eps;
  __device__ T operator()(T gz) const {
    const T gp = -gz / eps;
    return gp * lambda;
  }
};

// ---- VP-STD's softmax backward -------------------------------------------------------

// Through w = softmax(a_t) at one pixel of image n, its class 0 element at `base` of
// [N, C, L] (softmax_backward_cpu): ga_c = w_c (dS_c - sum_k w_k dS_k) with dS [N, C], the
// sum in double; fn(c, i, ga_c) for each class c and its element i = base + c L.
// std_fused_cuda_priors.cu's VP backward and std_fused_cuda_pipeline.cu's fold share it.
template <typename T, typename Fn>
__device__ inline void vp_ga_at(const Dims& d, const T* w, const T* dS, int64_t n,
                                int64_t base, Fn&& fn) {
  const T* dSn = dS + n * d.C;
  double s = 0;
  for (int64_t c = 0, i = base; c < d.C; ++c, i += d.L) s += static_cast<double>(dSn[c]) * w[i];
  for (int64_t c = 0, i = base; c < d.C; ++c, i += d.L)
    fn(c, i, static_cast<T>(w[i] * (dSn[c] - s)));
}

// ---- the argument of a softmax ------------------------------------------------------

// The pieces of z_{t+1} (std_fused.cpp, next_argument; Algorithms 1 to 3):
//   z = (o - lambda P + q_{n,c}) / eps,  and z -= div(q s) / eps on the star class (SS)
// with P = K(u_t), so p_t = lambda P. P null gives z_0 = o / eps.
template <typename T>
struct Argument {
  const T* o = nullptr;
  const T* P = nullptr;
  const T* q_plane = nullptr;  // VP: the dual [N, C], or null
  const T* q_star = nullptr;   // SS: the dual [N, L], or null
  const T* s = nullptr;        // SS: the star field [N, 2, L]
  int64_t star = 0;
  T lambda = 0, eps = 1;
};

// z at element i = (n, c, k), with the kernel term's value P there given (has_P) rather
// than read from a.P: the one-kernel forward iteration (std_fused_cuda_pipeline.cu) sums
// it in registers.
template <typename T>
__device__ T argument(const Argument<T>& a, const Dims& d, int64_t n, int64_t c, int64_t k,
                      int64_t i, bool has_P, T P) {
  T num = a.o[i];
  if (has_P) num = num - a.lambda * P;
  if (a.q_plane) num = num + a.q_plane[n * d.C + c];
  T z = num / a.eps;
  if (a.q_star && c == a.star) {
    const T* sx = a.s + n * 2 * d.L;
    z -= div_q_s(a.q_star + n * d.L, sx, sx + d.L, k, d) / a.eps;
  }
  return z;
}

// z at element i = (n, c, k).
template <typename T>
__device__ T argument(const Argument<T>& a, const Dims& d, int64_t n, int64_t c, int64_t k,
                      int64_t i) {
  return argument(a, d, n, c, k, i, a.P != nullptr, a.P ? a.P[i] : T(0));
}

}  // namespace tdseg::cuda::std_device
