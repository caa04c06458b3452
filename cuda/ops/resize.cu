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
//
// The taps of both axes are computed once per call, into a table the kernels read through
// the cache (a tap is a floor of a double product: cheap, but not once per candidate
// reader). The grids run over the planes (cuda/plane_grid.cuh), with 32-bit indices
// within a plane.
#include "cuda/context.h"
#include "cuda/launch.h"
#include "cuda/ops/resize.h"
#include "cuda/plane_grid.cuh"

namespace tdseg::cuda {

namespace {

struct Tap {
  int i0, i1;  // the two input indices
  double l;    // weight of i1; i0 gets 1 - l
};

__device__ inline Tap tap(int o, int in, double scale) {
  const double src = o * scale;
  const int i0 = min(static_cast<int>(floor(src)), in - 1);
  return {i0, min(i0 + 1, in - 1), src - i0};
}

// The weight with which output sample o, of taps t, reads input sample i (both taps may be i).
__device__ inline double weight_of(const Tap& t, int i) {
  return (t.i0 == i ? 1 - t.l : 0.0) + (t.i1 == i ? t.l : 0.0);
}

inline double scale_of(int64_t in, int64_t out) {
  return out > 1 ? static_cast<double>(in - 1) / (out - 1) : 0.0;
}

// taps[0, OH) of the rows, taps[OH, OH + OW) of the columns.
__global__ void make_taps(int H, int OH, double sy, int W, int OW, double sx, Tap* taps) {
  for (int o = blockIdx.x * blockDim.x + threadIdx.x; o < OH + OW; o += gridDim.x * blockDim.x)
    taps[o] = o < OH ? tap(o, H, sy) : tap(o - OH, W, sx);
}

// One thread per output pixel: reads 4 input pixels (neighbouring threads share them
// through the cache) and writes sizeof(T) bytes.
template <typename T>
__global__ void resize_forward(int H, int W, int OH, int OW, const Tap* __restrict__ ty,
                               const Tap* __restrict__ tx, const T* __restrict__ x,
                               T* __restrict__ out) {
  const int64_t k = blockIdx.x;
  for_plane(OH * OW, [&](int64_t pixel) {
    const int i = static_cast<int>(pixel);
    const int oy = i / OW, ox = i - oy * OW;
    const Tap a = ty[oy], b = tx[ox];
    const T* p = x + k * H * W;
    const double top = p[a.i0 * W + b.i0] * (1 - b.l) + p[a.i0 * W + b.i1] * b.l;
    const double bot = p[a.i1 * W + b.i0] * (1 - b.l) + p[a.i1 * W + b.i1] * b.l;
    out[k * OH * OW + i] = static_cast<T>(top * (1 - a.l) + bot * a.l);
  });
}

// The output samples [lo, hi] that may read input sample i: they have o * scale in
// [i - 1, i + 1), so o in [(i - 1) / scale, (i + 1) / scale), widened by one on each side
// against rounding; weight_of() then decides exactly, with the forward's own taps. With
// scale == 0 every output sample reads input 0 (and input min(1, in - 1) with weight 0).
__device__ inline void readers(int i, int out, double scale, int& lo, int& hi) {
  if (scale == 0) {
    lo = 0;
    hi = out - 1;
    return;
  }
  lo = max(0, static_cast<int>(floor((i - 1) / scale)) - 1);
  hi = min(out - 1, static_cast<int>(ceil((i + 1) / scale)) + 1);
}

// One thread per input pixel: dx[k, iy, ix] = sum over (oy, ox) of w(oy -> iy) *
// dy[k, oy, ox] * w(ox -> ix). Reads about (2 / sy + 3) * (2 / sx + 3) dy values (the
// readers' window, shared by neighbouring threads through the cache) and writes
// sizeof(T) bytes.
template <typename T>
__global__ void resize_backward(int H, int W, int OH, int OW, double sy, double sx,
                                const Tap* __restrict__ ty, const Tap* __restrict__ tx,
                                const T* __restrict__ dy, T* __restrict__ dx) {
  const int64_t k = blockIdx.x;
  for_plane(H * W, [&](int64_t pixel) {
    const int i = static_cast<int>(pixel);
    const int iy = i / W, ix = i - iy * W;
    int y_lo, y_hi, x_lo, x_hi;
    readers(iy, OH, sy, y_lo, y_hi);
    readers(ix, OW, sx, x_lo, x_hi);
    double s = 0;
    for (int oy = y_lo; oy <= y_hi; ++oy) {
      const double wy = weight_of(ty[oy], iy);
      if (wy == 0) continue;
      const T* g = dy + (k * OH + oy) * OW;
      double row = 0;
      for (int ox = x_lo; ox <= x_hi; ++ox) {
        const double wx = weight_of(tx[ox], ix);
        if (wx != 0) row += g[ox] * wx;
      }
      s += wy * row;
    }
    dx[k * H * W + i] = static_cast<T>(s);
  });
}

// The taps of the resize from [H, W] to [OH, OW], on x's device (OH + OW entries).
Tensor taps_for(const Tensor& like, int64_t H, int64_t W, int64_t OH, int64_t OW) {
  const int64_t n = OH + OW, bytes = n * int64_t(sizeof(Tap));
  const Tensor t = Tensor::empty({(bytes + 7) / 8}, DType::Float64, like.device());
  make_taps<<<blocks_for(n), kThreads, 0, stream(like)>>>(
      int(H), int(OH), scale_of(H, OH), int(W), int(OW), scale_of(W, OW),
      static_cast<Tap*>(t.data_ptr()));
  return t;
}

// The kernels index a plane in 32 bits.
void check_plane(const char* op, int64_t H, int64_t W) {
  check<ShapeError>(H * W < (int64_t(1) << 31), op, ": a plane of ", H, "x", W,
                    " has 2^31 pixels or more, beyond the kernels' 32-bit indices");
}

}  // namespace

void resize_bilinear(const Tensor& x, const Tensor& out) {
  const int64_t H = x.size(2), W = x.size(3), OH = out.size(2), OW = out.size(3);
  const int64_t planes = x.size(0) * x.size(1);
  if (out.numel() == 0) return;
  check_plane("cuda resize_bilinear", std::max(H, OH), std::max(W, OW));
  const Tensor taps = taps_for(x, H, W, OH, OW);
  const Tap* ty = static_cast<const Tap*>(taps.data_ptr());
  dispatch_floating(x.dtype(), "cuda resize_bilinear", [&](auto tag) {
    using T = decltype(tag);
    resize_forward<<<plane_grid(planes, OH * OW), kThreads, 0, stream(x)>>>(
        int(H), int(W), int(OH), int(OW), ty, ty + OH, ptr<T>(x), ptr<T>(out));
  });
  TDSEG_LAUNCH_CHECK();
}

void resize_bilinear_backward(const Tensor& dy, const Tensor& dx) {
  const int64_t H = dx.size(2), W = dx.size(3), OH = dy.size(2), OW = dy.size(3);
  const int64_t planes = dx.size(0) * dx.size(1);
  if (dx.numel() == 0) return;
  check_plane("cuda resize_bilinear backward", std::max(H, OH), std::max(W, OW));
  const Tensor taps = taps_for(dy, H, W, OH, OW);
  const Tap* ty = static_cast<const Tap*>(taps.data_ptr());
  dispatch_floating(dy.dtype(), "cuda resize_bilinear backward", [&](auto tag) {
    using T = decltype(tag);
    resize_backward<<<plane_grid(planes, H * W), kThreads, 0, stream(dy)>>>(
        int(H), int(W), int(OH), int(OW), scale_of(H, OH), scale_of(W, OW), ty, ty + OH,
        ptr<T>(dy), ptr<T>(dx));
  });
  TDSEG_LAUNCH_CHECK();
}

}  // namespace tdseg::cuda
