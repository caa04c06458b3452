// Dimension-wise copies (concat, slice) on contiguous tensors: viewing a tensor as
// [outer, size * inner], with outer the product of the dims before `dim` and inner that
// of the dims after it, a range [a, b) along `dim` is the byte block
// [a * inner, b * inner) * element size of every one of the `outer` rows.
#pragma once
#include <cstring>

#include "core/device.h"
#include "core/device_memory.h"
#include "core/shape.h"
#include "cuda/ops/concat.h"

namespace tdseg::ops {

struct Rows {
  int64_t outer = 1, inner = 1;
};

inline Rows rows_around(const Shape& s, int dim) {
  Rows r;
  for (int i = 0; i < dim; ++i) r.outer *= s[i];
  for (size_t i = dim + 1; i < s.size(); ++i) r.inner *= s[i];
  return r;
}

// Copies `rows` blocks of `piece` bytes, dst_stride and src_stride bytes apart.
inline void copy_rows(char* dst, int64_t dst_stride, const char* src, int64_t src_stride,
                      int64_t rows, int64_t piece) {
  for (int64_t o = 0; o < rows; ++o) std::memcpy(dst + o * dst_stride, src + o * src_stride, piece);
}

// The same on the memory of `device`: a GPU's through the CUDA twin (cuda/ops/concat.cu).
inline void copy_rows(Device device, char* dst, int64_t dst_stride, const char* src,
                      int64_t src_stride, int64_t rows, int64_t piece) {
  if constexpr (kCudaBuilt) {
    if (device.is_cuda())
      return cuda::copy_rows(device, dst, dst_stride, src, src_stride, rows, piece);
  }
  copy_rows(dst, dst_stride, src, src_stride, rows, piece);
}

}  // namespace tdseg::ops
