// CUDA twins of core/ops/image_grad.cpp, each with a sign (+1 forward, -1 as the other
// op's backward): w = sign * image_grad(u) for u [N, 1, H, W] and w [N, 2, H, W], and
// u = sign * image_div(w). Contiguous tensors on one device, outputs allocated; the kernels
// are queued on the device's stream.
#pragma once
#include "core/tensor.h"

namespace tdseg::cuda {

void image_grad(const Tensor& u, const Tensor& w, double sign);
void image_div(const Tensor& w, const Tensor& u, double sign);

}  // namespace tdseg::cuda
