#include "layers/std/std_composed.h"

#include "core/autograd.h"
#include "core/ops.h"
#include "layers/std/std_extras.h"

namespace tdseg {

using namespace ops;

Tensor std_composed(const Tensor& o, const StdParams& pr, const StdExtras& ex,
                    const StdConfig& cfg) {
  const int64_t N = o.size(0), C = o.size(1), H = o.size(2), W = o.size(3);
  const int64_t T = cfg.prior == StdPrior::None ? 0 : cfg.iters;
  const Tensor& lambda = pr.lambda;
  const Tensor& eps = pr.eps;

  // k: the K x K Gaussian per class, applied as a depthwise convolution with zero padding.
  const Tensor k = gaussian_kernel(pr.sigma, cfg.kernel_size);
  const Conv2dOptions same(1, (cfg.kernel_size - 1) / 2, 1, C);
  auto blur = [&](const Tensor& x) { return conv2d(x, k, Tensor(), same); };

  // p = lambda * k*(1 - 2u)                                  (eq. 7, e = 1)
  // p = lambda * ((k*(1 - u)) e - k*(e u))                   (eq. 7, edge weight e)
  auto potential = [&](const Tensor& u) {
    if (!cfg.edge_weight) return mul_scalar(blur(add_scalar(scale(u, -2.0), 1.0)), lambda);
    const Tensor e = expand_channels(ex.edge, C);
    return mul_scalar(sub(mul(blur(add_scalar(scale(u, -1.0), 1.0)), e), blur(mul(e, u))), lambda);
  };

  // VP-STD: the target volumes, floored, and the dual variable q [N, C].
  const double floor = 1e-6 * H * W;
  Tensor log_v, q;
  if (cfg.prior == StdPrior::VP) {
    log_v = log(clamp_min(ex.volumes, floor));
    q = Tensor::zeros({N, C}, o.dtype(), o.device());
  }
  // SS-STD: the star field s [N, 2, H, W], the dual variable q [N, 1, H, W], the step tau.
  Tensor s, tau = cfg.tau ? Tensor::full({}, *cfg.tau, o.dtype(), o.device()) : eps;
  const int64_t i = cfg.star_class;
  if (cfg.prior == StdPrior::SS) {
    s = star_field(ex.centers, H, W);
    q = Tensor::zeros({N, 1, H, W}, o.dtype(), o.device());
  }

  Tensor z = div_scalar(o, eps);  // u_0 = softmax(o / eps)
  Tensor u = softmax(z);
  for (int64_t t = 0; t < T; ++t) {
    const Tensor p = potential(u);
    if (cfg.prior == StdPrior::STD) {
      z = div_scalar(sub(o, p), eps);  // Algorithm 1: u = softmax((o - p) / eps)
    } else if (cfg.prior == StdPrior::VP) {
      // eq. 10: q <- q + eps (log V - log sum_x softmax((o - p + q) / eps))
      const Tensor soft_volume = spatial_sum(softmax(div_scalar(add_per_plane(sub(o, p), q), eps)));
      q = add(q, mul_scalar(sub(log_v, log(clamp_min(soft_volume, floor))), eps));
      z = div_scalar(add_per_plane(sub(o, p), q), eps);  // Algorithm 2, step 2
    } else {
      // Algorithm 3: q <- max(q - tau s . grad u_i, 0); z_i -= div(q s) / eps
      const Tensor s_grad_u = sum_channels(mul(s, image_grad(slice(u, 1, i, i + 1))));
      q = relu(sub(q, mul_scalar(s_grad_u, tau)));
      const Tensor d = div_scalar(image_div(mul(s, expand_channels(q, 2))), eps);
      const Tensor zt = div_scalar(sub(o, p), eps);
      std::vector<Tensor> parts;
      if (i > 0) parts.push_back(slice(zt, 1, 0, i));
      parts.push_back(sub(slice(zt, 1, i, i + 1), d));
      if (i + 1 < C) parts.push_back(slice(zt, 1, i + 1, C));
      z = concat(parts);
    }
    u = softmax(z);
  }
  return z;
}

}  // namespace tdseg
