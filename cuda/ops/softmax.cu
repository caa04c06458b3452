// softmax and log_softmax over the classes of [N, C, L], forward and backward. One thread
// per pixel (n, i) loops over the C classes at stride L; the threads of a warp hold 32
// consecutive i, so every load and store is coalesced in NCHW.
//
// Forward, the online normaliser (Milakov & Gimelshein 2018, "Online normalizer
// calculation for softmax"), one pass for the max and the sum:
//   m_c = max(m_{c-1}, x_c),  s_c = s_{c-1} * exp(m_{c-1} - m_c) + exp(x_c - m_c)
// then a second pass writes y_c = exp(x_c - m) / s, or log y_c = x_c - (m + log s).
// x is read twice and y written once: 3 * sizeof(T) bytes per element (12 B in float32).
//
// Backward, from the saved output y (the vector-Jacobian products of core/ops/softmax.cpp):
//   softmax:     dx = y * (dy - sum_c dy * y)   reads y and dy twice, writes dx: 5 * sizeof(T)
//   log_softmax: dx = dy - exp(y) * sum_c dy    reads dy twice and y once, writes dx: 4 * sizeof(T)
// The per-pixel sums are accumulated in double, like the CPU's.
#include <cmath>

#include "cuda/context.h"
#include "cuda/launch.h"
#include "cuda/ops/softmax.h"

namespace tdseg::cuda {

namespace {

template <typename T>
__global__ void softmax_forward_kernel(int64_t N, int64_t C, int64_t L, const T* __restrict__ x,
                                       T* __restrict__ y, bool is_log) {
  for (int64_t p = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; p < N * L;
       p += int64_t(gridDim.x) * blockDim.x) {
    const int64_t n = p / L, base = n * C * L + (p - n * L);  // element (n, 0, i)
    T m = -static_cast<T>(INFINITY);
    double s = 0;
    for (int64_t c = 0; c < C; ++c) {
      const T v = x[base + c * L];
      if (v > m) {
        s = s * exp(m - v) + 1;
        m = v;
      } else {
        s += exp(v - m);
      }
    }
    if (is_log) {
      const double lse = m + ::log(s);
      for (int64_t c = 0; c < C; ++c) y[base + c * L] = static_cast<T>(x[base + c * L] - lse);
    } else {
      const double inv = 1.0 / s;
      for (int64_t c = 0; c < C; ++c)
        y[base + c * L] = static_cast<T>(exp(x[base + c * L] - m) * inv);
    }
  }
}

template <typename T>
__global__ void softmax_backward_kernel(int64_t N, int64_t C, int64_t L, const T* __restrict__ y,
                                        const T* __restrict__ dy, T* __restrict__ dx,
                                        bool is_log) {
  for (int64_t p = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; p < N * L;
       p += int64_t(gridDim.x) * blockDim.x) {
    const int64_t n = p / L, base = n * C * L + (p - n * L);
    double s = 0;
    for (int64_t c = 0, k = base; c < C; ++c, k += L)
      s += is_log ? static_cast<double>(dy[k]) : static_cast<double>(dy[k]) * y[k];
    for (int64_t c = 0, k = base; c < C; ++c, k += L)
      dx[k] = static_cast<T>(is_log ? dy[k] - exp(y[k]) * s : y[k] * (dy[k] - s));
  }
}

}  // namespace

void softmax_forward(const Tensor& x, const Tensor& y, bool log) {
  if (x.numel() == 0) return;
  const int64_t N = x.size(0), C = x.size(1), L = x.numel() / (N * C);
  dispatch_floating(x.dtype(), "cuda softmax", [&](auto tag) {
    using T = decltype(tag);
    softmax_forward_kernel<<<blocks_for(N * L), kThreads, 0, stream(x)>>>(N, C, L, ptr<T>(x),
                                                                          ptr<T>(y), log);
  });
  TDSEG_LAUNCH_CHECK();
}

void softmax_backward(const Tensor& y, const Tensor& dy, const Tensor& dx, bool log) {
  if (y.numel() == 0) return;
  const int64_t N = y.size(0), C = y.size(1), L = y.numel() / (N * C);
  dispatch_floating(y.dtype(), "cuda softmax backward", [&](auto tag) {
    using T = decltype(tag);
    softmax_backward_kernel<<<blocks_for(N * L), kThreads, 0, stream(y)>>>(
        N, C, L, ptr<T>(y), ptr<T>(dy), ptr<T>(dx), log);
  });
  TDSEG_LAUNCH_CHECK();
}

}  // namespace tdseg::cuda
