#include "layers/conv_bn.h"

#include "core/ops/elementwise.h"

namespace tdseg {

ConvBn::ConvBn(int64_t in, int64_t out, int64_t kernel, const ops::Conv2dOptions& options,
               bool relu, const BatchNormOptions& bn, Generator& gen, DType dtype)
    : relu_(relu) {
  conv_ = register_module("conv", std::make_shared<Conv2d>(in, out, kernel, options, false, gen, dtype));
  bn_ = register_module("bn", std::make_shared<BatchNorm2d>(out, bn.momentum, bn.eps, dtype));
}

Tensor ConvBn::forward(const Tensor& x) const {
  Tensor y = bn_->forward(conv_->forward(x));
  return relu_ ? ops::relu(y) : y;
}

}  // namespace tdseg
