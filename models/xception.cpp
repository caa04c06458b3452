#include "models/xception.h"

#include <cmath>

#include "core/ops/elementwise.h"

namespace tdseg {

int64_t scaled_channels(int64_t c, double width) {
  return std::max<int64_t>(1, std::llround(c * width));
}

XceptionModule::XceptionModule(int64_t in, std::array<int64_t, 3> depths, SkipConnection skip,
                               int64_t stride, int64_t rate, bool inner_relu,
                               const BatchNormOptions& bn, Generator& gen, DType dtype)
    : skip_(skip), inner_relu_(inner_relu), stride_(stride), rate_(rate) {
  int64_t c = in;
  for (int i = 0; i < 3; ++i) {
    sepconv_[i] = register_module(
        "sepconv" + std::to_string(i + 1),
        std::make_shared<SeparableConv2d>(c, depths[i], 3, i == 2 ? stride : 1, rate, inner_relu,
                                          bn, gen, dtype));
    c = depths[i];
  }
  check<ValueError>(skip != SkipConnection::Sum || (in == depths[2] && stride == 1),
                    "XceptionModule: a sum skip needs equal channels and stride 1, got ", in,
                    " -> ", depths[2], " at stride ", stride);
  if (skip == SkipConnection::Conv)
    shortcut_ = register_module("shortcut", std::make_shared<ConvBn>(in, depths[2], 1,
                                                                     ops::Conv2dOptions(stride, 0),
                                                                     false, bn, gen, dtype));
}

Tensor XceptionModule::forward(const Tensor& x, Tensor* sepconv2_out) const {
  Tensor y = x;
  for (int i = 0; i < 3; ++i) {
    y = sepconv_[i]->forward(inner_relu_ ? y : ops::relu(y));
    if (i == 1 && sepconv2_out) *sepconv2_out = y;
  }
  switch (skip_) {
    case SkipConnection::Conv: return ops::add(y, shortcut_->forward(x));
    case SkipConnection::Sum: return ops::add(y, x);
    case SkipConnection::None: return y;
  }
  return y;
}

Xception::Xception(const XceptionConfig& cfg, Generator& gen, DType dtype) {
  const int64_t os = cfg.output_stride;
  check<ValueError>(os == 4 || os == 8 || os == 16 || os == 32, "Xception: output stride ", os,
                    " is not one of 4, 8, 16, 32");
  check<ValueError>(cfg.width > 0 && cfg.middle_units >= 1, "Xception: width ", cfg.width,
                    " and middle units ", cfg.middle_units, " must be positive");
  auto ch = [&](int64_t c) { return scaled_channels(c, cfg.width); };
  auto entry = register_module("entry_flow", std::make_shared<ModuleGroup>());
  auto middle = register_module("middle_flow", std::make_shared<ModuleGroup>());
  auto exit = register_module("exit_flow", std::make_shared<ModuleGroup>());
  conv1_ = entry->add("conv1", std::make_shared<ConvBn>(3, ch(32), 3, ops::Conv2dOptions(2, 1),
                                                        true, cfg.bn, gen, dtype));
  conv2_ = entry->add("conv2", std::make_shared<ConvBn>(ch(32), ch(64), 3, ops::Conv2dOptions(1, 1),
                                                        true, cfg.bn, gen, dtype));
  struct Unit {
    ModuleGroup* group;
    std::string name;
    std::array<int64_t, 3> depths;
    SkipConnection skip;
    int64_t stride;
    bool inner_relu;
  };
  std::vector<Unit> plan = {
      {entry.get(), "block1", {128, 128, 128}, SkipConnection::Conv, 2, false},
      {entry.get(), "block2", {256, 256, 256}, SkipConnection::Conv, 2, false},
      {entry.get(), "block3", {728, 728, 728}, SkipConnection::Conv, 2, false}};
  for (int64_t i = 1; i <= cfg.middle_units; ++i)
    plan.push_back({middle.get(), "block" + std::to_string(i), {728, 728, 728}, SkipConnection::Sum, 1, false});
  plan.push_back({exit.get(), "block1", {728, 1024, 1024}, SkipConnection::Conv, 2, false});
  plan.push_back({exit.get(), "block2", {1536, 1536, 2048}, SkipConnection::None, 1, true});

  // stack_blocks_dense: the root has stride 2; once the target is reached, strides turn
  // into rates.
  int64_t current_stride = 2, rate = 1, c = ch(64);
  for (const Unit& u : plan) {
    int64_t stride = u.stride, unit_rate = 1;
    if (current_stride == os) {
      unit_rate = rate;
      rate *= u.stride;
      stride = 1;
    } else {
      current_stride *= u.stride;
    }
    const std::array<int64_t, 3> d = {ch(u.depths[0]), ch(u.depths[1]), ch(u.depths[2])};
    auto m = u.group->add(u.name, std::make_shared<XceptionModule>(c, d, u.skip, stride, unit_rate,
                                                                   u.inner_relu, cfg.bn, gen, dtype));
    const char* flow = u.group == entry.get() ? "entry_flow." : u.group == middle.get() ? "middle_flow." : "exit_flow.";
    units_.emplace_back(flow + u.name, m);
    c = d[2];
  }
  low_level_unit_ = 1;  // entry_flow.block2
  low_level_channels_ = ch(256);
  out_channels_ = c;
}

Xception::Features Xception::forward(const Tensor& x, const StageObserver& observe) const {
  Features f;
  Tensor y = conv1_->forward(x);
  if (observe) observe("backbone.entry_flow.conv1", y);
  y = conv2_->forward(y);
  if (observe) observe("backbone.entry_flow.conv2", y);
  for (size_t i = 0; i < units_.size(); ++i) {
    y = units_[i].second->forward(y, i == low_level_unit_ ? &f.low_level : nullptr);
    if (observe) observe("backbone." + units_[i].first, y);
  }
  f.out = y;
  return f;
}

}  // namespace tdseg
