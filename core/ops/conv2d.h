// 2-D convolution (cross-correlation, as in every DL framework) over NCHW tensors.
//   x: [N, C, H, W], weight: [M, C/groups, KH, KW], bias: [M] or undefined.
//   out[n, m, oy, ox] = bias[m] + sum_{c, ky, kx} weight[m, c, ky, kx]
//                         * x[n, g*C/groups + c, oy*sh - ph + ky*dh, ox*sw - pw + kx*dw]
//   where g = m / (M/groups) and x is zero outside [0, H) x [0, W).
//   OH = (H + 2*ph - dh*(KH-1) - 1) / sh + 1, and likewise OW.
// Depthwise convolution is groups = C (each input channel feeds M/C outputs).
#pragma once
#include <array>

#include "core/tensor.h"

namespace tdseg::ops {

struct Conv2dOptions {
  std::array<int64_t, 2> stride{1, 1};    // (h, w)
  std::array<int64_t, 2> padding{0, 0};   // zeros added on both sides, (h, w)
  std::array<int64_t, 2> dilation{1, 1};  // (h, w); the atrous rate
  int64_t groups = 1;

  Conv2dOptions() = default;
  Conv2dOptions(int64_t stride, int64_t padding, int64_t dilation = 1, int64_t groups = 1)
      : stride{stride, stride}, padding{padding, padding}, dilation{dilation, dilation},
        groups(groups) {}
};

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
              const Conv2dOptions& options = {});

// The output spatial size, or a ShapeError naming the op when it would be empty.
std::array<int64_t, 2> conv2d_output_size(const Shape& x, const Shape& weight,
                                          const Conv2dOptions& options);

}  // namespace tdseg::ops
