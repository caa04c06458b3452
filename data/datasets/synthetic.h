// The built-in synthetic dataset: the default, needing no download. Sample i of a split
// is generated from (seed, split, i) alone, so get() is random-access and thread-safe and
// the data are the same on every run and machine with the same build. A split of up to
// kKeptSamples keeps each sample its first get() draws (147 KB a sample, 59 MB for the
// default 400) and hands out copies: the main job reads each training sample 80 times,
// and the draws (28 k Gaussian draws, the figures' tests at each pixel) took 5.7% of a
// profile of its STD run: time the loader's threads take from the others'.
//
// Each sample is a 96x96 RGB image with an exact mask of 5 classes:
//   0 background  slow shading (a sinusoid of period 24-48 px)
//   1 star        r(t) = r0 (1 + a cos(k (t - phase))), r0 in [12, 20], a in [0.25, 0.5],
//                 k in 3..7; exactly one per image, drawn last and wholly inside it, so
//                 its mask is star-shaped about its centre (the star class of SS-STD);
//                 texture: stripes of period 4 px in a random direction
//   2 crescent    a disk of radius 11-20 minus a smaller disk that bites through its edge
//                 (non-convex); texture: a checkerboard of 3-px cells
//   3 ring        an annulus, inner radius 6-12, 4-8 px wide, whose hole shows what lies
//                 beneath; texture: dots of period 5 px
//   4 bar         a segment 30-70 px long and 2-4 px wide; no texture
// Three to six crescents, rings and bars (types uniform) lie under the star: the first one
// overlaps the star's edge, the others fall anywhere, later ones over earlier ones, so
// objects touch, overlap and leave the image.
// Pixel colour = gain * (colour[class] + texture[class](x, y)) + noise, clamped to
// [0, 255]: the class colours are close (within about 60 per channel), jittered by up to
// 20 per channel and image, the gain is in [0.85, 1.15] per image and the noise is
// Gaussian with sigma 32 per channel and pixel. A pixel's colour alone is a poor guess of
// its class; the texture and shape around it decide, which is what the spatial priors of
// the STD heads are for.
#pragma once
#include <memory>
#include <mutex>
#include <vector>

#include "data/dataset.h"

namespace tdseg {

class SyntheticDataset : public Dataset {
 public:
  static constexpr int64_t kSide = 96;  // image height and width
  static constexpr int64_t kClasses = 5;
  static constexpr int64_t kStarClass = 1;
  static constexpr int64_t kTrainSize = 400, kValSize = 100;  // the default split sizes
  static constexpr int64_t kKeptSamples = 2048;  // 300 MB

  // split "train" or "val" (ValueError otherwise); size 0: the split's default.
  SyntheticDataset(const std::string& split, int64_t size, uint64_t seed);
  size_t size() const override { return static_cast<size_t>(size_); }
  Sample get(size_t index) const override;  // a copy of the kept sample, where kept
  int64_t classes() const override { return kClasses; }
  std::string name() const override { return "synthetic " + split_; }
  int64_t star_class() const override { return kStarClass; }
  std::vector<std::string> class_names() const override {
    return {"background", "star", "crescent", "ring", "bar"};
  }

 private:
  std::string split_;
  int64_t size_;
  uint64_t seed_;  // the split's, derived from the dataset seed

  Sample draw(size_t index) const;
  struct Kept {  // sample i, drawn by the first get(i)
    explicit Kept(size_t n) : drawn(new std::once_flag[n]), samples(n) {}
    std::unique_ptr<std::once_flag[]> drawn;
    std::vector<Sample> samples;
  };
  std::unique_ptr<Kept> kept_;  // null for a split of more than kKeptSamples
};

}  // namespace tdseg
