// CUDA twins of core/ops/reduce.cpp: the sum of all elements (in double, deterministic:
// fixed per-block partial sums, then one block adds them in order) and its backward, a
// broadcast of the device scalar dy that needs no round trip to the host.
#pragma once
#include "core/tensor.h"

namespace tdseg::cuda {

void sum_all(const Tensor& x, const Tensor& out, double factor);       // out[] = factor * sum(x)
void fill_from(const Tensor& out, const Tensor& scalar, double factor);  // out[i] = factor * scalar

}  // namespace tdseg::cuda
