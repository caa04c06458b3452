// The fused STD / VP-STD / SS-STD op on the CPU. Notation as in std_config.h; all
// arrays are contiguous [N, C, L] (L = H*W) unless stated, sums run in double.
//
// Forward, for t = 0 .. T-1 (P_t = K(u_t), so p_t = lambda * P_t):
//   STD  z_{t+1} = (o - lambda P_t) / eps
//   VP   a_t = (o - lambda P_t + q_t) / eps,  S_t = sum_x softmax(a_t),
//        q_{t+1} = q_t + eps (log V - log max(S_t, floor)),  z_{t+1} = (o - lambda P_t + q_{t+1}) / eps
//   SS   G_t = s . grad u_{t,i},  q_{t+1} = max(q_t - tau G_t, 0),
//        z_{t+1} = (o - lambda P_t) / eps,  z_{t+1,i} -= div(q_{t+1} s) / eps
//   u_{t+1} = softmax(z_{t+1})
// Backward, for t = T-1 .. 0, with gz = dL/dz_{t+1} and gp = dL/dp_t:
//   go += gz / eps,  gp = -gz / eps,  geps -= <gz, z_{t+1}> / eps
//   VP   gq_{t+1} += sum_x gz / eps;  geps += <gq_{t+1}, log V - log S~_t>;
//        gS = -eps gq_{t+1} / S~_t [S_t > floor];  ga = softmax'(a_t)^T gS;
//        go += ga / eps;  gp -= ga / eps;  gq_t = gq_{t+1} + sum_x ga / eps;  geps -= <ga, a_t> / eps
//   SS   gq_{t+1} += s . grad(gz_i) / eps  (div^T = -grad);  m = [q_t - tau G_t > 0];
//        gq_t = m gq_{t+1};  gtau = -<gq_t, G_t>;  gu_{t,i} += -div(s (-tau gq_t))
//   glambda += <gp, P_t>;  gu_t += lambda K'^T gp;  gsigma += lambda <gp, dK/dsigma>
//   gz <- softmax'(u_t)^T gu_t   (now dL/dz_t)
// and finally go += gz / eps, geps -= <gz, z_0> / eps for z_0 = o / eps.
#include "layers/std/std_fused.h"

#include <cmath>
#include <vector>

#include "core/autograd.h"
#include "core/ops/softmax.h"
#include "layers/std/gaussian_blur.h"
#include "layers/std/std_extras.h"

namespace tdseg {

namespace {

double dot(int64_t n, const double* a, const double* b) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

// Everything one call fixes. The fused kernels compute in double whatever the input
// dtype: the iterates are stored in it, and float32 inputs round on the way in and out.
struct Problem {
  int64_t N, C, H, W, L, T;
  StdPrior prior;
  double lambda, eps, tau;
  bool tau_follows_eps;
  bool need_eps, need_sigma;    // skip the work of gradients nobody asked for
  GaussianTaps taps;
  std::vector<double> o, edge;  // edge [N, L], empty without the edge weight
  std::vector<double> s;        // SS: star field [N, 2, L]
  std::vector<double> log_v;    // VP: log max(V, floor) [N, C]
  double floor;                 // VP: 1e-6 * H * W
  int64_t star;
  int64_t size() const { return N * C * L; }
  int64_t dual_size() const { return prior == StdPrior::VP ? N * C : N * L; }
};

// P = K(u): k*(1 - 2u), or (k*(1 - u)) e - k*(e u) with the edge weight.
void kernel_term(const Problem& pb, const double* u, double* P, std::vector<double>& t1,
                 std::vector<double>& t2) {
  const int64_t n = pb.size();
  if (pb.edge.empty()) {
    for (int64_t i = 0; i < n; ++i) t1[i] = 1 - 2 * u[i];
    gaussian_blur(pb.taps, pb.N, pb.H, pb.W, t1.data(), P);
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    const double e = pb.edge[i / (pb.C * pb.L) * pb.L + i % pb.L];
    t1[i] = 1 - u[i];
    t2[i] = e * u[i];
  }
  gaussian_blur(pb.taps, pb.N, pb.H, pb.W, t1.data(), P);
  gaussian_blur(pb.taps, pb.N, pb.H, pb.W, t2.data(), t1.data());
  for (int64_t i = 0; i < n; ++i) P[i] = P[i] * pb.edge[i / (pb.C * pb.L) * pb.L + i % pb.L] - t1[i];
}

// gu += dK/du^T gP, where K is affine in u: -2 k*gP, or -k*(e gP) - e k*gP.
void kernel_term_adjoint(const Problem& pb, const double* gP, double* gu, std::vector<double>& t1,
                         std::vector<double>& t2) {
  const int64_t n = pb.size();
  gaussian_blur(pb.taps, pb.N, pb.H, pb.W, gP, t1.data());
  if (pb.edge.empty()) {
    for (int64_t i = 0; i < n; ++i) gu[i] -= 2 * t1[i];
    return;
  }
  for (int64_t i = 0; i < n; ++i) t2[i] = gP[i] * pb.edge[i / (pb.C * pb.L) * pb.L + i % pb.L];
  for (int64_t i = 0; i < n; ++i) gu[i] -= pb.edge[i / (pb.C * pb.L) * pb.L + i % pb.L] * t1[i];
  gaussian_blur(pb.taps, pb.N, pb.H, pb.W, t2.data(), t1.data());
  for (int64_t i = 0; i < n; ++i) gu[i] -= t1[i];
}

// gsigma[c] += <gP_c, dK/dsigma_c (u)>, with dK/dsigma the kernel term built on dk/dsigma.
void kernel_term_dsigma(const Problem& pb, const double* u, const double* gP, double* gsigma,
                        std::vector<double>& t1, std::vector<double>& t2) {
  const int64_t n = pb.size();
  std::vector<double> d(n);
  for (int64_t i = 0; i < n; ++i) t1[i] = pb.edge.empty() ? 1 - 2 * u[i] : 1 - u[i];
  gaussian_blur(pb.taps, pb.N, pb.H, pb.W, t1.data(), d.data(), true);
  if (!pb.edge.empty()) {
    for (int64_t i = 0; i < n; ++i) t1[i] = pb.edge[i / (pb.C * pb.L) * pb.L + i % pb.L] * u[i];
    gaussian_blur(pb.taps, pb.N, pb.H, pb.W, t1.data(), t2.data(), true);
    for (int64_t i = 0; i < n; ++i) d[i] = d[i] * pb.edge[i / (pb.C * pb.L) * pb.L + i % pb.L] - t2[i];
  }
  for (int64_t k = 0; k < pb.N * pb.C; ++k)
    gsigma[k % pb.C] += dot(pb.L, gP + k * pb.L, d.data() + k * pb.L);
}

// The forward-difference gradient (0 on the last column / row) and its negative adjoint,
// on one H x W plane. gx, gy and a, wx, wy are planes; div(w) = -grad^T w:
//   div(w)[y][x] = (x < W-1 ? wx[y][x] : 0) - (x > 0 ? wx[y][x-1] : 0) + (same in y)
void grad_plane(int64_t H, int64_t W, const double* a, double* gx, double* gy) {
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x) {
      const int64_t k = y * W + x;
      gx[k] = x + 1 < W ? a[k + 1] - a[k] : 0;
      gy[k] = y + 1 < H ? a[k + W] - a[k] : 0;
    }
}

void div_plane(int64_t H, int64_t W, const double* wx, const double* wy, double* out) {
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x) {
      const int64_t k = y * W + x;
      out[k] = (x + 1 < W ? wx[k] : 0) - (x > 0 ? wx[k - 1] : 0) + (y + 1 < H ? wy[k] : 0) -
               (y > 0 ? wy[k - W] : 0);
    }
}

// out[n] = s[n] . grad(a[n, i]) per image, for a of [N, C, L] (or [N, 1, L] with C = 1).
void s_dot_grad(const Problem& pb, const double* a, int64_t C, int64_t i, double* out) {
  std::vector<double> gx(pb.L), gy(pb.L);
  for (int64_t n = 0; n < pb.N; ++n) {
    grad_plane(pb.H, pb.W, a + (n * C + i) * pb.L, gx.data(), gy.data());
    const double* sx = pb.s.data() + n * 2 * pb.L;
    for (int64_t k = 0; k < pb.L; ++k) out[n * pb.L + k] = sx[k] * gx[k] + sx[pb.L + k] * gy[k];
  }
}

// out[n] = div(q[n] s[n]) per image, q of [N, L].
void div_q_s(const Problem& pb, const double* q, double* out) {
  std::vector<double> wx(pb.L), wy(pb.L);
  for (int64_t n = 0; n < pb.N; ++n) {
    const double* sx = pb.s.data() + n * 2 * pb.L;
    for (int64_t k = 0; k < pb.L; ++k) {
      wx[k] = q[n * pb.L + k] * sx[k];
      wy[k] = q[n * pb.L + k] * sx[pb.L + k];
    }
    div_plane(pb.H, pb.W, wx.data(), wy.data(), out + n * pb.L);
  }
}

// What the forward leaves for the backward: every iterate, or (with keep = false, when
// no gradient is needed) only the last two, reused in turn.
struct Saved {
  bool keep = true;
  std::vector<double> u;  // u_0 .. u_T, (T + 1) x [N, C, L]
  std::vector<double> q;  // VP: q_0 .. q_T x [N, C];  SS: q_0 .. q_T x [N, L]
  int64_t slot(int64_t t) const { return keep ? t : t % 2; }
};

// z_{t+1} from P_t and the dual variable q_{t+1} (unused for STD), into z.
void next_argument(const Problem& pb, const double* P, const double* q_next, double* z,
                   double* scratch) {
  const int64_t n = pb.size();
  for (int64_t i = 0; i < n; ++i) z[i] = (pb.o[i] - pb.lambda * P[i]) / pb.eps;
  if (pb.prior == StdPrior::VP) {
    for (int64_t i = 0; i < n; ++i) z[i] += q_next[i / pb.L] / pb.eps;
  } else if (pb.prior == StdPrior::SS) {
    div_q_s(pb, q_next, scratch);
    for (int64_t b = 0; b < pb.N; ++b)
      for (int64_t k = 0; k < pb.L; ++k)
        z[(b * pb.C + pb.star) * pb.L + k] -= scratch[b * pb.L + k] / pb.eps;
  }
}

// VP: a_t = (o - lambda P_t + q_t) / eps and w = softmax(a_t); S = sum_x w, floored.
void vp_inner(const Problem& pb, const double* P, const double* q, double* a, double* w,
              std::vector<double>& S) {
  const int64_t n = pb.size();
  for (int64_t i = 0; i < n; ++i) a[i] = (pb.o[i] - pb.lambda * P[i] + q[i / pb.L]) / pb.eps;
  ops::softmax_forward_cpu(pb.N, pb.C, pb.L, a, w, false);
  for (int64_t k = 0; k < pb.N * pb.C; ++k) {
    double s = 0;
    for (int64_t x = 0; x < pb.L; ++x) s += w[k * pb.L + x];
    S[k] = s;
  }
}

std::vector<double> fused_forward(const Problem& pb, Saved& saved) {
  const int64_t n = pb.size(), m = pb.dual_size();
  const int64_t slots = saved.keep ? pb.T + 1 : 2;
  saved.u.assign(slots * n, 0.0);
  saved.q.assign(pb.prior == StdPrior::STD ? 0 : slots * m, 0.0);
  std::vector<double> z(n), P(n), t1(n), t2(n), S(pb.N * pb.C), G(pb.N * pb.L);
  for (int64_t i = 0; i < n; ++i) z[i] = pb.o[i] / pb.eps;
  ops::softmax_forward_cpu(pb.N, pb.C, pb.L, z.data(), saved.u.data(), false);
  // q_0 = 0: assign() zeroed slot 0.
  for (int64_t t = 0; t < pb.T; ++t) {
    const double* u = saved.u.data() + saved.slot(t) * n;
    kernel_term(pb, u, P.data(), t1, t2);
    const bool dual = pb.prior != StdPrior::STD;
    const double* q = dual ? saved.q.data() + saved.slot(t) * m : nullptr;
    double* q_next = dual ? saved.q.data() + saved.slot(t + 1) * m : nullptr;
    if (pb.prior == StdPrior::VP) {
      vp_inner(pb, P.data(), q, t1.data(), t2.data(), S);
      for (int64_t k = 0; k < m; ++k) q_next[k] = q[k] + pb.eps * (pb.log_v[k] - std::log(std::max(S[k], pb.floor)));
    } else if (pb.prior == StdPrior::SS) {
      s_dot_grad(pb, u, pb.C, pb.star, G.data());
      for (int64_t k = 0; k < m; ++k) q_next[k] = std::max(q[k] - pb.tau * G[k], 0.0);
    }
    next_argument(pb, P.data(), q_next, z.data(), t1.data());
    ops::softmax_forward_cpu(pb.N, pb.C, pb.L, z.data(), saved.u.data() + saved.slot(t + 1) * n,
                             false);
  }
  return z;
}

struct Grads {
  std::vector<double> o;
  double lambda = 0, eps = 0;
  std::vector<double> sigma;
};

Grads fused_backward(const Problem& pb, const Saved& saved, const std::vector<double>& gz_T) {
  const int64_t n = pb.size(), m = pb.dual_size();
  Grads g;
  g.o.assign(n, 0.0);
  g.sigma.assign(pb.C, 0.0);
  std::vector<double> gz = gz_T, gP(n), gu(n), z(n), P(n), t1(n), t2(n), a(n), w(n), ga(n);
  std::vector<double> gq(m, 0.0), S(pb.N * pb.C), G(pb.N * pb.L), plane(pb.N * pb.L);
  for (int64_t t = pb.T - 1; t >= 0; --t) {
    const double* u = saved.u.data() + t * n;
    const double* q = pb.prior == StdPrior::STD ? nullptr : saved.q.data() + t * m;
    kernel_term(pb, u, P.data(), t1, t2);
    next_argument(pb, P.data(), q ? q + m : nullptr, z.data(), t1.data());
    // z_{t+1} = (o - lambda P_t [+ q_{t+1}]) / eps [- div(q_{t+1} s) / eps on class i]
    for (int64_t i = 0; i < n; ++i) {  // gP holds dL/dp_t until the lambda step below
      g.o[i] += gz[i] / pb.eps;
      gP[i] = -gz[i] / pb.eps;
    }
    if (pb.need_eps) g.eps -= dot(n, gz.data(), z.data()) / pb.eps;
    std::fill(gu.begin(), gu.end(), 0.0);
    if (pb.prior == StdPrior::VP) {
      for (int64_t i = 0; i < n; ++i) gq[i / pb.L] += gz[i] / pb.eps;
      vp_inner(pb, P.data(), q, a.data(), w.data(), S);
      for (int64_t k = 0; k < m; ++k) {
        const double floored = std::max(S[k], pb.floor);
        if (pb.need_eps) g.eps += gq[k] * (pb.log_v[k] - std::log(floored));
        S[k] = S[k] > pb.floor ? -pb.eps * gq[k] / floored : 0.0;  // now dL/dS
      }
      for (int64_t i = 0; i < n; ++i) t1[i] = S[i / pb.L];
      ops::softmax_backward_cpu(pb.N, pb.C, pb.L, w.data(), t1.data(), ga.data(), false);
      for (int64_t i = 0; i < n; ++i) {
        g.o[i] += ga[i] / pb.eps;
        gP[i] -= ga[i] / pb.eps;
        gq[i / pb.L] += ga[i] / pb.eps;
      }
      if (pb.need_eps) g.eps -= dot(n, ga.data(), a.data()) / pb.eps;
    } else if (pb.prior == StdPrior::SS) {
      s_dot_grad(pb, gz.data(), pb.C, pb.star, plane.data());
      for (int64_t k = 0; k < m; ++k) gq[k] += plane[k] / pb.eps;
      s_dot_grad(pb, u, pb.C, pb.star, G.data());
      double gtau = 0;
      for (int64_t k = 0; k < m; ++k) {
        gq[k] = q[k] - pb.tau * G[k] > 0 ? gq[k] : 0.0;  // through max(., 0): now dL/dq_t
        gtau -= gq[k] * G[k];
        plane[k] = -pb.tau * gq[k];  // dL/dG_t
      }
      if (pb.tau_follows_eps) g.eps += gtau;
      // G = s . grad u_i  =>  gu_i += grad^T(s gG) = -div(s gG)
      div_q_s(pb, plane.data(), G.data());
      for (int64_t b = 0; b < pb.N; ++b)
        for (int64_t k = 0; k < pb.L; ++k) gu[(b * pb.C + pb.star) * pb.L + k] -= G[b * pb.L + k];
    }
    // p_t = lambda P_t: dL/dlambda = <dL/dp_t, P_t>, and dL/dP_t = lambda dL/dp_t.
    g.lambda += dot(n, gP.data(), P.data());
    for (double& v : gP) v *= pb.lambda;
    kernel_term_adjoint(pb, gP.data(), gu.data(), t1, t2);
    if (pb.need_sigma) kernel_term_dsigma(pb, u, gP.data(), g.sigma.data(), t1, t2);
    ops::softmax_backward_cpu(pb.N, pb.C, pb.L, u, gu.data(), gz.data(), false);
  }
  for (int64_t i = 0; i < n; ++i) g.o[i] += gz[i] / pb.eps;
  if (pb.need_eps) g.eps -= dot(n, gz.data(), pb.o.data()) / (pb.eps * pb.eps);
  return g;
}

// Converts a floating tensor to a double vector and back.
std::vector<double> to_vector(const Tensor& t) {
  const Tensor d = t.to(DType::Float64);
  return std::vector<double>(d.data<double>(), d.data<double>() + d.numel());
}

Tensor from_vector(const std::vector<double>& v, const Shape& shape, DType dtype) {
  return Tensor::from_vector<double>(shape, v).to(dtype);
}

struct StdFusedBackward : Node {
  Problem pb;
  Saved saved;
  StdFusedBackward(Problem p, Saved s) : pb(std::move(p)), saved(std::move(s)) {}
  const char* name() const override { return "std_fused"; }
  void release_saved() override {
    saved = Saved();
    pb.o.clear();
  }
  std::vector<Tensor> backward(const Tensor& gz) override {
    const Tensor &o = inputs[0], &lambda = inputs[1], &eps = inputs[2], &sigma = inputs[3];
    const Grads g = fused_backward(pb, saved, to_vector(gz));
    auto scalar = [&](const Tensor& p, double v) {
      return p.requires_grad() ? Tensor::full({}, v, p.dtype()) : Tensor();
    };
    return {o.requires_grad() ? from_vector(g.o, o.shape(), o.dtype()) : Tensor(),
            scalar(lambda, g.lambda), scalar(eps, g.eps),
            sigma.requires_grad() ? from_vector(g.sigma, sigma.shape(), sigma.dtype()) : Tensor()};
  }
};

}  // namespace

Tensor std_fused(const Tensor& o, const StdParams& params, const StdExtras& extras,
                 const StdConfig& cfg) {
  const int64_t N = o.size(0), C = o.size(1), H = o.size(2), W = o.size(3);
  const double eps = params.eps.item();
  Problem pb{N, C, H, W, H * W, cfg.prior == StdPrior::None ? 0 : cfg.iters, cfg.prior,
             params.lambda.item(), eps, cfg.tau.value_or(eps), !cfg.tau.has_value(),
             params.eps.requires_grad(), params.sigma.requires_grad(),
             GaussianTaps(to_vector(params.sigma), cfg.kernel_size), to_vector(o), {}, {}, {},
             1e-6 * H * W, cfg.star_class};
  if (cfg.edge_weight) pb.edge = to_vector(extras.edge);
  if (cfg.prior == StdPrior::SS) pb.s = to_vector(star_field(extras.centers, H, W));
  if (cfg.prior == StdPrior::VP) {
    pb.log_v = to_vector(extras.volumes);
    for (double& v : pb.log_v) v = std::log(std::max(v, pb.floor));
  }
  const bool grad = needs_grad({o, params.lambda, params.eps, params.sigma});
  Saved saved;
  saved.keep = grad;
  Tensor z = from_vector(fused_forward(pb, saved), o.shape(), o.dtype());
  if (!grad) return z;
  return record(z, {o, params.lambda, params.eps, params.sigma},
                std::make_shared<StdFusedBackward>(std::move(pb), std::move(saved)));
}

}  // namespace tdseg
