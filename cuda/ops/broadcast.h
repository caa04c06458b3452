// CUDA twins of core/ops/broadcast.cpp (slice copies through cuda/ops/concat.h's
// copy_rows). Tensors are contiguous NCHW on one device, outputs allocated; every kernel
// is queued on the device's stream. A plane is the L = H*W elements of one (n, c).
#pragma once
#include "core/tensor.h"

namespace tdseg::cuda {

void spatial_sum(const Tensor& x, const Tensor& out);              // [N, C, H, W] -> [N, C]
void add_per_plane(const Tensor& x, const Tensor& b, const Tensor& out);  // x + b[n, c]
void expand_channels(const Tensor& x, const Tensor& out);          // [N, 1, H, W] -> [N, C, H, W]
void sum_channels(const Tensor& x, const Tensor& out);             // [N, C, H, W] -> [N, 1, H, W]

}  // namespace tdseg::cuda
