// Bilinear resize of [N, C, H, W] to [N, C, out_h, out_w] with align_corners=True, the
// semantics of TensorFlow DeepLab's tf.image.resize_bilinear(..., align_corners=True):
// corner pixels map onto corner pixels, so output row oy samples input row
//   sy = oy * (H - 1) / (out_h - 1)     (sy = 0 when out_h == 1)
// and the value is the bilinear blend of the 4 pixels around (sy, sx).
#pragma once
#include "core/tensor.h"

namespace tdseg::ops {

Tensor resize_bilinear(const Tensor& x, int64_t out_h, int64_t out_w);

}  // namespace tdseg::ops
