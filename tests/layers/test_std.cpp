// The STD blocks: the composed and fused forms agree (forward and backward, float32 and
// float64), gradients by finite differences in float64 for every block and form with
// learnable lambda, eps and sigma, and the mathematical properties the paper states.
#include <gtest/gtest.h>

#include <cmath>

#include "core/autograd.h"
#include "core/ops.h"
#include "layers/std/std_block.h"
#include "layers/std/std_energy.h"
#include "layers/std/std_extras.h"
#include "layers/std/std_head.h"
#include "tests/check_close.h"
#include "tests/gradcheck.h"

namespace tdseg::testing {
namespace {

StdConfig config(StdPrior prior, StdImpl impl, int64_t iters, bool edge = false) {
  StdConfig c;
  c.prior = prior;
  c.impl = impl;
  c.iters = iters;
  c.kernel_size = 3;
  c.edge_weight = edge;
  return c;
}

// Volumes that sum to H*W per image (a feasible target), centres inside the image and an
// edge weight from a random image: the extras every prior may need.
StdExtras extras_for(int64_t N, int64_t C, int64_t H, int64_t W, DType dtype, uint64_t seed) {
  Generator gen(seed);
  StdExtras ex;
  Tensor v = Tensor::empty({N, C}, DType::Float64);
  for (int64_t n = 0; n < N; ++n) {
    double total = 0;
    for (int64_t c = 0; c < C; ++c) total += (v.data<double>()[n * C + c] = gen.uniform(0.2, 1));
    for (int64_t c = 0; c < C; ++c) v.data<double>()[n * C + c] *= H * W / total;
  }
  ex.volumes = v.to(dtype);
  Tensor centers = Tensor::empty({N, 2}, DType::Float64);
  for (int64_t n = 0; n < N; ++n) {
    centers.data<double>()[2 * n] = gen.uniform(1, W - 2);
    centers.data<double>()[2 * n + 1] = gen.uniform(1, H - 2);
  }
  ex.centers = centers.to(dtype);
  ex.edge = edge_weight(Tensor::randn({N, 3, H, W}, gen, dtype));
  return ex;
}

StdParams params64(int64_t C, uint64_t seed) {
  Generator gen(seed);
  Tensor sigma = Tensor::uniform({C}, gen, 0.8, 2.0, DType::Float64);
  return {Tensor::full({}, 0.7, DType::Float64), Tensor::full({}, 0.6, DType::Float64), sigma};
}

const StdPrior kPriors[] = {StdPrior::None, StdPrior::STD, StdPrior::VP, StdPrior::SS};

// ---- composed and fused agree -------------------------------------------------------

// Runs one form with every parameter learnable, backpropagates a fixed random gradient
// and returns {z, do, dlambda, deps, dsigma}.
std::vector<Tensor> run_with_grads(const Tensor& o_in, const StdParams& p_in, const StdExtras& ex,
                                   const StdConfig& c, const Tensor& gz) {
  Tensor o = o_in.clone();
  StdParams p{p_in.lambda.clone(), p_in.eps.clone(), p_in.sigma.clone()};
  for (Tensor* t : {&o, &p.lambda, &p.eps, &p.sigma}) t->set_requires_grad(true);
  Tensor z = std_block(o, p, ex, c);
  z.backward(gz);
  return {z.detach(), o.grad(), p.lambda.grad(), p.eps.grad(), p.sigma.grad()};
}

void expect_forms_agree(DType dtype, double atol, double rtol) {
  const int64_t N = 2, C = 3, H = 7, W = 6;
  for (StdPrior prior : kPriors)
    for (bool edge : {false, true}) {
      SCOPED_TRACE(::testing::Message() << std_prior_name(prior) << (edge ? " with edge" : ""));
      const Tensor o = randn64({N, C, H, W}, 40).to(dtype);
      const StdParams p64 = params64(C, 41);
      const StdParams p{p64.lambda.to(dtype), p64.eps.to(dtype), p64.sigma.to(dtype)};
      const StdExtras ex = extras_for(N, C, H, W, dtype, 42);
      const Tensor gz = randn64({N, C, H, W}, 43).to(dtype);
      const auto a = run_with_grads(o, p, ex, config(prior, StdImpl::Composed, 4, edge), gz);
      const auto b = run_with_grads(o, p, ex, config(prior, StdImpl::Fused, 4, edge), gz);
      const char* what[] = {"z", "d o", "d lambda", "d eps", "d sigma"};
      for (size_t k = 0; k < a.size(); ++k) {
        if (prior == StdPrior::None && (k == 2 || k == 4)) continue;  // no dependence
        ASSERT_TRUE(a[k].defined() && b[k].defined()) << what[k];
        EXPECT_TRUE(all_close(b[k], a[k], atol, rtol)) << what[k];
      }
    }
}

TEST(StdForms, ComposedAndFusedAgreeFloat64) { expect_forms_agree(DType::Float64, 1e-12, 1e-10); }
TEST(StdForms, ComposedAndFusedAgreeFloat32) { expect_forms_agree(DType::Float32, 1e-5, 1e-5); }

// ---- finite differences -------------------------------------------------------------

void grad_case(StdPrior prior, StdImpl impl, bool edge) {
  const int64_t N = 2, C = 3, H = 6, W = 5;
  const StdExtras ex = extras_for(N, C, H, W, DType::Float64, 50);
  const StdParams p = params64(C, 51);
  const StdConfig c = config(prior, impl, 3, edge);
  expect_gradients([&](const std::vector<Tensor>& t) { return std_block(t[0], {t[1], t[2], t[3]}, ex, c); },
                   {randn64({N, C, H, W}, 52), p.lambda, p.eps, p.sigma}, {1e-6, 1e-8, 1e-6});
}

TEST(GradCheck, StdComposed) { grad_case(StdPrior::STD, StdImpl::Composed, false); }
TEST(GradCheck, StdFused) { grad_case(StdPrior::STD, StdImpl::Fused, false); }
TEST(GradCheck, StdFusedEdgeWeight) { grad_case(StdPrior::STD, StdImpl::Fused, true); }
TEST(GradCheck, VpStdComposed) { grad_case(StdPrior::VP, StdImpl::Composed, false); }
TEST(GradCheck, VpStdFused) { grad_case(StdPrior::VP, StdImpl::Fused, false); }
TEST(GradCheck, SsStdComposed) { grad_case(StdPrior::SS, StdImpl::Composed, false); }
TEST(GradCheck, SsStdFused) { grad_case(StdPrior::SS, StdImpl::Fused, false); }
TEST(GradCheck, SsStdFusedEdgeWeight) { grad_case(StdPrior::SS, StdImpl::Fused, true); }

TEST(GradCheck, SsStdFusedFixedTau) {
  const int64_t N = 1, C = 2, H = 6, W = 6;
  StdExtras ex = extras_for(N, C, H, W, DType::Float64, 53);
  StdConfig c = config(StdPrior::SS, StdImpl::Fused, 4);
  c.tau = 0.3;
  c.star_class = 0;
  const StdParams p = params64(C, 54);
  expect_gradients([&](const std::vector<Tensor>& t) { return std_block(t[0], {t[1], t[2], t[3]}, ex, c); },
                   {randn64({N, C, H, W}, 55), p.lambda, p.eps, p.sigma}, {1e-6, 1e-8, 1e-6});
}

// ---- the paper's properties ---------------------------------------------------------

TEST(StdMath, LambdaZeroIsSoftmaxExactly) {
  const Tensor o = randn64({2, 4, 5, 6}, 60, 2.0);
  for (StdImpl impl : {StdImpl::Composed, StdImpl::Fused})
    for (int64_t T : {0, 1, 7}) {
      StdConfig c = config(StdPrior::STD, impl, T);
      c.lambda = 0;
      c.eps = 0.3;
      const Tensor z = std_block(o, std_params(c, 4, DType::Float64), {}, c);
      EXPECT_TRUE(all_close(ops::softmax(z), ops::softmax(ops::scale(o, 1 / 0.3)), 0, 0));
    }
}

TEST(StdMath, OutputsAreProbabilities) {
  const int64_t N = 2, C = 3, H = 9, W = 8;
  const StdExtras ex = extras_for(N, C, H, W, DType::Float32, 61);
  for (StdPrior prior : kPriors) {
    StdConfig c = config(prior, StdImpl::Fused, 10);
    c.eps = 0.05;  // sharp: probabilities near 0 and 1
    Generator gen(62);
    const Tensor o = Tensor::randn({N, C, H, W}, gen, DType::Float32, 0, 3);
    const Tensor u = ops::softmax(std_block(o, std_params(c, C, DType::Float32), ex, c));
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < H * W; ++k) {
        double s = 0;
        for (int64_t ch = 0; ch < C; ++ch) {
          const float v = u.data<float>()[(n * C + ch) * H * W + k];
          EXPECT_TRUE(v >= 0 && v <= 1) << v;
          s += v;
        }
        EXPECT_NEAR(s, 1.0, 1e-6);
      }
  }
}

// Theorem 3.1 with a positive semi-definite kernel (7 x 7, sigma = 1).
TEST(StdMath, EnergyNeverIncreases) {
  Generator gen(63);
  for (int trial = 0; trial < 12; ++trial) {
    StdConfig c = config(StdPrior::STD, StdImpl::Fused, 0);
    c.kernel_size = 7;
    c.sigma = 1.0;
    c.lambda = gen.uniform(0.1, 3.0);
    c.eps = gen.uniform(0.05, 1.0);
    const Tensor o = Tensor::randn({2, 3, 12, 11}, gen, DType::Float64, 0, gen.uniform(0.5, 3));
    double previous = INFINITY;
    for (int64_t T = 0; T <= 12; ++T) {
      c.iters = T;
      const Tensor u = ops::softmax(std_block(o, std_params(c, 3, DType::Float64), {}, c));
      const double e = std_energy(u, o, c.eps, c.lambda, 7, 1.0);
      EXPECT_LE(e, previous + 1e-10 * std::abs(previous)) << "trial " << trial << ", T=" << T;
      previous = e;
    }
  }
}

TEST(StdMath, VolumePreservingMatchesVolumes) {
  const int64_t N = 2, C = 3, H = 16, W = 15;
  const StdExtras ex = extras_for(N, C, H, W, DType::Float64, 64);
  StdConfig c = config(StdPrior::VP, StdImpl::Fused, 200);
  c.eps = 0.5;
  c.lambda = 0.5;
  const Tensor o = randn64({N, C, H, W}, 65);
  const Tensor u = ops::softmax(std_block(o, std_params(c, C, DType::Float64), ex, c));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t ch = 0; ch < C; ++ch) {
      double s = 0;
      for (int64_t k = 0; k < H * W; ++k) s += u.data<double>()[(n * C + ch) * H * W + k];
      // within 0.1% of the image area
      EXPECT_NEAR(s, ex.volumes.data<double>()[n * C + ch], 1e-3 * H * W);
    }
}

TEST(StdMath, StarShapeViolationFallsWithIterations) {
  const int64_t H = 24, W = 24;
  // A noisy disc around the centre: class 1 inside, class 0 outside.
  Generator gen(66);
  Tensor o = Tensor::empty({1, 2, H, W}, DType::Float64);
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x) {
      const double inside = std::hypot(x - 11.5, y - 11.5) < 8 ? 1 : -1;
      o.data<double>()[y * W + x] = -inside + 1.5 * gen.normal();
      o.data<double>()[H * W + y * W + x] = inside + 1.5 * gen.normal();
    }
  StdExtras ex;
  ex.centers = Tensor::from_vector<double>({1, 2}, {11.5, 11.5});
  auto violation = [&](StdPrior prior, int64_t T) {
    StdConfig c = config(prior, StdImpl::Fused, T);
    c.kernel_size = 5;
    c.sigma = 2.0;
    c.eps = 0.5;
    return star_violation(ops::softmax(std_block(o, std_params(c, 2, DType::Float64), ex, c)), ex.centers, 1);
  };
  const double v5 = violation(StdPrior::SS, 5), v20 = violation(StdPrior::SS, 20),
               v50 = violation(StdPrior::SS, 50);
  EXPECT_LT(v20, v5);
  EXPECT_LT(v50, v20);
  EXPECT_LT(v50, violation(StdPrior::STD, 50));
}

TEST(StdMath, CentroidCentresWhenNoneGiven) {
  const Tensor o = randn64({2, 3, 8, 9}, 67);
  StdConfig c = config(StdPrior::SS, StdImpl::Fused, 3);
  const StdParams p = std_params(c, 3, DType::Float64);
  StdExtras given;
  given.centers = star_centroids(ops::softmax(ops::scale(o, 1 / c.eps)), c.star_class);
  EXPECT_TRUE(all_close(std_block(o, p, {}, c), std_block(o, p, given, c), 0, 0));
}

// ---- the extras ---------------------------------------------------------------------

TEST(StdExtras, VolumesFromLabelsAndRatios) {
  const Tensor labels = Tensor::from_vector<int32_t>({2, 2, 3}, {0, 1, 1, 255, 2, 1,  2, 2, 2, 2, 0, 255});
  EXPECT_TRUE(all_close(volumes_from_labels(labels, 3, DType::Float64),
                        Tensor::from_vector<double>({2, 3}, {1, 3, 1, 1, 0, 4}), 0, 0));
  EXPECT_THROW_MSG(volumes_from_labels(Tensor::from_vector<int32_t>({1, 1, 2}, {0, 7}), 3, DType::Float64),
                   ValueError, "volumes_from_labels: label 7 at image 0 is outside [0, 3)");
  const Tensor v = volumes_from_ratios(Tensor::from_vector<double>({3}, {0.5, 0.25, 0.25}), 2, 4, 6);
  EXPECT_TRUE(all_close(v, Tensor::from_vector<double>({2, 3}, {12, 6, 6, 12, 6, 6}), 0, 0));
}

TEST(StdExtras, StarFieldPointsAtTheCentre) {
  const Tensor s = star_field(Tensor::from_vector<double>({1, 2}, {2, 1}), 3, 5);  // c = (x 2, y 1)
  auto at = [&](int comp, int y, int x) { return s.data<double>()[(comp * 3 + y) * 5 + x]; };
  EXPECT_EQ(at(0, 1, 2), 0.0);  // at the centre
  EXPECT_EQ(at(1, 1, 2), 0.0);
  EXPECT_DOUBLE_EQ(at(0, 1, 0), 1.0);  // left of it: points right (+x)
  EXPECT_DOUBLE_EQ(at(1, 0, 2), 1.0);  // above it: points down (+y)
  EXPECT_DOUBLE_EQ(at(0, 2, 3), -std::sqrt(0.5));
  EXPECT_DOUBLE_EQ(at(1, 2, 3), -std::sqrt(0.5));
}

TEST(StdExtras, CentroidAndEdgeWeight) {
  Tensor u = Tensor::zeros({1, 2, 4, 5}, DType::Float64);
  u.data<double>()[20 + 1 * 5 + 3] = 1;  // class 1 mass at (x 3, y 1) and (x 1, y 3)
  u.data<double>()[20 + 3 * 5 + 1] = 3;
  EXPECT_TRUE(all_close(star_centroids(u, 1), Tensor::from_vector<double>({1, 2}, {1.5, 2.5}), 1e-15, 0));
  // A vertical step of height 3 between columns 1 and 2: e = 1/(1+3) there, 1 elsewhere.
  Tensor image = Tensor::zeros({1, 1, 2, 4}, DType::Float64);
  for (int y = 0; y < 2; ++y)
    for (int x = 2; x < 4; ++x) image.data<double>()[y * 4 + x] = 3;
  EXPECT_TRUE(all_close(edge_weight(image), Tensor::from_vector<double>({1, 1, 2, 4}, {1, 0.25, 1, 1, 1, 0.25, 1, 1}), 1e-15, 0));
}

// ---- the layer and its errors -------------------------------------------------------

TEST(StdHead, LearnableParametersAreNamedAndTrained) {
  StdConfig c = config(StdPrior::STD, StdImpl::Fused, 3);
  c.learn_lambda = c.learn_eps = c.learn_sigma = true;
  StdHead head(4, c);
  std::vector<std::string> names;
  for (auto& [n, _] : head.named_parameters()) names.push_back(n);
  EXPECT_EQ(names, (std::vector<std::string>{"lambda", "eps", "sigma"}));
  Generator gen(68);
  const Tensor o = Tensor::randn({1, 4, 6, 6}, gen);
  Tensor labels = Tensor::zeros({1, 6, 6}, DType::Int32);
  ops::nll_loss(ops::log_softmax(head.forward(o)), labels).backward();
  for (const Tensor& t : head.parameters()) EXPECT_TRUE(t.grad().defined());
  EXPECT_EQ(StdHead(4, config(StdPrior::STD, StdImpl::Fused, 3)).parameters().size(), 0u);
}

TEST(StdErrors, NameTheFieldAtFault) {
  const Tensor o = randn64({2, 3, 5, 5}, 69);
  StdConfig c = config(StdPrior::VP, StdImpl::Fused, 2);
  const StdParams p = std_params(c, 3, DType::Float64);
  StdExtras ex;
  EXPECT_THROW_MSG(std_block(o, p, ex, c), ValueError, "std: volumes (VP-STD needs them) is undefined");
  ex.volumes = randn64({2, 4}, 70);
  EXPECT_THROW_MSG(std_block(o, p, ex, c), ShapeError, "std: volumes [2, 4] must be [N, C] = [2, 3] for logits [2, 3, 5, 5]");
  c.prior = StdPrior::SS;
  ex.centers = Tensor::from_vector<double>({2, 2}, {1, 1, 7, 2});
  EXPECT_THROW_MSG(std_block(o, p, ex, c), ValueError, "std: centre (7, 2) of image 1 is outside the 5x5 image");
  c.iters = -1;
  EXPECT_THROW_MSG(std_block(o, p, ex, c), ValueError, "std: iterations must be >= 0, got -1");
  c.iters = 2;
  StdConfig bad_eps = c;
  bad_eps.eps = 0;
  EXPECT_THROW_MSG(std_block(o, std_params(bad_eps, 3, DType::Float64), ex, c), ValueError,
                   "std: eps must be positive, got 0");
  c.kernel_size = 4;
  EXPECT_THROW_MSG(std_block(o, p, ex, c), ValueError, "std: kernel size 4 must be odd");
}

}  // namespace
}  // namespace tdseg::testing
