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

// Which implementation runs depthwise convolutions. The default is cuDNN, and stays so
// until `tdseg bench ops` has measured both on a GPU: nothing has been measured yet, so
// the handwritten kernels are an option (set here, or TDSEG_DEPTHWISE=handwritten in the
// environment), not the default.
enum class DepthwiseKernel { Cudnn, Handwritten };
void set_depthwise_kernel(DepthwiseKernel kernel);
DepthwiseKernel depthwise_kernel();

}  // namespace tdseg::cuda
