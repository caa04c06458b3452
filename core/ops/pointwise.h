// Pointwise functions of one tensor; each differentiable.
//   log:       out = ln(x),          dx = dy / x  (x must be > 0; not checked)
//   clamp_min: out = max(x, floor),  dx = dy where x > floor, else 0
#pragma once
#include "core/tensor.h"

namespace tdseg::ops {

Tensor log(const Tensor& x);                      // natural logarithm
Tensor clamp_min(const Tensor& x, double floor);  // max(x, floor); gradient 0 at x = floor

}  // namespace tdseg::ops
