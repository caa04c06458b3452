#include "layers/batch_norm.h"

namespace tdseg {

BatchNorm2d::BatchNorm2d(int64_t channels, double momentum, double eps, DType dtype)
    : momentum_(momentum), eps_(eps) {
  check<ValueError>(channels > 0, "BatchNorm2d: channels must be positive, got ", channels);
  weight_ = register_parameter("weight", Tensor::ones({channels}, dtype));
  bias_ = register_parameter("bias", Tensor::zeros({channels}, dtype));
  running_mean_ = register_buffer("running_mean", Tensor::zeros({channels}, dtype));
  running_var_ = register_buffer("running_var", Tensor::ones({channels}, dtype));
}

}  // namespace tdseg
