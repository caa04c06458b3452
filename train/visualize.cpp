#include "train/visualize.h"

#include <algorithm>
#include <cmath>

#include "core/ops/loss.h"

namespace tdseg {

namespace {
constexpr int64_t kGap = 8;
constexpr Rgb kBlack{0, 0, 0};
}  // namespace

Rgb voc_color(int64_t label) {
  if (label == ops::kIgnoreIndex) return {224, 224, 192};
  int r = 0, g = 0, b = 0;
  for (int bit = 7; bit >= 0 && label > 0; --bit, label >>= 3) {
    r |= (label & 1) << bit;
    g |= ((label >> 1) & 1) << bit;
    b |= ((label >> 2) & 1) << bit;
  }
  return {static_cast<uint8_t>(r), static_cast<uint8_t>(g), static_cast<uint8_t>(b)};
}

Canvas image_canvas(const Tensor& image) {
  check<ShapeError>(image.dim() == 3 && image.size(0) == 3 && image.dtype() == DType::Float32,
                    "image_canvas: expected float32 [3, H, W], got ", image.str());
  const Tensor x = image.contiguous();
  const int64_t H = x.size(1), W = x.size(2);
  const float* p = x.data<float>();
  Canvas c(W, H);
  auto byte = [](float v) {
    return static_cast<uint8_t>(std::lround(std::clamp(v, 0.0f, 255.0f)));
  };
  for (int64_t y = 0; y < H; ++y)
    for (int64_t i = 0; i < W; ++i) {
      const int64_t k = y * W + i;
      c.fill_rect(i, y, i + 1, y + 1, {byte(p[k]), byte(p[H * W + k]), byte(p[2 * H * W + k])});
    }
  return c;
}

Tensor denormalize(const Tensor& image, const LoaderOptions& o) {
  Tensor out = image.contiguous().clone();
  const int64_t L = out.size(1) * out.size(2);
  float* p = out.data<float>();
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t k = 0; k < L; ++k) p[c * L + k] = p[c * L + k] * o.std[c] + o.mean[c];
  return out;
}

Canvas mask_canvas(const Tensor& mask) {
  check<ShapeError>(mask.dim() == 2 && mask.dtype() == DType::Int32,
                    "mask_canvas: expected int32 [H, W], got ", mask.str());
  const Tensor m = mask.contiguous();
  const int64_t H = m.size(0), W = m.size(1);
  Canvas c(W, H);
  const int32_t* labels = m.data<int32_t>();
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x) c.fill_rect(x, y, x + 1, y + 1, voc_color(labels[y * W + x]));
  return c;
}

Canvas overlay(const Canvas& image, const Tensor& mask, double alpha) {
  check<ShapeError>(
      mask.dim() == 2 && mask.size(0) == image.height() && mask.size(1) == image.width(),
      "overlay: mask ", shape_str(mask.shape()), " does not fit a ", image.width(), "x",
      image.height(), " image");
  const Tensor m = mask.contiguous();
  Canvas out = image;
  const int32_t* labels = m.data<int32_t>();
  for (int64_t y = 0; y < image.height(); ++y)
    for (int64_t x = 0; x < image.width(); ++x) {
      const int32_t label = labels[y * image.width() + x];
      if (label == 0 || label == ops::kIgnoreIndex) continue;
      const Rgb a = image.at(x, y), b = voc_color(label);
      auto mix = [&](uint8_t u, uint8_t v) {
        return static_cast<uint8_t>(std::lround((1 - alpha) * u + alpha * v));
      };
      out.fill_rect(x, y, x + 1, y + 1, {mix(a.r, b.r), mix(a.g, b.g), mix(a.b, b.b)});
    }
  return out;
}

Canvas zoom(const Canvas& c, int64_t factor) {
  if (factor == 1) return c;
  Canvas out(c.width() * factor, c.height() * factor);
  for (int64_t y = 0; y < c.height(); ++y)
    for (int64_t x = 0; x < c.width(); ++x)
      out.fill_rect(x * factor, y * factor, (x + 1) * factor, (y + 1) * factor, c.at(x, y));
  return out;
}

Canvas strip(const std::vector<TitledPanel>& panels, int64_t factor) {
  check<ValueError>(!panels.empty(), "strip: no panel");
  const int64_t title = Canvas::text_height() + 4;
  int64_t width = kGap, height = 0;
  for (const TitledPanel& p : panels) {
    width += std::max(p.canvas.width() * factor, Canvas::text_width(p.title)) + kGap;
    height = std::max(height, p.canvas.height() * factor);
  }
  Canvas out(width, kGap + title + height + kGap);
  int64_t x = kGap;
  for (const TitledPanel& p : panels) {
    out.text(x, kGap, p.title, kBlack);
    out.paste(x, kGap + title, zoom(p.canvas, factor));
    x += std::max(p.canvas.width() * factor, Canvas::text_width(p.title)) + kGap;
  }
  return out;
}

}  // namespace tdseg
