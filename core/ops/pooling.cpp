// global_avg_pool on the CPU. Forward sums each plane in double; backward spreads
// dy[n, c] / (H*W) over the plane.
#include "core/ops/pooling.h"

#include "core/autograd.h"
#include "core/ops/checks.h"

namespace tdseg::ops {

namespace {

struct GlobalAvgPoolBackward : Node {
  Shape input_shape;
  explicit GlobalAvgPoolBackward(Shape s) : input_shape(std::move(s)) {}
  const char* name() const override { return "global_avg_pool"; }
  std::vector<Tensor> backward(const Tensor& dy_in) override {
    Tensor dy = dy_in.contiguous();
    Tensor dx = Tensor::empty(input_shape, dy.dtype());
    const int64_t planes = input_shape[0] * input_shape[1], L = input_shape[2] * input_shape[3];
    dispatch_floating(dy.dtype(), name(), [&](auto tag) {
      using T = decltype(tag);
      const T* g = dy.data<T>();
      T* p = dx.data<T>();
      for (int64_t k = 0; k < planes; ++k)
        for (int64_t i = 0; i < L; ++i) p[k * L + i] = g[k] / static_cast<T>(L);
    });
    return {dx};
  }
};

}  // namespace

Tensor global_avg_pool(const Tensor& x) {
  const char* op = "global_avg_pool";
  check_defined(op, x, "input");
  check_floating(op, x);
  check_rank(op, x, 4, "input [N, C, H, W]");
  const int64_t planes = x.size(0) * x.size(1), L = x.size(2) * x.size(3);
  check<ShapeError>(L > 0, op, ": empty spatial size in ", shape_str(x.shape()));
  const Tensor xc = x.contiguous();
  Tensor out = Tensor::empty({x.size(0), x.size(1), 1, 1}, x.dtype());
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* p = xc.data<T>();
    T* o = out.data<T>();
    for (int64_t k = 0; k < planes; ++k) {
      double s = 0;
      for (int64_t i = 0; i < L; ++i) s += p[k * L + i];
      o[k] = static_cast<T>(s / L);
    }
  });
  return record(out, {x}, std::make_shared<GlobalAvgPoolBackward>(x.shape()));
}

}  // namespace tdseg::ops
