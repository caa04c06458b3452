// The composed form of the STD blocks: Algorithms 1 to 3 written with the engine's
// differentiable ops, a few lines per block, so that autograd derives the backward.
// This is the teaching form and the oracle of the fused form (std_fused.h); it records
// about ten graph nodes per iteration and keeps their saved tensors until backward.
#pragma once
#include "layers/std/std_config.h"

namespace tdseg {

// z_T of the block in std_config.h. Inputs as for std_fused.
Tensor std_composed(const Tensor& o, const StdParams& params, const StdExtras& extras,
                    const StdConfig& config);

}  // namespace tdseg
