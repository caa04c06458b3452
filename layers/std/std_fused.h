// The fused form of the STD blocks: one op whose forward runs all T iterations over raw
// buffers and whose backward is the handwritten vector-Jacobian product of the whole
// unrolled loop; it records one graph node, not ~10 per iteration.
//
// Memory (config.memory, std_config.h: StdSave): the forward keeps the iterates u_t and
// the duals (VP: q_t [N, C]; SS: q_t [N, H, W]) for the backward, which recomputes p_t
// (one blur per iteration) and, for VP, the inner softmax: every u_0 .. u_{T-1} (All; at
// VOC's shape in fp32, 16 x 21 x 513 x 513, 354 MB an array, 3.5 GB for T = 10), or only
// the checkpoints, recomputing the rest segment by segment in the backward; optionally
// as bfloat16.
#pragma once
#include "core/tensor.h"
#include "layers/std/std_config.h"

namespace tdseg {

// z_T of the block described in std_config.h; gradients flow to o and to whichever of
// params.lambda, params.eps and params.sigma require them. Inputs must be validated
// (validate_std, whose values it takes) and, for SS-STD, extras.centers given.
Tensor std_fused(const Tensor& o, const StdParams& params, const StdExtras& extras,
                 const StdConfig& config, const StdHostValues& values);

// The bytes the forward that made z (std_fused's output, recorded for a gradient) keeps
// for its backward, on z's device: std_memory_plan(...).kept_bytes (the GPU rounds bf16
// storage up to 4 bytes); 0 once the backward has run.
int64_t std_fused_saved_bytes(const Tensor& z);

}  // namespace tdseg
