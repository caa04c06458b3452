// conv2d on the GPU: the dispatch between cuDNN and the handwritten depthwise kernels, and
// those kernels, forward and backward side by side (the CPU twin is core/ops/conv2d.cpp).
//
// Depthwise convolution, groups = C, M = C * mult output channels, output channel m reading
// input channel c = m / mult through its own KH x KW filter:
//   y[n, m, oy, ox] = b[m] + sum_{ky, kx} w[m, ky, kx] * x[n, c, oy*sh - ph + ky*dh, ox*sw - pw + kx*dw]
// (x is zero outside the image). Its gradients (the chain rule on that sum):
//   dx[n, c, iy, ix] = sum_{m of c, ky, kx} w[m, ky, kx] * dy[n, m, oy, ox]
//                      over the taps with oy*sh = iy + ph - ky*dh and ox*sw = ix + pw - kx*dw
//   dw[m, ky, kx]    = sum_{n, oy, ox} dy[n, m, oy, ox] * x[n, c, oy*sh - ph + ky*dh, ...]
// 2*KH*KW flops per output element against (at best) one read of x and one write of y:
// about 4.5 flops per byte for a 3x3 in float32, far below any GPU's ratio, so all three
// kernels are bound by memory bandwidth and are written for coalesced access and for
// reuse of the neighbouring taps through L1/L2, with no shared-memory tiling.
#include "core/device_memory.h"
#include "core/ops/conv2d.h"
#include "cuda/block_reduce.cuh"
#include "cuda/context.h"
#include "cuda/cudnn_conv.h"
#include "cuda/launch.h"
#include "cuda/ops/conv2d.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

namespace tdseg::cuda {

namespace {

constexpr int kMaxDepthwiseTaps = 9;  // the filter gradient keeps one accumulator per tap
constexpr int kMaxFilterSplits = 64;

struct Geometry {
  int64_t N, C, H, W;  // input
  int64_t M, KH, KW;   // weight [M, C/groups, KH, KW]
  int64_t OH, OW;      // output
  int64_t sh, sw, ph, pw, dh, dw, groups;
  __host__ __device__ int64_t mult() const { return M / C; }  // outputs per input channel
  __host__ __device__ int64_t taps() const { return KH * KW; }
};

Geometry geometry(const Tensor& x, const Tensor& w, const Shape& y, const ops::Conv2dOptions& o) {
  return {x.size(0), x.size(1), x.size(2), x.size(3), w.size(0), w.size(2), w.size(3), y[2], y[3],
          o.stride[0], o.stride[1], o.padding[0], o.padding[1], o.dilation[0], o.dilation[1],
          o.groups};
}

DepthwiseKernel initial_depthwise_kernel() {
  const char* e = std::getenv("TDSEG_DEPTHWISE");
  return e && std::strcmp(e, "handwritten") == 0 ? DepthwiseKernel::Handwritten
                                                 : DepthwiseKernel::Cudnn;
}
std::atomic<DepthwiseKernel> g_depthwise{initial_depthwise_kernel()};

bool use_handwritten(const Geometry& g) {
  return g_depthwise == DepthwiseKernel::Handwritten && g.groups == g.C && g.groups > 1 &&
         g.taps() <= kMaxDepthwiseTaps;
}

// The coordinates (n, c, y, x) of flat index i in a contiguous [N, C, H, W] tensor.
struct Nchw {
  int64_t n, c, y, x;
};
__device__ inline Nchw unravel_nchw(int64_t i, int64_t C, int64_t H, int64_t W) {
  const int64_t nc = i / (W * H);  // n * C + c
  return {nc / C, nc % C, (i / W) % H, i % W};
}

// Forward: one thread per output element, consecutive threads along ox (coalesced writes,
// reads at stride sw). KH*KW loads per output that neighbouring threads share in cache,
// so DRAM traffic is about (|x| + |y|) * sizeof(T) bytes.
template <typename T>
__global__ void depthwise_forward(Geometry g, const T* __restrict__ x, const T* __restrict__ w,
                                  const T* __restrict__ bias, T* __restrict__ y) {
  const int64_t total = g.N * g.M * g.OH * g.OW;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const auto [n, m, oy, ox] = unravel_nchw(i, g.M, g.OH, g.OW);
    const T* plane = x + (n * g.C + m / g.mult()) * g.H * g.W;
    const T* f = w + m * g.taps();
    T acc = 0;
    for (int64_t ky = 0; ky < g.KH; ++ky) {
      const int64_t iy = oy * g.sh - g.ph + ky * g.dh;
      if (iy < 0 || iy >= g.H) continue;
      for (int64_t kx = 0; kx < g.KW; ++kx) {
        const int64_t ix = ox * g.sw - g.pw + kx * g.dw;
        if (ix >= 0 && ix < g.W) acc += f[ky * g.KW + kx] * plane[iy * g.W + ix];
      }
    }
    y[i] = bias ? acc + bias[m] : acc;
  }
}

// Backward data, in gather form: one thread per input element sums the outputs that read
// it, so no atomics and a deterministic result. Traffic about (|dy| + |dx|) * sizeof(T).
template <typename T>
__global__ void depthwise_backward_data(Geometry g, const T* __restrict__ w,
                                        const T* __restrict__ dy, T* __restrict__ dx) {
  const int64_t total = g.N * g.C * g.H * g.W;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const auto [n, c, iy, ix] = unravel_nchw(i, g.C, g.H, g.W);
    T acc = 0;
    for (int64_t m = c * g.mult(); m < (c + 1) * g.mult(); ++m) {
      const T* f = w + m * g.taps();
      const T* d = dy + (n * g.M + m) * g.OH * g.OW;
      for (int64_t ky = 0; ky < g.KH; ++ky) {
        const int64_t ty = iy + g.ph - ky * g.dh;  // = oy * sh for a tap that reads iy
        if (ty < 0 || ty % g.sh != 0 || ty / g.sh >= g.OH) continue;
        for (int64_t kx = 0; kx < g.KW; ++kx) {
          const int64_t tx = ix + g.pw - kx * g.dw;
          if (tx < 0 || tx % g.sw != 0 || tx / g.sw >= g.OW) continue;
          acc += f[ky * g.KW + kx] * d[(ty / g.sh) * g.OW + tx / g.sw];
        }
      }
    }
    dx[i] = acc;
  }
}

// Backward filter, pass 1: block (m, s) sums its share s of the N*OH*OW positions of
// output channel m, one register accumulator per tap (the loops over kMaxDepthwiseTaps
// unroll, so acc stays in registers), then reduces each across the block into
// partial[s, m, tap]. Each dy element is read once, x's taps from cache: traffic about
// (|x| + |dy|) * sizeof(T).
template <typename T>
__global__ void depthwise_filter_partials(Geometry g, const T* __restrict__ x,
                                          const T* __restrict__ dy, T* __restrict__ partial) {
  const int64_t m = blockIdx.x, c = m / g.mult();
  const int64_t L = g.OH * g.OW, count = g.N * L;
  const int taps = static_cast<int>(g.taps());
  T acc[kMaxDepthwiseTaps];
#pragma unroll
  for (int t = 0; t < kMaxDepthwiseTaps; ++t) acc[t] = 0;
  for (int64_t i = blockIdx.y * int64_t(blockDim.x) + threadIdx.x; i < count;
       i += int64_t(gridDim.y) * blockDim.x) {
    const int64_t n = i / L, r = i % L, oy = r / g.OW, ox = r % g.OW;
    const T d = dy[(n * g.M + m) * L + r];
    const T* plane = x + (n * g.C + c) * g.H * g.W;
#pragma unroll
    for (int t = 0; t < kMaxDepthwiseTaps; ++t) {
      if (t < taps) {
        const int64_t iy = oy * g.sh - g.ph + (t / g.KW) * g.dh;
        const int64_t ix = ox * g.sw - g.pw + (t % g.KW) * g.dw;
        if (iy >= 0 && iy < g.H && ix >= 0 && ix < g.W) acc[t] += d * plane[iy * g.W + ix];
      }
    }
  }
#pragma unroll
  for (int t = 0; t < kMaxDepthwiseTaps; ++t) {
    if (t < taps) {  // the same for the whole block: every thread reaches block_sum
      const T s = block_sum(acc[t]);
      if (threadIdx.x == 0) partial[(blockIdx.y * g.M + m) * taps + t] = s;
    }
  }
}

// Backward filter, pass 2: dw[i] = sum over the splits s of partial[s, i], in order (so
// the result does not depend on scheduling), i = m * taps + tap.
template <typename T>
__global__ void depthwise_filter_finish(int64_t n, int splits, const T* __restrict__ partial,
                                        T* __restrict__ dw) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    T s = 0;
    for (int k = 0; k < splits; ++k) s += partial[k * n + i];
    dw[i] = s;
  }
}

// Enough splits of each channel's positions for about four blocks per SM in all, each
// split at least a block's worth of positions.
int filter_splits(const Geometry& g, int sm_count) {
  const int64_t want = (4 * int64_t(sm_count) + g.M - 1) / g.M;
  const int64_t most = (g.N * g.OH * g.OW + kThreads - 1) / kThreads;
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>({want, most, kMaxFilterSplits})));
}

template <typename T>
void depthwise_filter_grad(const Geometry& g, const Tensor& x, const Tensor& dy, const Tensor& dw) {
  const int splits = filter_splits(g, context(x).sm_count);
  const int64_t n = g.M * g.taps();
  const Tensor partial = Tensor::empty({splits * n}, x.dtype(), x.device());
  const dim3 grid(static_cast<unsigned>(g.M), static_cast<unsigned>(splits));
  depthwise_filter_partials<<<grid, kThreads, 0, stream(x)>>>(g, ptr<T>(x), ptr<T>(dy),
                                                              ptr<T>(partial));
  TDSEG_LAUNCH_CHECK();
  depthwise_filter_finish<<<blocks_for(n), kThreads, 0, stream(x)>>>(n, splits, ptr<T>(partial),
                                                                      ptr<T>(dw));
  TDSEG_LAUNCH_CHECK();
}

}  // namespace

void set_depthwise_kernel(DepthwiseKernel kernel) { g_depthwise = kernel; }
DepthwiseKernel depthwise_kernel() { return g_depthwise; }

void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& out,
                    const ops::Conv2dOptions& o) {
  if (out.numel() == 0) return;
  if (x.numel() == 0) {  // no input channels: the output is the bias alone
    device_memory::zero(out.data_ptr(), out.device(), out.numel() * dtype_size(out.dtype()));
    if (bias.defined()) cudnn_add_bias(out, bias);
    return;
  }
  const Geometry g = geometry(x, w, out.shape(), o);
  if (use_handwritten(g)) {
    dispatch_floating(x.dtype(), "cuda depthwise conv2d", [&](auto tag) {
      using T = decltype(tag);
      depthwise_forward<<<blocks_for(out.numel()), kThreads, 0, stream(x)>>>(
          g, ptr<T>(x), ptr<T>(w), bias.defined() ? ptr<T>(bias) : nullptr, ptr<T>(out));
    });
    TDSEG_LAUNCH_CHECK();
    return;
  }
  cudnn_conv_forward(x, w, out, o);
  if (bias.defined()) cudnn_add_bias(out, bias);
}

void conv2d_backward(const Tensor& x, const Tensor& w, const Tensor& dy, const Tensor& dx,
                     const Tensor& dw, const Tensor& db, const ops::Conv2dOptions& o) {
  if (x.numel() == 0 || dy.numel() == 0) {  // nothing flows to x or w: their gradients are zero
    for (const Tensor* t : {&dx, &dw})
      if (t->defined())
        device_memory::zero(t->data_ptr(), t->device(), t->numel() * dtype_size(t->dtype()));
    if (db.defined()) {  // the bias still receives dy when only x is empty (C = 0)
      if (dy.numel() > 0)
        cudnn_bias_grad(dy, db);
      else
        device_memory::zero(db.data_ptr(), db.device(), db.numel() * dtype_size(db.dtype()));
    }
    return;
  }
  const Geometry g = geometry(x, w, dy.shape(), o);
  if (use_handwritten(g)) {
    dispatch_floating(x.dtype(), "cuda depthwise conv2d backward", [&](auto tag) {
      using T = decltype(tag);
      if (dx.defined()) {
        depthwise_backward_data<<<blocks_for(dx.numel()), kThreads, 0, stream(x)>>>(
            g, ptr<T>(w), ptr<T>(dy), ptr<T>(dx));
        TDSEG_LAUNCH_CHECK();
      }
      if (dw.defined()) depthwise_filter_grad<T>(g, x, dy, dw);
    });
  } else {
    if (dx.defined()) cudnn_conv_backward_data(w, dy, dx, o);
    if (dw.defined()) cudnn_conv_backward_filter(x, dy, dw, o);
  }
  if (db.defined()) cudnn_bias_grad(dy, db);
}

}  // namespace tdseg::cuda
