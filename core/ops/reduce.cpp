// sum and mean on the CPU. Backward broadcasts dy (times 1/numel for mean) over x.
#include "core/ops/reduce.h"

#include "core/autograd.h"
#include "core/ops/checks.h"

namespace tdseg::ops {

namespace {

struct SumBackward : Node {
  const char* op;
  double factor;  // 1 for sum, 1/numel for mean
  SumBackward(const char* o, double f) : op(o), factor(f) {}
  const char* name() const override { return op; }
  std::vector<Tensor> backward(const Tensor& dy) override {
    return {Tensor::full(inputs[0].shape(), dy.item() * factor, dy.dtype())};
  }
};

Tensor reduce(const char* op, const Tensor& x, bool average) {
  check_defined(op, x, "input");
  check_floating(op, x);
  check<ShapeError>(!average || x.numel() > 0, op, ": mean of an empty tensor ",
                    shape_str(x.shape()));
  const Tensor xc = x.contiguous();
  double s = 0;
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* p = xc.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) s += p[i];
  });
  const double factor = average ? 1.0 / x.numel() : 1.0;
  Tensor out = Tensor::full({}, s * factor, x.dtype());
  return record(out, {x}, std::make_shared<SumBackward>(op, factor));
}

}  // namespace

Tensor sum(const Tensor& x) { return reduce("sum", x, false); }
Tensor mean(const Tensor& x) { return reduce("mean", x, true); }

}  // namespace tdseg::ops
