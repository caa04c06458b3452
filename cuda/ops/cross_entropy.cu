// The fused cross-entropy over the pixels of [N, C, L]. One thread per pixel loops over
// the C classes at stride L (coalesced across the threads of a warp, as in
// cuda/ops/softmax.cu).
// Forward: one pass of the online normaliser (Milakov & Gimelshein 2018)
//   m_c = max(m_{c-1}, x_c),  s_c = s_{c-1} * exp(m_{c-1} - m_c) + exp(x_c - m_c)
// gives lse = m + log s and, with x[target] picked up on the way, the pixel's loss
// lse - x[target]; the losses and counts go through the deterministic block partials of
// cuda/ops/loss.cu. Reads x once (C * sizeof(T) B per pixel) plus the 4 B label and
// writes lse; ignored pixels read only their label.
// Backward: dx = (exp(x - lse) - [c == target]) * dy / |V|, 0 at ignored pixels: reads x
// and writes dx, 2 * sizeof(T) B per element. Forward and backward: about 12 B per
// element in float32.
#include <cmath>

#include "cuda/context.h"
#include "cuda/launch.h"
#include "cuda/ops/cross_entropy.h"
#include "cuda/ops/loss.cuh"

namespace tdseg::cuda {

namespace {

template <typename T>
__global__ void cross_entropy_partials(int64_t P, int64_t C, int64_t L, const T* __restrict__ x,
                                       const int32_t* __restrict__ target, int32_t ignore_index,
                                       T* __restrict__ lse, double* __restrict__ partial,
                                       unsigned long long* first_bad) {
  // The loss of pixel p = n * L + i with label k: lse - x[n, k, i], writing lse on the way.
  loss_partials(P, C, target, ignore_index, partial, first_bad, [=](int64_t p, int32_t k) {
    const int64_t n = p / L, base = n * C * L + (p - n * L);  // element (n, 0, i)
    T m = -static_cast<T>(INFINITY), x_target = 0;
    double s = 0;
    for (int64_t c = 0; c < C; ++c) {
      const T v = x[base + c * L];
      if (c == k) x_target = v;
      if (v > m) {
        s = s * exp(m - v) + 1;
        m = v;
      } else {
        s += exp(v - m);
      }
    }
    const double l = m + ::log(s);
    lse[p] = static_cast<T>(l);
    return l - x_target;
  });
}

template <typename T>
__global__ void cross_entropy_backward_kernel(int64_t P, int64_t C, int64_t L,
                                              const T* __restrict__ x,
                                              const int32_t* __restrict__ target,
                                              int32_t ignore_index, const T* __restrict__ lse,
                                              const T* __restrict__ dy,
                                              const double* __restrict__ valid,
                                              T* __restrict__ dx) {
  for (int64_t p = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; p < P;
       p += int64_t(gridDim.x) * blockDim.x) {
    const int64_t n = p / L, base = n * C * L + (p - n * L);
    const int32_t k = target[p];
    if (k == ignore_index) {
      for (int64_t c = 0; c < C; ++c) dx[base + c * L] = T(0);
      continue;
    }
    const double g = static_cast<double>(*dy) / *valid;  // |V| >= 1: this pixel is valid
    const T l = lse[p];
    for (int64_t c = 0; c < C; ++c)
      dx[base + c * L] = static_cast<T>((exp(x[base + c * L] - l) - (c == k)) * g);
  }
}

}  // namespace

BadLabel cross_entropy_forward(const Tensor& logits, const Tensor& target, const Tensor& lse,
                               const Tensor& out, const Tensor& valid, int32_t ignore_index) {
  const int64_t P = target.numel(), N = logits.size(0), C = logits.size(1);
  const int64_t L = N > 0 ? P / N : 0;
  const LossPartials partials(target);
  dispatch_floating(logits.dtype(), "cuda cross_entropy", [&](auto tag) {
    using T = decltype(tag);
    cross_entropy_partials<<<partials.blocks, kThreads, 0, stream(target)>>>(
        P, C, L, ptr<T>(logits), ptr<int32_t>(target), ignore_index, ptr<T>(lse),
        ptr<double>(partials.partial), partials.first_bad_ptr());
  });
  TDSEG_LAUNCH_CHECK();
  return partials.finish(target, out, valid);
}

void cross_entropy_backward(const Tensor& logits, const Tensor& target, const Tensor& lse,
                            const Tensor& dy, const Tensor& valid, const Tensor& dx,
                            int32_t ignore_index) {
  const int64_t P = target.numel();
  if (dx.numel() == 0 || P == 0) return;
  const int64_t N = dx.size(0), C = dx.size(1), L = P / N;
  dispatch_floating(dx.dtype(), "cuda cross_entropy backward", [&](auto tag) {
    using T = decltype(tag);
    cross_entropy_backward_kernel<<<blocks_for(P), kThreads, 0, stream(dx)>>>(
        P, C, L, ptr<T>(logits), ptr<int32_t>(target), ignore_index, ptr<T>(lse), ptr<T>(dy),
        ptr<double>(valid), ptr<T>(dx));
  });
  TDSEG_LAUNCH_CHECK();
}

}  // namespace tdseg::cuda
