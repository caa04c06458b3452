// dropout on the CPU or through its CUDA twin (cuda/ops/dropout.cu). The mask is not
// stored: forward and backward both apply it from its key (core/ops/dropout_mask.h), on
// the data's device. Forward reads x and writes y, backward reads dy and writes dx:
// 8 B an element each way in float32, and nothing kept between them but the key.
#include "core/ops/dropout.h"

#include <limits>

#include "core/autograd.h"
#include "core/device_memory.h"
#include "core/ops/checks.h"
#include "core/ops/dropout_mask.h"
#include "core/parallel.h"
#include "cuda/ops/dropout.h"

namespace tdseg::ops {

namespace {

// out = x * mask / keep_prob, on x's device, unrecorded.
Tensor masked(const Tensor& x_in, uint64_t key, double keep_prob) {
  const Tensor x = x_in.contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  const DropoutMask mask(key, keep_prob, x.numel());
  if constexpr (kCudaBuilt) {
    if (x.device().is_cuda()) {
      cuda::dropout(x, out, mask, keep_prob);
      return out;
    }
  }
  dispatch_floating(x.dtype(), "dropout", [&](auto tag) {
    using T = decltype(tag);
    const T* src = x.data<T>();
    T* dst = out.data<T>();
    const T scale = static_cast<T>(1 / keep_prob);
    parallel_for(mask.groups, 4, [&](int64_t g) { mask.apply(g, src, dst, scale); });
  });
  return out;
}

struct DropoutBackward : Node {
  uint64_t key;
  double keep_prob;
  DropoutBackward(uint64_t k, double p) : key(k), keep_prob(p) {}
  const char* name() const override { return "dropout"; }
  std::vector<Tensor> backward(const Tensor& g) override { return {masked(g, key, keep_prob)}; }
};

}  // namespace

Tensor dropout(const Tensor& x, double keep_prob, Generator& gen) {
  const char* op = "dropout";
  check_defined(op, x, "input");
  check_floating(op, x);
  check<ValueError>(keep_prob > 0 && keep_prob <= 1, op, ": keep probability ", keep_prob,
                    " must be in (0, 1]");
  const auto key = static_cast<uint64_t>(gen.integer(0, std::numeric_limits<int64_t>::max()));
  return record(masked(x, key, keep_prob), {x},
                std::make_shared<DropoutBackward>(key, keep_prob));
}

}  // namespace tdseg::ops
