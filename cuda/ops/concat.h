// CUDA twin of core/ops/rows.h's copy_rows, which concat and slice (and their backwards)
// are made of: `rows` blocks of `piece` bytes, dst_stride and src_stride bytes apart, from
// device memory to device memory on `device`, queued on its stream.
#pragma once
#include "core/tensor.h"

namespace tdseg::cuda {

void copy_rows(Device device, char* dst, int64_t dst_stride, const char* src,
               int64_t src_stride, int64_t rows, int64_t piece);

}  // namespace tdseg::cuda
