// Dropout, one thread per Philox block: 10 rounds of two 32 x 32 -> 64-bit products for
// four elements, then each element read and written once (8 B in float32). The four
// elements of a block are G apart (core/ops/dropout_mask.h), so a warp's loads and stores
// are consecutive for each of them.
#include "cuda/context.h"
#include "cuda/launch.h"
#include "cuda/ops/dropout.h"

namespace tdseg::cuda {

namespace {

template <typename T>
__global__ void dropout_kernel(ops::DropoutMask mask, const T* __restrict__ x, T* __restrict__ out,
                               T scale) {
  for (int64_t g = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; g < mask.groups;
       g += int64_t(gridDim.x) * blockDim.x)
    mask.apply(g, x, out, scale);
}

}  // namespace

void dropout(const Tensor& x, const Tensor& out, const ops::DropoutMask& mask, double keep_prob) {
  if (mask.n == 0) return;
  dispatch_floating(x.dtype(), "cuda dropout", [&](auto tag) {
    using T = decltype(tag);
    dropout_kernel<<<blocks_for(mask.groups), kThreads, 0, stream(x)>>>(
        mask, ptr<T>(x), ptr<T>(out), static_cast<T>(1 / keep_prob));
  });
  TDSEG_LAUNCH_CHECK();
}

}  // namespace tdseg::cuda
