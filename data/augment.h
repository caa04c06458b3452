// Per-sample preprocessing, as in the DeepLab reference (input_preprocess.py), on a
// Sample of image float32 [3, H, W] in [0, 255] and mask int32 [H, W].
// Training (augment_train), with draws from `gen` in this order:
//   1. scale s ~ U[min_scale, max_scale]; the sample becomes int(H s) x int(W s) (at least
//      1), the image resized bilinearly with align_corners (as tf.image.resize_bilinear),
//      the mask by the nearest pixel with align_corners (rounding the same source position);
//   2. padding at the bottom and right to at least the crop size, with the mean pixel
//      (image) and 255 (mask);
//   3. a crop of the crop size at an offset uniform over the padded sample (y, then x);
//   4. a horizontal flip with probability 0.5.
// Only the crop's pixels are computed: the same result as scaling the whole sample first.
// Evaluation (prepare_eval): no random operation; padding at the bottom and right to the
// crop size (the reference's), a crop of 0 x 0 meaning none.
#pragma once
#include <array>

#include "core/random.h"
#include "data/dataset.h"
#include "data/loader.h"

namespace tdseg {

Sample augment_train(const Sample& sample, const LoaderOptions& options, Generator& gen);

// ValueError naming the sample when its image is larger than the crop.
Sample prepare_eval(const Sample& sample, const LoaderOptions& options);

// The window [y0, y0 + h) x [x0, x0 + w) of the sample resized to sh x sw and padded
// beyond it with `fill` (image) and 255 (mask), mirrored left-right when `flip`.
Sample resample_window(const Sample& sample, int64_t sh, int64_t sw, int64_t y0, int64_t x0,
                       int64_t h, int64_t w, bool flip, const std::array<float, 3>& fill);

// (image - mean) / std per channel: float32 [3, H, W] -> a new float32 [3, H, W].
Tensor normalise(const Tensor& image, const std::array<float, 3>& mean,
                 const std::array<float, 3>& std);

}  // namespace tdseg
