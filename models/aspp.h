// Atrous Spatial Pyramid Pooling as in the TF DeepLab reference (model.py,
// extract_features): five branches on the backbone features, concatenated in this order
//   image_pooling  global average pool, 1x1 ConvBn + ReLU, bilinear resize back
//   aspp0          1x1 ConvBn + ReLU
//   aspp1..aspp3   separable 3x3 with atrous rates r1, r2, r3 (ReLU inside)
// then concat_projection (1x1 ConvBn + ReLU to `depth`) and dropout with keep
// probability 0.9 in training.
#pragma once
#include <array>
#include <memory>

#include "layers/conv_bn.h"
#include "layers/separable_conv.h"

namespace tdseg {

class Aspp : public Module {
 public:
  Aspp(int64_t in, int64_t depth, std::array<int64_t, 3> rates, double keep_prob,
       const BatchNormOptions& bn, Generator& gen, DType dtype = DType::Float32);
  Tensor forward(const Tensor& x) const;
  // Restarts the dropout stream: training seeds it per step so that a resumed run draws
  // the masks an uninterrupted one would.
  void seed_dropout(uint64_t seed) { dropout_gen_ = Generator(seed); }

 private:
  double keep_prob_;
  mutable Generator dropout_gen_;  // the dropout masks' own stream
  std::shared_ptr<ConvBn> image_pooling_, aspp0_, projection_;
  std::array<std::shared_ptr<SeparableConv2d>, 3> atrous_;
};

}  // namespace tdseg
