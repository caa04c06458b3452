// Concatenation along one dim (default 1, the channels of NCHW). All inputs share the
// dtype and every other dim; the output holds them in order.
#pragma once
#include <vector>

#include "core/tensor.h"

namespace tdseg::ops {

Tensor concat(const std::vector<Tensor>& xs, int dim = 1);

}  // namespace tdseg::ops
