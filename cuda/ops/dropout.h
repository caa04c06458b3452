// CUDA twin of core/ops/dropout.cpp's loop: out = x * mask / keep_prob with the mask of
// core/ops/dropout_mask.h. x and out contiguous, of one shape and dtype on one device;
// queued on the stream.
#pragma once
#include "core/ops/dropout_mask.h"
#include "core/tensor.h"

namespace tdseg::cuda {

void dropout(const Tensor& x, const Tensor& out, const ops::DropoutMask& mask, double keep_prob);

}  // namespace tdseg::cuda
