// CUDA twins of core/ops/batch_norm.cpp: batch_norm2d and the fused batch_norm_relu2d,
// forward and backward. x, y, dy and dx are contiguous [N, C, H, W]; weight, bias and the
// running statistics are [C] in x's dtype; mean and invstd are the float64 [C] statistics
// the forward normalised with, which the backward reuses. Everything is on x's device and
// every kernel is queued on its stream.
#pragma once
#include "core/tensor.h"

namespace tdseg::cuda {

// Training's kernels: OnChip holds a channel in one block's registers between its two
// passes where it fits (the floor's bytes: 8 an element forward, 12 back, in float32),
// TwoPass reads x again for the second (12 and 20). OnChip by default; tests and
// `tdseg bench ops` run both.
enum class BatchNormKernel { OnChip, TwoPass };
constexpr int64_t kBatchNormOnChipValues = 18432;  // the most N H W that OnChip holds
void set_batch_norm_kernel(BatchNormKernel kernel);
BatchNormKernel batch_norm_kernel();

// Fills mean and invstd = 1 / sqrt(var + eps) from the batch (training: the running
// statistics, when defined, move towards it in place) or from the running statistics
// (evaluation), then writes y = weight * (x - mean) * invstd + bias, and max(y, 0) when
// relu is set.
void batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                        const Tensor& running_mean, const Tensor& running_var, bool training,
                        double momentum, double eps, bool relu, const Tensor& y,
                        const Tensor& mean, const Tensor& invstd);

// Writes the gradients that are defined among dx, dweight and dbias. y is the fused op's
// output: dy passes where y > 0; undefined for plain batch norm.
void batch_norm_backward(const Tensor& x, const Tensor& weight, const Tensor& dy,
                         const Tensor& y, const Tensor& mean, const Tensor& invstd,
                         bool training, const Tensor& dx, const Tensor& dweight,
                         const Tensor& dbias);

}  // namespace tdseg::cuda
