// Xception-65 (and its narrower and shallower relatives) as the TF DeepLab reference
// builds it (research/deeplab/core/xception.py, xception_65_factory): the "aligned"
// Xception of Dai et al. with every max-pool replaced by a strided separable conv.
//
//   entry_flow.conv1   3x3/2, 32, BN, ReLU       entry_flow.conv2   3x3, 64, BN, ReLU
//   entry_flow.block1  [128, 128, 128] conv skip, stride 2
//   entry_flow.block2  [256, 256, 256] conv skip, stride 2   (low-level features: its sepconv2)
//   entry_flow.block3  [728, 728, 728] conv skip, stride 2
//   middle_flow.block1 .. block16  [728, 728, 728] sum skip
//   exit_flow.block1   [728, 1024, 1024] conv skip, stride 2
//   exit_flow.block2   [1536, 1536, 2048] no skip, ReLU inside the separable convs
//
// Output stride: strides beyond the requested one become atrous rates exactly as the
// reference's stack_blocks_dense does (the unit that would exceed it runs at stride 1
// with the current rate, and later units multiply the rate by that stride): for output
// stride 16 exit_flow.block2 runs at rate 2; for 8, entry_flow.block3 onwards at 2 and
// exit_flow.block2 at 4. Channel counts scale by `width`, the middle flow has
// `middle_units` modules (16 for Xception-65, 8 for Xception-41).
#pragma once
#include <array>
#include <functional>
#include <memory>
#include <vector>

#include "layers/conv_bn.h"
#include "layers/separable_conv.h"

namespace tdseg {

// Called after each stage of a model's forward with the stage's name and output
// (summaries and feature probes); the forward is the same with or without one.
using StageObserver = std::function<void(const std::string& stage, const Tensor& output)>;

struct XceptionConfig {
  double width = 1.0;
  int64_t middle_units = 16;
  int64_t output_stride = 16;              // 4, 8, 16 or 32
  BatchNormOptions bn{0.0003, 1e-3};       // the reference: decay 0.9997, epsilon 1e-3
};

enum class SkipConnection { Conv, Sum, None };

// One Xception module: three separable 3x3 convs (the last with the stride) and a skip.
// Without `inner_relu`, a ReLU precedes each separable conv (the reference's
// activation_fn_in_separable_conv = False); the skip adds the module's input, or its
// 1x1 strided ConvBn projection ("shortcut") for SkipConnection::Conv.
class XceptionModule : public Module {
 public:
  XceptionModule(int64_t in, std::array<int64_t, 3> depths, SkipConnection skip, int64_t stride,
                 int64_t rate, bool inner_relu, const BatchNormOptions& bn, Generator& gen,
                 DType dtype = DType::Float32);
  // `sepconv2_out`, when given, receives the second separable conv's output.
  Tensor forward(const Tensor& x, Tensor* sepconv2_out = nullptr) const;
  int64_t stride() const { return stride_; }
  int64_t rate() const { return rate_; }

 private:
  SkipConnection skip_;
  bool inner_relu_;
  int64_t stride_, rate_;
  std::array<std::shared_ptr<SeparableConv2d>, 3> sepconv_;
  std::shared_ptr<ConvBn> shortcut_;
};

class Xception : public Module {
 public:
  struct Features {
    Tensor out;        // [N, 2048 * width, H / os, W / os]
    Tensor low_level;  // entry_flow.block2's sepconv2 output, [N, 256 * width, ~H/4, ~W/4]
  };
  Xception(const XceptionConfig& config, Generator& gen, DType dtype = DType::Float32);
  Features forward(const Tensor& x, const StageObserver& observe = nullptr) const;
  int64_t out_channels() const { return out_channels_; }
  int64_t low_level_channels() const { return low_level_channels_; }
  // Every module in order, for summaries: (name, module).
  const std::vector<std::pair<std::string, std::shared_ptr<XceptionModule>>>& units() const {
    return units_;
  }

 private:
  std::shared_ptr<ConvBn> conv1_, conv2_;
  std::vector<std::pair<std::string, std::shared_ptr<XceptionModule>>> units_;
  size_t low_level_unit_ = 0;
  int64_t out_channels_ = 0, low_level_channels_ = 0;
};

// max(1, round(c * width)): the channel count of a scaled-down member.
int64_t scaled_channels(int64_t c, double width);

}  // namespace tdseg
