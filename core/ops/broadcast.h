// Ops that reduce or broadcast over whole planes or channels of NCHW tensors, and slicing.
//   spatial_sum:     [N, C, H, W] -> [N, C],  out[n, c] = sum_{h, w} x[n, c, h, w]
//   add_per_plane:   out[n, c, h, w] = x[n, c, h, w] + b[n, c];  db = spatial_sum(dy)
//   expand_channels: [N, 1, H, W] -> [N, C, H, W],  out[n, c, h, w] = x[n, 0, h, w]
//   sum_channels:    [N, C, H, W] -> [N, 1, H, W],  out[n, 0, h, w] = sum_c x[n, c, h, w]
//   slice:           out = x[..., start:end, ...] along `dim` (any rank and dtype), a
//                    contiguous copy; backward scatters dy into zeros of x's shape.
// spatial_sum and sum_channels accumulate in double; each op's backward is the other
// side of its pair (spatial_sum <-> add_per_plane, expand_channels <-> sum_channels).
#pragma once
#include "core/tensor.h"

namespace tdseg::ops {

Tensor spatial_sum(const Tensor& x);
Tensor add_per_plane(const Tensor& x, const Tensor& b);
Tensor expand_channels(const Tensor& x, int64_t C);
Tensor sum_channels(const Tensor& x);
Tensor slice(const Tensor& x, int dim, int64_t start, int64_t end);

}  // namespace tdseg::ops
