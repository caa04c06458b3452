// The DeepLabV3+ decoder of the TF reference (model.py, refine_by_decoder): the
// low-level features are projected by a 1x1 ConvBn + ReLU to `projection` channels
// ("feature_projection0"), both they and the ASPP output are resized (bilinear,
// align_corners) to the decoder size, concatenated, and refined by two separable 3x3
// convs of `depth` channels with ReLU inside ("decoder_conv0", "decoder_conv1").
// The decoder size for an input of H is scale_dimension(H, 1/4) = (H - 1) / 4 + 1.
#pragma once
#include <memory>

#include "layers/conv_bn.h"
#include "layers/separable_conv.h"

namespace tdseg {

class Decoder : public Module {
 public:
  Decoder(int64_t aspp_depth, int64_t low_level_in, int64_t projection, int64_t depth,
          const BatchNormOptions& bn, Generator& gen, DType dtype = DType::Float32);
  Tensor forward(const Tensor& aspp, const Tensor& low_level, int64_t out_h, int64_t out_w) const;

 private:
  std::shared_ptr<ConvBn> projection_;
  std::shared_ptr<SeparableConv2d> conv0_, conv1_;
};

// The reference's scale_dimension: int((dim - 1) * scale + 1).
int64_t scale_dimension(int64_t dim, double scale);

}  // namespace tdseg
