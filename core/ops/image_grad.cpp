// image_grad and image_div on the CPU: forward and backward side by side. Each is the
// other's negative adjoint, so each backward is the other op, negated.
#include "core/ops/image_grad.h"

#include "core/autograd.h"
#include "core/ops/checks.h"
#include "core/ops/elementwise.h"

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
void grad_forward(const T* u, T* w, int64_t N, int64_t H, int64_t W) {
  const int64_t L = H * W;
  for (int64_t n = 0; n < N; ++n) {
    const T* un = u + n * L;
    T* wx = w + 2 * n * L;
    T* wy = wx + L;
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x) {
        const int64_t i = y * W + x;
        wx[i] = x + 1 < W ? un[i + 1] - un[i] : T(0);
        wy[i] = y + 1 < H ? un[i + W] - un[i] : T(0);
      }
  }
}

template <typename T>
void div_forward(const T* w, T* u, int64_t N, int64_t H, int64_t W) {
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
        un[i] = v;
      }
  }
}

struct ImageGradBackward : Node {
  const char* name() const override { return "image_grad"; }
  std::vector<Tensor> backward(const Tensor& g) override { return {scale(image_div(g), -1.0)}; }
};

struct ImageDivBackward : Node {
  const char* name() const override { return "image_div"; }
  std::vector<Tensor> backward(const Tensor& g) override { return {scale(image_grad(g), -1.0)}; }
};

}  // namespace

Tensor image_grad(const Tensor& u) {
  const char* op = "image_grad";
  check_image(op, u, 1);
  const Tensor uc = u.contiguous();
  const int64_t N = u.size(0), H = u.size(2), W = u.size(3);
  Tensor out = Tensor::empty({N, 2, H, W}, u.dtype());
  dispatch_floating(u.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    grad_forward(uc.data<T>(), out.data<T>(), N, H, W);
  });
  return record(out, {u}, std::make_shared<ImageGradBackward>());
}

Tensor image_div(const Tensor& w) {
  const char* op = "image_div";
  check_image(op, w, 2);
  const Tensor wc = w.contiguous();
  const int64_t N = w.size(0), H = w.size(2), W = w.size(3);
  Tensor out = Tensor::empty({N, 1, H, W}, w.dtype());
  dispatch_floating(w.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    div_forward(wc.data<T>(), out.data<T>(), N, H, W);
  });
  return record(out, {w}, std::make_shared<ImageDivBackward>());
}

}  // namespace tdseg::ops
