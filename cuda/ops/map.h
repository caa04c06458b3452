// CUDA twins of the elementwise loops (core/ops/map.h) and of the tensor fills, casts and
// in-place sums (core/tensor.cpp). Tensors are contiguous, on one device, and already
// allocated; every kernel is queued on the device's stream.
#pragma once
#include "core/tensor.h"

namespace tdseg::cuda {

template <typename F> void unary_map(const Tensor& x, const Tensor& out, F f);
template <typename F> void binary_map(const Tensor& a, const Tensor& b, const Tensor& out, F f);

void fill(const Tensor& t, double value);
void cast(const Tensor& src, const Tensor& dst);  // any dtype to any dtype
void add_inplace(const Tensor& dst, const Tensor& src);

}  // namespace tdseg::cuda
