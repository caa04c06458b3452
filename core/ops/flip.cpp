// flip_width on the CPU or through its CUDA twin (cuda/ops/flip.cu), forward and backward.
#include "core/ops/flip.h"

#include "core/autograd.h"
#include "core/device_memory.h"
#include "core/ops/checks.h"
#include "cuda/ops/flip.h"

namespace tdseg::ops {

namespace {

// The mirror of x's rows of W elements on x's device, unrecorded.
Tensor mirrored(const Tensor& x_in) {
  const Tensor x = x_in.contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (x.numel() == 0) return out;
  if constexpr (kCudaBuilt) {
    if (x.device().is_cuda()) {
      cuda::flip_width(x, out);
      return out;
    }
  }
  const int64_t W = x.size(x.dim() - 1), rows = x.numel() / W;
  dispatch_floating(x.dtype(), "flip_width", [&](auto tag) {
    using T = decltype(tag);
    const T* src = x.data<T>();
    T* dst = out.data<T>();
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t w = 0; w < W; ++w) dst[r * W + w] = src[r * W + W - 1 - w];
  });
  return out;
}

struct FlipWidthBackward : Node {
  const char* name() const override { return "flip_width"; }
  std::vector<Tensor> backward(const Tensor& g) override { return {mirrored(g)}; }
};

}  // namespace

Tensor flip_width(const Tensor& x) {
  check_defined("flip_width", x, "input");
  check_floating("flip_width", x);
  check<ShapeError>(x.dim() >= 1, "flip_width: input must have a last dimension, got a scalar");
  return record(mirrored(x), {x}, std::make_shared<FlipWidthBackward>());
}

}  // namespace tdseg::ops
