#include "models/aspp.h"

#include "core/ops.h"

namespace tdseg {

Aspp::Aspp(int64_t in, int64_t depth, std::array<int64_t, 3> rates, double keep_prob,
           const BatchNormOptions& bn, Generator& gen, DType dtype)
    : keep_prob_(keep_prob), dropout_gen_(static_cast<uint64_t>(gen.integer(0, INT64_MAX))) {
  check<ValueError>(keep_prob > 0 && keep_prob <= 1, "Aspp: keep probability ", keep_prob,
                    " must be in (0, 1]");
  const ops::Conv2dOptions one;
  image_pooling_ = register_module("image_pooling", std::make_shared<ConvBn>(in, depth, 1, one, true, bn, gen, dtype));
  aspp0_ = register_module("aspp0", std::make_shared<ConvBn>(in, depth, 1, one, true, bn, gen, dtype));
  for (int i = 0; i < 3; ++i)
    atrous_[i] = register_module("aspp" + std::to_string(i + 1),
                                 std::make_shared<SeparableConv2d>(in, depth, 3, 1, rates[i], true, bn, gen, dtype));
  projection_ = register_module("concat_projection",
                                std::make_shared<ConvBn>(5 * depth, depth, 1, one, true, bn, gen, dtype));
}

Tensor Aspp::forward(const Tensor& x) const {
  using namespace ops;
  const Tensor pooled = image_pooling_->forward(global_avg_pool(x));
  Tensor y = projection_->forward(concat({resize_bilinear(pooled, x.size(2), x.size(3)),
                                          aspp0_->forward(x), atrous_[0]->forward(x),
                                          atrous_[1]->forward(x), atrous_[2]->forward(x)}));
  return is_training() && keep_prob_ < 1 ? dropout(y, keep_prob_, dropout_gen_) : y;
}

}  // namespace tdseg
