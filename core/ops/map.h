// The elementwise loops of the pointwise and scalar ops: out[i] = f(x[i]) and
// out[i] = f(a[i], b[i]) over contiguous buffers, in the inputs' floating dtype and on
// their device, with the inputs validated under the calling op's name. f is one of the
// functors of core/ops/functors.h, which the CUDA twin applies in the same way.
#pragma once
#include "core/device_memory.h"
#include "core/ops/checks.h"
#include "core/ops/functors.h"
#include "cuda/ops/map.h"

namespace tdseg::ops {

template <typename F>
Tensor unary_map(const char* op, const Tensor& x, F f) {
  check_defined(op, x, "input");
  check_floating(op, x);
  const Tensor xc = x.contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if constexpr (kCudaBuilt) {
    if (x.device().is_cuda()) {
      cuda::unary_map(xc, out, f);
      return out;
    }
  }
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* px = xc.data<T>();
    T* po = out.data<T>();
    for (int64_t i = 0, n = out.numel(); i < n; ++i) po[i] = f(px[i]);
  });
  return out;
}

template <typename F>
Tensor binary_map(const char* op, const Tensor& a, const Tensor& b, F f) {
  check_binary(op, a, b);
  const Tensor ac = a.contiguous(), bc = b.contiguous();
  Tensor out = Tensor::empty(a.shape(), a.dtype(), a.device());
  if constexpr (kCudaBuilt) {
    if (a.device().is_cuda()) {
      cuda::binary_map(ac, bc, out, f);
      return out;
    }
  }
  dispatch_floating(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* pa = ac.data<T>();
    const T* pb = bc.data<T>();
    T* po = out.data<T>();
    for (int64_t i = 0, n = out.numel(); i < n; ++i) po[i] = f(pa[i], pb[i]);
  });
  return out;
}

}  // namespace tdseg::ops
