// Ops between a tensor and one scalar. mul_scalar and div_scalar take the scalar s as a
// 0-dim tensor (shape [], the dtype of x) so that it can be learned; add_scalar takes a
// constant c.
//   mul_scalar: out = s * x,  dx = s * dy,  ds = sum(dy * x)
//   div_scalar: out = x / s,  dx = dy / s,  ds = -sum(dy * x) / s^2
//   add_scalar: out = x + c,  dx = dy
#pragma once
#include "core/tensor.h"

namespace tdseg::ops {

Tensor mul_scalar(const Tensor& x, const Tensor& s);  // s * x
Tensor div_scalar(const Tensor& x, const Tensor& s);  // x / s
Tensor add_scalar(const Tensor& x, double c);         // x + c

}  // namespace tdseg::ops
