// DeepLabV3+ (Chen et al. 2018) as the TF DeepLab reference assembles it (model.py), and
// STD-DeepLabV3+ (paper, section 3.9): backbone -> ASPP -> decoder -> 1x1 logits (with
// bias) -> bilinear upsampling (align_corners) to the input size -> head. The head is
// the plain softmax (prior none: forward returns the logits) or an STD, VP-STD or SS-STD
// block placed after the final upsampling; forward returns z, the argument of the final
// softmax, so that u = softmax(z) and the loss is nll_loss(log_softmax(z), labels).
#pragma once
#include <array>
#include <memory>
#include <string>

#include "layers/std/std_head.h"
#include "models/aspp.h"
#include "models/decoder.h"
#include "models/xception.h"

namespace tdseg {

struct DeepLabConfig {
  std::string name = "deeplabv3plus-xception65";
  int64_t classes = 21;
  XceptionConfig backbone;
  std::array<int64_t, 3> atrous_rates{6, 12, 18};  // 12, 24, 36 at output stride 8
  int64_t aspp_depth = 256;
  int64_t low_level_projection = 48;
  int64_t decoder_depth = 256;
  double keep_prob = 0.9;                          // ASPP dropout
  BatchNormOptions head_bn{0.0003, 1e-5};          // ASPP and decoder: the reference's 1e-5
  StdConfig head = plain_head();                   // prior none: the plain softmax head
  uint64_t seed = 1;                               // initialisation and dropout

  static StdConfig plain_head() {
    StdConfig c;
    c.prior = StdPrior::None;
    return c;
  }
};

class DeepLabV3Plus : public Module {
 public:
  DeepLabV3Plus(const DeepLabConfig& config, DType dtype = DType::Float32);
  // x: [N, 3, H, W] normalised images; returns z [N, classes, H, W].
  Tensor forward(const Tensor& x, const StdExtras& extras = {},
                 const StageObserver& observe = nullptr) const;
  const DeepLabConfig& config() const { return config_; }
  void seed_dropout(uint64_t seed) { aspp_->seed_dropout(seed); }  // see Aspp::seed_dropout
  const Xception& backbone() const { return *backbone_; }

 private:
  DeepLabConfig config_;
  Generator gen_;  // consumed by construction (and ASPP's dropout stream)
  std::shared_ptr<Xception> backbone_;
  std::shared_ptr<Aspp> aspp_;
  std::shared_ptr<Decoder> decoder_;
  std::shared_ptr<Conv2d> logits_;
  std::shared_ptr<StdHead> head_;
};

}  // namespace tdseg
