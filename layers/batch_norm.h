// BatchNorm2d layer: parameters `weight` (1) and `bias` (0), buffers `running_mean` (0)
// and `running_var` (1), all [C]. Uses batch statistics in training mode and the running
// ones in evaluation mode; see core/ops/batch_norm.h for the formula and momentum.
#pragma once
#include "core/ops/batch_norm.h"
#include "layers/module.h"

namespace tdseg {

class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int64_t channels, double momentum = 0.1, double eps = 1e-5,
                       DType dtype = DType::Float32);
  Tensor forward(const Tensor& x) const {
    return ops::batch_norm2d(x, weight_, bias_, running_mean_, running_var_, is_training(),
                             momentum_, eps_);
  }
  // relu(forward(x)) as the one fused op.
  Tensor forward_relu(const Tensor& x) const {
    return ops::batch_norm_relu2d(x, weight_, bias_, running_mean_, running_var_, is_training(),
                                  momentum_, eps_);
  }

 private:
  double momentum_, eps_;
  Tensor weight_, bias_, running_mean_, running_var_;
};

}  // namespace tdseg
