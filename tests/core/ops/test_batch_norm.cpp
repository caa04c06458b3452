// batch_norm2d: training and evaluation forward against the formula, the running-statistic
// update, gradients by finite differences in both modes, and errors.
#include <gtest/gtest.h>

#include <cmath>

#include "core/ops/batch_norm.h"
#include "core/ops/elementwise.h"
#include "tests/check_close.h"
#include "tests/gradcheck.h"

namespace tdseg::testing {
namespace {

// y = w * (x - mu) / sqrt(var + eps) + b with the given per-channel mu and var.
Tensor bn_naive(const Tensor& x, const Tensor& w, const Tensor& b, const std::vector<double>& mu,
                const std::vector<double>& var, double eps) {
  Tensor y = Tensor::empty(x.shape(), DType::Float64);
  const int64_t N = x.size(0), C = x.size(1), L = x.size(2) * x.size(3);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < L; ++i) {
        const int64_t k = (n * C + c) * L + i;
        y.data<double>()[k] = w.data<double>()[c] * (x.data<double>()[k] - mu[c]) /
                                  std::sqrt(var[c] + eps) + b.data<double>()[c];
      }
  return y;
}

// Batch mean and biased variance per channel, two-pass.
void batch_stats(const Tensor& x, std::vector<double>& mu, std::vector<double>& var) {
  const int64_t N = x.size(0), C = x.size(1), L = x.size(2) * x.size(3);
  mu.assign(C, 0);
  var.assign(C, 0);
  for (int64_t c = 0; c < C; ++c) {
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < L; ++i) mu[c] += x.data<double>()[(n * C + c) * L + i];
    mu[c] /= N * L;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < L; ++i) var[c] += std::pow(x.data<double>()[(n * C + c) * L + i] - mu[c], 2);
    var[c] /= N * L;
  }
}

// Six channels: the CPU sums four together, then the other two one at a time.
TEST(BatchNormForward, TrainingUsesBatchStatsAndUpdatesRunning) {
  Tensor x = randn64({3, 6, 5, 6}, 1, 2.0), w = randn64({6}, 2), b = randn64({6}, 3);
  Generator gen(5);
  Tensor rm = randn64({6}, 4), rv = Tensor::uniform({6}, gen, 0.5, 2, DType::Float64);
  const Tensor rm0 = rm.clone(), rv0 = rv.clone();
  std::vector<double> mu, var;
  batch_stats(x, mu, var);
  Tensor y = ops::batch_norm2d(x, w, b, rm, rv, true, 0.3, 1e-3);
  EXPECT_TRUE(all_close(y, bn_naive(x, w, b, mu, var, 1e-3), 1e-12, 1e-12));
  const double M = 3 * 5 * 6;
  for (int c = 0; c < 6; ++c) {
    EXPECT_NEAR(rm.data<double>()[c], 0.7 * rm0.data<double>()[c] + 0.3 * mu[c], 1e-12);
    EXPECT_NEAR(rv.data<double>()[c], 0.7 * rv0.data<double>()[c] + 0.3 * var[c] * M / (M - 1), 1e-12);
  }
}

TEST(BatchNormForward, EvaluationUsesRunningStats) {  // six channels, as above
  Tensor x = randn64({2, 6, 4, 5}, 6), w = randn64({6}, 7), b = randn64({6}, 8);
  Tensor rm = randn64({6}, 9);
  const std::vector<double> var = {0.5, 1.7, 2.2, 0.9, 1.1, 3.0};
  Tensor rv = Tensor::from_vector<double>({6}, var);
  const Tensor rm0 = rm.clone();
  Tensor y = ops::batch_norm2d(x, w, b, rm, rv, false, 0.1, 1e-5);
  std::vector<double> mu(rm.data<double>(), rm.data<double>() + 6);
  EXPECT_TRUE(all_close(y, bn_naive(x, w, b, mu, var, 1e-5), 1e-12, 1e-12));
  EXPECT_TRUE(all_close(rm, rm0, 0, 0));  // evaluation leaves the statistics alone
}

TEST(BatchNormForward, Float32) {
  Generator gen(10);
  Tensor x = Tensor::randn({4, 8, 9, 7}, gen, DType::Float32, 3.0, 2.0);
  Tensor w = Tensor::randn({8}, gen), b = Tensor::randn({8}, gen);
  std::vector<double> mu, var;
  const Tensor x64 = x.to(DType::Float64);
  batch_stats(x64, mu, var);
  Tensor y = ops::batch_norm2d(x, w, b, Tensor(), Tensor(), true, 0.1, 1e-5);
  EXPECT_TRUE(all_close(y, bn_naive(x64, w.to(DType::Float64), b.to(DType::Float64), mu, var, 1e-5), 1e-5, 1e-5));
}

TEST(GradCheck, BatchNorm2dTraining) {
  expect_gradients([](auto& t) { return ops::batch_norm2d(t[0], t[1], t[2], Tensor(), Tensor(), true, 0.1, 1e-3); },
                   {randn64({3, 4, 3, 5}, 11, 1.5), randn64({4}, 12), randn64({4}, 13)});
}

TEST(GradCheck, BatchNorm2dEvaluation) {
  Tensor rm = randn64({4}, 14), rv = Tensor::from_vector<double>({4}, {0.3, 1.0, 2.0, 0.7});
  expect_gradients([&](auto& t) { return ops::batch_norm2d(t[0], t[1], t[2], rm, rv, false, 0.1, 1e-3); },
                   {randn64({2, 4, 3, 3}, 15), randn64({4}, 16), randn64({4}, 17)});
}

// The fused op is relu(batch_norm2d(...)) to the last bit: output, running statistics and
// every gradient, in both modes.
TEST(BatchNormRelu, MatchesTheComposedOpsExactly) {
  Generator gen(18);
  for (bool training : {true, false}) {
    SCOPED_TRACE(training ? "training" : "evaluation");
    const Tensor x0 = Tensor::randn({3, 5, 7, 9}, gen), w0 = Tensor::randn({5}, gen);
    const Tensor b0 = Tensor::randn({5}, gen), dy = Tensor::randn({3, 5, 7, 9}, gen);
    const Tensor rm0 = Tensor::randn({5}, gen), rv0 = Tensor::uniform({5}, gen, 0.5, 2);
    std::vector<Tensor> grads[2], stats[2];
    Tensor out[2];
    for (int fused = 0; fused < 2; ++fused) {
      Tensor x = x0.clone().set_requires_grad(true), w = w0.clone().set_requires_grad(true);
      Tensor b = b0.clone().set_requires_grad(true), rm = rm0.clone(), rv = rv0.clone();
      out[fused] = fused ? ops::batch_norm_relu2d(x, w, b, rm, rv, training, 0.3)
                         : ops::relu(ops::batch_norm2d(x, w, b, rm, rv, training, 0.3));
      out[fused].backward(dy);
      grads[fused] = {x.grad(), w.grad(), b.grad()};
      stats[fused] = {rm, rv};
    }
    EXPECT_TRUE(all_close(out[1], out[0], 0, 0));
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(all_close(grads[1][i], grads[0][i], 0, 0)) << i;
    for (int i = 0; i < 2; ++i) EXPECT_TRUE(all_close(stats[1][i], stats[0][i], 0, 0)) << i;
  }
}

TEST(GradCheck, BatchNormRelu2dTraining) {
  expect_gradients([](auto& t) { return ops::batch_norm_relu2d(t[0], t[1], t[2], Tensor(), Tensor(), true, 0.1, 1e-3); },
                   {randn64({3, 4, 3, 5}, 19, 1.5), randn64({4}, 20), randn64({4}, 21)});
}

TEST(BatchNormErrors, ShapesAndModes) {
  Tensor x = randn64({2, 3, 4, 4}, 1), w = randn64({3}, 2), b = randn64({3}, 3);
  EXPECT_THROW_MSG(ops::batch_norm2d(x, randn64({4}, 4), b, Tensor(), Tensor(), true), ShapeError,
                   "batch_norm2d: per-channel tensor [4] must be [3] for input [2, 3, 4, 4]");
  EXPECT_THROW_MSG(ops::batch_norm2d(x, w, b, Tensor(), Tensor(), false), ValueError,
                   "batch_norm2d: evaluation needs the running mean and variance");
  EXPECT_THROW_MSG(ops::batch_norm2d(randn64({1, 3, 1, 1}, 5), w, b, Tensor(), Tensor(), true), ShapeError,
                   "training needs more than one value per channel");
}

}  // namespace
}  // namespace tdseg::testing
