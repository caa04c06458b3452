#include "data/augment.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/ops/loss.h"

namespace tdseg {

namespace {

// Where output row (or column) o of the window reads the source, per axis.
struct Tap {
  bool pad;        // beyond the resized sample: the fill value
  int64_t i0, i1;  // bilinear neighbours
  double l;        // weight of i1
  int64_t nearest;
};

// Taps for the window [start, start + n) of `in` pixels resized to `out` (align_corners:
// source = o (in - 1) / (out - 1)), mirrored when `flip`.
std::vector<Tap> taps(int64_t in, int64_t out, int64_t start, int64_t n, bool flip) {
  const double scale = out > 1 ? static_cast<double>(in - 1) / (out - 1) : 0.0;
  std::vector<Tap> t(n);
  for (int64_t k = 0; k < n; ++k) {
    const int64_t o = start + (flip ? n - 1 - k : k);
    if (o >= out) {
      t[k].pad = true;
      continue;
    }
    const double src = o * scale;
    const int64_t i0 = std::min<int64_t>(static_cast<int64_t>(std::floor(src)), in - 1);
    t[k] = {false, i0, std::min<int64_t>(i0 + 1, in - 1), src - i0,
            std::min<int64_t>(std::llround(src), in - 1)};
  }
  return t;
}

}  // namespace

Sample resample_window(const Sample& s, int64_t sh, int64_t sw, int64_t y0, int64_t x0, int64_t h,
                       int64_t w, bool flip, const std::array<float, 3>& fill) {
  const int64_t H = s.image.size(1), W = s.image.size(2);
  check<ShapeError>(s.image.dim() == 3 && s.image.size(0) == 3 && s.mask.dim() == 2 &&
                        s.mask.size(0) == H && s.mask.size(1) == W,
                    "augment: sample ", s.id, ": image ", shape_str(s.image.shape()), " and mask ",
                    shape_str(s.mask.shape()), " do not match");
  const auto ty = taps(H, sh, y0, h, false), tx = taps(W, sw, x0, w, flip);
  const Tensor src = s.image.contiguous(), src_mask = s.mask.contiguous();
  const float* in = src.data<float>();
  const int32_t* in_mask = src_mask.data<int32_t>();
  Sample out{Tensor::empty({3, h, w}), Tensor::empty({h, w}, DType::Int32), s.id};
  float* img = out.image.data<float>();
  int32_t* mask = out.mask.data<int32_t>();
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      const Tap &a = ty[y], &b = tx[x];
      const bool pad = a.pad || b.pad;
      mask[y * w + x] = pad ? ops::kIgnoreIndex : in_mask[a.nearest * W + b.nearest];
      for (int64_t c = 0; c < 3; ++c) {
        const float* p = in + c * H * W;
        img[(c * h + y) * w + x] =
            pad ? fill[c]
                : static_cast<float>(
                      (1 - a.l) * ((1 - b.l) * p[a.i0 * W + b.i0] + b.l * p[a.i0 * W + b.i1]) +
                      a.l * ((1 - b.l) * p[a.i1 * W + b.i0] + b.l * p[a.i1 * W + b.i1]));
      }
    }
  return out;
}

Sample augment_train(const Sample& s, const LoaderOptions& o, Generator& gen) {
  const int64_t H = s.image.size(1), W = s.image.size(2), ch = o.crop[0], cw = o.crop[1];
  const double scale = gen.uniform(o.min_scale, o.max_scale);
  // The reference truncates the scaled size (a cast to int32).
  const int64_t sh = std::max<int64_t>(1, static_cast<int64_t>(H * scale));
  const int64_t sw = std::max<int64_t>(1, static_cast<int64_t>(W * scale));
  const int64_t y0 = gen.integer(0, std::max(sh, ch) - ch);
  const int64_t x0 = gen.integer(0, std::max(sw, cw) - cw);
  const bool flip = gen.uniform(0, 1) < 0.5;
  return resample_window(s, sh, sw, y0, x0, ch, cw, flip, o.mean);
}

Sample prepare_eval(const Sample& s, const LoaderOptions& o) {
  const int64_t H = s.image.size(1), W = s.image.size(2), ch = o.crop[0], cw = o.crop[1];
  if (ch == 0 && cw == 0) return s;
  check<ValueError>(H <= ch && W <= cw, "loader: sample ", s.id, " is ", H, "x", W,
                    " (HxW), larger than the crop ", ch, "x", cw,
                    "; evaluation pads to the crop: use a crop of at least every image, or crop 0 "
                    "(none) with batch size 1");
  return resample_window(s, H, W, 0, 0, ch, cw, false, o.mean);
}

Tensor normalise(const Tensor& image, const std::array<float, 3>& mean,
                 const std::array<float, 3>& std) {
  check<ShapeError>(image.dim() == 3 && image.size(0) == 3 && image.dtype() == DType::Float32,
                    "normalise: expected a float32 [3, H, W] image, got ", image.str());
  const Tensor src = image.contiguous();
  Tensor out = Tensor::empty(image.shape());
  const int64_t plane = image.size(1) * image.size(2);
  const float* in = src.data<float>();
  float* o = out.data<float>();
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t k = 0; k < plane; ++k) o[c * plane + k] = (in[c * plane + k] - mean[c]) / std[c];
  return out;
}

}  // namespace tdseg
