// The fused STD / VP-STD / SS-STD op on the CPU. Notation as in std_config.h; arrays are
// [N, C, L] (L = H*W) in the input's dtype, sums run in double (std_fused_kernels.h).
// Logits on a GPU run the same problem in its CUDA twin, std_fused_cuda.{h,cu}.
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

#include <algorithm>

#include "core/autograd.h"
#include "core/device_memory.h"
#include "core/ops/softmax.h"
#include "layers/std/std_extras.h"
#include "layers/std/std_fused_cuda.h"
#include "layers/std/std_fused_kernels.h"

namespace tdseg {

namespace {

using fused::Problem;

// What the forward leaves for the backward: every iterate, or (keep = false, when no
// gradient is needed) only the last two, reused in turn.
template <typename T>
struct Saved {
  bool keep = true;
  std::vector<T> u;  // u_0 .. u_T, (T + 1) x [N, C, L]
  std::vector<T> q;  // VP: q_0 .. q_T x [N, C];  SS: q_0 .. q_T x [N, L]
  int64_t slot(int64_t t) const { return keep ? t : t % 2; }
};

// z_{t+1} from P_t and the dual variable q_{t+1} (unused for STD).
template <typename T>
void next_argument(const Problem<T>& pb, const T* P, const T* q_next, T* z, T* scratch) {
  const bool vp = pb.prior == StdPrior::VP;
  fused::for_each(pb, [&](int64_t plane, int64_t, int64_t i) {
    z[i] = (pb.o[i] - pb.lambda * P[i] + (vp ? q_next[plane] : T(0))) / pb.eps;
  });
  if (pb.prior != StdPrior::SS) return;
  fused::div_q_s(pb, q_next, scratch);
  for (int64_t n = 0; n < pb.N; ++n) {
    T* zi = z + (n * pb.C + pb.star) * pb.L;
    for (int64_t k = 0; k < pb.L; ++k) zi[k] -= scratch[n * pb.L + k] / pb.eps;
  }
}

// VP: a = (o - lambda P_t + q_t) / eps, w = softmax(a), S = sum_x w [N, C] (unfloored).
template <typename T>
void vp_inner(const Problem<T>& pb, const T* P, const T* q, T* a, T* w, std::vector<double>& S) {
  fused::for_each(pb, [&](int64_t plane, int64_t, int64_t i) {
    a[i] = (pb.o[i] - pb.lambda * P[i] + q[plane]) / pb.eps;
  });
  ops::softmax_forward_cpu(pb.N, pb.C, pb.L, a, w, false);
  parallel_for(pb.planes(), pb.L, [&](int64_t plane) {
    double s = 0;
    for (int64_t k = 0; k < pb.L; ++k) s += w[plane * pb.L + k];
    S[plane] = s;
  });
}

template <typename T>
std::vector<T> forward(const Problem<T>& pb, Saved<T>& saved) {
  const int64_t n = pb.size(), m = pb.dual_size();
  const int64_t slots = saved.keep ? pb.iters + 1 : 2;
  saved.u.assign(slots * n, T(0));
  saved.q.assign(pb.prior == StdPrior::STD ? 0 : slots * m, T(0));  // q_0 = 0
  std::vector<T> z(n), P(n), t1(n), t2(n), G(pb.N * pb.L);
  std::vector<double> S(pb.planes());
  fused::for_each(pb, [&](int64_t, int64_t, int64_t i) { z[i] = pb.o[i] / pb.eps; });
  ops::softmax_forward_cpu(pb.N, pb.C, pb.L, z.data(), saved.u.data(), false);
  for (int64_t t = 0; t < pb.iters; ++t) {
    const T* u = saved.u.data() + saved.slot(t) * n;
    fused::kernel_term(pb, u, P.data(), t1.data(), t2.data());
    const bool dual = pb.prior != StdPrior::STD;
    const T* q = dual ? saved.q.data() + saved.slot(t) * m : nullptr;
    T* q_next = dual ? saved.q.data() + saved.slot(t + 1) * m : nullptr;
    if (pb.prior == StdPrior::VP) {
      vp_inner(pb, P.data(), q, t1.data(), t2.data(), S);
      for (int64_t k = 0; k < m; ++k)
        q_next[k] = q[k] + pb.eps * (pb.log_v[k] - static_cast<T>(std::log(std::max<double>(S[k], pb.floor))));
    } else if (pb.prior == StdPrior::SS) {
      fused::s_dot_grad(pb, u, pb.star, G.data());
      for (int64_t k = 0; k < m; ++k) q_next[k] = std::max<T>(q[k] - pb.tau * G[k], 0);
    }
    next_argument(pb, P.data(), q_next, z.data(), t1.data());
    ops::softmax_forward_cpu(pb.N, pb.C, pb.L, z.data(), saved.u.data() + saved.slot(t + 1) * n, false);
  }
  return z;
}

struct Grads {
  std::vector<double> sigma;
  double lambda = 0, eps = 0;
};

// dL/do into go (overwritten); returns the parameters' gradients.
template <typename T>
Grads backward(const Problem<T>& pb, const Saved<T>& saved, const T* gz_T, T* go) {
  const int64_t n = pb.size(), m = pb.dual_size(), NL = pb.N * pb.L;
  Grads g;
  g.sigma.assign(pb.C, 0.0);
  std::vector<T> gz(gz_T, gz_T + n), gP(n), gu(n), z(n), P(n), t1(n), t2(n), t3(n), a, w, ga;
  std::vector<T> gq(m, T(0)), G(NL), plane(NL);
  std::vector<double> S(pb.planes());
  if (pb.prior == StdPrior::VP) a.resize(n), w.resize(n), ga.resize(n);
  std::fill(go, go + n, T(0));
  for (int64_t t = pb.iters - 1; t >= 0; --t) {
    const T* u = saved.u.data() + t * n;
    const T* q = pb.prior == StdPrior::STD ? nullptr : saved.q.data() + t * m;
    fused::kernel_term(pb, u, P.data(), t1.data(), t2.data());
    // z_{t+1} = (o - lambda P_t [+ q_{t+1}]) / eps [- div(q_{t+1} s) / eps on class i]
    if (pb.need_eps) {
      next_argument(pb, P.data(), q ? q + m : nullptr, z.data(), t1.data());
      g.eps -= fused::dot(n, gz.data(), z.data()) / pb.eps;
    }
    fused::for_each(pb, [&](int64_t, int64_t, int64_t i) {
      go[i] += gz[i] / pb.eps;
      gP[i] = -gz[i] / pb.eps;  // dL/dp_t until the lambda step below
      gu[i] = 0;
    });
    if (pb.prior == StdPrior::VP) {
      parallel_for(pb.planes(), pb.L, [&](int64_t p) {
        double s = 0;
        for (int64_t k = 0; k < pb.L; ++k) s += gz[p * pb.L + k];
        gq[p] += static_cast<T>(s / pb.eps);
      });
      vp_inner(pb, P.data(), q, a.data(), w.data(), S);
      for (int64_t k = 0; k < m; ++k) {
        const double floored = std::max<double>(S[k], pb.floor);
        if (pb.need_eps) g.eps += gq[k] * (pb.log_v[k] - std::log(floored));
        S[k] = S[k] > pb.floor ? -pb.eps * gq[k] / floored : 0.0;  // now dL/dS
      }
      fused::for_each(pb, [&](int64_t p, int64_t, int64_t i) { t1[i] = static_cast<T>(S[p]); });
      ops::softmax_backward_cpu(pb.N, pb.C, pb.L, w.data(), t1.data(), ga.data(), false);
      parallel_for(pb.planes(), pb.L, [&](int64_t p) {
        double s = 0;
        for (int64_t k = 0, i = p * pb.L; k < pb.L; ++k, ++i) {
          go[i] += ga[i] / pb.eps;
          gP[i] -= ga[i] / pb.eps;
          s += ga[i];
        }
        gq[p] += static_cast<T>(s / pb.eps);
      });
      if (pb.need_eps) g.eps -= fused::dot(n, ga.data(), a.data()) / pb.eps;
    } else if (pb.prior == StdPrior::SS) {
      fused::s_dot_grad(pb, gz.data(), pb.star, plane.data());
      fused::s_dot_grad(pb, u, pb.star, G.data());
      double gtau = 0;
      for (int64_t k = 0; k < m; ++k) {
        gq[k] += plane[k] / pb.eps;                      // from z_{t+1,i}
        gq[k] = q[k] - pb.tau * G[k] > 0 ? gq[k] : T(0);  // through max(., 0): now dL/dq_t
        gtau -= static_cast<double>(gq[k]) * G[k];
        plane[k] = -pb.tau * gq[k];  // dL/dG_t
      }
      if (pb.tau_follows_eps) g.eps += gtau;
      // G = s . grad u_i  =>  gu_i += grad^T(s gG) = -div(s gG)
      fused::div_q_s(pb, plane.data(), G.data());
      for (int64_t b = 0; b < pb.N; ++b)
        for (int64_t k = 0; k < pb.L; ++k) gu[(b * pb.C + pb.star) * pb.L + k] -= G[b * pb.L + k];
    }
    // p_t = lambda P_t: dL/dlambda = <dL/dp_t, P_t>, and dL/dP_t = lambda dL/dp_t.
    g.lambda += fused::dot(n, gP.data(), P.data());
    fused::for_each(pb, [&](int64_t, int64_t, int64_t i) { gP[i] *= pb.lambda; });
    fused::kernel_term_adjoint(pb, gP.data(), gu.data(), t1.data(), t2.data());
    if (pb.need_sigma)
      fused::kernel_term_dsigma(pb, u, gP.data(), g.sigma.data(), t1.data(), t2.data(), t3.data());
    ops::softmax_backward_cpu(pb.N, pb.C, pb.L, u, gu.data(), gz.data(), false);
  }
  // z_0 = o / eps
  fused::for_each(pb, [&](int64_t, int64_t, int64_t i) { go[i] += gz[i] / pb.eps; });
  if (pb.need_eps) g.eps -= fused::dot(n, gz.data(), pb.o) / (static_cast<double>(pb.eps) * pb.eps);
  return g;
}

// A small tensor's values in T, read on the host from any device.
template <typename T>
std::vector<T> values(const Tensor& t) {
  const Tensor c = host_copy(t).to(dtype_of<T>());
  return std::vector<T>(c.data<T>(), c.data<T>() + c.numel());
}

// VP: log max(V, floor) [N, C], in T.
template <typename T>
std::vector<T> log_volumes(const Tensor& volumes, T floor) {
  std::vector<T> log_v = values<T>(volumes);
  for (T& v : log_v) v = static_cast<T>(std::log(std::max<double>(v, floor)));
  return log_v;
}

template <typename T>
struct StdFusedBackward : Node {
  Problem<T> pb;
  Saved<T> saved;
  StdFusedBackward(Problem<T> p, Saved<T> s) : pb(std::move(p)), saved(std::move(s)) {}
  const char* name() const override { return "std_fused"; }
  void release_saved() override {
    saved = Saved<T>();
    pb.o_tensor = Tensor();
    pb.o = nullptr;
  }
  std::vector<Tensor> backward(const Tensor& gz_in) override {
    const Tensor &lambda = inputs[1], &eps = inputs[2], &sigma = inputs[3];
    const Tensor gz = gz_in.contiguous();
    Tensor go = Tensor::empty(inputs[0].shape(), dtype_of<T>());
    const Grads g = tdseg::backward(pb, saved, gz.data<T>(), go.data<T>());
    auto scalar = [](const Tensor& p, double v) {
      return p.requires_grad() ? Tensor::full({}, v, p.dtype()) : Tensor();
    };
    return {go, scalar(lambda, g.lambda), scalar(eps, g.eps),
            sigma.requires_grad() ? Tensor::from_vector<double>(sigma.shape(), g.sigma).to(sigma.dtype())
                                  : Tensor()};
  }
};

template <typename T>
Tensor run(const Tensor& o, const StdParams& params, const StdExtras& extras, const StdConfig& cfg) {
  const int64_t N = o.size(0), C = o.size(1), H = o.size(2), W = o.size(3);
  const T eps = static_cast<T>(params.eps.item());
  Problem<T> pb{N, C, H, W, H * W, cfg.prior == StdPrior::None ? 0 : cfg.iters, cfg.prior,
                static_cast<T>(params.lambda.item()), eps, static_cast<T>(cfg.tau.value_or(eps)),
                !cfg.tau.has_value(), params.eps.requires_grad(), params.sigma.requires_grad(),
                GaussianTaps(values<double>(params.sigma), cfg.kernel_size), o.contiguous(),
                nullptr, {}, {}, {}, static_cast<T>(1e-6 * H * W), cfg.star_class};
  pb.o = pb.o_tensor.template data<T>();
  if (cfg.edge_weight) pb.edge = values<T>(extras.edge);
  if (cfg.prior == StdPrior::SS) pb.s = values<T>(star_field(extras.centers, H, W));
  if (cfg.prior == StdPrior::VP) pb.log_v = log_volumes<T>(extras.volumes, pb.floor);
  const bool grad = needs_grad({o, params.lambda, params.eps, params.sigma});
  Saved<T> saved;
  saved.keep = grad;
  const std::vector<T> z = forward(pb, saved);
  Tensor out = Tensor::from_vector<T>(o.shape(), z);
  if (!grad) return out;
  return record(out, {o, params.lambda, params.eps, params.sigma},
                std::make_shared<StdFusedBackward<T>>(std::move(pb), std::move(saved)));
}

// ---- the CUDA twin (std_fused_cuda.h): the same problem, its arrays on the device ----

template <typename T>
struct StdFusedCudaBackward : Node {
  cuda::StdFusedProblem pb;
  cuda::StdFusedSaved saved;
  StdFusedCudaBackward(cuda::StdFusedProblem p, cuda::StdFusedSaved s)
      : pb(std::move(p)), saved(std::move(s)) {}
  const char* name() const override { return "std_fused"; }
  void release_saved() override {
    saved = cuda::StdFusedSaved();
    pb = cuda::StdFusedProblem();
  }
  std::vector<Tensor> backward(const Tensor& gz) override {
    const cuda::StdFusedGrads g = cuda::std_fused_backward(pb, saved, gz.contiguous());
    auto wanted = [&](size_t k, const Tensor& grad) { return inputs[k].requires_grad() ? grad : Tensor(); };
    return {g.o, wanted(1, g.lambda), wanted(2, g.eps), wanted(3, g.sigma)};
  }
};

template <typename T>
Tensor run_cuda(const Tensor& o, const StdParams& params, const StdExtras& extras,
                const StdConfig& cfg) {
  const int64_t N = o.size(0), C = o.size(1), H = o.size(2), W = o.size(3), K = cfg.kernel_size;
  const Device device = o.device();
  const T eps = static_cast<T>(params.eps.item());
  cuda::StdFusedProblem pb;
  pb.N = N, pb.C = C, pb.H = H, pb.W = W, pb.kernel_size = K, pb.star = cfg.star_class;
  pb.iters = cfg.prior == StdPrior::None ? 0 : cfg.iters;
  pb.prior = cfg.prior;
  pb.lambda = static_cast<T>(params.lambda.item());
  pb.eps = eps;
  pb.tau = static_cast<T>(cfg.tau.value_or(eps));
  pb.floor = static_cast<T>(1e-6 * H * W);
  pb.tau_follows_eps = !cfg.tau.has_value();
  pb.need_eps = params.eps.requires_grad();
  pb.need_sigma = params.sigma.requires_grad();
  pb.o = o.detach().contiguous();
  const GaussianTaps taps(values<double>(params.sigma), K);
  std::vector<T> tap_values(2 * C * K);
  for (int64_t k = 0; k < C * K; ++k) {
    tap_values[k] = static_cast<T>(taps.g[k]);
    tap_values[C * K + k] = static_cast<T>(taps.dg[k]);
  }
  pb.taps = Tensor::from_vector<T>({2, C, K}, tap_values).to(device);
  if (cfg.edge_weight) pb.edge = extras.edge.detach().to(device).contiguous();
  if (cfg.prior == StdPrior::SS)
    pb.s = star_field(extras.centers.detach(), H, W).to(dtype_of<T>()).to(device);
  if (cfg.prior == StdPrior::VP)
    pb.log_v = Tensor::from_vector<T>({N, C}, log_volumes<T>(extras.volumes, static_cast<T>(pb.floor)))
                   .to(device);
  const bool grad = needs_grad({o, params.lambda, params.eps, params.sigma});
  cuda::StdFusedSaved saved;
  saved.keep = grad;
  Tensor out = cuda::std_fused_forward(pb, saved);
  if (!grad) return out;
  return record(out, {o, params.lambda, params.eps, params.sigma},
                std::make_shared<StdFusedCudaBackward<T>>(std::move(pb), std::move(saved)));
}

}  // namespace

Tensor std_fused(const Tensor& o, const StdParams& params, const StdExtras& extras,
                 const StdConfig& cfg) {
  return dispatch_floating(o.dtype(), "std_fused", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (kCudaBuilt) {
      if (o.device().is_cuda()) return run_cuda<T>(o, params, extras, cfg);
    }
    return run<T>(o, params, extras, cfg);
  });
}

}  // namespace tdseg
