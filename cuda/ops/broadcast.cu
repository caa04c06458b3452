// Plane and channel broadcasts and reductions over NCHW (the maths is in
// core/ops/broadcast.h). Sums accumulate in double in a fixed order, without atomics.
#include "cuda/block_reduce.cuh"
#include "cuda/context.h"
#include "cuda/launch.h"
#include "cuda/ops/broadcast.h"

namespace tdseg::cuda {

namespace {

// out[k] = sum of plane k, one block per plane (a block reduction in double).
// Reads L * sizeof(T) bytes per plane, coalesced; writes one T.
template <typename T>
__global__ void spatial_sum_kernel(int64_t L, const T* __restrict__ x, T* __restrict__ out) {
  const int64_t k = blockIdx.x;
  double s = 0;
  for (int64_t i = threadIdx.x; i < L; i += blockDim.x) s += x[k * L + i];
  s = block_sum(s);
  if (threadIdx.x == 0) out[k] = static_cast<T>(s);
}

// out[i] = x[i] + b[i / L]: reads and writes sizeof(T) bytes per element (b from cache).
template <typename T>
__global__ void add_per_plane_kernel(int64_t n, int64_t L, const T* __restrict__ x,
                                     const T* __restrict__ b, T* __restrict__ out) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    out[i] = x[i] + b[i / L];
}

// out[n, c, i] = x[n, 0, i], one thread per output element: writes sizeof(T) bytes per
// element; reads each input plane C times, from L2 after the first.
template <typename T>
__global__ void expand_channels_kernel(int64_t n, int64_t C, int64_t L, const T* __restrict__ x,
                                       T* __restrict__ out) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    out[i] = x[i / (C * L) * L + i % L];
}

// out[n, 0, i] = sum_c x[n, c, i] in double, c in order (the CPU's order), one thread per
// output element: the warp's reads of each channel are coalesced. Reads C * sizeof(T)
// bytes and writes sizeof(T) per output element.
template <typename T>
__global__ void sum_channels_kernel(int64_t n, int64_t C, int64_t L, const T* __restrict__ x,
                                    T* __restrict__ out) {
  for (int64_t j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; j < n;
       j += int64_t(gridDim.x) * blockDim.x) {
    const T* p = x + j / L * C * L + j % L;
    double s = 0;
    for (int64_t c = 0; c < C; ++c) s += p[c * L];
    out[j] = static_cast<T>(s);
  }
}

}  // namespace

void spatial_sum(const Tensor& x, const Tensor& out) {
  const int64_t planes = x.size(0) * x.size(1), L = x.size(2) * x.size(3);
  if (planes == 0) return;
  dispatch_floating(x.dtype(), "cuda spatial_sum", [&](auto tag) {
    using T = decltype(tag);
    spatial_sum_kernel<<<static_cast<unsigned>(planes), kThreads, 0, stream(x)>>>(
        L, ptr<T>(x), ptr<T>(out));
  });
  TDSEG_LAUNCH_CHECK();
}

void add_per_plane(const Tensor& x, const Tensor& b, const Tensor& out) {
  const int64_t n = x.numel(), L = x.size(2) * x.size(3);
  if (n == 0) return;
  dispatch_floating(x.dtype(), "cuda add_per_plane", [&](auto tag) {
    using T = decltype(tag);
    add_per_plane_kernel<<<blocks_for(n), kThreads, 0, stream(x)>>>(n, L, ptr<T>(x), ptr<T>(b),
                                                                    ptr<T>(out));
  });
  TDSEG_LAUNCH_CHECK();
}

void expand_channels(const Tensor& x, const Tensor& out) {
  const int64_t n = out.numel(), C = out.size(1), L = out.size(2) * out.size(3);
  if (n == 0) return;
  dispatch_floating(x.dtype(), "cuda expand_channels", [&](auto tag) {
    using T = decltype(tag);
    expand_channels_kernel<<<blocks_for(n), kThreads, 0, stream(x)>>>(n, C, L, ptr<T>(x),
                                                                      ptr<T>(out));
  });
  TDSEG_LAUNCH_CHECK();
}

void sum_channels(const Tensor& x, const Tensor& out) {
  const int64_t n = out.numel(), C = x.size(1), L = x.size(2) * x.size(3);
  if (n == 0) return;
  dispatch_floating(x.dtype(), "cuda sum_channels", [&](auto tag) {
    using T = decltype(tag);
    sum_channels_kernel<<<blocks_for(n), kThreads, 0, stream(x)>>>(n, C, L, ptr<T>(x),
                                                                   ptr<T>(out));
  });
  TDSEG_LAUNCH_CHECK();
}

}  // namespace tdseg::cuda
