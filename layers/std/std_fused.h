// The fused form of the STD blocks: one op whose forward runs all T iterations over raw
// buffers and whose backward is the handwritten vector-Jacobian product of the whole
// unrolled loop; it records one graph node, not ~10 per iteration.
//
// Memory: the forward keeps every iterate u_0 .. u_T (T + 1 arrays of N*C*H*W) plus the
// dual variables (VP: q_t [N, C]; SS: q_t [N, H, W]) for the backward, which recomputes
// p_t (one blur per iteration) and, for VP, the inner softmax. For VOC's shape in fp32
// (16 x 21 x 513 x 513, 354 MB an array) and T = 10 that is 3.9 GB.
#pragma once
#include "core/tensor.h"
#include "layers/std/std_config.h"

namespace tdseg {

// z_T of the block described in std_config.h; gradients flow to o and to whichever of
// params.lambda, params.eps and params.sigma require them. Inputs must be validated
// (validate_std) and, for SS-STD, extras.centers given.
Tensor std_fused(const Tensor& o, const StdParams& params, const StdExtras& extras,
                 const StdConfig& config);

}  // namespace tdseg
