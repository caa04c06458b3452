// Pictures of predictions: masks in the PASCAL VOC colour palette, overlays on the image
// and titled strips of panels (the report's gallery and `tdseg predict`).
#pragma once
#include <string>
#include <vector>

#include "data/canvas.h"
#include "data/loader.h"

namespace tdseg {

// VOC's palette (class c's bits spread over the high bits of r, g, b: 0 black,
// 1 (128, 0, 0), 2 (0, 128, 0), ...); 255, the ignore label, is VOC's cream (224, 224, 192).
Rgb voc_color(int64_t label);

// An image float32 [3, H, W] with RGB values in [0, 255] (clamped).
Canvas image_canvas(const Tensor& image);
// A normalised image [3, H, W] of a Batch back to [0, 255]: x * std + mean per channel.
Tensor denormalize(const Tensor& image, const LoaderOptions& options);
// A label map int32 [H, W] in the palette.
Canvas mask_canvas(const Tensor& mask);
// The mask's colours blended over the image: (1 - alpha) image + alpha colour, except
// where the label is 0 (background) or 255, which show the image unchanged.
Canvas overlay(const Canvas& image, const Tensor& mask, double alpha = 0.5);
// Each pixel as a zoom x zoom square.
Canvas zoom(const Canvas& c, int64_t factor);

struct TitledPanel {
  std::string title;
  Canvas canvas;
};
// The panels side by side (each zoomed by `factor`), their titles above them.
Canvas strip(const std::vector<TitledPanel>& panels, int64_t factor = 1);

}  // namespace tdseg
