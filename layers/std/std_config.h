// Configuration of a Soft Threshold Dynamics block (paper, sections 3.3 to 3.8).
//
// Given logits o [N, C, H, W] the block runs T iterations of an unrolled minimiser and
// returns the ARGUMENT z_T of the final softmax, so that u_T = softmax(z_T) and
// log u_T = log_softmax(z_T): a loss never takes the log of a probability.
//   u_0 = softmax(o / eps)                                         (z_0 = o / eps)
//   p_t = lambda * k*(1 - 2 u_t)                                   (eq. 7, e = 1)
//   none: T = 0, z = o / eps
//   STD:  z_{t+1} = (o - p_t) / eps                                (Algorithm 1)
//   VP:   q <- q + eps * (log V - log sum_x softmax((o - p_t + q) / eps))   (eq. 10)
//         z_{t+1} = (o - p_t + q) / eps                            (Algorithm 2)
//   SS:   q <- max(q - tau * s . grad u_{t,i}, 0)
//         z_{t+1} = (o - p_t) / eps,  z_{t+1,i} -= div(q s) / eps  (Algorithm 3)
// k is the K x K Gaussian exp(-(a^2 + b^2) / (2 sigma^2)) normalised to sum 1, applied
// to each class plane with zero padding. With the edge weight e (section 3.3),
//   p_t = lambda * ((k*(1 - u_t)) e - k*(e u_t)).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace tdseg {

enum class StdPrior { None, STD, VP, SS };
enum class StdImpl { Composed, Fused };

StdPrior parse_std_prior(const std::string& name);  // "none", "std", "vp", "ss"
const char* std_prior_name(StdPrior p);

// What the fused form's forward keeps for its backward (layers/std/std_fused.h), in
// arrays of N*C*H*W (354 MB at VOC's 16 x 21 x 513 x 513 in fp32). The backward at
// iteration t reads u_t and the duals q_t, q_{t+1} (VP [N, C], SS [N, H, W]; never u_T).
//   All          u_0 .. u_{T-1} and q_0 .. q_T: T arrays.
//   Checkpoints  u_t and q_t at the checkpoints t = 0, k, 2k, ... < T, and q_T: ceil(T/k)
//                arrays. The backward recomputes each segment's iterates u_{c+1} ..
//                u_{c+k-1} forward from its checkpoint c (the same code as the forward,
//                so the gradients are bit-identical to All's) into a buffer of k - 1
//                slots: ceil(T/k) + k - 1 arrays at the backward's peak instead of T, for
//                T - ceil(T/k) extra iterations (about one more forward).
//   Auto         Checkpoints when T > 10, else All. At the paper's T = 10 (STD, VP-STD)
//                checkpoints (k = 4) would hold 6 arrays instead of 10 at the backward's
//                peak, which also holds its own 6 to 11 working arrays, for 23% more time
//                (measured on the CPU): All. At SS-STD's T = 50 they hold 14 instead of 50
//                (5.2 GB instead of 18.5 GB at VOC's shape) for 19% more time: Checkpoints.
// bf16_iterates (float32 logits only) keeps the iterates, checkpoints and segment alike,
// as bfloat16: float32 rounded to nearest even on its top 16 bits, widened back on read;
// the computation and the duals stay float32, so the forward's result is unchanged. Half
// the bytes, for gradients within about 1e-2 of float32's relative to their largest
// element (measured up to 1.2e-2, mostly near 2e-3; float32's own error is about 1e-6):
// off by default.
// docs/PERFORMANCE.md has the figures. The composed form keeps what autograd keeps: these
// options are the fused form's.
enum class StdSave { Auto, All, Checkpoints };
StdSave parse_std_save(const std::string& name);  // "auto", "all", "checkpoints"
const char* std_save_name(StdSave s);

struct StdMemory {
  StdSave save = StdSave::Auto;
  int64_t checkpoint_every = 0;  // k; 0: ceil(sqrt(T)); k >= T: one segment (u_0 only)
  bool bf16_iterates = false;
};

struct StdConfig {
  StdPrior prior = StdPrior::STD;
  StdImpl impl = StdImpl::Fused;
  int64_t iters = 10;          // T; the paper uses 50 for SS-STD
  double lambda = 1.0;
  double eps = 0.1;
  int64_t kernel_size = 7;     // K, odd
  double sigma = 5.0;
  int64_t star_class = 1;      // i, SS only
  std::optional<double> tau;   // SS dual step; eps when unset
  bool edge_weight = false;    // use StdExtras::edge as e(x)
  bool learn_lambda = false, learn_eps = false, learn_sigma = false;
  StdMemory memory;            // the fused form's backward (see StdSave)
};

// Per-batch data a block may need. Undefined tensors mean "not given".
struct StdExtras {
  Tensor volumes;  // VP: [N, C] target volumes in pixels (no gradient)
  Tensor centers;  // SS: [N, 2] star centres (cx, cy) in pixels; centroid of u_0,i if unset
  Tensor edge;     // edge_weight: e [N, 1, H, W] (see std_extras.h: edge_weight)
};

// The block's scalar parameters as tensors of o's dtype, so that the learnable ones can
// carry gradients: lambda [] , eps [] and sigma [C] (one kernel width per class).
struct StdParams {
  Tensor lambda, eps, sigma;
};

// What a fused forward that records a gradient keeps, for logits of `shape` and `dtype`:
// StdMemory resolved (Auto, k) and its bytes. All is Checkpoints with k = 1.
struct StdMemoryPlan {
  int64_t every = 1;          // k: u_t, q_t kept at t = 0, k, 2k, ... < T
  bool bf16 = false;          // iterates kept (and recomputed) as bfloat16
  int64_t checkpoints = 0;    // ceil(T / k) iterates kept
  int64_t duals = 0;          // VP, SS: checkpoints + 1 duals kept (q_T too); else 0
  int64_t segment = 0;        // min(k, T) - 1 iterates (and duals) the backward recomputes
  int64_t widened = 0;        // bf16: float32 arrays the backward widens into (1, or 2
                              // for recomputing); else 0
  int64_t kept_bytes = 0;     // checkpoints and duals: held from the forward to the backward
  int64_t segment_bytes = 0;  // the segment and the widened arrays: during the backward
};
StdMemoryPlan std_memory_plan(const StdConfig& config, const Shape& shape, DType dtype);

// What the host needs of a block's parameters and data: its checks, and the fused op's
// kernel arguments, Gaussian taps and log-volumes.
struct StdHostValues {
  double lambda = 0, eps = 0;
  std::vector<double> sigma;    // [C]
  std::vector<double> volumes;  // [N * C], VP-STD only
};

// Throws a ValueError or ShapeError naming the block and the field at fault. Returns the
// values it checked, read from the logits' device in one copy (a GPU's host waits once).
StdHostValues validate_std(const StdConfig& config, const Tensor& o, const StdParams& params,
                           const StdExtras& extras);

}  // namespace tdseg
