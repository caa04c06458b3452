// resize_bilinear, on the CPU or through its CUDA twin (cuda/ops/resize.cu). Each output
// pixel reads 4 input pixels with weights (1-ly)(1-lx), (1-ly)lx, ly(1-lx), ly lx;
// backward scatters dy with the same weights (the GPU gathers them instead, see there).
// The taps depend only on (oy, ox), so they are computed once per call.
#include "core/ops/resize.h"

#include <cmath>
#include <vector>

#include "core/autograd.h"
#include "core/device_memory.h"
#include "core/ops/checks.h"
#include "core/parallel.h"
#include "cuda/ops/resize.h"

namespace tdseg::ops {

namespace {

struct Tap {
  int64_t i0, i1;  // the two input indices
  double l;        // weight of i1; i0 gets 1 - l
};

// align_corners=True source positions for `out` samples over `in` pixels.
std::vector<Tap> taps(int64_t in, int64_t out) {
  std::vector<Tap> t(out);
  const double scale = out > 1 ? static_cast<double>(in - 1) / (out - 1) : 0.0;
  for (int64_t o = 0; o < out; ++o) {
    const double src = o * scale;
    int64_t i0 = std::min<int64_t>(static_cast<int64_t>(std::floor(src)), in - 1);
    t[o] = {i0, std::min<int64_t>(i0 + 1, in - 1), src - i0};
  }
  return t;
}

struct ResizeBilinearBackward : Node {
  Shape input_shape;
  explicit ResizeBilinearBackward(Shape s) : input_shape(std::move(s)) {}
  const char* name() const override { return "resize_bilinear"; }
  std::vector<Tensor> backward(const Tensor& dy_in) override {
    Tensor dy = dy_in.contiguous();
    if constexpr (kCudaBuilt) {
      if (dy.device().is_cuda()) {
        Tensor dx = Tensor::empty(input_shape, dy.dtype(), dy.device());
        cuda::resize_bilinear_backward(dy, dx);
        return {dx};
      }
    }
    const int64_t H = input_shape[2], W = input_shape[3], OH = dy.size(2), OW = dy.size(3);
    const int64_t planes = input_shape[0] * input_shape[1];
    const auto ty = taps(H, OH), tx = taps(W, OW);
    Tensor dx = Tensor::zeros(input_shape, dy.dtype());
    dispatch_floating(dy.dtype(), name(), [&](auto tag) {
      using T = decltype(tag);
      const T* g = dy.data<T>();
      T* d = dx.data<T>();
#pragma omp parallel for if (dy.numel() >= kParallelMinElements)
      for (int64_t k = 0; k < planes; ++k)
        for (int64_t oy = 0; oy < OH; ++oy)
          for (int64_t ox = 0; ox < OW; ++ox) {
            const Tap &a = ty[oy], &b = tx[ox];
            const double v = g[(k * OH + oy) * OW + ox];
            T* p = d + k * H * W;
            p[a.i0 * W + b.i0] += static_cast<T>(v * (1 - a.l) * (1 - b.l));
            p[a.i0 * W + b.i1] += static_cast<T>(v * (1 - a.l) * b.l);
            p[a.i1 * W + b.i0] += static_cast<T>(v * a.l * (1 - b.l));
            p[a.i1 * W + b.i1] += static_cast<T>(v * a.l * b.l);
          }
    });
    return {dx};
  }
};

}  // namespace

Tensor resize_bilinear(const Tensor& x, int64_t out_h, int64_t out_w) {
  const char* op = "resize_bilinear";
  check_defined(op, x, "input");
  check_floating(op, x);
  check_rank(op, x, 4, "input [N, C, H, W]");
  check<ShapeError>(out_h >= 1 && out_w >= 1, op, ": output size ", out_h, "x", out_w,
                    " must be positive");
  check<ShapeError>(x.size(2) >= 1 && x.size(3) >= 1, op, ": empty input ", shape_str(x.shape()));
  const int64_t H = x.size(2), W = x.size(3), planes = x.size(0) * x.size(1);
  const Tensor xc = x.contiguous();
  Tensor out = Tensor::empty({x.size(0), x.size(1), out_h, out_w}, x.dtype(), x.device());
  if constexpr (kCudaBuilt) {
    if (x.device().is_cuda()) {
      cuda::resize_bilinear(xc, out);
      return record(out, {x}, std::make_shared<ResizeBilinearBackward>(x.shape()));
    }
  }
  const auto ty = taps(H, out_h), tx = taps(W, out_w);
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* src = xc.data<T>();
    T* dst = out.data<T>();
#pragma omp parallel for if (out.numel() >= kParallelMinElements)
    for (int64_t k = 0; k < planes; ++k)
      for (int64_t oy = 0; oy < out_h; ++oy)
        for (int64_t ox = 0; ox < out_w; ++ox) {
          const Tap &a = ty[oy], &b = tx[ox];
          const T* p = src + k * H * W;
          const double top = p[a.i0 * W + b.i0] * (1 - b.l) + p[a.i0 * W + b.i1] * b.l;
          const double bot = p[a.i1 * W + b.i0] * (1 - b.l) + p[a.i1 * W + b.i1] * b.l;
          dst[(k * out_h + oy) * out_w + ox] = static_cast<T>(top * (1 - a.l) + bot * a.l);
        }
  });
  return record(out, {x}, std::make_shared<ResizeBilinearBackward>(x.shape()));
}

}  // namespace tdseg::ops
