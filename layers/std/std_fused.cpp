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
// The backward reads u_t, q_t and q_{t+1} from what the forward kept (config.memory,
// std_config.h): every one, or checkpoints from which it recomputes each segment with the
// forward's own step(), so that both give the same bits; optionally as bfloat16.
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

// Iterates of `size` elements in slots, kept in T or (bf16) as bfloat16 bits.
template <typename T>
class Iterates {
 public:
  Iterates() = default;
  Iterates(int64_t slots, int64_t size, bool bf16)
      : size_(size), bf16_(bf16), full_(bf16 ? 0 : slots * size), half_(bf16 ? slots * size : 0) {}

  // Where iterate `slot` is computed: in the slot itself, or (bf16) in `work`, which
  // commit() then rounds into the slot.
  T* writable(int64_t slot, T* work) { return bf16_ ? work : full_.data() + slot * size_; }
  void commit(int64_t slot, const T* u) {
    if (!bf16_) return;
    uint16_t* h = half_.data() + slot * size_;
    parallel_for(size_, 1, [&](int64_t i) { h[i] = fused::to_bf16(static_cast<float>(u[i])); });
  }
  // Iterate `slot` in T: the slot itself, or (bf16) its widening into `work`.
  const T* read(int64_t slot, T* work) const {
    if (!bf16_) return full_.data() + slot * size_;
    const uint16_t* h = half_.data() + slot * size_;
    parallel_for(size_, 1, [&](int64_t i) { work[i] = static_cast<T>(fused::from_bf16(h[i])); });
    return work;
  }
  int64_t bytes() const {
    return static_cast<int64_t>(full_.size() * sizeof(T) + half_.size() * sizeof(uint16_t));
  }

 private:
  int64_t size_ = 0;
  bool bf16_ = false;
  std::vector<T> full_;
  std::vector<uint16_t> half_;
};

// What the forward leaves for the backward (StdMemoryPlan): u_t and q_t at the
// checkpoints t = 0, k, 2k, ... < T, then q_T. Nothing without a gradient (keep = false).
template <typename T>
struct Saved {
  bool keep = false;
  StdMemoryPlan plan;
  Iterates<T> u;      // plan.checkpoints x [N, C, L]
  std::vector<T> q;   // plan.duals x (VP [N, C], SS [N, L])
  int64_t bytes() const { return u.bytes() + static_cast<int64_t>(q.size() * sizeof(T)); }
};

// The arrays one iteration works in: z_{t+1}, P_t, two temporaries, G_t (SS), S_t (VP).
template <typename T>
struct Scratch {
  std::vector<T> z, P, t1, t2, G;
  std::vector<double> S;
  explicit Scratch(const Problem<T>& pb)
      : z(pb.size()), P(pb.size()), t1(pb.size()), t2(pb.size()), G(pb.N * pb.L), S(pb.planes()) {}
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

// Iteration t: q_{t+1} from u_t and q_t (VP, SS), z_{t+1} into s.z and, when u_next is
// given, u_{t+1} = softmax(z_{t+1}). The forward and the backward's recomputation share it,
// so that a recomputed iterate is the forward's bit for bit.
template <typename T>
void step(const Problem<T>& pb, const T* u, const T* q, T* q_next, T* u_next, Scratch<T>& s) {
  fused::kernel_term(pb, u, s.P.data(), s.t1.data(), s.t2.data());
  if (pb.prior == StdPrior::VP) {
    vp_inner(pb, s.P.data(), q, s.t1.data(), s.t2.data(), s.S);
    for (int64_t k = 0; k < pb.dual_size(); ++k) {
      const double floored = std::max<double>(s.S[k], pb.floor);
      q_next[k] = q[k] + pb.eps * (pb.log_v[k] - static_cast<T>(std::log(floored)));
    }
  } else if (pb.prior == StdPrior::SS) {
    fused::s_dot_grad(pb, u, pb.star, s.G.data());
    for (int64_t k = 0; k < pb.dual_size(); ++k) q_next[k] = std::max<T>(q[k] - pb.tau * s.G[k], 0);
  }
  next_argument(pb, s.P.data(), q_next, s.z.data(), s.t1.data());
  if (u_next) ops::softmax_forward_cpu(pb.N, pb.C, pb.L, s.z.data(), u_next, false);
}

template <typename T>
bool has_dual(const Problem<T>& pb) {
  return pb.prior == StdPrior::VP || pb.prior == StdPrior::SS;
}

// Returns z_T. u_t (t < T; u_T is never needed) and q_t (t <= T) are computed in their
// kept slot when t is a checkpoint (q_T too), else in a working array by the parity of t.
template <typename T>
std::vector<T> forward(const Problem<T>& pb, Saved<T>& saved) {
  const int64_t n = pb.size(), m = pb.dual_size(), iters = pb.iters, k = saved.plan.every;
  const bool dual = has_dual(pb), keep = saved.keep, bf16 = saved.plan.bf16;
  if (keep) {
    saved.u = Iterates<T>(saved.plan.checkpoints, n, bf16);
    saved.q.assign(dual ? saved.plan.duals * m : 0, T(0));  // q_0 = 0
  }
  const bool every_u_kept = keep && k == 1 && !bf16, every_q_kept = keep && k == 1;
  std::vector<T> work_u(iters > 0 && !every_u_kept ? 2 * n : 0);
  std::vector<T> work_q(dual && !every_q_kept ? 2 * m : 0);  // zeros: q_0 = 0
  auto kept = [&](int64_t t) { return keep && (t % k == 0 || t == iters); };
  auto u_at = [&](int64_t t) {
    T* work = work_u.empty() ? nullptr : work_u.data() + t % 2 * n;
    return kept(t) ? saved.u.writable(t / k, work) : work;
  };
  auto q_at = [&](int64_t t) {
    return kept(t) ? saved.q.data() + (t + k - 1) / k * m : work_q.data() + t % 2 * m;
  };
  Scratch<T> s(pb);
  fused::for_each(pb, [&](int64_t, int64_t, int64_t i) { s.z[i] = pb.o[i] / pb.eps; });
  if (iters > 0) {
    T* u0 = u_at(0);
    ops::softmax_forward_cpu(pb.N, pb.C, pb.L, s.z.data(), u0, false);
    if (keep) saved.u.commit(0, u0);
  }
  for (int64_t t = 0; t < iters; ++t) {
    T* u_next = t + 1 < iters ? u_at(t + 1) : nullptr;
    step(pb, u_at(t), dual ? q_at(t) : nullptr, dual ? q_at(t + 1) : nullptr, u_next, s);
    if (u_next && kept(t + 1)) saved.u.commit((t + 1) / k, u_next);
  }
  return s.z;
}

struct Grads {
  std::vector<double> sigma;
  double lambda = 0, eps = 0;
};

// dL/do into go (overwritten); returns the parameters' gradients. Segments [c, c + len)
// from the last: u_{c+1} .. u_{c+len-1} and q_{c+1} .. q_{c+len-1} recomputed from the
// checkpoint c (none with k = 1), then back-propagated from t = c + len - 1 down to c.
template <typename T>
Grads backward(const Problem<T>& pb, const Saved<T>& saved, const T* gz_T, T* go) {
  const int64_t n = pb.size(), m = pb.dual_size(), NL = pb.N * pb.L;
  const StdMemoryPlan& plan = saved.plan;
  const bool dual = has_dual(pb);
  Grads g;
  g.sigma.assign(pb.C, 0.0);
  Scratch<T> s(pb);
  std::vector<T>& z = s.z;
  std::vector<T>& P = s.P;
  std::vector<T>& t1 = s.t1;
  std::vector<T>& t2 = s.t2;
  std::vector<T>& G = s.G;
  std::vector<double>& S = s.S;
  std::vector<T> gz(gz_T, gz_T + n), gP(n), gu(n), t3(n), a, w, ga;
  std::vector<T> gq(m, T(0)), plane(NL);
  if (pb.prior == StdPrior::VP) a.resize(n), w.resize(n), ga.resize(n);
  Iterates<T> seg_u(plan.segment, n, plan.bf16);
  std::vector<T> seg_q(dual ? plan.segment * m : 0), widened(plan.widened * n);
  auto work = [&](int64_t j) {
    return plan.bf16 ? widened.data() + j % plan.widened * n : nullptr;
  };
  std::fill(go, go + n, T(0));

  // Iteration t back, from gz = dL/dz_{t+1} to dL/dz_t, given u_t, q_t and q_{t+1}.
  auto step_back = [&](const T* u, const T* q, const T* q_next) {
    fused::kernel_term(pb, u, P.data(), t1.data(), t2.data());
    // z_{t+1} = (o - lambda P_t [+ q_{t+1}]) / eps [- div(q_{t+1} s) / eps on class i]
    if (pb.need_eps) {
      next_argument(pb, P.data(), q_next, z.data(), t1.data());
      g.eps -= fused::dot(n, gz.data(), z.data()) / pb.eps;
    }
    fused::for_each(pb, [&](int64_t, int64_t, int64_t i) {
      go[i] += gz[i] / pb.eps;
      gP[i] = -gz[i] / pb.eps;  // dL/dp_t until the lambda step below
      gu[i] = 0;
    });
    if (pb.prior == StdPrior::VP) {
      parallel_for(pb.planes(), pb.L, [&](int64_t p) {
        double sum = 0;
        for (int64_t k = 0; k < pb.L; ++k) sum += gz[p * pb.L + k];
        gq[p] += static_cast<T>(sum / pb.eps);
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
        double sum = 0;
        for (int64_t k = 0, i = p * pb.L; k < pb.L; ++k, ++i) {
          go[i] += ga[i] / pb.eps;
          gP[i] -= ga[i] / pb.eps;
          sum += ga[i];
        }
        gq[p] += static_cast<T>(sum / pb.eps);
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
  };

  for (int64_t c_index = plan.checkpoints - 1; c_index >= 0; --c_index) {
    const int64_t c = c_index * plan.every, len = std::min(plan.every, pb.iters - c);
    const T* q_c = dual ? saved.q.data() + c_index * m : nullptr;
    const T* q_end = dual ? saved.q.data() + (c_index + 1) * m : nullptr;  // q_{c+len}
    auto seg_q_at = [&](int64_t j) { return dual ? seg_q.data() + (j - 1) * m : nullptr; };
    const T* u = saved.u.read(c_index, work(0));
    for (int64_t j = 1; j < len; ++j) {  // recompute u_{c+j}, q_{c+j} (j < len)
      T* u_next = seg_u.writable(j - 1, work(j));
      step(pb, u, j == 1 ? q_c : seg_q_at(j - 1), seg_q_at(j), u_next, s);
      seg_u.commit(j - 1, u_next);
      u = u_next;
    }
    for (int64_t j = len - 1; j >= 0; --j)
      step_back(j == 0 ? saved.u.read(c_index, work(0)) : seg_u.read(j - 1, work(0)),
                j == 0 ? q_c : seg_q_at(j), j + 1 == len ? q_end : seg_q_at(j + 1));
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
std::vector<T> log_volumes(const std::vector<double>& volumes, T floor) {
  std::vector<T> log_v(volumes.size());
  for (size_t k = 0; k < volumes.size(); ++k)
    log_v[k] = static_cast<T>(std::log(std::max<double>(static_cast<T>(volumes[k]), floor)));
  return log_v;
}

// The graph nodes of the fused op report the bytes their forward kept for the backward.
struct KeepsIterates {
  virtual ~KeepsIterates() = default;
  virtual int64_t kept_bytes() const = 0;
};

template <typename T>
struct StdFusedBackward : Node, KeepsIterates {
  Problem<T> pb;
  Saved<T> saved;
  StdFusedBackward(Problem<T> p, Saved<T> s) : pb(std::move(p)), saved(std::move(s)) {}
  const char* name() const override { return "std_fused"; }
  int64_t kept_bytes() const override { return saved.bytes(); }
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
Tensor run(const Tensor& o, const StdParams& params, const StdExtras& extras, const StdConfig& cfg,
           const StdHostValues& v) {
  const int64_t N = o.size(0), C = o.size(1), H = o.size(2), W = o.size(3);
  const T eps = static_cast<T>(v.eps);
  Problem<T> pb{N, C, H, W, H * W, cfg.prior == StdPrior::None ? 0 : cfg.iters, cfg.prior,
                static_cast<T>(v.lambda), eps, static_cast<T>(cfg.tau.value_or(eps)),
                !cfg.tau.has_value(), params.eps.requires_grad(), params.sigma.requires_grad(),
                GaussianTaps(v.sigma, cfg.kernel_size), o.contiguous(),
                nullptr, {}, {}, {}, static_cast<T>(1e-6 * H * W), cfg.star_class};
  pb.o = pb.o_tensor.template data<T>();
  if (cfg.edge_weight) pb.edge = values<T>(extras.edge);
  if (cfg.prior == StdPrior::SS) pb.s = values<T>(star_field(extras.centers, H, W));
  if (cfg.prior == StdPrior::VP) pb.log_v = log_volumes<T>(v.volumes, pb.floor);
  const bool grad = needs_grad({o, params.lambda, params.eps, params.sigma});
  Saved<T> saved;
  saved.keep = grad;
  saved.plan = std_memory_plan(cfg, o.shape(), o.dtype());
  const std::vector<T> z = forward(pb, saved);
  Tensor out = Tensor::from_vector<T>(o.shape(), z);
  if (!grad) return out;
  return record(out, {o, params.lambda, params.eps, params.sigma},
                std::make_shared<StdFusedBackward<T>>(std::move(pb), std::move(saved)));
}

// ---- the CUDA twin (std_fused_cuda.h): the same problem, its arrays on the device ----

template <typename T>
struct StdFusedCudaBackward : Node, KeepsIterates {
  cuda::StdFusedProblem pb;
  cuda::StdFusedSaved saved;
  StdFusedCudaBackward(cuda::StdFusedProblem p, cuda::StdFusedSaved s)
      : pb(std::move(p)), saved(std::move(s)) {}
  const char* name() const override { return "std_fused"; }
  int64_t kept_bytes() const override { return saved.bytes(); }
  void release_saved() override {
    saved = cuda::StdFusedSaved();
    pb = cuda::StdFusedProblem();
  }
  std::vector<Tensor> backward(const Tensor& gz) override {
    const cuda::StdFusedGrads g = cuda::std_fused_backward(pb, saved, gz.contiguous());
    auto wanted = [&](size_t k, const Tensor& grad) {
      return inputs[k].requires_grad() ? grad : Tensor();
    };
    return {g.o, wanted(1, g.lambda), wanted(2, g.eps), wanted(3, g.sigma)};
  }
};

template <typename T>
Tensor run_cuda(const Tensor& o, const StdParams& params, const StdExtras& extras,
                const StdConfig& cfg, const StdHostValues& v) {
  const int64_t N = o.size(0), C = o.size(1), H = o.size(2), W = o.size(3), K = cfg.kernel_size;
  const Device device = o.device();
  const T eps = static_cast<T>(v.eps);
  cuda::StdFusedProblem pb;
  pb.N = N, pb.C = C, pb.H = H, pb.W = W, pb.kernel_size = K, pb.star = cfg.star_class;
  pb.iters = cfg.prior == StdPrior::None ? 0 : cfg.iters;
  pb.prior = cfg.prior;
  pb.lambda = static_cast<T>(v.lambda);
  pb.eps = eps;
  pb.tau = static_cast<T>(cfg.tau.value_or(eps));
  pb.floor = static_cast<T>(1e-6 * H * W);
  pb.tau_follows_eps = !cfg.tau.has_value();
  pb.need_lambda = params.lambda.requires_grad();
  pb.need_eps = params.eps.requires_grad();
  pb.need_sigma = params.sigma.requires_grad();
  pb.o = o.detach().contiguous();
  // The taps ([2, C, K]: g, then dg) and VP's log-volumes ([N, C]) go to the device from
  // one page-locked block: queued without a wait, and released here without one (the
  // pinned pool keeps the block until the copies have run), where a copy from pageable
  // memory would wait for each.
  const GaussianTaps taps(v.sigma, K);
  const int64_t n_taps = 2 * C * K, n_log_v = cfg.prior == StdPrior::VP ? N * C : 0;
  const Tensor staging = Tensor::empty_pinned({n_taps + n_log_v}, dtype_of<T>());
  T* host = staging.data<T>();
  for (int64_t k = 0; k < C * K; ++k) {
    host[k] = static_cast<T>(taps.g[k]);
    host[C * K + k] = static_cast<T>(taps.dg[k]);
  }
  if (n_log_v) {
    const std::vector<T> log_v = log_volumes<T>(v.volumes, static_cast<T>(pb.floor));
    std::copy(log_v.begin(), log_v.end(), host + n_taps);
    pb.log_v = Tensor::empty({N, C}, dtype_of<T>(), device);
    device_memory::copy(pb.log_v.data_ptr(), device, host + n_taps, Device::cpu(),
                        n_log_v * sizeof(T));
  }
  pb.taps = Tensor::empty({2, C, K}, dtype_of<T>(), device);
  device_memory::copy(pb.taps.data_ptr(), device, host, Device::cpu(), n_taps * sizeof(T));
  if (cfg.edge_weight) pb.edge = extras.edge.detach().to(device).contiguous();
  if (cfg.prior == StdPrior::SS) {  // on the centres' device: std_block put them on o's
    pb.s = star_field(extras.centers.detach(), H, W).to(device);
    if (pb.s.dtype() != dtype_of<T>()) pb.s = pb.s.to(dtype_of<T>());
  }
  const bool grad = needs_grad({o, params.lambda, params.eps, params.sigma});
  cuda::StdFusedSaved saved;
  saved.keep = grad;
  saved.plan = std_memory_plan(cfg, o.shape(), o.dtype());
  Tensor out = cuda::std_fused_forward(pb, saved);
  if (!grad) return out;
  return record(out, {o, params.lambda, params.eps, params.sigma},
                std::make_shared<StdFusedCudaBackward<T>>(std::move(pb), std::move(saved)));
}

}  // namespace

Tensor std_fused(const Tensor& o, const StdParams& params, const StdExtras& extras,
                 const StdConfig& cfg, const StdHostValues& values) {
  return dispatch_floating(o.dtype(), "std_fused", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (kCudaBuilt) {
      if (o.device().is_cuda()) return run_cuda<T>(o, params, extras, cfg, values);
    }
    return run<T>(o, params, extras, cfg, values);
  });
}

int64_t std_fused_saved_bytes(const Tensor& z) {
  const auto* node = dynamic_cast<const KeepsIterates*>(z.grad_fn().get());
  check<ValueError>(node != nullptr, "std_fused_saved_bytes: ", z.str(),
                    " is not the output of std_fused recorded for a backward");
  return node->kept_bytes();
}

}  // namespace tdseg
