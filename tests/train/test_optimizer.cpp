// SGD, Adam, clipping, weight decay and the poly schedule against hand-computed updates.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "tests/check_close.h"
#include "train/optimizer.h"

namespace tdseg::testing {
namespace {

// A convolution weight [2, 1, 1, 1] (decayed) and a bias [1] (not decayed).
struct Net : Module {
  Tensor w, b;
  Net() {
    w = register_parameter("weight", Tensor::from_vector<float>({2, 1, 1, 1}, {1, 2}));
    b = register_parameter("bias", Tensor::from_vector<float>({1}, {3}));
  }
  void set_grads(std::vector<float> gw, float gb) const {
    w.impl().grad = Tensor::from_vector<float>({2, 1, 1, 1}, gw).impl_ptr();
    b.impl().grad = Tensor::from_vector<float>({1}, {gb}).impl_ptr();
  }
};

float at(const Tensor& t, int64_t i) { return t.data<float>()[i]; }

TEST(Optimizer, PolySchedule) {
  EXPECT_DOUBLE_EQ(poly_lr(0.1, 0, 100, 0.9), 0.1);
  EXPECT_NEAR(poly_lr(0.1, 50, 100, 0.9), 0.1 * std::pow(0.5, 0.9), 1e-15);  // 0.0535887...
  EXPECT_NEAR(poly_lr(0.1, 50, 100, 0.9), 0.05358867, 1e-8);
  EXPECT_DOUBLE_EQ(poly_lr(0.1, 100, 100, 0.9), 0.0);
  EXPECT_DOUBLE_EQ(poly_lr(0.1, 30, 100, 1.0), 0.07);
  EXPECT_THROW(poly_lr(0.1, 101, 100, 0.9), ValueError);
}

TEST(Optimizer, WhatDecays) {
  const Tensor conv = Tensor::zeros({4, 2, 3, 3}), vec = Tensor::zeros({4});
  EXPECT_TRUE(decays("aspp.aspp0.conv.weight", conv));
  EXPECT_TRUE(decays("block1.sepconv1.pointwise.weight", conv));
  EXPECT_TRUE(decays("logits.weight", conv));
  EXPECT_FALSE(decays("block1.sepconv1.depthwise.weight", conv));
  EXPECT_FALSE(decays("aspp.aspp0.bn.weight", vec));  // batch-norm gamma
  EXPECT_FALSE(decays("aspp.aspp0.bn.bias", vec));
  EXPECT_FALSE(decays("logits.bias", vec));
  EXPECT_FALSE(decays("head.lambda", Tensor::zeros({})));
}

// w = (1, 2), g = (0.5, -1), lr 0.1, momentum 0.9, wd 0.01 (weight only):
//   v1 = g + wd w = (0.51, -0.98);                  w1 = w - 0.1 v1 = (0.949, 2.098)
//   v2 = 0.9 v1 + g + wd w1 = (0.96849, -1.86102);  w2 = (0.852151, 2.2841020)
//   bias: v1 = 0.5, b1 = 2.95; v2 = 0.95, b2 = 2.855
TEST(Optimizer, SgdMomentumAndWeightDecay) {
  Net net;
  Optimizer opt(net.named_parameters(), {"sgd", 0.9, 0.999, 0.01, 0});
  for (int k = 0; k < 2; ++k) {
    net.set_grads({0.5f, -1.0f}, 0.5f);
    opt.step(0.1);
    EXPECT_FALSE(net.w.grad().defined());  // cleared
  }
  EXPECT_NEAR(at(net.w, 0), 0.852151, 1e-6);
  EXPECT_NEAR(at(net.w, 1), 2.284102, 1e-6);
  EXPECT_NEAR(at(net.b, 0), 2.855, 1e-6);
  EXPECT_EQ(opt.steps(), 2);
}

// Adam's first step moves each weight by lr * g / (|g| + 1e-8) ~ lr * sign(g); the second,
// with m2 = 0.19 g', v2 = 0.001999 g'^2 ... here for g' = g: exactly lr * sign(g) again.
TEST(Optimizer, Adam) {
  Net net;
  Optimizer opt(net.named_parameters(), {"adam", 0.9, 0.999, 0, 0});
  for (int k = 0; k < 2; ++k) {
    net.set_grads({0.5f, -1.0f}, 0.25f);
    opt.step(0.01);
  }
  EXPECT_NEAR(at(net.w, 0), 1 - 0.02, 1e-6);
  EXPECT_NEAR(at(net.w, 1), 2 + 0.02, 1e-6);
  EXPECT_NEAR(at(net.b, 0), 3 - 0.02, 1e-6);
}

// |g| = |(3, 4, 0)| = 5 > 1: g scaled by 1/5; plain SGD at lr 1 moves w by (0.6, 0.8).
TEST(Optimizer, ClipsTheGlobalNorm) {
  Net net;
  Optimizer opt(net.named_parameters(), {"sgd", 0.0, 0.999, 0, 1.0});
  net.set_grads({3, 4}, 0);
  EXPECT_DOUBLE_EQ(opt.grad_norm(), 5.0);
  opt.step(1.0);
  EXPECT_NEAR(at(net.w, 0), 0.4, 1e-6);
  EXPECT_NEAR(at(net.w, 1), 1.2, 1e-6);
  net.set_grads({0.3f, 0.4f}, 0);  // under the limit: untouched
  EXPECT_NEAR(opt.grad_norm(), 0.5, 1e-7);
  opt.step(1.0);
  EXPECT_NEAR(at(net.w, 0), 0.1, 1e-6);
}

TEST(Optimizer, ParametersWithoutGradientStay) {
  Net net;
  Optimizer opt(net.named_parameters(), {"sgd", 0.9, 0.999, 0.5, 0});
  net.w.impl().grad = Tensor::from_vector<float>({2, 1, 1, 1}, {1, 1}).impl_ptr();
  opt.step(0.1);
  EXPECT_FLOAT_EQ(at(net.b, 0), 3.0f);
}

// Saving the state after one step and loading it into a fresh optimiser gives the same
// second step, bit for bit.
TEST(Optimizer, StateRoundTripsExactly) {
  for (const char* kind : {"sgd", "adam"}) {
    Net a, b;
    Optimizer oa(a.named_parameters(), {kind, 0.9, 0.999, 0.01, 0});
    Optimizer ob(b.named_parameters(), {kind, 0.9, 0.999, 0.01, 0});
    a.set_grads({0.5f, -1.0f}, 0.3f);
    oa.step(0.1);
    b.set_grads({0.5f, -1.0f}, 0.3f);
    ob.step(0.1);
    Net c;  // c gets a's weights and state, then both take the same step
    Optimizer oc(c.named_parameters(), {kind, 0.9, 0.999, 0.01, 0});
    std::memcpy(c.w.data<float>(), a.w.data<float>(), 2 * sizeof(float));
    std::memcpy(c.b.data<float>(), a.b.data<float>(), sizeof(float));
    oc.load_state(oa.state(), "test");
    EXPECT_EQ(oc.steps(), 1);
    a.set_grads({0.2f, 0.7f}, -0.1f);
    c.set_grads({0.2f, 0.7f}, -0.1f);
    oa.step(0.05);
    oc.step(0.05);
    EXPECT_TRUE(all_close(c.w, a.w, 0, 0)) << kind;
    EXPECT_TRUE(all_close(c.b, a.b, 0, 0)) << kind;
  }
  Net n;
  Optimizer sgd(n.named_parameters(), {"sgd", 0.9, 0.999, 0, 0});
  Optimizer adam(n.named_parameters(), {"adam", 0.9, 0.999, 0, 0});
  EXPECT_THROW_MSG(sgd.load_state(adam.state(), "x.safetensors"), IOError, "x.safetensors");
}

}  // namespace
}  // namespace tdseg::testing
