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

#include "core/tensor.h"

namespace tdseg {

enum class StdPrior { None, STD, VP, SS };
enum class StdImpl { Composed, Fused };

StdPrior parse_std_prior(const std::string& name);  // "none", "std", "vp", "ss"
const char* std_prior_name(StdPrior p);

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

// Throws a ValueError or ShapeError naming the block and the field at fault.
void validate_std(const StdConfig& config, const Tensor& o, const StdParams& params,
                  const StdExtras& extras);

}  // namespace tdseg
