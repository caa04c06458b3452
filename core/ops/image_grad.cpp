// image_grad and image_div, on the CPU or through their CUDA twins
// (cuda/ops/image_grad.cu): forward and backward side by side. Each is the other's
// negative adjoint, so each backward is the other op times -1 (one pass: the sign is
// applied as the values are written, exact for +-1).
#include "core/ops/image_grad.h"

#include "core/autograd.h"
#include "core/device_memory.h"
#include "core/ops/checks.h"
#include "cuda/ops/image_grad.h"

namespace tdseg::ops {

namespace {

void check_image(const char* op, const Tensor& x, int64_t channels) {
  check_defined(op, x, "input");
  check_floating(op, x);
  check<ShapeError>(x.dim() == 4 && x.size(1) == channels, op, ": input must be [N, ",
                    channels, ", H, W], got ", shape_str(x.shape()));
}

// u: N planes of H*W; w: N pairs of planes (column differences, then row differences).
template <typename T>
void grad_forward(const T* u, T* w, int64_t N, int64_t H, int64_t W, T sign) {
  const int64_t L = H * W;
  for (int64_t n = 0; n < N; ++n) {
    const T* un = u + n * L;
    T* wx = w + 2 * n * L;
    T* wy = wx + L;
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x) {
        const int64_t i = y * W + x;
        wx[i] = sign * (x + 1 < W ? un[i + 1] - un[i] : T(0));
        wy[i] = sign * (y + 1 < H ? un[i + W] - un[i] : T(0));
      }
  }
}

template <typename T>
void div_forward(const T* w, T* u, int64_t N, int64_t H, int64_t W, T sign) {
  const int64_t L = H * W;
  for (int64_t n = 0; n < N; ++n) {
    const T* wx = w + 2 * n * L;
    const T* wy = wx + L;
    T* un = u + n * L;
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x) {
        const int64_t i = y * W + x;
        T v = 0;
        if (x + 1 < W) v += wx[i];
        if (x > 0) v -= wx[i - 1];
        if (y + 1 < H) v += wy[i];
        if (y > 0) v -= wy[i - W];
        un[i] = sign * v;
      }
  }
}

// sign * image_grad(u) on u's device, unrecorded.
Tensor signed_grad(const Tensor& u_in, double sign) {
  const Tensor u = u_in.contiguous();
  const int64_t N = u.size(0), H = u.size(2), W = u.size(3);
  Tensor out = Tensor::empty({N, 2, H, W}, u.dtype(), u.device());
  if constexpr (kCudaBuilt) {
    if (u.device().is_cuda()) {
      cuda::image_grad(u, out, sign);
      return out;
    }
  }
  dispatch_floating(u.dtype(), "image_grad", [&](auto tag) {
    using T = decltype(tag);
    grad_forward(u.data<T>(), out.data<T>(), N, H, W, static_cast<T>(sign));
  });
  return out;
}

// sign * image_div(w) on w's device, unrecorded.
Tensor signed_div(const Tensor& w_in, double sign) {
  const Tensor w = w_in.contiguous();
  const int64_t N = w.size(0), H = w.size(2), W = w.size(3);
  Tensor out = Tensor::empty({N, 1, H, W}, w.dtype(), w.device());
  if constexpr (kCudaBuilt) {
    if (w.device().is_cuda()) {
      cuda::image_div(w, out, sign);
      return out;
    }
  }
  dispatch_floating(w.dtype(), "image_div", [&](auto tag) {
    using T = decltype(tag);
    div_forward(w.data<T>(), out.data<T>(), N, H, W, static_cast<T>(sign));
  });
  return out;
}

struct ImageGradBackward : Node {
  const char* name() const override { return "image_grad"; }
  std::vector<Tensor> backward(const Tensor& g) override { return {signed_div(g, -1.0)}; }
};

struct ImageDivBackward : Node {
  const char* name() const override { return "image_div"; }
  std::vector<Tensor> backward(const Tensor& g) override { return {signed_grad(g, -1.0)}; }
};

}  // namespace

Tensor image_grad(const Tensor& u) {
  check_image("image_grad", u, 1);
  return record(signed_grad(u, 1.0), {u}, std::make_shared<ImageGradBackward>());
}

Tensor image_div(const Tensor& w) {
  check_image("image_div", w, 2);
  return record(signed_div(w, 1.0), {w}, std::make_shared<ImageDivBackward>());
}

}  // namespace tdseg::ops
