// The entry point of the STD blocks: validates, fills in what the data implies (SS-STD
// centres from the centroid of u_0 of the star class when none are given) and runs the
// composed or the fused form. Returns z_T; see std_config.h for the math.
#pragma once
#include "layers/std/std_config.h"

namespace tdseg {

Tensor std_block(const Tensor& o, const StdParams& params, const StdExtras& extras,
                 const StdConfig& config);

// lambda, eps and sigma (one per class) of a config, as constant tensors of `dtype`.
StdParams std_params(const StdConfig& config, int64_t classes, DType dtype);

}  // namespace tdseg
