// Global average pooling: [N, C, H, W] -> [N, C, 1, 1], out[n, c] = mean over (h, w).
#pragma once
#include "core/tensor.h"

namespace tdseg::ops {

Tensor global_avg_pool(const Tensor& x);

}  // namespace tdseg::ops
