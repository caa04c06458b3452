// CUDA twin of core/ops/conv2d.cpp. Tensors are contiguous and on one device, outputs
// preallocated and overwritten; the core validated shapes, dtypes and devices.
//
// General path: cuDNN (cuda/cudnn_conv.h). Depthwise path (groups == C > 1, at most
// kMaxDepthwiseTaps = 9 taps, e.g. the 3x3 atrous convolutions of Xception and ASPP):
// cuDNN or the handwritten kernels of cuda/ops/conv2d.cu, chosen by set_depthwise_kernel.
//
// 1x1 convolutions stay on cuDNN as well. In NCHW a 1x1 convolution with stride 1 is the
// batched product out[n] = W [M, C] @ x[n] [C, H*W], which cuda::gemm (cuda/blas.h) could
// do as a strided batched GEMM; but cuDNN's own GEMM-based algorithms cover that form and
// the algorithm cache already picks among them, so a second route would only be worth its
// code if a measurement showed it faster. None has been made (`tdseg bench ops` prints
// the 1x1 shapes of DeepLabV3+ next to cuDNN's best).
#pragma once
#include "core/tensor.h"

namespace tdseg::ops {
struct Conv2dOptions;
}

namespace tdseg::cuda {

// out = conv2d(x, w) + bias; bias may be undefined.
void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& out,
                    const ops::Conv2dOptions& o);
// dx, dw, db (the gradients of x, w and bias given dy); an undefined one is skipped.
void conv2d_backward(const Tensor& x, const Tensor& w, const Tensor& dy, const Tensor& dx,
                     const Tensor& dw, const Tensor& db, const ops::Conv2dOptions& o);

// Which implementation runs depthwise convolutions: cuDNN by default, because it was the
// faster on the GPU in every direction measured. `tdseg bench ops` on an H100 (2026-11-25,
// float32, median of 50; cuDNN ms / handwritten ms):
//   [16, 728, 33, 33]    fwd 0.143 / 0.323   bwd data 0.197 / 0.703   bwd filter 0.261 / 0.435
//   [16, 728, 129, 129]  fwd 1.714 / 4.668   bwd data 2.539 / 10.465  bwd filter 1.825 / 6.514
//   [16, 2048, 33, 33], dilation 6 (ASPP)
//                        fwd 0.351 / 0.864   bwd data 0.494 / 1.870   bwd filter 0.737 / 1.046
// The handwritten kernels (1.4 to 4.1 times slower) stay as an option (set here, or
// TDSEG_DEPTHWISE=handwritten in the environment) and as a check of cuDNN's results.
enum class DepthwiseKernel { Cudnn, Handwritten };
void set_depthwise_kernel(DepthwiseKernel kernel);
DepthwiseKernel depthwise_kernel();

}  // namespace tdseg::cuda
