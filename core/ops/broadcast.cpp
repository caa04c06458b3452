// spatial_sum, add_per_plane, expand_channels, sum_channels and slice, on the CPU or
// through their CUDA twins (cuda/ops/broadcast.cu; slice through copy_rows'
// twin): forward and backward side by side. A plane is the H*W contiguous elements of one
// (n, c).
#include "core/ops/broadcast.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/autograd.h"
#include "core/device_memory.h"
#include "core/ops/checks.h"
#include "core/ops/rows.h"
#include "cuda/ops/broadcast.h"

namespace tdseg::ops {

namespace {

void check_nchw(const char* op, const Tensor& x) {
  check_defined(op, x, "input");
  check_floating(op, x);
  check_rank(op, x, 4, "input [N, C, H, W]");
}

struct SpatialSumBackward : Node {
  Shape input_shape;
  explicit SpatialSumBackward(Shape s) : input_shape(std::move(s)) {}
  const char* name() const override { return "spatial_sum"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    // dx[n, c, h, w] = dy[n, c]
    return {add_per_plane(Tensor::zeros(input_shape, g.dtype(), g.device()), g)};
  }
};

struct AddPerPlaneBackward : Node {
  const char* name() const override { return "add_per_plane"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    return {g, inputs[1].requires_grad() ? spatial_sum(g) : Tensor()};
  }
};

struct ExpandChannelsBackward : Node {
  const char* name() const override { return "expand_channels"; }
  std::vector<Tensor> backward(const Tensor& g) override { return {sum_channels(g)}; }
};

struct SumChannelsBackward : Node {
  int64_t channels;
  explicit SumChannelsBackward(int64_t c) : channels(c) {}
  const char* name() const override { return "sum_channels"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    return {expand_channels(g, channels)};
  }
};

struct SliceBackward : Node {
  int dim;
  int64_t start;
  SliceBackward(int d, int64_t s) : dim(d), start(s) {}
  const char* name() const override { return "slice"; }
  std::vector<Tensor> backward(const Tensor& g_in) override {
    const Tensor g = g_in.contiguous();
    const Shape& shape = inputs[0].shape();
    Tensor dx = Tensor::zeros(shape, g.dtype(), g.device());
    const Rows l = rows_around(shape, dim);
    const int64_t es = dtype_size(g.dtype()), piece = g.size(dim) * l.inner * es;
    copy_rows(g.device(), static_cast<char*>(dx.data_ptr()) + start * l.inner * es,
              shape[dim] * l.inner * es, static_cast<const char*>(g.data_ptr()), piece, l.outer,
              piece);
    return {dx};
  }
};

}  // namespace

Tensor spatial_sum(const Tensor& x) {
  const char* op = "spatial_sum";
  check_nchw(op, x);
  const Tensor xc = x.contiguous();
  const int64_t planes = x.size(0) * x.size(1), L = x.size(2) * x.size(3);
  Tensor out = Tensor::empty({x.size(0), x.size(1)}, x.dtype(), x.device());
  if constexpr (kCudaBuilt) {
    if (x.device().is_cuda()) {
      cuda::spatial_sum(xc, out);
      return record(out, {x}, std::make_shared<SpatialSumBackward>(x.shape()));
    }
  }
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* p = xc.data<T>();
    T* o = out.data<T>();
    for (int64_t k = 0; k < planes; ++k) {
      double s = 0;
      for (int64_t i = 0; i < L; ++i) s += p[k * L + i];
      o[k] = static_cast<T>(s);
    }
  });
  return record(out, {x}, std::make_shared<SpatialSumBackward>(x.shape()));
}

Tensor add_per_plane(const Tensor& x, const Tensor& b) {
  const char* op = "add_per_plane";
  check_nchw(op, x);
  check_defined(op, b, "bias");
  check_same_dtype(op, x, b);
  check_same_device(op, x, b);
  check<ShapeError>(b.shape() == Shape{x.size(0), x.size(1)}, op, ": bias ",
                    shape_str(b.shape()), " does not match input ", shape_str(x.shape()),
                    " (expected [N, C] = ", shape_str({x.size(0), x.size(1)}), ")");
  const Tensor xc = x.contiguous(), bc = b.contiguous();
  const int64_t planes = x.size(0) * x.size(1), L = x.size(2) * x.size(3);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if constexpr (kCudaBuilt) {
    if (x.device().is_cuda()) {
      cuda::add_per_plane(xc, bc, out);
      return record(out, {x, b}, std::make_shared<AddPerPlaneBackward>());
    }
  }
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* p = xc.data<T>();
    const T* pb = bc.data<T>();
    T* o = out.data<T>();
    for (int64_t k = 0; k < planes; ++k)
      for (int64_t i = 0; i < L; ++i) o[k * L + i] = p[k * L + i] + pb[k];
  });
  return record(out, {x, b}, std::make_shared<AddPerPlaneBackward>());
}

Tensor expand_channels(const Tensor& x, int64_t C) {
  const char* op = "expand_channels";
  check_nchw(op, x);
  check<ShapeError>(x.size(1) == 1, op, ": input must be [N, 1, H, W], got ",
                    shape_str(x.shape()));
  check<ValueError>(C >= 1, op, ": channel count ", C, " must be positive");
  const Tensor xc = x.contiguous();
  const int64_t N = x.size(0), bytes = x.size(2) * x.size(3) * dtype_size(x.dtype());
  Tensor out = Tensor::empty({N, C, x.size(2), x.size(3)}, x.dtype(), x.device());
  if constexpr (kCudaBuilt) {
    if (x.device().is_cuda()) {
      cuda::expand_channels(xc, out);
      return record(out, {x}, std::make_shared<ExpandChannelsBackward>());
    }
  }
  const char* src = static_cast<const char*>(xc.data_ptr());
  char* dst = static_cast<char*>(out.data_ptr());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) std::memcpy(dst + (n * C + c) * bytes, src + n * bytes, bytes);
  return record(out, {x}, std::make_shared<ExpandChannelsBackward>());
}

Tensor sum_channels(const Tensor& x) {
  const char* op = "sum_channels";
  check_nchw(op, x);
  const Tensor xc = x.contiguous();
  const int64_t N = x.size(0), C = x.size(1), L = x.size(2) * x.size(3);
  Tensor out = Tensor::empty({N, 1, x.size(2), x.size(3)}, x.dtype(), x.device());
  if constexpr (kCudaBuilt) {
    if (x.device().is_cuda()) {
      cuda::sum_channels(xc, out);
      return record(out, {x}, std::make_shared<SumChannelsBackward>(C));
    }
  }
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* p = xc.data<T>();
    T* o = out.data<T>();
    std::vector<double> s(L);
    for (int64_t n = 0; n < N; ++n) {
      std::fill(s.begin(), s.end(), 0.0);
      for (int64_t c = 0; c < C; ++c)
        for (int64_t i = 0; i < L; ++i) s[i] += p[(n * C + c) * L + i];
      for (int64_t i = 0; i < L; ++i) o[n * L + i] = static_cast<T>(s[i]);
    }
  });
  return record(out, {x}, std::make_shared<SumChannelsBackward>(C));
}

Tensor slice(const Tensor& x, int dim, int64_t start, int64_t end) {
  const char* op = "slice";
  check_defined(op, x, "input");
  check<ShapeError>(dim >= 0 && dim < x.dim(), op, ": dim ", dim, " out of range for ",
                    shape_str(x.shape()));
  check<ShapeError>(0 <= start && start <= end && end <= x.size(dim), op, ": range [", start,
                    ", ", end, ") out of bounds for size ", x.size(dim), " along dim ", dim,
                    " of ", shape_str(x.shape()));
  const Tensor xc = x.contiguous();
  Shape out_shape = x.shape();
  out_shape[dim] = end - start;
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.device());
  const Rows l = rows_around(x.shape(), dim);
  const int64_t es = dtype_size(x.dtype()), piece = (end - start) * l.inner * es;
  copy_rows(x.device(), static_cast<char*>(out.data_ptr()), piece,
            static_cast<const char*>(xc.data_ptr()) + start * l.inner * es,
            x.size(dim) * l.inner * es, l.outer, piece);
  return record(out, {x}, std::make_shared<SliceBackward>(dim, start));
}

}  // namespace tdseg::ops
