#include "models/decoder.h"

#include "core/ops.h"

namespace tdseg {

int64_t scale_dimension(int64_t dim, double scale) {
  return static_cast<int64_t>((static_cast<double>(dim) - 1.0) * scale + 1.0);
}

Decoder::Decoder(int64_t aspp_depth, int64_t low_level_in, int64_t projection, int64_t depth,
                 const BatchNormOptions& bn, Generator& gen, DType dtype) {
  projection_ = register_module("feature_projection0",
                                std::make_shared<ConvBn>(low_level_in, projection, 1, ops::Conv2dOptions(),
                                                         true, bn, gen, dtype));
  conv0_ = register_module("decoder_conv0", std::make_shared<SeparableConv2d>(
                                                aspp_depth + projection, depth, 3, 1, 1, true, bn, gen, dtype));
  conv1_ = register_module("decoder_conv1",
                           std::make_shared<SeparableConv2d>(depth, depth, 3, 1, 1, true, bn, gen, dtype));
}

Tensor Decoder::forward(const Tensor& aspp, const Tensor& low_level, int64_t h, int64_t w) const {
  using namespace ops;
  const Tensor merged = concat({resize_bilinear(aspp, h, w),
                                resize_bilinear(projection_->forward(low_level), h, w)});
  return conv1_->forward(conv0_->forward(merged));
}

}  // namespace tdseg
