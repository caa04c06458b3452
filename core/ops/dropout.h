// Inverted dropout: out = x * m / keep_prob with m ~ Bernoulli(keep_prob) drawn from
// `gen` per element, so that E[out] = x and evaluation needs no rescaling (callers apply
// it in training only). Backward multiplies by the same m / keep_prob.
#pragma once
#include "core/random.h"
#include "core/tensor.h"

namespace tdseg::ops {

Tensor dropout(const Tensor& x, double keep_prob, Generator& gen);

}  // namespace tdseg::ops
