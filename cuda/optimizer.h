// CUDA twin of the update loops of train/optimizer.cpp (same formulas, same float32
// arithmetic), for all of a model's parameters at once: a launch takes up to 40 tensors,
// their addresses in its arguments, and gives each tensor one block per chunk of its
// elements (PyTorch's multi-tensor apply). A model of P parameter tensors costs
// ceil(P / 40) launches an update and twice that for the norm, instead of P and 2P:
// DeepLabV3+ Xception-65 has 440, 298 of them of 2048 values or fewer (batch-norm
// vectors, biases), so 33 launches a step instead of 1320.
#pragma once
#include <cmath>
#include <vector>

#include "core/host_device.h"
#include "core/tensor.h"

namespace tdseg::cuda {

// Clipping's factor on the gradients, from their global squared norm: c / |g| where
// |g| > c, else 1. One formula for the CPU's update and the GPU's (clip_factor below).
TDSEG_HD inline float clip_scale(double squared_norm, double max_norm) {
  const double norm = sqrt(squared_norm);
  return norm > max_norm ? static_cast<float>(max_norm / norm) : 1.0f;
}

// One parameter: contiguous float32 arrays of one size on one device (slot2 for Adam
// only), and its weight decay.
struct UpdateTarget {
  Tensor w, g, slot1, slot2;
  float weight_decay = 0;
};

struct UpdateScalars {
  float rate, momentum;                               // SGD and Adam
  const float* clip;                                  // on the device; nullptr: 1
  double beta1, beta2, correction1, correction2, lr;  // Adam: b1, b2, 1 - b1^t, 1 - b2^t
};

void sgd_update(const std::vector<UpdateTarget>& targets, const UpdateScalars& s);
void adam_update(const std::vector<UpdateTarget>& targets, const UpdateScalars& s);

// sums[k] = the sum of squares of xs[k] (float32, on one device), in double and in a fixed
// order; sums is float64 [xs.size()] on that device.
void sum_squares(const std::vector<Tensor>& xs, const Tensor& sums);

// factor (a float32 scalar on the device of sums) = clip_scale(the sum of sums, added in
// order, max_norm): the clipping factor without the host reading the norm.
void clip_factor(const Tensor& sums, double max_norm, const Tensor& factor);

}  // namespace tdseg::cuda
