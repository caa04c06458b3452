#include "layers/std/std_energy.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/ops/checks.h"
#include "layers/std/gaussian_blur.h"
#include "layers/std/std_extras.h"

namespace tdseg {

double std_energy(const Tensor& u_in, const Tensor& o_in, double eps, double lambda,
                  int64_t kernel_size, double sigma) {
  ops::check_rank("std_energy", u_in, 4, "u [N, C, H, W]");
  ops::check_same_shape("std_energy", u_in, o_in);
  const Tensor u = host_copy(u_in).to(DType::Float64), o = host_copy(o_in).to(DType::Float64);
  const int64_t N = u.size(0), C = u.size(1), H = u.size(2), W = u.size(3), n = u.numel();
  const GaussianTaps taps(std::vector<double>(C, sigma), kernel_size);
  std::vector<double> one_minus_u(n), blurred(n);
  const double *pu = u.data<double>(), *po = o.data<double>();
  for (int64_t i = 0; i < n; ++i) one_minus_u[i] = 1 - pu[i];
  gaussian_blur(taps, N, H, W, one_minus_u.data(), blurred.data());
  double e = 0;
  for (int64_t i = 0; i < n; ++i)
    e += -po[i] * pu[i] + (pu[i] > 0 ? eps * pu[i] * std::log(pu[i]) : 0.0) +
         lambda * pu[i] * blurred[i];
  return e;
}

double star_violation(const Tensor& u_in, const Tensor& centers, int64_t i) {
  ops::check_rank("star_violation", u_in, 4, "u [N, C, H, W]");
  const Tensor u = host_copy(u_in).to(DType::Float64);
  const int64_t N = u.size(0), C = u.size(1), H = u.size(2), W = u.size(3);
  check<ValueError>(i >= 0 && i < C, "star_violation: class ", i, " is outside [0, ", C, ")");
  const Tensor s = star_field(host_copy(centers).to(DType::Float64), H, W);
  const double *pu = u.data<double>(), *ps = s.data<double>();
  double v = 0;
  for (int64_t n = 0; n < N; ++n) {
    const double* a = pu + (n * C + i) * H * W;
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x) {
        const int64_t k = y * W + x;
        const double gx = x + 1 < W ? a[k + 1] - a[k] : 0, gy = y + 1 < H ? a[k + W] - a[k] : 0;
        const double sg = ps[n * 2 * H * W + k] * gx + ps[(n * 2 + 1) * H * W + k] * gy;
        v += std::max(0.0, -sg);
      }
  }
  return v;
}

}  // namespace tdseg
