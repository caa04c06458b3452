// The mirror along the last dimension, one thread per output element: reads and writes
// sizeof(T) bytes each (the reversed reads of a warp stay within one or two rows, so
// they coalesce as well as the writes).
#include "cuda/context.h"
#include "cuda/launch.h"
#include "cuda/ops/flip.h"

namespace tdseg::cuda {

namespace {

template <typename T>
__global__ void flip_width_kernel(int64_t n, int64_t W, const T* __restrict__ x, T* __restrict__ out) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t w = i % W;
    out[i] = x[i - w + (W - 1 - w)];
  }
}

}  // namespace

void flip_width(const Tensor& x, const Tensor& out) {
  const int64_t n = x.numel(), W = x.size(x.dim() - 1);
  if (n == 0) return;
  dispatch_floating(x.dtype(), "cuda flip_width", [&](auto tag) {
    using T = decltype(tag);
    flip_width_kernel<<<blocks_for(n), kThreads, 0, stream(x)>>>(n, W, ptr<T>(x), ptr<T>(out));
  });
  TDSEG_LAUNCH_CHECK();
}

}  // namespace tdseg::cuda
