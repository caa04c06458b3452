// sum and mean, on the CPU or through their CUDA twins (cuda/ops/reduce.cu), summed in
// double. Backward broadcasts dy (times 1/numel for mean) over x.
#include "core/ops/reduce.h"

#include "core/autograd.h"
#include "core/device_memory.h"
#include "core/ops/checks.h"
#include "cuda/ops/reduce.h"

namespace tdseg::ops {

namespace {

struct SumBackward : Node {
  const char* op;
  double factor;  // 1 for sum, 1/numel for mean
  SumBackward(const char* o, double f) : op(o), factor(f) {}
  const char* name() const override { return op; }
  std::vector<Tensor> backward(const Tensor& dy) override {
    if constexpr (kCudaBuilt) {
      if (dy.device().is_cuda()) {
        Tensor dx = Tensor::empty(inputs[0].shape(), dy.dtype(), dy.device());
        cuda::fill_from(dx, dy, factor);
        return {dx};
      }
    }
    return {Tensor::full(inputs[0].shape(), dy.item() * factor, dy.dtype())};
  }
};

Tensor reduce(const char* op, const Tensor& x, bool average) {
  check_defined(op, x, "input");
  check_floating(op, x);
  check<ShapeError>(!average || x.numel() > 0, op, ": mean of an empty tensor ",
                    shape_str(x.shape()));
  const Tensor xc = x.contiguous();
  const double factor = average ? 1.0 / x.numel() : 1.0;
  if constexpr (kCudaBuilt) {
    if (x.device().is_cuda()) {
      Tensor out = Tensor::empty({}, x.dtype(), x.device());
      cuda::sum_all(xc, out, factor);
      return record(out, {x}, std::make_shared<SumBackward>(op, factor));
    }
  }
  double s = 0;
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* p = xc.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) s += p[i];
  });
  Tensor out = Tensor::full({}, s * factor, x.dtype());
  return record(out, {x}, std::make_shared<SumBackward>(op, factor));
}

}  // namespace

Tensor sum(const Tensor& x) { return reduce("sum", x, false); }
Tensor mean(const Tensor& x) { return reduce("mean", x, true); }

}  // namespace tdseg::ops
