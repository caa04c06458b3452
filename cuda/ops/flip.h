// CUDA twin of core/ops/flip.cpp: out = x mirrored along its last dimension. Contiguous
// tensors of one shape and dtype on one device, out allocated; queued on the stream.
#pragma once
#include "core/tensor.h"

namespace tdseg::cuda {

void flip_width(const Tensor& x, const Tensor& out);

}  // namespace tdseg::cuda
