#include "tools/tdseg/toy_experiment.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "core/ops.h"
#include "layers/std/std_block.h"
#include "layers/std/std_energy.h"

namespace tdseg::cli {

namespace {

constexpr double kPi = 3.14159265358979323846;

// The object: the five-armed star r(theta) <= r0 (1 + a cos(5 (theta + pi/2))) around
// the image centre, one arm pointing up (rows grow downwards). With a = 0.4 the arms
// reach 1.4 r0 and the valleys between them 0.6 r0, deep enough to be non-convex.
Tensor star_mask(int64_t N, double cx, double cy) {
  const double r0 = 0.27 * N, a = 0.4;
  Tensor mask = Tensor::empty({N, N}, DType::Int32);
  int32_t* inside = mask.data<int32_t>();
  for (int64_t y = 0; y < N; ++y)
    for (int64_t x = 0; x < N; ++x) {
      const double dx = x - cx, dy = y - cy;
      const double r = r0 * (1 + a * std::cos(5 * (std::atan2(dy, dx) + kPi / 2)));
      inside[y * N + x] = std::hypot(dx, dy) <= r ? 1 : 0;
    }
  return mask;
}

// Lloyd's algorithm in one dimension: each value goes to the nearer centre, each centre
// moves to the mean of its values, from (min, max) until no value changes cluster.
void two_means(const double* v, int64_t n, double mu[2]) {
  mu[0] = mu[1] = v[0];
  for (int64_t k = 0; k < n; ++k) mu[0] = std::min(mu[0], v[k]), mu[1] = std::max(mu[1], v[k]);
  std::vector<int> cluster(n, -1);
  for (bool changed = true; changed;) {
    changed = false;
    double sum[2] = {0, 0}, count[2] = {0, 0};
    for (int64_t k = 0; k < n; ++k) {
      const int c = std::abs(v[k] - mu[1]) < std::abs(v[k] - mu[0]) ? 1 : 0;
      changed |= c != cluster[k];
      cluster[k] = c;
      sum[c] += v[k];
      count[c] += 1;
    }
    for (int c = 0; c < 2; ++c)
      if (count[c] > 0) mu[c] = sum[c] / count[c];
  }
}

// The intersection over union of {u_1 > 1/2} and the true object (never empty).
double object_iou(const Tensor& u, const Tensor& mask) {
  const int64_t L = mask.numel();
  const double* u1 = u.data<double>() + L;
  const int32_t* m = mask.data<int32_t>();
  int64_t inter = 0, uni = 0;
  for (int64_t k = 0; k < L; ++k) {
    const bool pred = u1[k] > 0.5, truth = m[k] == 1;
    inter += pred && truth;
    uni += pred || truth;
  }
  return static_cast<double>(inter) / uni;
}

}  // namespace

ToyResult run_toy(const ToyConfig& tc) {
  const int64_t N = tc.size;
  check<ValueError>(N >= 16, "toy: size must be >= 16, got ", N);
  check<ValueError>(tc.noise >= 0 && std::isfinite(tc.noise), "toy: noise must be >= 0, got ",
                    tc.noise);
  ToyResult r;
  r.cx = r.cy = (N - 1) / 2.0;
  r.mask = star_mask(N, r.cx, r.cy);
  r.image = Tensor::empty({1, 1, N, N}, DType::Float64);
  Generator gen(tc.seed);
  double* v = r.image.data<double>();
  const int32_t* m = r.mask.data<int32_t>();
  for (int64_t k = 0; k < N * N; ++k) v[k] = m[k] + tc.noise * gen.normal();
  two_means(v, N * N, r.mu);

  Tensor o = Tensor::empty({1, 2, N, N}, DType::Float64);
  double* logits = o.data<double>();
  for (int i = 0; i < 2; ++i)
    for (int64_t k = 0; k < N * N; ++k)
      logits[i * N * N + k] = -0.5 * (v[k] - r.mu[i]) * (v[k] - r.mu[i]);

  StdConfig c;
  c.lambda = tc.lambda;
  c.eps = tc.eps;
  c.kernel_size = tc.kernel_size;
  c.sigma = tc.sigma;
  c.star_class = 1;
  const StdParams params = std_params(c, 2, DType::Float64);
  StdExtras ex;
  ex.centers = Tensor::from_vector<double>({1, 2}, {r.cx, r.cy});
  auto segment = [&](StdPrior prior, int64_t iters) {
    c.prior = prior;
    c.iters = iters;
    return ops::softmax(std_block(o, params, ex, c));
  };
  const std::pair<const char*, Tensor> runs[] = {{"softmax", segment(StdPrior::None, 0)},
                                                 {"STD", segment(StdPrior::STD, tc.std_iters)},
                                                 {"SS-STD", segment(StdPrior::SS, tc.ss_iters)}};
  for (const auto& [name, u] : runs)
    r.methods.push_back({name, u, object_iou(u, r.mask), star_violation(u, ex.centers, 1)});
  // u_t after t iterations is the block run with T = t (the iteration is deterministic).
  for (int64_t t = 0; t <= tc.std_iters; ++t)
    r.energy.push_back(
        std_energy(segment(StdPrior::STD, t), o, tc.eps, tc.lambda, tc.kernel_size, tc.sigma));
  return r;
}

}  // namespace tdseg::cli
