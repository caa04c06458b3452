// CUDA twin of the update loops of train/optimizer.cpp (same formulas, same float32
// arithmetic, one thread per element): w, g and the slots are contiguous float32 tensors
// on one device.
#pragma once
#include "core/tensor.h"

namespace tdseg::cuda {

struct UpdateScalars {
  float rate, momentum, weight_decay, clip;  // SGD and Adam
  double beta1, beta2, correction1, correction2, lr;  // Adam: b1, b2, 1 - b1^t, 1 - b2^t
};

void sgd_update(const Tensor& w, const Tensor& g, const Tensor& velocity, const UpdateScalars& s);
void adam_update(const Tensor& w, const Tensor& g, const Tensor& m, const Tensor& v,
                 const UpdateScalars& s);

}  // namespace tdseg::cuda
