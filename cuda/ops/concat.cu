// Strided block copies for concat and slice: one cudaMemcpy2DAsync (the copy engine's
// pitched copy, no kernel of ours) moves all rows, piece bytes read and written each.
#include <climits>

#include "cuda/context.h"
#include "cuda/ops/concat.h"

namespace tdseg::cuda {

void copy_rows(Device device, char* dst, int64_t dst_stride, const char* src,
               int64_t src_stride, int64_t rows, int64_t piece) {
  if (rows == 0 || piece == 0) return;
  const cudaStream_t s = context(device.index).stream.get();
  if (rows == 1 || (dst_stride == piece && src_stride == piece)) {  // one contiguous block
    TDSEG_CUDA_CHECK(cudaMemcpyAsync(dst, src, rows * piece, cudaMemcpyDeviceToDevice, s));
  } else if (dst_stride <= INT_MAX && src_stride <= INT_MAX) {  // within cudaDevAttrMaxPitch
    TDSEG_CUDA_CHECK(cudaMemcpy2DAsync(dst, dst_stride, src, src_stride, piece, rows,
                                       cudaMemcpyDeviceToDevice, s));
  } else {  // rows more than 2 GiB apart: one copy per row
    for (int64_t r = 0; r < rows; ++r)
      TDSEG_CUDA_CHECK(cudaMemcpyAsync(dst + r * dst_stride, src + r * src_stride, piece,
                                       cudaMemcpyDeviceToDevice, s));
  }
}

}  // namespace tdseg::cuda
