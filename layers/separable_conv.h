// SeparableConv2d as the TF DeepLab reference splits it (xception.py,
// separable_conv2d_same with regularize_depthwise = False, and model.py,
// split_separable_conv2d): a depthwise K x K convolution with atrous rate and stride,
// batch norm, a pointwise 1x1 convolution, batch norm. With `inner_relu` a ReLU follows
// each batch norm (DeepLab's ASPP and decoder, and Xception's exit_flow/block2);
// without it there is none inside (the Xception module applies ReLU before instead).
// Padding is symmetric rate * (K - 1) / 2, which is TF's 'SAME' at stride 1 and its
// explicit fixed_padding at stride 2 for odd K.
// Children: "depthwise", "depthwise_bn", "pointwise", "pointwise_bn".
#pragma once
#include <memory>

#include "layers/conv_bn.h"

namespace tdseg {

class SeparableConv2d : public Module {
 public:
  SeparableConv2d(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t rate,
                  bool inner_relu, const BatchNormOptions& bn, Generator& gen,
                  DType dtype = DType::Float32);
  Tensor forward(const Tensor& x) const;

 private:
  bool inner_relu_;
  std::shared_ptr<Conv2d> depthwise_, pointwise_;
  std::shared_ptr<BatchNorm2d> depthwise_bn_, pointwise_bn_;
};

}  // namespace tdseg
