// Bilinear resize, align_corners=True (the maths is in core/ops/resize.h). Output sample o
// of an axis reads input samples i0 = floor(o * scale) and i1 = min(i0 + 1, in - 1) with
// weights 1 - l and l, l = o * scale - i0, scale = (in - 1) / (out - 1) (0 when out == 1):
// the CPU's taps(), computed in the same double arithmetic.
//
// The backward is a gather, not a scatter: each input pixel sums, in double, the dy of the
// output pixels that read it, weighted as they read it. A scatter would need atomicAdd,
// whose float32 order (hence result) changes from run to run and which contends where
// upsampling makes many outputs hit one input; the gather is deterministic, writes each
// dx once, and needs no zero fill.
#include "cuda/context.h"
#include "cuda/launch.h"
#include "cuda/ops/resize.h"

namespace tdseg::cuda {

namespace {

struct Tap {
  int64_t i0, i1;  // the two input indices
  double l;        // weight of i1; i0 gets 1 - l
};

__device__ inline Tap tap(int64_t o, int64_t in, double scale) {
  const double src = o * scale;
  const int64_t i0 = min(static_cast<int64_t>(floor(src)), in - 1);
  return {i0, min(i0 + 1, in - 1), src - i0};
}

// The weight with which output sample o reads input sample i (both taps may be i).
__device__ inline double weight_of(const Tap& t, int64_t i) {
  return (t.i0 == i ? 1 - t.l : 0.0) + (t.i1 == i ? t.l : 0.0);
}

inline double scale_of(int64_t in, int64_t out) {
  return out > 1 ? static_cast<double>(in - 1) / (out - 1) : 0.0;
}

// One thread per output pixel: reads 4 input pixels (neighbouring threads share them
// through the cache) and writes sizeof(T) bytes.
template <typename T>
__global__ void resize_forward(int64_t n, int64_t H, int64_t W, int64_t OH, int64_t OW,
                               double sy, double sx, const T* __restrict__ x,
                               T* __restrict__ out) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t ox = i % OW, oy = i / OW % OH, k = i / (OW * OH);
    const Tap a = tap(oy, H, sy), b = tap(ox, W, sx);
    const T* p = x + k * H * W;
    const double top = p[a.i0 * W + b.i0] * (1 - b.l) + p[a.i0 * W + b.i1] * b.l;
    const double bot = p[a.i1 * W + b.i0] * (1 - b.l) + p[a.i1 * W + b.i1] * b.l;
    out[i] = static_cast<T>(top * (1 - a.l) + bot * a.l);
  }
}

// The output samples [lo, hi] that may read input sample i: they have o * scale in
// [i - 1, i + 1), so o in [(i - 1) / scale, (i + 1) / scale), widened by one on each side
// against rounding; weight_of() then decides exactly, with the forward's own taps. With
// scale == 0 every output sample reads input 0 (and input min(1, in - 1) with weight 0).
__device__ inline void readers(int64_t i, int64_t out, double scale, int64_t& lo, int64_t& hi) {
  if (scale == 0) {
    lo = 0;
    hi = out - 1;
    return;
  }
  lo = max(int64_t(0), static_cast<int64_t>(floor((i - 1) / scale)) - 1);
  hi = min(out - 1, static_cast<int64_t>(ceil((i + 1) / scale)) + 1);
}

// One thread per input pixel: dx[k, iy, ix] = sum over (oy, ox) of dy[k, oy, ox] *
// w(oy -> iy) * w(ox -> ix). Reads about (2 / sy + 3) * (2 / sx + 3) dy values (the
// readers' window, shared by neighbouring threads through the cache) and writes
// sizeof(T) bytes.
template <typename T>
__global__ void resize_backward(int64_t n, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                double sy, double sx, const T* __restrict__ dy,
                                T* __restrict__ dx) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t ix = i % W, iy = i / W % H, k = i / (W * H);
    const T* g = dy + k * OH * OW;
    int64_t y_lo, y_hi, x_lo, x_hi;
    readers(iy, OH, sy, y_lo, y_hi);
    readers(ix, OW, sx, x_lo, x_hi);
    double s = 0;
    for (int64_t oy = y_lo; oy <= y_hi; ++oy) {
      const double wy = weight_of(tap(oy, H, sy), iy);
      if (wy == 0) continue;
      for (int64_t ox = x_lo; ox <= x_hi; ++ox) {
        const double wx = weight_of(tap(ox, W, sx), ix);
        if (wx != 0) s += g[oy * OW + ox] * wy * wx;
      }
    }
    dx[i] = static_cast<T>(s);
  }
}

}  // namespace

void resize_bilinear(const Tensor& x, const Tensor& out) {
  const int64_t H = x.size(2), W = x.size(3), OH = out.size(2), OW = out.size(3);
  const int64_t n = out.numel();
  if (n == 0) return;
  dispatch_floating(x.dtype(), "cuda resize_bilinear", [&](auto tag) {
    using T = decltype(tag);
    resize_forward<<<blocks_for(n), kThreads, 0, stream(x)>>>(
        n, H, W, OH, OW, scale_of(H, OH), scale_of(W, OW), ptr<T>(x), ptr<T>(out));
  });
  TDSEG_LAUNCH_CHECK();
}

void resize_bilinear_backward(const Tensor& dy, const Tensor& dx) {
  const int64_t H = dx.size(2), W = dx.size(3), OH = dy.size(2), OW = dy.size(3);
  const int64_t n = dx.numel();
  if (n == 0) return;
  dispatch_floating(dy.dtype(), "cuda resize_bilinear backward", [&](auto tag) {
    using T = decltype(tag);
    resize_backward<<<blocks_for(n), kThreads, 0, stream(dy)>>>(
        n, H, W, OH, OW, scale_of(H, OH), scale_of(W, OW), ptr<T>(dy), ptr<T>(dx));
  });
  TDSEG_LAUNCH_CHECK();
}

}  // namespace tdseg::cuda
