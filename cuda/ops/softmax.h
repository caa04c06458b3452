// CUDA twins of core/ops/softmax.cpp: softmax and log_softmax over dim 1 of a contiguous
// [N, C, ...] tensor, viewed as [N, C, L] with L the product of the dims after C. Outputs
// are preallocated on the input's device; `log` picks log_softmax.
#pragma once
#include "core/tensor.h"

namespace tdseg::cuda {

void softmax_forward(const Tensor& x, const Tensor& y, bool log);
// dx from the forward's output y and dy (all of y's shape).
void softmax_backward(const Tensor& y, const Tensor& dy, const Tensor& dx, bool log);

}  // namespace tdseg::cuda
