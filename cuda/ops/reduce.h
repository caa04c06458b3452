// CUDA twins of core/ops/reduce.cpp: the sum of all elements (in double, deterministic:
// fixed per-block partial sums, then one block adds them in order) and its backward, a
// broadcast of the device scalar dy that needs no round trip to the host.
#pragma once
#include "core/tensor.h"

namespace tdseg::cuda {

void sum_all(const Tensor& x, const Tensor& out, double factor);       // out[] = factor * sum(x)
void fill_from(const Tensor& out, const Tensor& scalar, double factor);  // out[i] = factor * scalar
// sums[index] = sum(x^2) in double, sums a float64 tensor on x's device (the optimiser's
// gradient norm: one entry per parameter, read back once).
void sum_squares(const Tensor& x, const Tensor& sums, int64_t index);

}  // namespace tdseg::cuda
