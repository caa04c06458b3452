// Elementwise kernels: one thread per element in a grid-stride loop. Each moves
// (inputs + 1) * sizeof(T) bytes per element and does no more than a few flops, so all
// are bound by memory bandwidth.
#include "core/ops/functors.h"
#include "cuda/context.h"
#include "cuda/launch.h"
#include "cuda/ops/map.h"

namespace tdseg::cuda {

namespace {

template <typename T, typename F>
__global__ void unary_kernel(int64_t n, const T* __restrict__ x, T* __restrict__ y, F f) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    y[i] = f(x[i]);
}

template <typename T, typename F>
__global__ void binary_kernel(int64_t n, const T* __restrict__ a, const T* __restrict__ b,
                              T* __restrict__ y, F f) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    y[i] = f(a[i], b[i]);
}

template <typename T>
__global__ void fill_kernel(int64_t n, T* y, T v) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    y[i] = v;
}

template <typename From, typename To>
__global__ void cast_kernel(int64_t n, const From* __restrict__ x, To* __restrict__ y) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    y[i] = static_cast<To>(x[i]);
}

template <typename T>
__global__ void add_inplace_kernel(int64_t n, T* __restrict__ y, const T* __restrict__ x) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    y[i] += x[i];
}

}  // namespace

template <typename F>
void unary_map(const Tensor& x, const Tensor& out, F f) {
  const int64_t n = out.numel();
  if (n == 0) return;
  dispatch_floating(x.dtype(), "cuda unary_map", [&](auto tag) {
    using T = decltype(tag);
    unary_kernel<<<blocks_for(n), kThreads, 0, stream(out)>>>(n, ptr<T>(x), ptr<T>(out), f);
  });
  TDSEG_LAUNCH_CHECK();
}

template <typename F>
void binary_map(const Tensor& a, const Tensor& b, const Tensor& out, F f) {
  const int64_t n = out.numel();
  if (n == 0) return;
  dispatch_floating(a.dtype(), "cuda binary_map", [&](auto tag) {
    using T = decltype(tag);
    binary_kernel<<<blocks_for(n), kThreads, 0, stream(out)>>>(n, ptr<T>(a), ptr<T>(b),
                                                                ptr<T>(out), f);
  });
  TDSEG_LAUNCH_CHECK();
}

#define TDSEG_INSTANTIATE_UNARY(F) template void unary_map(const Tensor&, const Tensor&, ops::fn::F);
#define TDSEG_INSTANTIATE_BINARY(F) \
  template void binary_map(const Tensor&, const Tensor&, const Tensor&, ops::fn::F);
TDSEG_UNARY_FUNCTORS(TDSEG_INSTANTIATE_UNARY)
TDSEG_BINARY_FUNCTORS(TDSEG_INSTANTIATE_BINARY)

void fill(const Tensor& t, double value) {
  const int64_t n = t.numel();
  if (n == 0) return;
  dispatch_all(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    fill_kernel<<<blocks_for(n), kThreads, 0, stream(t)>>>(n, ptr<T>(t), static_cast<T>(value));
  });
  TDSEG_LAUNCH_CHECK();
}

void cast(const Tensor& src, const Tensor& dst) {
  const int64_t n = src.numel();
  if (n == 0) return;
  dispatch_all(src.dtype(), [&](auto from) {
    dispatch_all(dst.dtype(), [&](auto to) {
      cast_kernel<<<blocks_for(n), kThreads, 0, stream(dst)>>>(
          n, ptr<decltype(from)>(src), ptr<decltype(to)>(dst));
    });
  });
  TDSEG_LAUNCH_CHECK();
}

void add_inplace(const Tensor& dst, const Tensor& src) {
  const int64_t n = dst.numel();
  if (n == 0) return;
  dispatch_floating(dst.dtype(), "cuda add_inplace", [&](auto tag) {
    using T = decltype(tag);
    add_inplace_kernel<<<blocks_for(n), kThreads, 0, stream(dst)>>>(n, ptr<T>(dst), ptr<T>(src));
  });
  TDSEG_LAUNCH_CHECK();
}

}  // namespace tdseg::cuda
