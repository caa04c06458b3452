#include "models/tiny_seg_net.h"

#include "core/ops.h"

namespace tdseg {

TinySegNet::TinySegNet(int64_t in_channels, int64_t classes, int64_t width, Generator& gen,
                       DType dtype) {
  using ops::Conv2dOptions;
  stem_ = register_module("stem", std::make_shared<Conv2d>(in_channels, width, 3,
                                                           Conv2dOptions(2, 1), false, gen, dtype));
  stem_bn_ = register_module("stem_bn", std::make_shared<BatchNorm2d>(width, 0.1, 1e-5, dtype));
  depthwise_ = register_module(
      "depthwise", std::make_shared<Conv2d>(width, width, 3, Conv2dOptions(1, 2, 2, width),
                                            false, gen, dtype));
  depthwise_bn_ =
      register_module("depthwise_bn", std::make_shared<BatchNorm2d>(width, 0.1, 1e-5, dtype));
  pointwise_ = register_module(
      "pointwise", std::make_shared<Conv2d>(width, 2 * width, 1, Conv2dOptions(), false, gen, dtype));
  pointwise_bn_ =
      register_module("pointwise_bn", std::make_shared<BatchNorm2d>(2 * width, 0.1, 1e-5, dtype));
  pool_proj_ = register_module(
      "pool_proj", std::make_shared<Conv2d>(2 * width, width, 1, Conv2dOptions(), true, gen, dtype));
  logits_ = register_module(
      "logits", std::make_shared<Conv2d>(3 * width, classes, 1, Conv2dOptions(), true, gen, dtype));
}

Tensor TinySegNet::forward(const Tensor& x) const {
  using namespace ops;
  Tensor f = relu(stem_bn_->forward(stem_->forward(x)));
  f = relu(depthwise_bn_->forward(depthwise_->forward(f)));
  f = relu(pointwise_bn_->forward(pointwise_->forward(f)));
  Tensor pooled = relu(pool_proj_->forward(global_avg_pool(f)));
  pooled = resize_bilinear(pooled, f.size(2), f.size(3));
  Tensor logits = logits_->forward(concat({f, pooled}));
  return resize_bilinear(logits, x.size(2), x.size(3));
}

}  // namespace tdseg
