// Batch normalisation over the channels of NCHW input (eq. of Ioffe & Szegedy 2015):
//   y[n, c, h, w] = weight[c] * (x[n, c, h, w] - mu[c]) / sqrt(var[c] + eps) + bias[c]
// Training: mu and var are the batch statistics over (N, H, W), var biased (divided by
// M = N*H*W), and the running statistics, when given, move towards them in place:
//   running_mean = (1 - momentum) * running_mean + momentum * mu
//   running_var  = (1 - momentum) * running_var  + momentum * var * M / (M - 1)
// (momentum is the weight of the new batch, PyTorch's convention; TensorFlow's decay
// is 1 - momentum.) Evaluation: mu and var are the running statistics.
// Gradients flow to x, weight and bias; never to the running statistics.
// batch_norm_relu2d is max(batch_norm2d(...), 0) as one op (one node, one pass over the
// output, and no saved pre-ReLU tensor), with the same values bit for bit; its backward
// passes dy where the output is > 0.
#pragma once
#include "core/tensor.h"

namespace tdseg::ops {

Tensor batch_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                    const Tensor& running_mean, const Tensor& running_var, bool training,
                    double momentum = 0.1, double eps = 1e-5);
Tensor batch_norm_relu2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                         const Tensor& running_mean, const Tensor& running_var, bool training,
                         double momentum = 0.1, double eps = 1e-5);

}  // namespace tdseg::ops
