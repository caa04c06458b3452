// Elementwise ops on tensors of equal shape and dtype; each differentiable.
#pragma once
#include "core/tensor.h"

namespace tdseg::ops {

Tensor add(const Tensor& a, const Tensor& b);    // a + b
Tensor sub(const Tensor& a, const Tensor& b);    // a - b
Tensor mul(const Tensor& a, const Tensor& b);    // a * b
Tensor scale(const Tensor& x, double alpha);     // alpha * x
Tensor relu(const Tensor& x);                    // max(x, 0); gradient 0 at x = 0

}  // namespace tdseg::ops
