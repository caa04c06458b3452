// The discrete gradient and divergence of single-channel images (the star-shape prior).
//   image_grad: u [N, 1, H, W] -> [N, 2, H, W], forward differences, 0 on the far edge:
//     out[n, 0, y, x] = x < W-1 ? u[n, 0, y, x+1] - u[n, 0, y, x] : 0   (along columns)
//     out[n, 1, y, x] = y < H-1 ? u[n, 0, y+1, x] - u[n, 0, y, x] : 0   (along rows)
//   image_div: w [N, 2, H, W] -> [N, 1, H, W], the negative adjoint of image_grad,
//     <image_grad(a), w> = -<a, image_div(w)> for all a, w, which gives the backward
//     differences with w read as 0 at x = -1 and x = W-1 (likewise y = -1 and y = H-1):
//     out[n, 0, y, x] = (x < W-1 ? w[n, 0, y, x] : 0) - (x > 0 ? w[n, 0, y, x-1] : 0)
//                     + (y < H-1 ? w[n, 1, y, x] : 0) - (y > 0 ? w[n, 1, y-1, x] : 0)
// Backward: image_grad's is -image_div(dy), image_div's is -image_grad(dy).
#pragma once
#include "core/tensor.h"

namespace tdseg::ops {

Tensor image_grad(const Tensor& u);
Tensor image_div(const Tensor& w);

}  // namespace tdseg::ops
