#include "core/ops/dropout.h"

#include "core/autograd.h"
#include "core/ops/elementwise.h"
#include "core/ops/map.h"

namespace tdseg::ops {

namespace {

struct DropoutBackward : Node {
  Tensor scaled_mask;  // m / keep_prob
  explicit DropoutBackward(Tensor m) : scaled_mask(std::move(m)) {}
  const char* name() const override { return "dropout"; }
  void release_saved() override { scaled_mask = Tensor(); }
  std::vector<Tensor> backward(const Tensor& g) override { return {mul(g, scaled_mask)}; }
};

}  // namespace

Tensor dropout(const Tensor& x, double keep_prob, Generator& gen) {
  const char* op = "dropout";
  check_defined(op, x, "input");
  check_floating(op, x);
  check<ValueError>(keep_prob > 0 && keep_prob <= 1, op, ": keep probability ", keep_prob,
                    " must be in (0, 1]");
  // The mask is drawn on the host, from the same generator on every device.
  Tensor mask = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    T* m = mask.data<T>();
    for (int64_t i = 0; i < mask.numel(); ++i)
      m[i] = gen.uniform(0, 1) < keep_prob ? static_cast<T>(1 / keep_prob) : T(0);
  });
  mask = mask.to(x.device());
  Tensor out = binary_map(op, x, mask, fn::Mul{});
  return record(out, {x}, std::make_shared<DropoutBackward>(mask));
}

}  // namespace tdseg::ops
