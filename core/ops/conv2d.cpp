// conv2d on the CPU: forward and backward side by side.
//
// General path (im2col + GEMM), per image n and group g:
//   col   [Cg*KH*KW, OH*OW] = im2col(x[n, g])            (zeros where padded)
//   out   [Mg, OH*OW]       = W_g [Mg, Cg*KH*KW] @ col    (+ bias)
//   dW_g                   += dY_g @ col^T
//   dcol                    = W_g^T @ dY_g;  dx[n, g] += col2im(dcol)
// A 1x1 convolution with stride 1 and no padding skips im2col: col is x[n, g] itself.
// Depthwise path (groups == C): direct loops, because the GEMM there would have one
// row (M = 1) and run at a fraction of the BLAS speed; 2*KH*KW flops per output
// element against one read of the input plane per tap (from cache: planes are small).
// On a GPU both directions go to the CUDA twin (cuda/ops/conv2d.cu: cuDNN, or handwritten
// depthwise kernels).
#include "core/ops/conv2d.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/autograd.h"
#include "core/counters.h"
#include "core/device_memory.h"
#include "core/gemm.h"
#include "core/ops/checks.h"
#include "core/parallel.h"
#include "cuda/ops/conv2d.h"

namespace tdseg::ops {

namespace {

struct Geometry {
  int64_t N, C, H, W;      // input
  int64_t M, KH, KW;       // weight [M, C/groups, KH, KW]
  int64_t OH, OW;          // output
  int64_t sh, sw, ph, pw, dh, dw, groups;
  int64_t Cg() const { return C / groups; }
  int64_t Mg() const { return M / groups; }
  int64_t kernel_rows() const { return Cg() * KH * KW; }
  bool is_depthwise() const { return groups == C && groups > 1; }
  bool is_pointwise() const {
    return KH == 1 && KW == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0;
  }
};

Geometry geometry(const Tensor& x, const Tensor& w, const Conv2dOptions& o) {
  auto [OH, OW] = conv2d_output_size(x.shape(), w.shape(), o);
  return {x.size(0), x.size(1), x.size(2), x.size(3), w.size(0), w.size(2), w.size(3), OH, OW,
          o.stride[0], o.stride[1], o.padding[0], o.padding[1], o.dilation[0], o.dilation[1],
          o.groups};
}

// col[(c*KH + ky)*KW + kx, oy*OW + ox] = x[c, oy*sh - ph + ky*dh, ox*sw - pw + kx*dw]
template <typename T>
void im2col(const Geometry& g, const T* x, T* col) {
  const int64_t L = g.OH * g.OW;
#pragma omp parallel for if (g.kernel_rows() * L >= kParallelMinElements)
  for (int64_t c = 0; c < g.Cg(); ++c)
    for (int64_t ky = 0; ky < g.KH; ++ky)
      for (int64_t kx = 0; kx < g.KW; ++kx) {
        T* row = col + ((c * g.KH + ky) * g.KW + kx) * L;
        const T* plane = x + c * g.H * g.W;
        for (int64_t oy = 0; oy < g.OH; ++oy) {
          const int64_t iy = oy * g.sh - g.ph + ky * g.dh;
          T* out = row + oy * g.OW;
          if (iy < 0 || iy >= g.H) {
            std::memset(out, 0, g.OW * sizeof(T));
            continue;
          }
          for (int64_t ox = 0; ox < g.OW; ++ox) {
            const int64_t ix = ox * g.sw - g.pw + kx * g.dw;
            out[ox] = (ix >= 0 && ix < g.W) ? plane[iy * g.W + ix] : T(0);
          }
        }
      }
}

// The adjoint of im2col: dx[c, iy, ix] += dcol[row, oy*OW + ox] for every tap that read it.
template <typename T>
void col2im_add(const Geometry& g, const T* col, T* dx) {
  const int64_t L = g.OH * g.OW;
#pragma omp parallel for if (g.kernel_rows() * L >= kParallelMinElements)
  for (int64_t c = 0; c < g.Cg(); ++c)  // each thread owns whole input planes: no races
    for (int64_t ky = 0; ky < g.KH; ++ky)
      for (int64_t kx = 0; kx < g.KW; ++kx) {
        const T* row = col + ((c * g.KH + ky) * g.KW + kx) * L;
        T* plane = dx + c * g.H * g.W;
        for (int64_t oy = 0; oy < g.OH; ++oy) {
          const int64_t iy = oy * g.sh - g.ph + ky * g.dh;
          if (iy < 0 || iy >= g.H) continue;
          for (int64_t ox = 0; ox < g.OW; ++ox) {
            const int64_t ix = ox * g.sw - g.pw + kx * g.dw;
            if (ix >= 0 && ix < g.W) plane[iy * g.W + ix] += row[oy * g.OW + ox];
          }
        }
      }
}

template <typename T>
void forward_gemm(const Geometry& g, const T* x, const T* w, T* out) {
  const int64_t L = g.OH * g.OW, R = g.kernel_rows();
  std::vector<T> col(g.is_pointwise() ? 0 : R * L);
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t gr = 0; gr < g.groups; ++gr) {
      const T* xg = x + (n * g.C + gr * g.Cg()) * g.H * g.W;
      const T* c = xg;
      if (!g.is_pointwise()) {
        im2col(g, xg, col.data());
        c = col.data();
      }
      gemm<T>(false, false, g.Mg(), L, R, T(1), w + gr * g.Mg() * R, R, c, L, T(0),
              out + (n * g.M + gr * g.Mg()) * L, L);
    }
}

template <typename T>
void backward_gemm(const Geometry& g, const T* x, const T* w, const T* dy, T* dx, T* dw) {
  const int64_t L = g.OH * g.OW, R = g.kernel_rows();
  std::vector<T> col(g.is_pointwise() ? 0 : R * L), dcol(dx && !g.is_pointwise() ? R * L : 0);
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t gr = 0; gr < g.groups; ++gr) {
      const T* xg = x + (n * g.C + gr * g.Cg()) * g.H * g.W;
      const T* dyg = dy + (n * g.M + gr * g.Mg()) * L;
      const T* wg = w + gr * g.Mg() * R;
      if (dw) {
        const T* c = xg;
        if (!g.is_pointwise()) {
          im2col(g, xg, col.data());
          c = col.data();
        }
        gemm<T>(false, true, g.Mg(), R, L, T(1), dyg, L, c, L, T(1), dw + gr * g.Mg() * R, R);
      }
      if (dx) {
        T* dxg = dx + (n * g.C + gr * g.Cg()) * g.H * g.W;
        if (g.is_pointwise()) {  // dx = W^T dY straight into the input gradient
          gemm<T>(true, false, R, L, g.Mg(), T(1), wg, R, dyg, L, T(1), dxg, L);
        } else {
          gemm<T>(true, false, R, L, g.Mg(), T(1), wg, R, dyg, L, T(0), dcol.data(), L);
          col2im_add(g, dcol.data(), dxg);
        }
      }
    }
}

// The outputs o in [lo, hi) whose tap at input offset o*stride + shift lies in [0, in).
struct Span {
  int64_t lo, hi;
};
Span valid_span(int64_t shift, int64_t stride, int64_t in, int64_t out) {
  const int64_t lo = shift >= 0 ? 0 : (-shift + stride - 1) / stride;
  const int64_t hi = in - 1 - shift < 0 ? 0 : (in - 1 - shift) / stride + 1;
  return {lo, std::max(lo, std::min(hi, out))};
}

// Depthwise: output channel m reads input channel m / (M/C) with its own KH x KW filter.
// Shift-and-add form: for each tap (ky, kx) the valid output rows and columns are
// computed once, so the innermost loop is a branch-free axpy over a row that the
// compiler vectorises (unit stride when the convolution stride is 1).
template <typename T>
void forward_depthwise(const Geometry& g, const T* x, const T* w, T* out) {
  const int64_t mult = g.M / g.C;
#pragma omp parallel for collapse(2) if (g.N * g.M * g.OH * g.OW >= kParallelMinElements)
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t m = 0; m < g.M; ++m) {
      const T* plane = x + (n * g.C + m / mult) * g.H * g.W;
      const T* f = w + m * g.KH * g.KW;
      T* o = out + (n * g.M + m) * g.OH * g.OW;
      std::fill(o, o + g.OH * g.OW, T(0));
      for (int64_t ky = 0; ky < g.KH; ++ky) {
        const Span rows = valid_span(ky * g.dh - g.ph, g.sh, g.H, g.OH);
        for (int64_t kx = 0; kx < g.KW; ++kx) {
          const int64_t shift = kx * g.dw - g.pw;
          const Span cols = valid_span(shift, g.sw, g.W, g.OW);
          const T tap = f[ky * g.KW + kx];
          for (int64_t oy = rows.lo; oy < rows.hi; ++oy) {
            const T* src = plane + (oy * g.sh - g.ph + ky * g.dh) * g.W;
            T* dst = o + oy * g.OW;
            for (int64_t ox = cols.lo; ox < cols.hi; ++ox) dst[ox] += tap * src[ox * g.sw + shift];
          }
        }
      }
    }
}

template <typename T>
void backward_depthwise(const Geometry& g, const T* x, const T* w, const T* dy, T* dx, T* dw) {
  const int64_t mult = g.M / g.C;
  // Parallel over input channels: each owns its dx planes and its mult filters.
#pragma omp parallel for if (g.N * g.M * g.OH * g.OW >= kParallelMinElements)
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t m = c * mult; m < (c + 1) * mult; ++m)
      for (int64_t ky = 0; ky < g.KH; ++ky) {
        const Span rows = valid_span(ky * g.dh - g.ph, g.sh, g.H, g.OH);
        for (int64_t kx = 0; kx < g.KW; ++kx) {
          const int64_t shift = kx * g.dw - g.pw;
          const Span cols = valid_span(shift, g.sw, g.W, g.OW);
          const T tap = w[m * g.KH * g.KW + ky * g.KW + kx];
          double dtap = 0;  // dw[m, ky, kx] = sum over n, oy, ox of dy * x
          for (int64_t n = 0; n < g.N; ++n) {
            const int64_t in_plane = (n * g.C + c) * g.H * g.W;
            const T* d = dy + (n * g.M + m) * g.OH * g.OW;
            for (int64_t oy = rows.lo; oy < rows.hi; ++oy) {
              const int64_t at = in_plane + (oy * g.sh - g.ph + ky * g.dh) * g.W + shift;
              const T* drow = d + oy * g.OW;
              if (dw) {
                T acc = 0;
                for (int64_t ox = cols.lo; ox < cols.hi; ++ox) acc += drow[ox] * x[at + ox * g.sw];
                dtap += acc;
              }
              if (dx)
                for (int64_t ox = cols.lo; ox < cols.hi; ++ox) dx[at + ox * g.sw] += tap * drow[ox];
            }
          }
          if (dw) dw[m * g.KH * g.KW + ky * g.KW + kx] += static_cast<T>(dtap);
        }
      }
}

template <typename T>
void add_bias(const Geometry& g, const T* bias, T* out) {
  const int64_t L = g.OH * g.OW;
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t m = 0; m < g.M; ++m) {
      T* o = out + (n * g.M + m) * L;
      for (int64_t i = 0; i < L; ++i) o[i] += bias[m];
    }
}

// dbias[m] = sum over n, oy, ox of dy[n, m, oy, ox], accumulated in double.
template <typename T>
void bias_grad(const Geometry& g, const T* dy, T* db) {
  const int64_t L = g.OH * g.OW;
  for (int64_t m = 0; m < g.M; ++m) {
    double s = 0;
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t i = 0; i < L; ++i) s += dy[(n * g.M + m) * L + i];
    db[m] = static_cast<T>(s);
  }
}

struct Conv2dBackward : Node {
  Conv2dOptions options;
  explicit Conv2dBackward(const Conv2dOptions& o) : options(o) {}
  const char* name() const override { return "conv2d"; }
  std::vector<Tensor> backward(const Tensor& dy_in) override {
    const Tensor &x = inputs[0], &w = inputs[1], &b = inputs[2];
    const Geometry g = geometry(x, w, options);
    Tensor dy = dy_in.contiguous();
    if constexpr (kCudaBuilt) {
      if (x.device().is_cuda()) {  // the twin overwrites its outputs: no zeroing
        const Device d = x.device();
        Tensor dx = x.requires_grad() ? Tensor::empty(x.shape(), x.dtype(), d) : Tensor();
        Tensor dw = w.requires_grad() ? Tensor::empty(w.shape(), w.dtype(), d) : Tensor();
        Tensor db = b.defined() && b.requires_grad() ? Tensor::empty(b.shape(), b.dtype(), d)
                                                     : Tensor();
        cuda::conv2d_backward(x.contiguous(), w.contiguous(), dy, dx, dw, db, options);
        return {dx, dw, db};
      }
    }
    Tensor dx = x.requires_grad() ? Tensor::zeros(x.shape(), x.dtype()) : Tensor();
    Tensor dw = w.requires_grad() ? Tensor::zeros(w.shape(), w.dtype()) : Tensor();
    Tensor db = b.defined() && b.requires_grad() ? Tensor::empty(b.shape(), b.dtype()) : Tensor();
    dispatch_floating(x.dtype(), "conv2d backward", [&](auto tag) {
      using T = decltype(tag);
      T* pdx = dx.defined() ? dx.data<T>() : nullptr;
      T* pdw = dw.defined() ? dw.data<T>() : nullptr;
      if (pdx || pdw) {
        if (g.is_depthwise())
          backward_depthwise(g, x.data<T>(), w.data<T>(), dy.data<T>(), pdx, pdw);
        else
          backward_gemm(g, x.data<T>(), w.data<T>(), dy.data<T>(), pdx, pdw);
      }
      if (db.defined()) bias_grad(g, dy.data<T>(), db.data<T>());
    });
    return {dx, dw, db};
  }
};

}  // namespace

std::array<int64_t, 2> conv2d_output_size(const Shape& x, const Shape& w,
                                          const Conv2dOptions& o) {
  std::array<int64_t, 2> out{};
  for (int i = 0; i < 2; ++i) {
    const int64_t extent = o.dilation[i] * (w[2 + i] - 1) + 1;
    const int64_t padded = x[2 + i] + 2 * o.padding[i];
    check<ShapeError>(padded >= extent, "conv2d: input ", shape_str(x), " with padding ",
                      o.padding[i], " is smaller than the dilated kernel extent ", extent,
                      " of weight ", shape_str(w));
    out[i] = (padded - extent) / o.stride[i] + 1;
  }
  return out;
}

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
              const Conv2dOptions& o) {
  const char* op = "conv2d";
  check_defined(op, x, "input");
  check_defined(op, weight, "weight");
  check_floating(op, x);
  check_rank(op, x, 4, "input [N, C, H, W]");
  check_rank(op, weight, 4, "weight [M, C/groups, KH, KW]");
  check_same_dtype(op, x, weight);
  check_same_device(op, x, weight);
  for (int i = 0; i < 2; ++i)
    check<ValueError>(o.stride[i] >= 1 && o.dilation[i] >= 1 && o.padding[i] >= 0, op,
                      ": stride and dilation must be >= 1 and padding >= 0");
  check<ValueError>(o.groups >= 1 && x.size(1) % o.groups == 0 && weight.size(0) % o.groups == 0,
                    op, ": groups ", o.groups, " must divide input channels ", x.size(1),
                    " and output channels ", weight.size(0));
  check<ShapeError>(weight.size(1) * o.groups == x.size(1), op, ": weight ",
                    shape_str(weight.shape()), " expects ", weight.size(1) * o.groups,
                    " input channels with groups=", o.groups, ", input ", shape_str(x.shape()),
                    " has ", x.size(1));
  if (bias.defined()) {
    check_same_dtype(op, x, bias);
    check_same_device(op, x, bias);
    check<ShapeError>(bias.dim() == 1 && bias.size(0) == weight.size(0), op, ": bias ",
                      shape_str(bias.shape()), " must be [", weight.size(0), "]");
  }
  const Geometry g = geometry(x, weight, o);
  counters().conv_macs += g.N * g.M * g.OH * g.OW * g.kernel_rows();
  const Tensor xc = x.contiguous(), wc = weight.contiguous();
  Tensor out = Tensor::empty({g.N, g.M, g.OH, g.OW}, x.dtype(), x.device());
  if constexpr (kCudaBuilt) {
    if (x.device().is_cuda()) {
      cuda::conv2d_forward(xc, wc, bias.defined() ? bias.contiguous() : Tensor(), out, o);
      return record(out, {x, weight, bias}, std::make_shared<Conv2dBackward>(o));
    }
  }
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* px = xc.data<T>();
    const T* pw = wc.data<T>();
    if (g.is_depthwise())
      forward_depthwise(g, px, pw, out.data<T>());
    else
      forward_gemm(g, px, pw, out.data<T>());
    if (bias.defined()) add_bias(g, bias.data<T>(), out.data<T>());
  });
  return record(out, {x, weight, bias}, std::make_shared<Conv2dBackward>(o));
}

}  // namespace tdseg::ops
