// mul_scalar, div_scalar and add_scalar on the CPU: forward and backward side by side. The
// scalar's gradient is a full reduction, sum(dy * x), accumulated in double.
#include "core/ops/scalar.h"

#include "core/autograd.h"
#include "core/ops/elementwise.h"
#include "core/ops/map.h"
#include "core/ops/reduce.h"

namespace tdseg::ops {

namespace {

// sum(a * b) over two same-shaped floating tensors, in double.
double dot(const Tensor& a, const Tensor& b) {
  if (a.device().is_cuda()) return sum(mul(a, b)).item();
  const Tensor ac = a.contiguous(), bc = b.contiguous();
  double s = 0;
  dispatch_floating(a.dtype(), "dot", [&](auto tag) {
    using T = decltype(tag);
    const T* pa = ac.data<T>();
    const T* pb = bc.data<T>();
    for (int64_t i = 0, n = a.numel(); i < n; ++i) s += static_cast<double>(pa[i]) * pb[i];
  });
  return s;
}

void check_scalar_op(const char* op, const Tensor& x, const Tensor& s) {
  check_defined(op, x, "input");
  check_defined(op, s, "scalar");
  check_floating(op, x);
  check_same_dtype(op, x, s);
  check_same_device(op, x, s);
  check<ShapeError>(s.dim() == 0, op, ": scalar must have 0 dims (shape []), got ",
                    shape_str(s.shape()));
}

struct MulScalarBackward : Node {
  bool divide;  // div_scalar: out = x / s
  explicit MulScalarBackward(bool d) : divide(d) {}
  const char* name() const override { return divide ? "div_scalar" : "mul_scalar"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    const Tensor &x = inputs[0], &s = inputs[1];
    Tensor dx, ds;
    if (x.requires_grad()) dx = divide ? div_scalar(g, s) : mul_scalar(g, s);
    if (s.requires_grad()) {
      const double sv = s.item(), gx = dot(g, x);
      ds = Tensor::full({}, divide ? -gx / (sv * sv) : gx, s.dtype(), s.device());
    }
    return {dx, ds};
  }
};

struct AddScalarBackward : Node {
  const char* name() const override { return "add_scalar"; }
  std::vector<Tensor> backward(const Tensor& g) override { return {g}; }
};

}  // namespace

Tensor mul_scalar(const Tensor& x, const Tensor& s) {
  check_scalar_op("mul_scalar", x, s);
  const double sv = s.item();
  Tensor out = unary_map("mul_scalar", x, fn::Scale{sv});
  return record(out, {x, s}, std::make_shared<MulScalarBackward>(false));
}

Tensor div_scalar(const Tensor& x, const Tensor& s) {
  check_scalar_op("div_scalar", x, s);
  const double sv = s.item();
  Tensor out = unary_map("div_scalar", x, fn::Divide{sv});
  return record(out, {x, s}, std::make_shared<MulScalarBackward>(true));
}

Tensor add_scalar(const Tensor& x, double c) {
  Tensor out = unary_map("add_scalar", x, fn::AddConst{c});
  return record(out, {x}, std::make_shared<AddScalarBackward>());
}

}  // namespace tdseg::ops
