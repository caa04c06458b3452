// flip_width: the mirror image along the last dimension (test-time flip augmentation),
//   out[..., w] = x[..., W - 1 - w]   for any rank and floating dtype.
// Backward: the same mirror of the gradient (a flip is its own inverse and adjoint).
#pragma once
#include "core/tensor.h"

namespace tdseg::ops {

Tensor flip_width(const Tensor& x);

}  // namespace tdseg::ops
