// The autograd graph: gradients accumulate into leaves, shared subexpressions sum their
// gradients, backward() releases the graph, the inference guard records nothing.
#include <gtest/gtest.h>

#include "core/autograd.h"
#include "core/ops.h"
#include "tests/check_close.h"
#include "tests/gradcheck.h"

namespace tdseg::testing {
namespace {

TEST(Autograd, GradientsAccumulateAcrossBackwardCalls) {
  Tensor x = randn64({4}, 1);
  x.set_requires_grad(true);
  ops::sum(ops::scale(x, 3.0)).backward();
  ops::sum(ops::scale(x, 2.0)).backward();
  EXPECT_TRUE(all_close(x.grad(), Tensor::full({4}, 5.0, DType::Float64), 0, 0));
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
}

TEST(Autograd, DiamondSumsBothPaths) {
  // y = relu(x) * x + x  =>  dy/dx = 2x + 1 where x > 0, 1 elsewhere
  Tensor x = randn64({50}, 2);
  x.set_requires_grad(true);
  ops::sum(ops::add(ops::mul(ops::relu(x), x), x)).backward();
  for (int64_t i = 0; i < 50; ++i) {
    const double v = x.data<double>()[i];
    EXPECT_NEAR(x.grad().data<double>()[i], v > 0 ? 2 * v + 1 : 1.0, 1e-14);
  }
}

TEST(Autograd, BackwardReleasesTheGraph) {
  Tensor x = randn64({3}, 3);
  x.set_requires_grad(true);
  Tensor loss = ops::sum(ops::mul(x, x));
  EXPECT_EQ(loss.grad_fn()->inputs.size(), 1u);
  loss.backward();
  EXPECT_TRUE(loss.grad_fn()->inputs.empty());
  EXPECT_THROW_MSG(loss.backward(), AutogradError, "already released");
}

TEST(Autograd, InferenceGuardRecordsNothing) {
  Tensor x = randn64({3}, 4);
  x.set_requires_grad(true);
  {
    InferenceGuard guard;
    EXPECT_FALSE(grad_enabled());
    Tensor y = ops::relu(ops::scale(x, 2.0));
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(y.grad_fn(), nullptr);
    {
      InferenceGuard nested;
    }
    EXPECT_FALSE(grad_enabled());
  }
  EXPECT_TRUE(grad_enabled());
  EXPECT_TRUE(ops::scale(x, 2.0).requires_grad());
}

TEST(Autograd, OnlyInputsThatNeedGradientsGetThem) {
  Tensor a = randn64({3}, 5), b = randn64({3}, 6);
  a.set_requires_grad(true);
  ops::sum(ops::mul(a, b)).backward();
  EXPECT_TRUE(all_close(a.grad(), b, 0, 0));
  EXPECT_FALSE(b.grad().defined());
}

TEST(Autograd, NonScalarNeedsAnExplicitGradient) {
  Tensor x = randn64({2, 2}, 7);
  x.set_requires_grad(true);
  Tensor y = ops::scale(x, 2.0);
  EXPECT_THROW_MSG(y.backward(), AutogradError, "is not a scalar");
  y.backward(Tensor::full({2, 2}, 1.0, DType::Float64));
  EXPECT_TRUE(all_close(x.grad(), Tensor::full({2, 2}, 2.0, DType::Float64), 0, 0));
  EXPECT_THROW_MSG(randn64({1}, 8).backward(), AutogradError, "does not require a gradient");
}

TEST(GradCheck, Reshape) {
  expect_gradients([](auto& t) { return ops::mul(t[0].reshape({3, 4}), t[1]); },
                   {randn64({2, 6}, 9), randn64({3, 4}, 10)});
}

}  // namespace
}  // namespace tdseg::testing
