// Bilinear resize, align_corners=True (the maths is in core/ops/resize.h). Output sample o
// of an axis reads input samples i0 = floor(o * scale) and i1 = min(i0 + 1, in - 1) with
// weights 1 - l and l, l = o * scale - i0, scale = (in - 1) / (out - 1) (0 when out == 1):
// the CPU's taps(), computed in the same double arithmetic.
//
// The backward is a gather, not a scatter: each input pixel sums, in double, the dy of the
// output pixels that read it, weighted as they read it (the rows first, then the columns).
// A scatter would need atomicAdd, whose float32 order (hence result) changes from run to
// run and which contends where upsampling makes many outputs hit one input; the gather is
// deterministic, writes each dx once, and needs no zero fill.
//
// The taps of both axes are computed once per call, into a table the kernels read through
// the cache (a tap is a floor of a double product: cheap, but not once per candidate
// reader). The forward's grid runs over the planes (cuda/plane_grid.cuh), the backward's
// over the planes' input rows, with 32-bit indices within a plane.
#include <algorithm>
#include <cmath>

#include "core/host_device.h"
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

// The taps reading input samples i0 and the next (the last for the last), i1 with weight l.
__device__ inline Tap tap_at(int i0, int in, double l) { return {i0, min(i0 + 1, in - 1), l}; }

__device__ inline Tap tap(int o, int in, double scale) {
  const double src = o * scale;
  const int i0 = min(static_cast<int>(floor(src)), in - 1);
  return tap_at(i0, in, src - i0);
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
// lo is not clamped at 0 (the gather's lanes step from it in lockstep); hi is at out - 1.
TDSEG_HD inline void readers(int i, int out, double scale, int& lo, int& hi) {
  if (scale == 0) {
    lo = 0;
    hi = out - 1;
    return;
  }
  lo = static_cast<int>(std::floor((i - 1) / scale)) - 1;
  hi = static_cast<int>(std::ceil((i + 1) / scale)) + 1;
  hi = hi < out - 1 ? hi : out - 1;
}

// The most readers() gives any input sample of [0, in): the gather's steps per column.
int most_readers(int64_t in, int64_t out, double scale) {
  int most = 0;
  for (int i = 0; i < in; ++i) {
    int lo, hi;
    readers(i, static_cast<int>(out), scale, lo, hi);
    most = std::max(most, hi - lo + 1);
  }
  return most;
}

// One block per input row iy of a plane k, the rows of a plane in consecutive blocks (so
// that the output rows two neighbouring input rows both read are still in L2 for the
// second), the grid looping over the rows beyond it:
// dx[k, iy, ix] = sum over ox of w(ox -> ix) * r[ox], where r[ox] = sum over oy of
// w(oy -> iy) * dy[k, oy, ox], the output rows that read row iy contracted first. The
// threads fill r, a chunk of columns at a time, each thread a column: each output row read
// whole by consecutive threads. Then each reads its input pixel's readers out of r in
// shared memory. Reading the readers' window straight from dy, as a thread per input pixel
// would, puts neighbouring threads s = OW / W columns apart: s times the sectors a warp
// needs (tests/tools/test_coalescing.cpp). Writes sizeof(T) bytes a thread; dy's rows are
// read by the two input rows each output row reads, the second time through the cache.
// Shared memory: `chunk` columns of r and of the columns' taps (i0 and l: i1 follows from
// i0), 20 B each, as three arrays of whole 128-byte rows.
constexpr int kMaxChunk = 1024;

// Where entry e of an array of E sits in shared memory: in its 128-byte row (the width of
// the 32 banks), rotated by the row's index modulo `period`. In the gather below lane ix
// reads entry about s ix + m of each array at its step m, s = (OW - 1) / (W - 1). Where s
// is 2^a b, b odd (DeepLabV3+'s upsampling: 2, 4 and 8), the lanes of a row fall in
// 1 / 2^a of its banks, each serving 2^a times the words it would with no conflict;
// rotating the rows by their index modulo period = 2^a puts the next rows' lanes in the
// banks this row's leave free: one pass for each 32 words. Elsewhere (s odd, or drifting
// from an integer by an entry or more over a warp) period is 1, no rotation: the lanes'
// offsets spread over the banks as they come. Consecutive entries, as the threads fill the
// arrays, fill whole rows. period and the row's length are powers of two: masks, not
// divisions.
template <typename E>
TDSEG_HD inline int rotated(int e, int period) {
  constexpr int kRow = 128 / sizeof(E);
  const int row = e / kRow;
  return row * kRow + ((e + (row & (period - 1))) & (kRow - 1));
}

// The entries an array of n takes: whole rows, which rotated() permutes.
template <typename E>
TDSEG_HD inline int whole_rows(int n) {
  constexpr int kRow = 128 / sizeof(E);
  return (n + kRow - 1) / kRow * kRow;
}

// The rotation period for an upsampling of [0, in) onto [0, out): 2^a of s's nearest
// integer 2^a b, where the 32 lanes of a warp drift less than an entry from it; else 1.
int rotation_period(int64_t in, int64_t out) {
  if (in < 2 || out <= in) return 1;
  const double s = static_cast<double>(out - 1) / (in - 1);
  const int64_t n = std::llround(s);
  if (std::abs(s - n) * 32 >= 1) return 1;
  return static_cast<int>(std::min<int64_t>(n & -n, 32));
}

template <typename T>
__global__ void resize_backward(int64_t planes, int H, int W, int OH, int OW, double sy,
                                double sx, int chunk, int steps, int period,
                                const Tap* __restrict__ ty, const Tap* __restrict__ tx,
                                const T* __restrict__ dy, T* __restrict__ dx) {
  extern __shared__ double r[];
  double* frac = r + whole_rows<double>(chunk);                      // the taps' l
  int* first = reinterpret_cast<int*>(frac + whole_rows<double>(chunk));  // and their i0
  for (int64_t row = blockIdx.x; row < planes * H; row += gridDim.x) {
    const int64_t k = row / H;
    const int iy = static_cast<int>(row - k * H);
    int y_lo, y_hi, lo, hi, unused;
    readers(iy, OH, sy, y_lo, y_hi);
    y_lo = max(y_lo, 0);
    for (int ix0 = 0; ix0 < W; ix0 += blockDim.x) {  // the input columns a thread each
      const int ix = ix0 + threadIdx.x, last = min(ix0 + static_cast<int>(blockDim.x), W) - 1;
      readers(ix0, OW, sx, lo, unused);  // readers() grows with its input: [lo, hi] covers
      readers(last, OW, sx, unused, hi);  // the readers of every column in [ix0, last]
      lo = max(lo, 0);
      int x_lo;
      readers(min(ix, W - 1), OW, sx, x_lo, unused);
      double s = 0;
      for (int c0 = lo; c0 <= hi; c0 += chunk) {
        const int c1 = min(hi + 1, c0 + chunk);
        for (int ox = c0 + threadIdx.x; ox < c1; ox += blockDim.x) {
          double v = 0;
          for (int oy = y_lo; oy <= y_hi; ++oy) {
            const double wy = weight_of(ty[oy], iy);
            if (wy != 0) v += wy * dy[(k * OH + oy) * OW + ox];
          }
          const Tap t = tx[ox];
          r[rotated<double>(ox - c0, period)] = v;
          frac[rotated<double>(ox - c0, period)] = t.l;
          first[rotated<int>(ox - c0, period)] = t.i0;  // tap_at() gives i1 back
        }
        __syncthreads();
        // Every lane takes the same steps from its first reader, in lockstep: a step is one
        // shared load for the warp, its lanes s entries apart (rotated()). A step past the
        // lane's readers adds nothing (weight_of), one outside the chunk loads the chunk's
        // nearest entry and drops it.
        if (ix < W)
          for (int m = 0; m < steps; ++m) {
            const int ox = x_lo + m;
            const int at = min(max(ox, c0), c1 - 1) - c0;
            const int d = rotated<double>(at, period);
            const double wx = weight_of(tap_at(first[rotated<int>(at, period)], W, frac[d]), ix);
            const double v = r[d];
            if (wx != 0 && ox >= c0 && ox < c1) s += wx * v;
          }
        __syncthreads();  // before the next chunk overwrites r
      }
      if (ix < W) dx[(k * H + iy) * W + ix] = static_cast<T>(s);
    }
  }
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

// resize_backward's grid: a block per input row of each plane, up to CUDA's 2^31 - 1.
unsigned backward_grid(int64_t planes, int64_t H) {
  return static_cast<unsigned>(std::min<int64_t>(planes * H, (int64_t(1) << 31) - 1));
}

// Its threads: as many as the wider of a row of dx and a chunk of r, in whole warps,
// at most kThreads (a small plane would leave most of kThreads idle).
int backward_threads(int64_t W, int64_t OW) {
  const int64_t widest = std::min<int64_t>(std::max(W, OW), kThreads);
  return static_cast<int>(std::max<int64_t>((widest + 31) / 32 * 32, 64));
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
    const int chunk = static_cast<int>(std::min<int64_t>(OW, kMaxChunk));
    const size_t shared =
        2 * whole_rows<double>(chunk) * sizeof(double) + whole_rows<int>(chunk) * sizeof(int);
    const double sx = scale_of(W, OW);
    resize_backward<<<backward_grid(planes, H), backward_threads(W, OW), shared, stream(dy)>>>(
        planes, int(H), int(W), int(OH), int(OW), scale_of(H, OH), sx, chunk,
        most_readers(W, OW, sx), rotation_period(W, OW), ty, ty + OH, ptr<T>(dy), ptr<T>(dx));
  });
  TDSEG_LAUNCH_CHECK();
}

}  // namespace tdseg::cuda
