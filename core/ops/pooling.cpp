// global_avg_pool, composed: the plane sums of spatial_sum (accumulated in double), scaled
// by 1 / (H*W) and viewed as [N, C, 1, 1]; the backward comes from those three ops.
#include "core/ops/pooling.h"

#include "core/ops/broadcast.h"
#include "core/ops/checks.h"
#include "core/ops/elementwise.h"

namespace tdseg::ops {

Tensor global_avg_pool(const Tensor& x) {
  const char* op = "global_avg_pool";
  check_defined(op, x, "input");
  check_floating(op, x);
  check_rank(op, x, 4, "input [N, C, H, W]");
  const int64_t L = x.size(2) * x.size(3);
  check<ShapeError>(L > 0, op, ": empty spatial size in ", shape_str(x.shape()));
  return scale(spatial_sum(x), 1.0 / static_cast<double>(L)).reshape({x.size(0), x.size(1), 1, 1});
}

}  // namespace tdseg::ops
