#include "models/deeplab.h"

#include "core/ops.h"

namespace tdseg {

DeepLabV3Plus::DeepLabV3Plus(const DeepLabConfig& c, DType dtype) : config_(c), gen_(c.seed) {
  check<ValueError>(c.classes >= 1, "DeepLabV3Plus: classes must be >= 1, got ", c.classes);
  backbone_ = register_module("backbone", std::make_shared<Xception>(c.backbone, gen_, dtype));
  aspp_ = register_module("aspp", std::make_shared<Aspp>(backbone_->out_channels(), c.aspp_depth,
                                                         c.atrous_rates, c.keep_prob, c.head_bn,
                                                         gen_, dtype));
  decoder_ = register_module("decoder",
                             std::make_shared<Decoder>(c.aspp_depth, backbone_->low_level_channels(),
                                                       c.low_level_projection, c.decoder_depth,
                                                       c.head_bn, gen_, dtype));
  logits_ = register_module("logits", std::make_shared<Conv2d>(c.decoder_depth, c.classes, 1,
                                                               ops::Conv2dOptions(), true, gen_, dtype));
  if (c.head.prior != StdPrior::None)
    head_ = register_module("head", std::make_shared<StdHead>(c.classes, c.head, dtype));
}

Tensor DeepLabV3Plus::forward(const Tensor& x, const StdExtras& extras,
                              const StageObserver& observe) const {
  check<ShapeError>(x.dim() == 4 && x.size(1) == 3, config_.name, ": input must be [N, 3, H, W], got ",
                    shape_str(x.shape()));
  const int64_t H = x.size(2), W = x.size(3);
  auto stage = [&](const char* name, Tensor t) {
    if (observe) observe(name, t);
    return t;
  };
  const Xception::Features f = backbone_->forward(x, observe);
  const Tensor a = stage("aspp", aspp_->forward(f.out));
  const Tensor refined = stage("decoder", decoder_->forward(a, f.low_level, scale_dimension(H, 0.25),
                                                            scale_dimension(W, 0.25)));
  const Tensor logits = stage("logits", ops::resize_bilinear(logits_->forward(refined), H, W));
  return head_ ? stage("head", head_->forward(logits, extras)) : logits;
}

}  // namespace tdseg
