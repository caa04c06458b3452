// Full reductions to a scalar (shape []), accumulated in double.
#pragma once
#include "core/tensor.h"

namespace tdseg::ops {

Tensor sum(const Tensor& x);   // sum of all elements
Tensor mean(const Tensor& x);  // sum / numel; numel must be > 0

}  // namespace tdseg::ops
