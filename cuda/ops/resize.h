// CUDA twins of core/ops/resize.cpp: bilinear resize with align_corners=True and its
// backward. Tensors are contiguous [N, C, H, W] on one device, outputs allocated; the
// kernels are queued on the device's stream.
#pragma once
#include "core/tensor.h"

namespace tdseg::cuda {

void resize_bilinear(const Tensor& x, const Tensor& out);           // [.., H, W] -> [.., OH, OW]
void resize_bilinear_backward(const Tensor& dy, const Tensor& dx);  // [.., OH, OW] -> [.., H, W]

}  // namespace tdseg::cuda
