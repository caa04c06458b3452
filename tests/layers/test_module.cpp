// Modules: hierarchical parameter and buffer names, train/eval propagation, and a whole
// small network whose parameters all receive gradients.
#include <gtest/gtest.h>

#include "core/ops.h"
#include "layers/batch_norm.h"
#include "layers/conv2d.h"
#include "models/tiny_seg_net.h"
#include "tests/check_close.h"

namespace tdseg::testing {
namespace {

struct Block : Module {
  std::shared_ptr<Conv2d> depthwise;
  std::shared_ptr<BatchNorm2d> bn;
  explicit Block(Generator& gen) {
    depthwise = register_module("depthwise", std::make_shared<Conv2d>(4, 4, 3, ops::Conv2dOptions(1, 1, 1, 4), false, gen));
    bn = register_module("bn", std::make_shared<BatchNorm2d>(4));
  }
};

struct Flow : Module {
  explicit Flow(Generator& gen) { register_module("block1", std::make_shared<Block>(gen)); }
};

TEST(Module, HierarchicalNames) {
  Generator gen(1);
  struct Net : Module {
    explicit Net(Generator& g) { register_module("entry_flow", std::make_shared<Flow>(g)); }
  } net(gen);
  std::vector<std::string> params, buffers;
  for (auto& [n, _] : net.named_parameters()) params.push_back(n);
  for (auto& [n, _] : net.named_buffers()) buffers.push_back(n);
  EXPECT_EQ(params, (std::vector<std::string>{"entry_flow.block1.depthwise.weight",
                                              "entry_flow.block1.bn.weight", "entry_flow.block1.bn.bias"}));
  EXPECT_EQ(buffers, (std::vector<std::string>{"entry_flow.block1.bn.running_mean",
                                               "entry_flow.block1.bn.running_var"}));
  EXPECT_EQ(net.parameter_count(), 4 * 9 + 4 + 4);
}

TEST(Module, RejectsBadAndDuplicateNames) {
  struct Bad : Module {
    void add(const std::string& n) { register_parameter(n, Tensor::zeros({1})); }
  } m;
  m.add("w");
  EXPECT_THROW_MSG(m.add("w"), ValueError, "module: name 'w' registered twice");
  EXPECT_THROW_MSG(m.add("a.b"), ValueError, "module: invalid name 'a.b'");
}

TEST(Module, EvalPropagatesAndFreezesStatistics) {
  Generator gen(2);
  TinySegNet net(3, 4, 4, gen);
  Tensor x = Tensor::randn({2, 3, 17, 17}, gen);
  net.forward(x);  // training: running statistics move
  net.eval();
  const Tensor before = net.named_buffers()[0].second.clone();
  Tensor a = net.forward(x), b = net.forward(x);
  EXPECT_TRUE(all_close(a, b, 0, 0));
  EXPECT_TRUE(all_close(net.named_buffers()[0].second, before, 0, 0));
}

TEST(Module, EveryParameterOfTinySegNetGetsAGradient) {
  Generator gen(3);
  TinySegNet net(3, 5, 4, gen);
  Tensor x = Tensor::randn({2, 3, 21, 19}, gen);
  Tensor y = Tensor::zeros({2, 21, 19}, DType::Int32);
  for (int64_t i = 0; i < y.numel(); ++i) y.data<int32_t>()[i] = int32_t(gen.integer(0, 4));
  Tensor logits = net.forward(x);
  EXPECT_EQ(logits.shape(), (Shape{2, 5, 21, 19}));
  ops::nll_loss(ops::log_softmax(logits), y).backward();
  for (auto& [name, p] : net.named_parameters()) {
    ASSERT_TRUE(p.grad().defined()) << name;
    double norm = 0;
    for (int64_t i = 0; i < p.numel(); ++i) norm += std::abs(p.grad().data<float>()[i]);
    EXPECT_GT(norm, 0) << name;
  }
}

}  // namespace
}  // namespace tdseg::testing
