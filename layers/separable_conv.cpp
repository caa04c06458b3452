#include "layers/separable_conv.h"

namespace tdseg {

SeparableConv2d::SeparableConv2d(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                                 int64_t rate, bool inner_relu, const BatchNormOptions& bn,
                                 Generator& gen, DType dtype)
    : inner_relu_(inner_relu) {
  check<ValueError>(kernel % 2 == 1, "SeparableConv2d: kernel ", kernel, " must be odd");
  const ops::Conv2dOptions dw(stride, rate * (kernel - 1) / 2, rate, in);
  depthwise_ = register_module("depthwise", std::make_shared<Conv2d>(in, in, kernel, dw, false, gen, dtype));
  depthwise_bn_ = register_module("depthwise_bn", std::make_shared<BatchNorm2d>(in, bn.momentum, bn.eps, dtype));
  pointwise_ = register_module("pointwise",
                               std::make_shared<Conv2d>(in, out, 1, ops::Conv2dOptions(), false, gen, dtype));
  pointwise_bn_ = register_module("pointwise_bn", std::make_shared<BatchNorm2d>(out, bn.momentum, bn.eps, dtype));
}

Tensor SeparableConv2d::forward(const Tensor& x) const {
  Tensor y = depthwise_->forward(x);
  y = inner_relu_ ? depthwise_bn_->forward_relu(y) : depthwise_bn_->forward(y);
  y = pointwise_->forward(y);
  return inner_relu_ ? pointwise_bn_->forward_relu(y) : pointwise_bn_->forward(y);
}

}  // namespace tdseg
