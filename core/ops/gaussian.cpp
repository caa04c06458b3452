// gaussian_kernel: forward and backward side by side. The kernels are computed and the
// backward's sums accumulated in double, on the host whatever sigma's device: the op is
// K * K exponentials per class, so a GPU's sigma (and dy) are copied to the host and the
// result copied back to its device, with no kernel. The node saves its output (detached,
// on sigma's device) and reads sigma from its input.
#include "core/ops/gaussian.h"

#include <cmath>
#include <vector>

#include "core/autograd.h"
#include "core/ops/checks.h"

namespace tdseg::ops {

namespace {

// r^2 = a^2 + b^2 for each cell of a K x K kernel, row-major, offsets centred on 0.
std::vector<double> squared_radii(int64_t K) {
  const int64_t R = (K - 1) / 2;
  std::vector<double> r2(K * K);
  for (int64_t a = -R; a <= R; ++a)
    for (int64_t b = -R; b <= R; ++b) r2[(a + R) * K + b + R] = double(a * a + b * b);
  return r2;
}

struct GaussianKernelBackward : Node {
  Tensor k;  // the output, detached
  explicit GaussianKernelBackward(Tensor out) : k(std::move(out)) {}
  const char* name() const override { return "gaussian_kernel"; }
  void release_saved() override { k = Tensor(); }
  std::vector<Tensor> backward(const Tensor& dy_in) override {
    const Tensor dy = dy_in.contiguous().to(Device::cpu()), kh = k.to(Device::cpu());
    const Tensor sigma = inputs[0].detach().contiguous().to(Device::cpu());
    const int64_t C = k.size(0), KK = k.size(2) * k.size(3);
    const std::vector<double> r2 = squared_radii(k.size(2));
    Tensor ds = Tensor::empty({C}, k.dtype());
    dispatch_floating(k.dtype(), name(), [&](auto tag) {
      using T = decltype(tag);
      const T *pk = kh.data<T>(), *g = dy.data<T>(), *s = sigma.data<T>();
      T* d = ds.data<T>();
      for (int64_t c = 0; c < C; ++c) {
        double m = 0, gk = 0, gkr = 0;  // sum k r^2, sum dy k, sum dy k r^2
        for (int64_t i = c * KK, j = 0; j < KK; ++i, ++j) {
          m += pk[i] * r2[j];
          gk += static_cast<double>(g[i]) * pk[i];
          gkr += static_cast<double>(g[i]) * pk[i] * r2[j];
        }
        const double sv = s[c];
        d[c] = static_cast<T>((gkr - m * gk) / (sv * sv * sv));
      }
    });
    return {ds.to(inputs[0].device())};
  }
};

}  // namespace

Tensor gaussian_kernel(const Tensor& sigma, int64_t K) {
  const char* op = "gaussian_kernel";
  check_defined(op, sigma, "sigma");
  check_floating(op, sigma);
  check_rank(op, sigma, 1, "sigma [C]");
  check<ValueError>(K >= 1 && K % 2 == 1, op, ": kernel size K must be odd and >= 1, got ", K);
  const Tensor sc = sigma.detach().contiguous().to(Device::cpu());
  const int64_t C = sigma.size(0);
  const std::vector<double> r2 = squared_radii(K);
  Tensor out = Tensor::empty({C, 1, K, K}, sigma.dtype());
  dispatch_floating(sigma.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* s = sc.data<T>();
    T* k = out.data<T>();
    std::vector<double> e(K * K);
    for (int64_t c = 0; c < C; ++c) {
      check<ValueError>(s[c] > 0, op, ": sigma[", c, "] = ", s[c], " must be positive");
      const double sv = s[c];
      double z = 0;
      for (int64_t j = 0; j < K * K; ++j) {
        e[j] = std::exp(-r2[j] / (2 * sv * sv));
        z += e[j];
      }
      for (int64_t j = 0; j < K * K; ++j) k[c * K * K + j] = static_cast<T>(e[j] / z);
    }
  });
  out = out.to(sigma.device());
  if (!needs_grad({sigma})) return out;
  return record(out, {sigma}, std::make_shared<GaussianKernelBackward>(out.detach()));
}

}  // namespace tdseg::ops
