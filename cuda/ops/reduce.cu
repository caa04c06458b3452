// Full reductions. Pass 1: each of up to kMaxPartials blocks sums a grid-strided share of x
// into a double partial (a warp-shuffle tree inside the block); pass 2: one block sums the
// partials in a fixed order. n reads of sizeof(T) bytes: bandwidth-bound, and
// run-to-run identical because no atomics are involved.
#include "cuda/block_reduce.cuh"
#include "cuda/context.h"
#include "cuda/launch.h"
#include "cuda/ops/reduce.h"

namespace tdseg::cuda {

namespace {

template <typename T>
__global__ void partial_sums(int64_t n, const T* __restrict__ x, double* __restrict__ partial) {
  double s = 0;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    s += x[i];
  store_block_sum(s, partial + blockIdx.x);
}

template <typename T>
__global__ void finish_sum(int parts, const double* __restrict__ partial, T* out, double factor) {
  const double s = sum_of_shares(partial, parts);
  if (threadIdx.x == 0) *out = static_cast<T>(s * factor);
}

template <typename T>
__global__ void fill_from_kernel(int64_t n, T* __restrict__ y, const T* __restrict__ s,
                                 double factor) {
  const T v = static_cast<T>(*s * factor);
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    y[i] = v;
}

}  // namespace

void sum_all(const Tensor& x, const Tensor& out, double factor) {
  const int64_t n = x.numel();
  const int parts = partial_blocks(n);
  const Tensor partial = Tensor::empty({parts}, DType::Float64, x.device());
  dispatch_floating(x.dtype(), "cuda sum", [&](auto tag) {
    using T = decltype(tag);
    partial_sums<T><<<parts, kThreads, 0, stream(x)>>>(n, ptr<T>(x), ptr<double>(partial));
    finish_sum<<<1, kMaxPartials, 0, stream(x)>>>(parts, ptr<double>(partial), ptr<T>(out), factor);
  });
  TDSEG_LAUNCH_CHECK();
}

void fill_from(const Tensor& out, const Tensor& scalar, double factor) {
  const int64_t n = out.numel();
  if (n == 0) return;
  dispatch_floating(out.dtype(), "cuda fill_from", [&](auto tag) {
    using T = decltype(tag);
    fill_from_kernel<<<blocks_for(n), kThreads, 0, stream(out)>>>(n, ptr<T>(out),
                                                                  ptr<T>(scalar), factor);
  });
  TDSEG_LAUNCH_CHECK();
}

}  // namespace tdseg::cuda
