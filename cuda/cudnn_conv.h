// Convolutions through cuDNN (its convolution API of cudnnConvolution* calls), the general
// path of cuda/ops/conv2d.cu: any stride, padding, dilation and groups, float32 and
// float64, NCHW. Tensors are contiguous, on one device, outputs preallocated; every call
// is queued on the device's stream and overwrites its output (beta = 0), except
// cudnn_add_bias which adds into it.
//
// Algorithms. Each direction (forward, backward data, backward filter) picks its algorithm
// once per key (direction, device, dtype, shapes, stride, padding, dilation, groups, math
// mode, search mode) and caches it for the life of the process:
//   Heuristic (default): cudnnGet*Algorithm_v7, cuDNN's ranking without running anything;
//   Timed: cudnnFind*AlgorithmEx, which runs every algorithm on the call's own buffers once
//          and ranks them by measured time (slower first call, for fixed-shape training).
// Either way the first ranked algorithm that succeeded, respects the math mode, and whose
// workspace the caching allocator can give right now is taken. Workspace is a
// Tensor::empty on the device, so it comes from and returns to the caching allocator.
//
// Math mode. float32 uses CUDNN_DEFAULT_MATH while cuda::allow_tf32() (TF32 tensor cores on
// Ampere and newer) and CUDNN_FMA_MATH otherwise (strict IEEE float32); float64 uses
// CUDNN_DEFAULT_MATH and never TF32. Algorithms whose math type would convert float32 to
// half (CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) are never taken.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace tdseg::ops {
struct Conv2dOptions;
}

namespace tdseg::cuda {

enum class ConvAlgoSearch { Heuristic, Timed };
// Heuristic until set (a run's cuda.conv_search, train/setup.h). The mode is part of the
// cache key: switching it searches each shape again once.
void set_conv_algo_search(ConvAlgoSearch search);
ConvAlgoSearch conv_algo_search();
// How many algorithm searches (heuristic or timed) ran so far, all devices: a call whose
// key is already cached adds nothing.
int64_t conv_algo_searches();

// y = conv(x, w)
void cudnn_conv_forward(const Tensor& x, const Tensor& w, const Tensor& y,
                        const ops::Conv2dOptions& o);
// dx = the adjoint of conv(., w) applied to dy
void cudnn_conv_backward_data(const Tensor& w, const Tensor& dy, const Tensor& dx,
                              const ops::Conv2dOptions& o);
// dw[m, c, ky, kx] = sum over n, oy, ox of dy[n, m, oy, ox] * x[n, g*Cg + c, iy, ix]
void cudnn_conv_backward_filter(const Tensor& x, const Tensor& dy, const Tensor& dw,
                                const ops::Conv2dOptions& o);
void cudnn_add_bias(const Tensor& y, const Tensor& bias);  // y[n, m, :, :] += bias[m]
void cudnn_bias_grad(const Tensor& dy, const Tensor& db);  // db[m] = sum of dy[:, m, :, :]

// The time cudnnFind*AlgorithmEx measured for its fastest usable algorithm of each
// direction on this problem (scratch outputs are allocated here; the cache is neither
// read nor written): the yardstick of `tdseg bench ops`.
struct ConvBestTimes {
  double forward_ms = 0, backward_data_ms = 0, backward_filter_ms = 0;
};
ConvBestTimes cudnn_conv_best_times(const Tensor& x, const Tensor& w, const Tensor& dy,
                                    const ops::Conv2dOptions& o);

}  // namespace tdseg::cuda
