#include "layers/std/std_extras.h"

#include <cmath>

#include "core/device_memory.h"
#include "core/ops/checks.h"
#include "core/ops/loss.h"
#include "layers/std/std_extras_cuda.h"

namespace tdseg {

Tensor star_field(const Tensor& centers, int64_t H, int64_t W) {
  const char* op = "star_field";
  ops::check_floating(op, centers);
  check<ShapeError>(centers.dim() == 2 && centers.size(1) == 2, op, ": centres must be [N, 2] (cx, cy), got ",
                    shape_str(centers.shape()));
  const int64_t N = centers.size(0);
  if constexpr (kCudaBuilt) {
    if (centers.device().is_cuda()) {
      Tensor s = Tensor::empty({N, 2, H, W}, centers.dtype(), centers.device());
      cuda::star_field(centers.detach().contiguous(), s);
      return s;
    }
  }
  const Tensor cc = host_copy(centers);
  Tensor s = Tensor::empty({N, 2, H, W}, centers.dtype());
  dispatch_floating(centers.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* c = cc.data<T>();
    T* p = s.data<T>();
    for (int64_t n = 0; n < N; ++n)
      for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x) {
          const double dx = c[2 * n] - x, dy = c[2 * n + 1] - y, r = std::hypot(dx, dy);
          p[((n * 2 + 0) * H + y) * W + x] = static_cast<T>(r > 0 ? dx / r : 0);
          p[((n * 2 + 1) * H + y) * W + x] = static_cast<T>(r > 0 ? dy / r : 0);
        }
  });
  return s.to(centers.device());
}

Tensor star_centroids(const Tensor& u, int64_t i) {
  const char* op = "star_centroids";
  ops::check_floating(op, u);
  ops::check_rank(op, u, 4, "u [N, C, H, W]");
  check<ValueError>(i >= 0 && i < u.size(1), op, ": star class ", i, " is outside [0, ", u.size(1), ")");
  const int64_t N = u.size(0), C = u.size(1), H = u.size(2), W = u.size(3);
  if constexpr (kCudaBuilt) {
    if (u.device().is_cuda()) {
      Tensor c = Tensor::empty({N, 2}, u.dtype(), u.device());
      cuda::star_centroids(u.detach().contiguous(), i, c);
      return c;
    }
  }
  const Tensor uc = host_copy(u);
  Tensor c = Tensor::empty({N, 2}, u.dtype());
  dispatch_floating(u.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* p = uc.data<T>();
    for (int64_t n = 0; n < N; ++n) {
      double mass = 0, sx = 0, sy = 0;
      for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x) {
          const double v = p[((n * C + i) * H + y) * W + x];
          mass += v;
          sx += v * x;
          sy += v * y;
        }
      // An empty class has no centroid: fall back to the image centre.
      c.data<T>()[2 * n] = static_cast<T>(mass > 0 ? sx / mass : (W - 1) / 2.0);
      c.data<T>()[2 * n + 1] = static_cast<T>(mass > 0 ? sy / mass : (H - 1) / 2.0);
    }
  });
  return c.to(u.device());
}

Tensor volumes_from_labels(const Tensor& labels, int64_t C, DType dtype) {
  const char* op = "volumes_from_labels";
  check<DTypeError>(labels.dtype() == DType::Int32, op, ": labels must be int32, got ", labels.str());
  ops::check_rank(op, labels, 3, "labels [N, H, W]");
  const int64_t N = labels.size(0), L = labels.size(1) * labels.size(2);
  Tensor v = Tensor::zeros({N, C}, DType::Float64);
  const Tensor lc = host_copy(labels);
  const int32_t* t = lc.data<int32_t>();
  double* counts = v.data<double>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < L; ++k) {
      const int32_t label = t[n * L + k];
      if (label == ops::kIgnoreIndex) continue;
      check<ValueError>(label >= 0 && label < C, op, ": label ", label, " at image ", n,
                        " is outside [0, ", C, ") and is not ", ops::kIgnoreIndex);
      counts[n * C + label] += 1;
    }
  return v.to(dtype).to(labels.device());
}

Tensor volumes_from_ratios(const Tensor& ratios, int64_t N, int64_t H, int64_t W) {
  const char* op = "volumes_from_ratios";
  ops::check_floating(op, ratios);
  check<ShapeError>(ratios.dim() == 1 || (ratios.dim() == 2 && ratios.size(0) == N), op,
                    ": ratios must be [C] or [", N, ", C], got ", shape_str(ratios.shape()));
  const int64_t C = ratios.size(-1);
  const Tensor r = host_copy(ratios).to(DType::Float64);
  Tensor v = Tensor::empty({N, C}, DType::Float64);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      const double x = r.data<double>()[ratios.dim() == 1 ? c : n * C + c];
      check<ValueError>(x >= 0 && x <= 1, op, ": ratio ", x, " of class ", c, " is outside [0, 1]");
      v.data<double>()[n * C + c] = x * H * W;
    }
  return v.to(ratios.dtype()).to(ratios.device());
}

Tensor edge_weight(const Tensor& image) {
  const char* op = "edge_weight";
  ops::check_floating(op, image);
  ops::check_rank(op, image, 4, "image [N, C, H, W]");
  const int64_t N = image.size(0), C = image.size(1), H = image.size(2), W = image.size(3);
  if constexpr (kCudaBuilt) {
    if (image.device().is_cuda()) {
      Tensor e = Tensor::empty({N, 1, H, W}, image.dtype(), image.device());
      cuda::edge_weight(image.detach().contiguous(), e);
      return e;
    }
  }
  const Tensor v = host_copy(image).to(DType::Float64);
  Tensor e = Tensor::empty({N, 1, H, W}, image.dtype());
  dispatch_floating(image.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const double* pixels = v.data<double>();
    auto v0 = [&](int64_t n, int64_t y, int64_t x) {
      double s = 0;
      for (int64_t c = 0; c < C; ++c) s += pixels[((n * C + c) * H + y) * W + x];
      return s / C;
    };
    for (int64_t n = 0; n < N; ++n)
      for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x) {
          const double gx = x + 1 < W ? v0(n, y, x + 1) - v0(n, y, x) : 0;
          const double gy = y + 1 < H ? v0(n, y + 1, x) - v0(n, y, x) : 0;
          e.data<T>()[(n * H + y) * W + x] = static_cast<T>(1 / (1 + std::hypot(gx, gy)));
        }
  });
  return e.to(image.device());
}

}  // namespace tdseg
