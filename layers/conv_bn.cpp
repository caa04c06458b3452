#include "layers/conv_bn.h"

namespace tdseg {

ConvBn::ConvBn(int64_t in, int64_t out, int64_t kernel, const ops::Conv2dOptions& options,
               bool relu, const BatchNormOptions& bn, Generator& gen, DType dtype)
    : relu_(relu) {
  conv_ = register_module("conv", std::make_shared<Conv2d>(in, out, kernel, options, false, gen, dtype));
  bn_ = register_module("bn", std::make_shared<BatchNorm2d>(out, bn.momentum, bn.eps, dtype));
}

Tensor ConvBn::forward(const Tensor& x) const {
  const Tensor y = conv_->forward(x);
  return relu_ ? bn_->forward_relu(y) : bn_->forward(y);
}

}  // namespace tdseg
