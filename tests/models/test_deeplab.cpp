// The model family: the reference architecture's parameter count, output shapes for odd
// and even sizes at both output strides, the strides-to-rates rule, hierarchical names,
// forward/backward of the small members, and finite-difference checks of the blocks.
#include <gtest/gtest.h>

#include "core/autograd.h"
#include "core/ops.h"
#include "models/registry.h"
#include "models/summary.h"
#include "tests/check_close.h"
#include "tests/gradcheck.h"

namespace tdseg::testing {
namespace {

// Trainable parameters of DeepLabV3+ with Xception-65 and 21 classes, derived from the
// reference (xception.py, model.py): convolutions under a batch norm have no bias, and
// every batch norm has a scale and an offset (2 C); running statistics are buffers.
//   separable conv i -> o:  depthwise 9 i + BN 2 i + pointwise i o + BN 2 o
int64_t sep(int64_t i, int64_t o) { return 9 * i + 2 * i + i * o + 2 * o; }
int64_t module(int64_t in, std::array<int64_t, 3> d, bool conv_skip) {
  return sep(in, d[0]) + sep(d[0], d[1]) + sep(d[1], d[2]) + (conv_skip ? in * d[2] + 2 * d[2] : 0);
}

TEST(DeepLab, Xception65ParameterCountMatchesTheReference) {
  const int64_t root = 3 * 32 * 9 + 2 * 32 + 32 * 64 * 9 + 2 * 64;
  const int64_t backbone = root + module(64, {128, 128, 128}, true) + module(128, {256, 256, 256}, true) +
                           module(256, {728, 728, 728}, true) + 16 * module(728, {728, 728, 728}, false) +
                           module(728, {728, 1024, 1024}, true) + module(1024, {1536, 1536, 2048}, false);
  const int64_t conv_bn_1x1 = 2048 * 256 + 2 * 256;  // image pooling and aspp0
  const int64_t aspp = 2 * conv_bn_1x1 + 3 * sep(2048, 256) + (5 * 256 * 256 + 2 * 256);
  const int64_t decoder = (256 * 48 + 2 * 48) + sep(256 + 48, 256) + sep(256, 256);
  const int64_t logits = 256 * 21 + 21;
  EXPECT_EQ(backbone, 37867312);
  EXPECT_EQ(backbone + aspp + decoder + logits, 41055413);
  const DeepLabV3Plus model(model_config("deeplabv3plus-xception65", 21));
  EXPECT_EQ(model.parameter_count(), 41055413);
  EXPECT_EQ(model.backbone().parameter_count(), 37867312);
}

TEST(DeepLab, HierarchicalNamesFollowTheReference) {
  const DeepLabV3Plus model(model_config("deeplabv3plus-xception-tiny", 5));
  std::set<std::string> names;
  for (auto& [n, _] : model.named_parameters()) names.insert(n);
  for (auto& [n, _] : model.named_buffers()) names.insert(n);
  for (const char* n : {"backbone.entry_flow.conv1.conv.weight", "backbone.entry_flow.conv1.bn.weight",
                        "backbone.entry_flow.block1.sepconv1.depthwise.weight",
                        "backbone.entry_flow.block1.sepconv1.pointwise_bn.running_var",
                        "backbone.entry_flow.block1.shortcut.conv.weight",
                        "backbone.middle_flow.block2.sepconv3.pointwise.weight",
                        "backbone.exit_flow.block2.sepconv3.pointwise_bn.bias", "aspp.image_pooling.conv.weight",
                        "aspp.aspp3.depthwise.weight", "aspp.concat_projection.bn.running_mean",
                        "decoder.feature_projection0.conv.weight", "decoder.decoder_conv1.pointwise.weight",
                        "logits.weight", "logits.bias"})
    EXPECT_TRUE(names.count(n)) << n;
  EXPECT_FALSE(names.count("backbone.middle_flow.block3.sepconv1.depthwise.weight"));  // 2 modules
}

// stack_blocks_dense: strides past the output stride become rates.
TEST(DeepLab, StridesTurnIntoRatesAsTheReferenceDoes) {
  auto rates = [](int64_t os) {
    std::vector<std::pair<int64_t, int64_t>> r;  // (stride, rate) per unit
    const DeepLabV3Plus m(model_config("deeplabv3plus-xception-tiny", 2, os));
    for (auto& [_, unit] : m.backbone().units()) r.emplace_back(unit->stride(), unit->rate());
    return r;
  };
  using V = std::vector<std::pair<int64_t, int64_t>>;
  EXPECT_EQ(rates(16), (V{{2, 1}, {2, 1}, {2, 1}, {1, 1}, {1, 1}, {1, 1}, {1, 2}}));
  EXPECT_EQ(rates(8), (V{{2, 1}, {2, 1}, {1, 1}, {1, 2}, {1, 2}, {1, 2}, {1, 4}}));
  EXPECT_EQ(model_config("deeplabv3plus-xception65", 21, 8).atrous_rates, (std::array<int64_t, 3>{12, 24, 36}));
}

TEST(DeepLab, OutputShapesAtOddAndEvenSizes) {
  for (int64_t os : {16, 8})
    for (auto [H, W] : std::vector<std::pair<int64_t, int64_t>>{{129, 97}, {64, 80}, {33, 33}}) {
      const DeepLabV3Plus model(model_config("deeplabv3plus-xception-tiny", 7, os));
      InferenceGuard inference;
      Generator gen(1);
      const Tensor z = model.forward(Tensor::randn({2, 3, H, W}, gen));
      EXPECT_EQ(z.shape(), (Shape{2, 7, H, W})) << "os " << os;
    }
}

TEST(DeepLab, Xception65OutputShapes) {
  // The full network at VOC's crop size and at an odd size, evaluation mode.
  for (int64_t os : {16, 8}) {
    DeepLabV3Plus model(model_config("deeplabv3plus-xception65", 21, os));
    model.eval();
    InferenceGuard inference;
    Generator gen(2);
    for (auto [H, W] : std::vector<std::pair<int64_t, int64_t>>{{129, 97}, {os == 16 ? 513 : 65, os == 16 ? 513 : 65}}) {
      const Xception::Features f = model.backbone().forward(Tensor::randn({1, 3, H, W}, gen));
      EXPECT_EQ(f.out.shape(), (Shape{1, 2048, (H - 1) / os + 1, (W - 1) / os + 1}));
      EXPECT_EQ(f.low_level.shape(), (Shape{1, 256, (H - 1) / 4 + 1, (W - 1) / 4 + 1}));
      if (H < 200) EXPECT_EQ(model.forward(Tensor::randn({1, 3, H, W}, gen)).shape(), (Shape{1, 21, H, W}));
    }
  }
}

TEST(DeepLab, SmallMembersTrainForwardBackward) {
  for (const char* name : {"deeplabv3plus-xception-tiny", "std-deeplabv3plus-xception-tiny",
                           "vp-std-deeplabv3plus-xception-tiny", "ss-std-deeplabv3plus-xception-tiny"}) {
    SCOPED_TRACE(name);
    DeepLabConfig c = model_config(name, 3);
    if (c.head.prior == StdPrior::SS) c.head.iters = 5;
    const DeepLabV3Plus model(c);
    Generator gen(3);
    const Tensor x = Tensor::randn({2, 3, 41, 37}, gen);
    Tensor labels = Tensor::empty({2, 41, 37}, DType::Int32);
    for (int64_t i = 0; i < labels.numel(); ++i) labels.data<int32_t>()[i] = int32_t(gen.integer(0, 2));
    StdExtras ex;
    ex.volumes = Tensor::full({2, 3}, 41.0 * 37 / 3);
    const Tensor loss = ops::nll_loss(ops::log_softmax(model.forward(x, ex)), labels);
    EXPECT_TRUE(std::isfinite(loss.item()));
    loss.backward();
    for (auto& [n, p] : model.named_parameters()) ASSERT_TRUE(p.grad().defined()) << n;
  }
}

TEST(GradCheck, SeparableConvBlock) {
  Generator gen(4);
  const SeparableConv2d block(3, 4, 3, 2, 2, true, {0.1, 1e-3}, gen, DType::Float64);
  expect_module_gradients([&](auto& t) { return block.forward(t[0]); }, block, {randn64({2, 3, 7, 6}, 5)},
                          {1e-6, 1e-7, 1e-5});
}

TEST(GradCheck, XceptionModuleConvSkip) {
  Generator gen(6);
  const XceptionModule unit(3, {4, 4, 5}, SkipConnection::Conv, 2, 1, false, {0.1, 1e-3}, gen, DType::Float64);
  expect_module_gradients([&](auto& t) { return unit.forward(t[0]); }, unit, {randn64({2, 3, 6, 7}, 7)},
                          {1e-6, 1e-7, 1e-5});
}

TEST(GradCheck, Aspp) {
  Generator gen(8);
  const Aspp aspp(4, 3, {1, 2, 3}, 1.0, {0.1, 1e-5}, gen, DType::Float64);
  expect_module_gradients([&](auto& t) { return aspp.forward(t[0]); }, aspp, {randn64({2, 4, 5, 6}, 9)},
                          {1e-6, 1e-7, 1e-5});
}

TEST(DeepLab, SummaryAccountsForEveryParameterAndMultiplyAdd) {
  DeepLabV3Plus model(model_config("std-deeplabv3plus-xception-tiny", 4));
  const ModelSummary s = summarize(model, 2, 33, 29);
  ASSERT_EQ(s.rows.front().name, "backbone.entry_flow.conv1");
  EXPECT_EQ(s.rows.front().output, (Shape{2, 4, 17, 15}));
  EXPECT_EQ(s.rows.front().macs, 2 * 4 * 17 * 15 * 3 * 9);  // N M OH OW C K K, 4 = 32 / 8 filters
  EXPECT_EQ(s.rows.back().name, "head");
  int64_t params = 0;
  for (const SummaryRow& r : s.rows) params += r.params;
  EXPECT_EQ(params, model.parameter_count());
  EXPECT_GT(s.total.graph_bytes, 0);
  EXPECT_NE(format_summary(s).find("total: " + std::to_string(model.parameter_count()) + " parameters"),
            std::string::npos);
}

TEST(DeepLab, RegistryFamiliesAndHeads) {
  EXPECT_EQ(model_family("ss-std-deeplabv3plus-xception65"), "deeplabv3plus-xception65");
  EXPECT_EQ(model_family("std-deeplabv3plus-xception-tiny"), "deeplabv3plus-xception-tiny");
  EXPECT_EQ(model_family("deeplabv3plus-xception41"), "deeplabv3plus-xception41");
  EXPECT_EQ(model_config("vp-std-deeplabv3plus-xception-tiny", 3).head.prior, StdPrior::VP);
  EXPECT_EQ(model_config("ss-std-deeplabv3plus-xception-tiny", 3).head.iters, 50);
  EXPECT_EQ(model_config("deeplabv3plus-xception-tiny", 3).head.prior, StdPrior::None);
}

TEST(DeepLabErrors, UnknownModelAndBadStride) {
  EXPECT_THROW_MSG(model_config("resnet50", 21), ValueError, "model: unknown model 'resnet50' (known: deeplabv3plus-xception65");
  EXPECT_THROW_MSG(model_config("deeplabv3plus-xception65", 21, 32), ValueError, "output stride 32 must be 8 or 16");
  const DeepLabV3Plus model(model_config("deeplabv3plus-xception-tiny", 2));
  EXPECT_THROW_MSG(model.forward(Tensor::zeros({1, 1, 8, 8})), ShapeError, "input must be [N, 3, H, W], got [1, 1, 8, 8]");
}

}  // namespace
}  // namespace tdseg::testing
