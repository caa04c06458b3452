// The CUDA twin of the fused STD / VP-STD / SS-STD op (layers/std/std_fused.cpp): the
// same forward, the same handwritten backward of the unrolled loop, the same conventions
// and stored state, run with kernels on the logits' device and stream
// (std_fused_cuda.cu; the blur passes in std_fused_cuda_blur.cu). std_fused() calls it
// when the logits are on a GPU; nothing here is called directly but set_std_kernels.
//
// Every tensor lives on o's device in o's dtype T (float32 or float64), contiguous. Sums
// run in double, as deterministic per-block partials added in a fixed order, so a result
// is the same from run to run. The Gaussian's size is limited to K <= 129 on the GPU
// (the blur's shared-memory tile holds a halo of (K - 1) / 2 on each side).
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "layers/std/std_config.h"

namespace tdseg::cuda {

// What one call fixes. The scalars hold the values the CPU op computes with: already
// rounded to T (floor = T(1e-6 H W), tau = T(config tau or eps)).
struct StdFusedProblem {
  int64_t N = 0, C = 0, H = 0, W = 0, iters = 0, kernel_size = 1, star = 0;
  StdPrior prior = StdPrior::STD;
  double lambda = 0, eps = 1, tau = 1, floor = 0;
  bool tau_follows_eps = true;     // SS: tau is eps, so d/deps reaches it
  // Skip the work of gradients nobody asked for.
  bool need_lambda = true, need_eps = false, need_sigma = false;
  Tensor o;      // [N, C, H, W] the logits (the graph's input, not copied)
  Tensor taps;   // [2, C, K]: g_c, then dg_c / dsigma_c (layers/std/gaussian_blur.h)
  Tensor edge;   // [N, 1, H, W] e, or undefined without the edge weight
  Tensor s;      // SS: the star field [N, 2, H, W]
  Tensor log_v;  // VP: log max(V, floor) [N, C]
};

// What the forward leaves for the backward (plan, std_config.h: StdMemoryPlan): u_t at
// the checkpoints t = 0, k, 2k, ... < T as u [checkpoints, N, C, H, W] in T, or (bf16) as
// bfloat16 bits in an int32 tensor of ceil(checkpoints * N*C*H*W / 2) elements; the duals
// q_t at the checkpoints, then q_T, as q [duals, m] (VP m = N*C, SS m = N*H*W). With
// keep = false (no gradient needed) nothing: the forward works in two slots, in turn.
struct StdFusedSaved {
  bool keep = true;
  StdMemoryPlan plan;
  Tensor u, q;  // undefined where nothing is kept
  int64_t bytes() const {
    int64_t b = 0;
    for (const Tensor* t : {&u, &q})
      if (t->defined()) b += t->numel() * static_cast<int64_t>(dtype_size(t->dtype()));
    return b;
  }
};

// dL/do and the parameters' gradients ([], [], [C]), on the device in T.
struct StdFusedGrads {
  Tensor o, lambda, eps, sigma;
};

// Which kernels the op runs where both kinds apply (no edge weight): the one-kernel
// iteration (std_fused_cuda_pipeline.h; the default), or the separate blur passes forward
// and the tile kernel back (std_fused_cuda_tile.h), the code the H100 measured in session 4.
// Process-wide, as cuda::set_allow_tf32: for timing one against the other in one run
// (tdseg bench std --kernels) and testing both.
enum class StdKernels { OneKernel, Passes };
void set_std_kernels(StdKernels kernels);

// Runs the T iterations; returns z_T [N, C, H, W] and fills `saved`.
Tensor std_fused_forward(const StdFusedProblem& pb, StdFusedSaved& saved);

// The vector-Jacobian product of the whole loop for gz = dL/dz_T (saved.keep must be on);
// with k > 1 it recomputes each segment's iterates from its checkpoint, as the CPU does.
StdFusedGrads std_fused_backward(const StdFusedProblem& pb, const StdFusedSaved& saved,
                                 const Tensor& gz);

}  // namespace tdseg::cuda
