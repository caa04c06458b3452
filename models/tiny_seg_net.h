// TinySegNet: a miniature of DeepLabV3+'s shape for smoke runs and tests, built from the
// same layers: a strided 3x3 stem, an atrous depthwise-separable block, an image-pooling
// branch concatenated to the features, 1x1 logits and a bilinear (align_corners) resize
// back to the input size. Output: logits [N, classes, H, W].
#pragma once
#include <memory>

#include "layers/batch_norm.h"
#include "layers/conv2d.h"

namespace tdseg {

class TinySegNet : public Module {
 public:
  TinySegNet(int64_t in_channels, int64_t classes, int64_t width, Generator& gen,
             DType dtype = DType::Float32);
  Tensor forward(const Tensor& x) const;

 private:
  std::shared_ptr<Conv2d> stem_, depthwise_, pointwise_, pool_proj_, logits_;
  std::shared_ptr<BatchNorm2d> stem_bn_, depthwise_bn_, pointwise_bn_;
};

}  // namespace tdseg
