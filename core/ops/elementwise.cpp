// Elementwise ops: forward and backward side by side. All loops run over contiguous
// buffers of n elements: one read per input and one write per element.
#include "core/ops/elementwise.h"

#include "core/autograd.h"
#include "core/ops/map.h"

namespace tdseg::ops {

namespace {

struct AddBackward : Node {
  double sign_b;  // +1 for add, -1 for sub
  explicit AddBackward(double s) : sign_b(s) {}
  const char* name() const override { return sign_b > 0 ? "add" : "sub"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    return {g, sign_b > 0 ? g : scale(g, -1.0)};
  }
};

struct MulBackward : Node {
  const char* name() const override { return "mul"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    // d(a*b)/da = b, d(a*b)/db = a
    return {inputs[0].requires_grad() ? mul(g, inputs[1]) : Tensor(),
            inputs[1].requires_grad() ? mul(g, inputs[0]) : Tensor()};
  }
};

struct ScaleBackward : Node {
  double alpha;
  explicit ScaleBackward(double a) : alpha(a) {}
  const char* name() const override { return "scale"; }
  std::vector<Tensor> backward(const Tensor& g) override { return {scale(g, alpha)}; }
};

struct ReluBackward : Node {
  const char* name() const override { return "relu"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    // dx = dy where x > 0, else 0
    return {binary_map("relu_backward", g, inputs[0], fn::ReluBackward{})};
  }
};

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_map("add", a, b, fn::Add{});
  return record(out, {a, b}, std::make_shared<AddBackward>(1.0));
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_map("sub", a, b, fn::Sub{});
  return record(out, {a, b}, std::make_shared<AddBackward>(-1.0));
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_map("mul", a, b, fn::Mul{});
  return record(out, {a, b}, std::make_shared<MulBackward>());
}

Tensor scale(const Tensor& x, double alpha) {
  Tensor out = unary_map("scale", x, fn::Scale{alpha});
  return record(out, {x}, std::make_shared<ScaleBackward>(alpha));
}

Tensor relu(const Tensor& x) {
  Tensor out = unary_map("relu", x, fn::Relu{});
  return record(out, {x}, std::make_shared<ReluBackward>());
}

}  // namespace tdseg::ops
