// The fused STD / VP-STD / SS-STD op on CUDA: the twin of std_fused.cpp, with its
// notation, its equations and its order of operations (each line below names the CPU
// loop it mirrors). Arrays are [N, C, L] (L = H*W) in T; the duals are [N, C] (VP) and
// [N, L] (SS); sums run in double.
//
// Kernels, with their memory traffic per element of [N, C, L] (fp32; /C for [N, L] data):
//   rows / columns   the separable blur of std_fused_cuda_blur.cu (eq. 7): 8 B a pass
//   argument_softmax z = (o - lambda P + q) / eps [- div(q s) / eps], u = softmax(z)
//                    (std_fused_cuda_softmax.cu): reads o, P, writes u (and z): 12 (16) B
//   pipeline         the iteration without the edge weight in one kernel
//                    (std_fused_cuda_pipeline.cu), the row pass carried to the next: forward
//                    reads the rows and o, writes u and the next rows: 16 B (VP-STD: 24 B,
//                    with weight_sums for its dual); back, where the tile kernel would
//                    run, for STD and SS-STD reads the rows, u, go, writes go and the next
//                    rows: 20 B; for VP-STD in four kernels (vp_weights, vp_fold_rows and
//                    adjoint after a row pass of u): 56 B
//   vp_dual_step     S = sum_x w per plane, q <- q + eps (log V - log S~) (eq. 10): 4 B
//   ss_dual_step     q <- max(q - tau s . grad u_i, 0) (Algorithm 3): 20/C B
//                    (these two and the priors' backward: std_fused_cuda_priors.cu)
//   head             go += gz / eps, gP = -gz / eps, <gz, z_{t+1}>, <gP, P>: 20 (24) B
//   vp_planes, vp_softmax_backward, vp_dual_from_ga   the VP backward: 8, 32, 4 B
//   vp_fold          ga through w, folded into gz for the tile kernel (below, where C is
//                    too large for the one-kernel iteration): 16 B
//   ss_dual_backward, ss_div                          the SS backward: 32/C, 16/C B
//   softmax_backward gz = u (gu - sum_c u gu): reads u, gu, writes gz: 12 B
//   adjoint_softmax  head, adjoint blur and softmax_backward in one, VP-STD's where it applies
//                    (std_fused_cuda_tile.cu): reads gz, u, go, writes go, gz: 20 B
//   round_bf16, widen_bf16   bfloat16 storage of an iterate (bf16_iterates,
//                    std_fused_cuda_slots.cu): 6 B
// docs/PERFORMANCE.md adds them up per iteration. A pixel's C classes are one thread's
// loop at stride L, so a warp touches 32 consecutive pixels of a plane: coalesced.
//
// Reductions (the gradients of lambda, eps, tau and sigma) are block partials in double
// (std_fused_cuda_argument.cuh) added by one block in a fixed order into acc [2 + C] =
// (lambda, eps, sigma_0..C-1) on the device: run-to-run identical, and no host round trip
// until the caller reads them.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <utility>

#include "core/error.h"
#include "cuda/block_reduce.cuh"
#include "cuda/context.h"
#include "cuda/launch.h"
#include "layers/std/std_fused_cuda.h"
#include "layers/std/std_fused_cuda_argument.cuh"
#include "layers/std/std_fused_cuda_blur.h"
#include "layers/std/std_fused_cuda_pipeline.h"
#include "layers/std/std_fused_cuda_priors.h"
#include "layers/std/std_fused_cuda_slots.h"
#include "layers/std/std_fused_cuda_softmax.h"
#include "layers/std/std_fused_cuda_tile.h"

namespace tdseg::cuda {

namespace {

using std_blur::Planes;
using std_blur::Rows;
using std_blur::Source;
using std_device::Argument;
using std_device::Dims;
using std_device::argument;
using std_device::Slots;

constexpr int kSlotLambda = 0, kSlotEps = 1, kSlotSigma = 2;  // offsets into acc

std::atomic<StdKernels> g_kernels{StdKernels::OneKernel};

// ---- backward kernels ---------------------------------------------------------------

// The start of backward iteration t, gz = dL/dz_{t+1} (z_{t+1} = (o - p_t ...) / eps):
//   go += gz / eps,  gP = -gz / eps,  partial[eps] = <gz, z_{t+1}> (z recomputed)
// and where gP is final here (STD, SS): partial[lambda] = <gP, P>, gP <- lambda gP.
// Reads gz, P, go (and o, q), writes go, gP: 20 (24) B per element in fp32.
template <typename T>
__global__ void head_kernel(Dims d, Argument<T> next, const T* __restrict__ gz,
                            T* __restrict__ go, T* __restrict__ gP, bool need_eps,
                            bool finish_lambda, double* __restrict__ partial) {
  double s_eps = 0, s_lambda = 0;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < d.size();
       i += int64_t(gridDim.x) * blockDim.x) {
    const T g = gz[i];
    if (need_eps) {
      const int64_t plane = i / d.L, n = plane / d.C;
      s_eps += static_cast<double>(g) * argument(next, d, n, plane - n * d.C, i - plane * d.L, i);
    }
    go[i] += g / next.eps;
    T gp = -g / next.eps;
    if (finish_lambda) {
      s_lambda += static_cast<double>(gp) * next.P[i];
      gp *= next.lambda;
    }
    gP[i] = gp;
  }
  store_block_sum(s_eps, partial + blockIdx.x);
  store_block_sum(s_lambda, partial + kMaxPartials + blockIdx.x);
}

// gz_t = softmax'(u_t)^T gu: gz_c = u_c (gu_c - sum_k u_k gu_k), the sum in double
// (softmax_backward_cpu). Reads u and gu (twice, from L1/L2), writes gz: 12 B per element.
template <typename T>
__global__ void softmax_backward_kernel(Dims d, const T* __restrict__ u, const T* __restrict__ gu,
                                        T* __restrict__ gz) {
  for (int64_t p = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; p < d.pixels();
       p += int64_t(gridDim.x) * blockDim.x) {
    const int64_t n = p / d.L, base = n * d.C * d.L + (p - n * d.L);
    double s = 0;
    for (int64_t c = 0, i = base; c < d.C; ++c, i += d.L) s += static_cast<double>(gu[i]) * u[i];
    for (int64_t c = 0, i = base; c < d.C; ++c, i += d.L)
      gz[i] = static_cast<T>(u[i] * (gu[i] - s));
  }
}

// z_0 = o / eps: go += gz / eps, partial[eps] = <gz, o>. Reads gz, o, go, writes go: 16 B.
template <typename T>
__global__ void first_argument_backward_kernel(int64_t n, const T* __restrict__ gz,
                                               const T* __restrict__ o, T* __restrict__ go,
                                               T eps, double* __restrict__ partial) {
  double s = 0;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    go[i] += gz[i] / eps;
    s += static_cast<double>(gz[i]) * o[i];
  }
  store_block_sum(s, partial + blockIdx.x);
}

// ---- the reductions' last steps -----------------------------------------------------

// *acc += factor * sum(partial[0 .. count)), one block, a fixed order.
__global__ void add_sum_kernel(const double* __restrict__ partial, int64_t count,
                               double* __restrict__ acc, double factor) {
  const double s = sum_of_shares(partial, count);
  if (threadIdx.x == 0) *acc += factor * s;
}

// gsigma[c] += sum over images n of (the sum of the tiles of plane (n, c)): the planes in
// order, as the CPU adds them. One thread per class.
__global__ void sigma_sum_kernel(const double* __restrict__ partial, int64_t N, int64_t C,
                                 int64_t tiles, double* __restrict__ gsigma) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < C;
       c += int64_t(gridDim.x) * blockDim.x) {
    double g = gsigma[c];
    for (int64_t n = 0; n < N; ++n) {
      double plane = 0;
      for (int64_t t = 0; t < tiles; ++t) plane += partial[(n * C + c) * tiles + t];
      g += plane;
    }
    gsigma[c] = g;
  }
}

// The parameters' gradients in T from acc = (lambda, eps, sigma_0 .. sigma_{C-1}).
template <typename T>
__global__ void write_grads_kernel(const double* __restrict__ acc, int64_t C, T* lambda, T* eps,
                                   T* sigma) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < C;
       c += int64_t(gridDim.x) * blockDim.x)
    sigma[c] = static_cast<T>(acc[kSlotSigma + c]);
  if (blockIdx.x == 0 && threadIdx.x == 0) {
    *lambda = static_cast<T>(acc[kSlotLambda]);
    *eps = static_cast<T>(acc[kSlotEps]);
  }
}

// ---- host side ----------------------------------------------------------------------

template <typename T>
T* ptr_or_null(const Tensor& t) {
  return t.defined() ? ptr<T>(t) : nullptr;
}

// One call's sizes, stream and scalars, and the launchers of the kernels above.
template <typename T>
struct Launch {
  explicit Launch(const StdFusedProblem& p)
      : pb(p),
        d{p.N, p.C, p.H, p.W, p.H * p.W},
        stream(cuda::stream(p.o)),
        planes{p.N, p.C, p.H, p.W, p.kernel_size, ptr<T>(p.taps),
               p.edge.defined() ? ptr<T>(p.edge) : nullptr, stream},
        lambda(static_cast<T>(p.lambda)),
        eps(static_cast<T>(p.eps)),
        tau(static_cast<T>(p.tau)),
        tile_backward(!p.edge.defined() && std_tile::tile_fits(p.kernel_size) &&
                      !p.need_lambda && !p.need_eps && !p.need_sigma),
        pipelined(g_kernels == StdKernels::OneKernel && !p.edge.defined() &&
                  std_pipeline::fits(d, p.kernel_size, sizeof(T))) {}

  const StdFusedProblem& pb;
  Dims d;
  cudaStream_t stream;
  Planes<T> planes;
  T lambda, eps, tau;
  // The backward's tile kernel (std_fused_cuda_tile.h) where it applies: without the edge
  // weight, only dL/do asked for (VP-STD's own terms folded into its gz first). Elsewhere,
  // the separate blur passes (docs/PERFORMANCE.md has the measurements behind the choice).
  bool tile_backward;
  // The one-kernel iteration (std_fused_cuda_pipeline.h) where it applies, unless
  // set_std_kernels asks for the passes: without the edge weight, forward (VP-STD's in two
  // kernels around its dual's step), and back where tile_backward (in the tile kernel's
  // stead; VP-STD's in four kernels). Elsewhere the passes and argument_softmax, and the
  // tile kernel.
  bool pipelined;

  Tensor buffer(int64_t count, DType dtype = dtype_of<T>()) const {
    return Tensor::empty({count}, dtype, pb.o.device());
  }
  Tensor zeros(int64_t count, DType dtype = dtype_of<T>()) const {
    return Tensor::zeros({count}, dtype, pb.o.device());
  }

  // z_{t+1} from P = K(u_t) and the dual q_{t+1} (null for STD); z_0 with both null.
  Argument<T> argument_of(const T* P, const T* q_next) const {
    Argument<T> a;
    a.o = ptr<T>(pb.o);
    a.P = P;
    a.lambda = lambda;
    a.eps = eps;
    if (q_next && pb.prior == StdPrior::VP) a.q_plane = q_next;
    if (q_next && pb.prior == StdPrior::SS) {
      a.q_star = q_next;
      a.s = ptr<T>(pb.s);
      a.star = pb.star;
    }
    return a;
  }

  // P = K(u) (eq. 7); the rows buffers keep g (and dg) along rows for dK/dsigma.
  void kernel_term(const T* u, const Rows<T>& rows, T* P) const {
    if (!planes.edge) {
      std_blur::blur_rows(planes, Source::OneMinusTwoU, u, rows.a_g, rows.a_dg);
    } else {
      std_blur::blur_rows(planes, Source::OneMinusU, u, rows.a_g, rows.a_dg);
      std_blur::blur_rows(planes, Source::EdgeTimes, u, rows.b_g, rows.b_dg);
    }
    std_blur::kernel_term_cols(planes, rows, P);
  }

  void argument_softmax(const Argument<T>& a, T* z, T* u) const {
    std_device::argument_softmax(d, a, z, u, stream);
  }

  // *acc += factor * (the sum of the partials a reducing kernel of `blocks` left).
  void add_sum(const double* partial, int64_t blocks, double* acc, double factor) const {
    add_sum_kernel<<<1, kMaxPartials, 0, stream>>>(partial, blocks, acc, factor);
    TDSEG_LAUNCH_CHECK();
  }

  // Iteration t (std_fused.cpp, step): q_{t+1} from u_t and q_t (VP, SS), then z_{t+1}
  // (stored when z is given) and u_{t+1} = softmax(z_{t+1}) (when u_next is given). P, the
  // rows' g buffers and (VP) w are its scratch. The forward and the backward's
  // recomputation share it, so that a recomputed iterate is the forward's bit for bit.
  void iterate(const T* u, const T* q, T* q_next, const Rows<T>& rows, T* P, T* w, T* z,
               T* u_next) const {
    kernel_term(u, rows, P);
    if (pb.prior == StdPrior::VP) {
      // a_t = (o - lambda P + q_t) / eps, w = softmax(a_t), then eq. 10
      Argument<T> inner = argument_of(P, nullptr);
      inner.q_plane = q;
      argument_softmax(inner, nullptr, w);
      std_prior::vp_dual_step(d, w, ptr<T>(pb.log_v), q, q_next, eps, pb.floor, stream);
    } else if (pb.prior == StdPrior::SS) {
      std_prior::ss_dual_step(d, pb.star, u, ptr<T>(pb.s), q, q_next, tau, stream);
    }
    argument_softmax(argument_of(P, q_next), z, u_next);
  }

  // iterate() where `pipelined`: from rows, the row pass of 1 - 2u_t, into rows_next that
  // of 1 - 2u_{t+1} (when rows_next is given; u_{t+1} when u_next is, its star planes
  // alone with star_only; u_t is read by SS-STD's dual alone). sums: VP-STD's shares of S
  // (eq. 10), N C std_pipeline::weight_sum_blocks(d) values.
  void iterate_from_rows(const T* u, const T* q, T* q_next, const T* rows, T* rows_next, T* z,
                         T* u_next, double* sums, bool star_only) const {
    if (pb.prior == StdPrior::VP) {  // a_t, w = softmax(a_t) and S's shares, then eq. 10
      Argument<T> inner = argument_of(nullptr, nullptr);
      inner.q_plane = q;
      std_pipeline::weight_sums(d, planes.taps, planes.K, inner, rows, sums, stream);
      std_prior::vp_dual_from_sums(d, sums, std_pipeline::weight_sum_blocks(d), ptr<T>(pb.log_v),
                                   q, q_next, eps, pb.floor, stream);
    }
    if (pb.prior == StdPrior::SS)
      std_prior::ss_dual_step(d, pb.star, u, ptr<T>(pb.s), q, q_next, tau, stream);
    std_pipeline::iterate(d, planes.taps, planes.K, argument_of(nullptr, q_next), rows, z, u_next,
                          rows_next, stream, 1, star_only);
  }
};

// A chain of forward iterations from some u_t (u_0, or a checkpoint): iterate() step by
// step, or, where pipelined, iterate_from_rows() with the row pass of the current iterate
// in rows.a_g and the next one's written to P (unless the step is the last, which writes
// z), the two buffers then swapped. There u_next may be null where no one reads u_{t+1}
// (the chain carries its rows), or, with star_only, get SS-STD's star planes alone (the
// next dual step reads no other). The forward and the backward's recomputation both step
// through one, so that a recomputed iterate is the forward's bit for bit.
template <typename T>
struct Chain {
  const Launch<T>& run;
  Rows<T> rows;  // the passes' rows
  T *P, *w;      // the passes' scratch (VP's w)
  bool started = false;
  Tensor weight_sums;  // VP-STD's shares of S, where pipelined

  void step(const T* u, const T* q, T* q_next, T* z, T* u_next, bool star_only = false) {
    if (!run.pipelined) return run.iterate(u, q, q_next, rows, P, w, z, u_next);
    if (!started)
      std_pipeline::start_rows(run.d, run.planes.taps, run.planes.K, u, rows.a_g, run.stream);
    started = true;
    if (run.pb.prior == StdPrior::VP && !weight_sums.defined())
      weight_sums = run.buffer(run.d.N * run.d.C * std_pipeline::weight_sum_blocks(run.d),
                               DType::Float64);
    run.iterate_from_rows(u, q, q_next, rows.a_g, z ? nullptr : P, z, u_next,
                          ptr_or_null<double>(weight_sums), star_only);
    std::swap(rows.a_g, P);
  }
};

// u_t (t < T; u_T is never needed) and q_t (t <= T) are computed in their kept slot when
// t is a checkpoint (q_T too), else in a working array by the parity of t (std_fused.cpp).
template <typename T>
Tensor forward(const StdFusedProblem& pb, StdFusedSaved& saved) {
  const Launch<T> run(pb);
  const Dims& d = run.d;
  const StdMemoryPlan& plan = saved.plan;
  const int64_t n = d.size(), m = pb.prior == StdPrior::VP ? d.N * d.C : d.pixels();
  const int64_t iters = pb.iters, k = plan.every;
  const bool dual = pb.prior == StdPrior::VP || pb.prior == StdPrior::SS, keep = saved.keep;
  const Device device = pb.o.device();
  saved.u = keep ? Slots<T>::allocate(plan.checkpoints, n, plan.bf16, device) : Tensor();
  saved.q = keep && dual && plan.duals > 0 ? run.zeros(plan.duals * m).reshape({plan.duals, m})
                                            : Tensor();  // q_0 = 0
  const Slots<T> kept_u{saved.u, n, plan.bf16, run.stream};
  const bool every_u_kept = keep && k == 1 && !plan.bf16, every_q_kept = keep && k == 1;
  const Tensor work_u = iters > 0 && !every_u_kept ? run.buffer(2 * n) : Tensor();
  const Tensor work_q = dual && !every_q_kept ? run.zeros(2 * m) : Tensor();  // q_0 = 0
  auto kept = [&](int64_t t) { return keep && (t % k == 0 || t == iters); };
  auto u_at = [&](int64_t t) {
    T* work = work_u.defined() ? ptr<T>(work_u) + t % 2 * n : nullptr;
    return kept(t) ? kept_u.writable(t / k, work) : work;
  };
  auto q_at = [&](int64_t t) -> T* {
    if (!dual) return nullptr;
    return kept(t) ? ptr<T>(saved.q) + (t + k - 1) / k * m : ptr<T>(work_q) + t % 2 * m;
  };

  Tensor z = Tensor::empty(pb.o.shape(), dtype_of<T>(), device);
  const Tensor P = run.buffer(n), a_g = run.buffer(n);
  const Tensor b_g = pb.edge.defined() ? run.buffer(n) : Tensor();
  const Tensor w = pb.prior == StdPrior::VP ? run.buffer(n) : Tensor();
  const Rows<T> rows{ptr_or_null<T>(a_g), nullptr, ptr_or_null<T>(b_g), nullptr};

  // u_{t+1} goes to memory where the backward keeps it or the passes blur it, and its star
  // planes where SS-STD's next dual step reads them; the one-kernel iteration reads only
  // the rows it carries (4 (1 - 1/C) B an element an iteration less: inference,
  // checkpoints).
  const bool ss = pb.prior == StdPrior::SS;
  Chain<T> chain{run, rows, ptr_or_null<T>(P), ptr_or_null<T>(w)};
  // z_0 = o / eps, u_0 = softmax(z_0); where the chain carries rows, the row pass of
  // 1 - 2u_0 it starts from in the same kernel (8 B an element less), and u_0 only where
  // it is read.
  T* u = iters > 0 && (keep || ss || !run.pipelined) ? u_at(0) : nullptr;
  if (iters > 0 && run.pipelined) {
    std_pipeline::iterate(d, run.planes.taps, run.planes.K, run.argument_of(nullptr, nullptr),
                          static_cast<const T*>(nullptr), static_cast<T*>(nullptr), u, rows.a_g,
                          run.stream);
    chain.started = true;
  } else {
    run.argument_softmax(run.argument_of(nullptr, nullptr), iters > 0 ? nullptr : ptr<T>(z), u);
  }
  if (u && keep) kept_u.commit(0, u);
  for (int64_t t = 0; t < iters; ++t) {
    const bool whole = t + 1 < iters && (kept(t + 1) || !run.pipelined);
    T* u_next = whole || (t + 1 < iters && ss) ? u_at(t + 1) : nullptr;
    T* z_out = t + 1 == iters ? ptr<T>(z) : nullptr;
    chain.step(u, q_at(t), q_at(t + 1), z_out, u_next, !whole);
    if (u_next && kept(t + 1)) kept_u.commit((t + 1) / k, u_next);
    u = u_next;
  }
  return z;
}

// Segments [c, c + len) from the last: u_{c+1} .. u_{c+len-1} and q_{c+1} .. q_{c+len-1}
// recomputed from the checkpoint c (none with k = 1), then back-propagated from
// t = c + len - 1 down to c (std_fused.cpp, backward).
template <typename T>
StdFusedGrads backward(const StdFusedProblem& pb, const StdFusedSaved& saved, const Tensor& gz_T) {
  check<AutogradError>(saved.keep, "std (cuda): the forward kept no iterates for a backward");
  const Launch<T> run(pb);
  const Dims& d = run.d;
  const cudaStream_t stream = run.stream;
  const StdMemoryPlan& plan = saved.plan;
  const int64_t n = d.size(), m = pb.prior == StdPrior::VP ? d.N * d.C : d.pixels();
  const bool vp = pb.prior == StdPrior::VP, ss = pb.prior == StdPrior::SS;
  const bool edge = pb.edge.defined();
  const double inv_eps = 1.0 / static_cast<double>(run.eps);

  StdFusedGrads g;
  // dL/dz_t: in two buffers, in turn, for the tile kernel (it reads gz_{t+1}'s neighbours
  // while it writes gz_t; VP-STD's folded gz' takes the one gz_t is not written to) and for
  // VP-STD's one-kernel iteration (it reads gz_{t+1} while it writes gz_t); in one for the
  // separate passes (the head has read gz_{t+1} into gP before gz_t is written). The
  // one-kernel iteration of STD and SS-STD (std_fused_cuda_pipeline.h), where the tile
  // kernel would run, carries the row pass of gP in the two buffers instead, and writes
  // gz_t's star planes for SS-STD's dual into a third. The passes' gP and gu where they
  // run, P where they run or a segment is recomputed or VP-STD's tile kernel needs a_t,
  // and the rows there or for VP-STD's one-kernel iteration.
  const bool passes = !run.tile_backward, recompute = plan.segment > 0;
  const bool one_kernel = run.tile_backward && run.pipelined, carried = one_kernel && !vp;
  // go: its first values from the one-kernel iteration's first step back
  // (std_pipeline::start_adjoint, vp_fold_rows), else 0.
  g.o = one_kernel && pb.iters > 0 ? Tensor::empty(pb.o.shape(), dtype_of<T>(), pb.o.device())
                                   : Tensor::zeros(pb.o.shape(), dtype_of<T>(), pb.o.device());
  const Tensor gz_buffers = run.buffer((passes ? 1 : 2) * n);
  const Tensor gz_ss = one_kernel && ss ? run.buffer(n) : Tensor();
  const Tensor gP = passes ? run.buffer(n) : Tensor(), gu = passes ? run.buffer(n) : Tensor();
  const Tensor P = passes || recompute || (vp && !one_kernel) ? run.buffer(n) : Tensor();
  const Tensor a_g = passes || recompute || vp ? run.buffer(n) : Tensor();
  const Tensor a_dg = pb.need_sigma ? run.buffer(n) : Tensor();
  const Tensor b_g = edge ? run.buffer(n) : Tensor();
  const Tensor b_dg = edge && pb.need_sigma ? run.buffer(n) : Tensor();
  auto raw = [](const Tensor& t) { return ptr_or_null<T>(t); };
  const Rows<T> rows{raw(a_g), raw(a_dg), raw(b_g), raw(b_dg)};
  const Rows<T> adjoint_rows{raw(a_g), nullptr, raw(b_g), nullptr};
  // VP: a_t (for dL/deps: the passes only), w = softmax(a_t), ga, the dual's gradient,
  // dL/dS, the eps terms per plane; the one-kernel iteration's shares of the planes' sums
  // (of w and of gz, then of ga) instead of ga.
  const Tensor a = vp && passes ? run.buffer(n) : Tensor(), w = vp ? run.buffer(n) : Tensor();
  const Tensor ga = vp && !one_kernel ? run.buffer(n) : Tensor();
  const Tensor dS = vp ? run.buffer(m) : Tensor();
  const Tensor eps_part = vp ? run.buffer(m, DType::Float64) : Tensor();
  const int64_t share_blocks = std_pipeline::weight_sum_blocks(d);
  const Tensor shares = vp && one_kernel ? run.buffer(2 * m * share_blocks, DType::Float64)
                                         : Tensor();
  // SS: the dual's gradient, dL/dG and div(gG s), [N, L] each.
  const Tensor gG = ss ? run.buffer(m) : Tensor(), star_div = ss ? run.buffer(m) : Tensor();
  const Tensor gq = vp || ss ? run.zeros(m) : Tensor();
  const Tensor acc = run.zeros(kSlotSigma + d.C, DType::Float64);
  const Tensor partial = run.buffer(2 * kMaxPartials, DType::Float64);
  const int64_t tiles = std_blur::column_tiles(run.planes);
  const Tensor sigma_partial =
      pb.need_sigma ? run.buffer(d.N * d.C * tiles, DType::Float64) : Tensor();
  double* sums = ptr<double>(partial);
  double* accs = ptr<double>(acc);
  // The kept checkpoints, the segment's recomputed iterates and duals, the widened ones.
  const Slots<T> kept_u{saved.u, n, plan.bf16, stream};
  const Slots<T> seg_u{Slots<T>::allocate(plan.segment, n, plan.bf16, pb.o.device()), n,
                       plan.bf16, stream};
  const Tensor seg_q = (vp || ss) && plan.segment > 0 ? run.buffer(plan.segment * m) : Tensor();
  const Tensor widened = plan.widened > 0 ? run.buffer(plan.widened * n) : Tensor();
  auto work = [&](int64_t j) {
    return plan.bf16 ? ptr<T>(widened) + j % plan.widened * n : nullptr;
  };

  // VP, both paths: P = K(u_t), a_t (stored when a is given), w = softmax(a_t), then per
  // plane gq += sum_x gz / eps and dL/dS (vp_planes_kernel).
  auto vp_terms = [&](const T* u, const T* q, const T* gz, T* a) {
    if (!passes) run.kernel_term(u, rows, ptr<T>(P));  // the passes have made it already
    Argument<T> inner = run.argument_of(ptr<T>(P), nullptr);
    inner.q_plane = q;
    run.argument_softmax(inner, a, ptr<T>(w));
    std_prior::vp_planes(d, gz, ptr<T>(w), ptr<T>(pb.log_v), ptr<T>(gq), ptr<T>(dS),
                         ptr<double>(eps_part), run.eps, pb.floor, stream);
    if (pb.need_eps) run.add_sum(ptr<double>(eps_part), m, accs + kSlotEps, 1.0);
  };

  const T* gz = ptr<T>(gz_T);  // dL/dz_{t+1}; the loop's own buffers from the second step on
  // The one-kernel iteration's rows of gP: now (gP_{t+1}'s) and next (gP_t's), in turn.
  T* rows_now = carried ? ptr<T>(gz_buffers) : nullptr;
  T* rows_next = carried ? ptr<T>(gz_buffers) + n : nullptr;
  bool started = false;  // whether a step back has run (the carried rows exist; VP-STD: go)
  bool z0_added = false;  // whether go has gz_0 / eps (z_0 = o / eps) from the last step
  // Iteration t back, from gz = dL/dz_{t+1} to dL/dz_t, given u_t, q_t and q_{t+1}; the
  // last is t = 0.
  auto step_back = [&](const T* u, const T* q, const T* q_next, bool last) {
    T* const first = ptr<T>(gz_buffers);
    T* gz_next = passes || gz != first ? first : first + n;
    if (ss) {  // the dual's backward, then div(gG s), which the star class's gu takes in
      const int blocks = std_prior::ss_dual_backward(d, pb.star, gz, u, ptr<T>(pb.s), q,
                                                     ptr<T>(gq), ptr<T>(gG), run.tau, run.eps,
                                                     sums, stream);
      if (pb.need_eps && pb.tau_follows_eps) run.add_sum(sums, blocks, accs + kSlotEps, 1.0);
      std_prior::ss_div(d, ptr<T>(gG), ptr<T>(pb.s), ptr<T>(star_div), stream);
    }
    if (one_kernel && vp) {  // eq. 10 back from gz = dL/dz_{t+1}, then gz_t
      T* const u_rows = ptr<T>(a_g);  // the row pass of 1 - 2u_t, then that of gP'
      double* const plane_sums = ptr<double>(shares);
      std_pipeline::start_rows(d, run.planes.taps, run.planes.K, u, u_rows, stream);
      Argument<T> inner = run.argument_of(nullptr, nullptr);
      inner.q_plane = q;
      std_pipeline::vp_weights(d, run.planes.taps, run.planes.K, inner, u_rows, gz, ptr<T>(w),
                               plane_sums, stream);
      std_prior::vp_planes_from_sums(d, plane_sums, share_blocks, ptr<T>(pb.log_v), ptr<T>(gq),
                                     ptr<T>(dS), ptr<double>(eps_part), run.eps, pb.floor,
                                     stream);
      std_pipeline::vp_fold_rows(d, run.planes.taps, run.planes.K, run.lambda, run.eps,
                                 ptr<T>(w), ptr<T>(dS), gz, ptr<T>(g.o), !started, u_rows,
                                 plane_sums, stream);
      std_prior::vp_dual_from_ga_sums(d, plane_sums, share_blocks, ptr<T>(gq), run.eps, stream);
      // gz_t, or at t = 0 z_0's step: go += gz_0 / eps at once
      std_pipeline::adjoint(d, run.planes.taps, run.planes.K, run.lambda, run.eps, u_rows, u,
                            static_cast<const T*>(nullptr), 0, last ? ptr<T>(g.o) : nullptr,
                            static_cast<T*>(nullptr), last ? nullptr : gz_next, stream);
      started = true;
      z0_added = last;
      gz = gz_next;
      return;
    }
    if (one_kernel) {  // go has gz / eps from here on: the chain adds each gz_t as it goes
      if (!started)
        std_pipeline::start_adjoint(d, run.planes.taps, run.planes.K, run.lambda, run.eps, gz,
                                    ptr<T>(g.o), rows_now, stream);
      started = true;
      T* gz_out = ss ? ptr<T>(gz_ss) : nullptr;
      std_pipeline::adjoint(d, run.planes.taps, run.planes.K, run.lambda, run.eps, rows_now, u,
                            ss ? ptr<T>(star_div) : nullptr, pb.star, ptr<T>(g.o),
                            last ? nullptr : rows_next, gz_out, stream);
      z0_added = last;
      std::swap(rows_now, rows_next);
      if (gz_out) gz = gz_out;
      return;
    }
    if (run.tile_backward) {
      const T* tile_gz = gz;
      if (vp) {  // a_t, w = softmax(a_t), the planes' terms, then gz' = gz + ga
        T* folded = gz != first ? first : first + n;  // not gz's buffer
        gz_next = folded == first ? first + n : first;
        vp_terms(u, q, gz, nullptr);
        std_prior::vp_fold(d, ptr<T>(w), ptr<T>(dS), gz, ptr<T>(ga), folded, stream);
        std_prior::vp_dual_from_ga(d, ptr<T>(ga), ptr<T>(gq), run.eps, stream);
        tile_gz = folded;
      }
      std_tile::adjoint_softmax(d, run.planes.taps, run.planes.K, run.lambda, run.eps, tile_gz,
                                u, ss ? ptr<T>(star_div) : nullptr, pb.star, ptr<T>(g.o),
                                gz_next, stream);
      gz = gz_next;
      return;
    }
    run.kernel_term(u, rows, ptr<T>(P));

    const int head_blocks = partial_blocks(n);
    const Argument<T> next = run.argument_of(ptr<T>(P), q_next);  // z_{t+1}
    head_kernel<<<head_blocks, kThreads, 0, stream>>>(d, next, gz, ptr<T>(g.o), ptr<T>(gP),
                                                      pb.need_eps, !vp, sums);
    TDSEG_LAUNCH_CHECK();
    if (pb.need_eps) run.add_sum(sums, head_blocks, accs + kSlotEps, -inv_eps);
    if (!vp) run.add_sum(sums + kMaxPartials, head_blocks, accs + kSlotLambda, 1.0);

    if (vp) {
      vp_terms(u, q, gz, ptr<T>(a));
      const int blocks = std_prior::vp_softmax_backward(
          d, ptr<T>(w), ptr<T>(a), ptr<T>(dS), ptr<T>(P), ptr<T>(g.o), ptr<T>(gP), ptr<T>(ga),
          run.lambda, run.eps, sums, stream);
      if (pb.need_eps) run.add_sum(sums, blocks, accs + kSlotEps, -inv_eps);
      run.add_sum(sums + kMaxPartials, blocks, accs + kSlotLambda, 1.0);
      std_prior::vp_dual_from_ga(d, ptr<T>(ga), ptr<T>(gq), run.eps, stream);
    }

    // gP is lambda dL/dp_t now: dL/dsigma, then gu = (dK/du)^T gP (- div(gG s) for SS),
    // the rows buffers reused for gP once dsigma has read them.
    if (pb.need_sigma) {
      std_blur::kernel_term_dsigma_cols(run.planes, rows, ptr<T>(gP), ptr<double>(sigma_partial));
      sigma_sum_kernel<<<blocks_for(d.C), kThreads, 0, stream>>>(
          ptr<double>(sigma_partial), d.N, d.C, tiles, accs + kSlotSigma);
      TDSEG_LAUNCH_CHECK();
    }
    std_blur::blur_rows<T>(run.planes, Source::Identity, ptr<T>(gP), adjoint_rows.a_g, nullptr);
    if (edge)
      std_blur::blur_rows<T>(run.planes, Source::EdgeTimes, ptr<T>(gP), adjoint_rows.b_g, nullptr);
    std_blur::kernel_term_adjoint_cols(run.planes, adjoint_rows, ss ? ptr<T>(star_div) : nullptr,
                                       pb.star, ptr<T>(gu));
    softmax_backward_kernel<<<blocks_for(d.pixels()), kThreads, 0, stream>>>(d, u, ptr<T>(gu),
                                                                             gz_next);
    TDSEG_LAUNCH_CHECK();
    gz = gz_next;
  };

  for (int64_t c_index = plan.checkpoints - 1; c_index >= 0; --c_index) {
    const int64_t c = c_index * plan.every, len = std::min(plan.every, pb.iters - c);
    const T* Q = vp || ss ? ptr<T>(saved.q) : nullptr;
    const T* q_c = Q ? Q + c_index * m : nullptr;
    const T* q_end = Q ? Q + (c_index + 1) * m : nullptr;  // q_{c+len}
    auto seg_q_at = [&](int64_t j) { return Q ? ptr<T>(seg_q) + (j - 1) * m : nullptr; };
    // Recompute u_{c+j}, q_{c+j} for 0 < j < len; the g rows and P are free between steps.
    const T* u = kept_u.read(c_index, work(0));
    Chain<T> chain{run, adjoint_rows, raw(P), raw(w)};
    for (int64_t j = 1; j < len; ++j) {
      T* u_next = seg_u.writable(j - 1, work(j));
      chain.step(u, j == 1 ? q_c : seg_q_at(j - 1), seg_q_at(j), nullptr, u_next);
      seg_u.commit(j - 1, u_next);
      u = u_next;
    }
    for (int64_t j = len - 1; j >= 0; --j)
      step_back(j == 0 ? kept_u.read(c_index, work(0)) : seg_u.read(j - 1, work(0)),
                j == 0 ? q_c : seg_q_at(j), j + 1 == len ? q_end : seg_q_at(j + 1),
                c_index == 0 && j == 0);
  }
  // z_0 = o / eps: go += gz_0 / eps, which the one-kernel iteration's last step has added
  // already (only dL/do is asked for there).
  if (!z0_added) {
    const int blocks = partial_blocks(n);
    first_argument_backward_kernel<<<blocks, kThreads, 0, stream>>>(n, gz, ptr<T>(pb.o),
                                                                    ptr<T>(g.o), run.eps, sums);
    TDSEG_LAUNCH_CHECK();
    if (pb.need_eps) run.add_sum(sums, blocks, accs + kSlotEps, -inv_eps * inv_eps);
  }

  g.lambda = Tensor::empty({}, dtype_of<T>(), pb.o.device());
  g.eps = Tensor::empty({}, dtype_of<T>(), pb.o.device());
  g.sigma = Tensor::empty({d.C}, dtype_of<T>(), pb.o.device());
  write_grads_kernel<<<blocks_for(d.C), kThreads, 0, stream>>>(accs, d.C, ptr<T>(g.lambda),
                                                               ptr<T>(g.eps), ptr<T>(g.sigma));
  TDSEG_LAUNCH_CHECK();
  return g;
}

void check_problem(const StdFusedProblem& pb) {
  check<ValueError>((pb.kernel_size - 1) / 2 <= std_blur::kMaxRadius, "std (cuda): kernel size ",
                    pb.kernel_size, " is larger than the GPU blur supports (",
                    2 * std_blur::kMaxRadius + 1, ")");
  check<ShapeError>(pb.o.is_contiguous() && pb.o.device().is_cuda(), "std (cuda): logits ",
                    pb.o.str(), " must be contiguous on a GPU");
}

}  // namespace

void set_std_kernels(StdKernels kernels) { g_kernels = kernels; }

Tensor std_fused_forward(const StdFusedProblem& pb, StdFusedSaved& saved) {
  check_problem(pb);
  return dispatch_floating(pb.o.dtype(), "std (cuda)", [&](auto tag) {
    return forward<decltype(tag)>(pb, saved);
  });
}

StdFusedGrads std_fused_backward(const StdFusedProblem& pb, const StdFusedSaved& saved,
                                 const Tensor& gz) {
  check_problem(pb);
  check<ShapeError>(gz.shape() == pb.o.shape() && gz.dtype() == pb.o.dtype() &&
                        gz.device() == pb.o.device() && gz.is_contiguous(),
                    "std (cuda): the gradient ", gz.str(), " does not match the logits ",
                    pb.o.str());
  return dispatch_floating(pb.o.dtype(), "std (cuda)", [&](auto tag) {
    return backward<decltype(tag)>(pb, saved, gz);
  });
}

}  // namespace tdseg::cuda
