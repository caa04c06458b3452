#include "data/datasets/synthetic.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

#include "core/error.h"
#include "core/random.h"
#include "data/seed_mix.h"

namespace tdseg {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int64_t kSide = SyntheticDataset::kSide;
constexpr double kNoise = 32, kTexture = 28, kShading = 20, kJitter = 20;
// Background, star, crescent, ring, bar: close enough that noise blurs them together.
constexpr double kColour[SyntheticDataset::kClasses][3] = {
    {120, 120, 120}, {155, 120, 95}, {115, 155, 105}, {100, 110, 155}, {150, 145, 95}};

struct Figure {
  int32_t label;
  double cx, cy, reach;  // every inside point is within `reach` of (cx, cy) on each axis
  std::function<bool(double, double)> inside;  // of pixel (x = column, y = row)

  bool covers(double x, double y) const {
    return std::abs(x - cx) <= reach && std::abs(y - cy) <= reach && inside(x, y);
  }
};

struct Star {
  double cx, cy, r0, a, phase;
  int64_t k;
  double radius(double t) const { return r0 * (1 + a * std::cos(k * (t - phase))); }
};

Star draw_star(Generator& g) {
  Star s{};
  s.r0 = g.uniform(12, 20);
  s.a = g.uniform(0.25, 0.5);
  s.k = g.integer(3, 7);
  s.phase = g.uniform(0, 2 * kPi);
  const double margin = s.r0 * (1 + s.a) + 1;  // wholly inside the image
  s.cx = g.uniform(margin, kSide - 1 - margin);
  s.cy = g.uniform(margin, kSide - 1 - margin);
  return s;
}

// A crescent, ring or bar of `extent` (its radius or half-length) centred on (cx, cy) or,
// when `touch` is set, placed across the star's edge.
Figure draw_object(Generator& g, const Star& star, bool touch) {
  const int32_t label = static_cast<int32_t>(g.integer(2, 4));
  double extent = 0, inner = 0, aux = 0, angle = 0;
  if (label == 2) {  // crescent: disk radius extent, bite radius inner at distance aux
    extent = g.uniform(11, 20);
    inner = extent * g.uniform(0.75, 0.95);
    aux = extent * g.uniform(0.35, 0.6);
  } else if (label == 3) {  // ring: inner radius inner, outer radius extent
    inner = g.uniform(6, 12);
    extent = inner + g.uniform(4, 8);
  } else {  // bar: half-length extent, width aux
    extent = g.uniform(15, 35);
    aux = g.uniform(2, 4);
  }
  double cx = 0, cy = 0;
  if (touch) {
    const double t = g.uniform(0, 2 * kPi), d = star.radius(t) + 0.8 * extent;
    cx = star.cx + d * std::cos(t);
    cy = star.cy + d * std::sin(t);
    angle = t + g.uniform(-0.5, 0.5);  // a bar points at the star
  } else {
    cx = g.uniform(8, kSide - 9);  // mostly inside the image
    cy = g.uniform(8, kSide - 9);
    angle = g.uniform(0, 2 * kPi);
  }
  if (label == 2) {
    const double bx = cx + aux * std::cos(angle), by = cy + aux * std::sin(angle);
    return {label, cx, cy, extent, [=](double x, double y) {
              return std::hypot(x - cx, y - cy) <= extent && std::hypot(x - bx, y - by) > inner;
            }};
  }
  if (label == 3)
    return {label, cx, cy, extent, [=](double x, double y) {
              const double r = std::hypot(x - cx, y - cy);
              return r >= inner && r <= extent;
            }};
  const double ux = std::cos(angle), uy = std::sin(angle);
  return {label, cx, cy, extent + aux, [=](double x, double y) {
            // Distance from the segment (cx, cy) +- extent * (ux, uy).
            const double along = std::clamp((x - cx) * ux + (y - cy) * uy, -extent, extent);
            return std::hypot(x - cx - along * ux, y - cy - along * uy) <= aux / 2;
          }};
}

// Per-image appearance: jittered colours, a gain and each texture's random parameters.
struct Look {
  double colour[SyntheticDataset::kClasses][3];
  double gain, shade_x, shade_y, shade_phase, stripe_x, stripe_y, stripe_phase;
  int64_t check_x, check_y;

  explicit Look(Generator& g) {
    for (int64_t k = 0; k < SyntheticDataset::kClasses; ++k)
      for (int c = 0; c < 3; ++c) colour[k][c] = kColour[k][c] + g.uniform(-kJitter, kJitter);
    gain = g.uniform(0.85, 1.15);
    const double shade_angle = g.uniform(0, 2 * kPi), shade_period = g.uniform(24, 48);
    shade_x = 2 * kPi / shade_period * std::cos(shade_angle);
    shade_y = 2 * kPi / shade_period * std::sin(shade_angle);
    shade_phase = g.uniform(0, 2 * kPi);
    const double stripe_angle = g.uniform(0, kPi);
    stripe_x = 2 * kPi / 4 * std::cos(stripe_angle);
    stripe_y = 2 * kPi / 4 * std::sin(stripe_angle);
    stripe_phase = g.uniform(0, 2 * kPi);
    check_x = g.integer(0, 5);
    check_y = g.integer(0, 5);
  }

  double texture(int32_t label, int64_t x, int64_t y) const {
    switch (label) {
      case 0:
        return kShading * std::sin(x * shade_x + y * shade_y + shade_phase);
      case 1:
        return std::sin(x * stripe_x + y * stripe_y + stripe_phase) >= 0 ? kTexture : -kTexture;
      case 2:
        return ((x + check_x) / 3 + (y + check_y) / 3) % 2 ? kTexture : -kTexture;
      case 3:
        return kTexture * std::cos(2 * kPi * x / 5) * std::cos(2 * kPi * y / 5);
      default:
        return 0;
    }
  }
};

}  // namespace

SyntheticDataset::SyntheticDataset(const std::string& split, int64_t size, uint64_t seed)
    : split_(split), size_(size) {
  check<ValueError>(split == "train" || split == "val", "synthetic: unknown split '", split,
                    "' (train, val)");
  check<ValueError>(size >= 0, "synthetic: size ", size, " must be positive (0: the default)");
  if (size_ == 0) size_ = split == "train" ? kTrainSize : kValSize;
  seed_ = mix_seed(seed, split == "train" ? 0 : 1);
  if (size_ <= kKeptSamples) kept_ = std::make_unique<Kept>(static_cast<size_t>(size_));
}

Sample SyntheticDataset::get(size_t index) const {
  check<ValueError>(index < size(), name(), ": sample ", index, " of ", size());
  if (!kept_) return draw(index);
  Sample& s = kept_->samples[index];
  std::call_once(kept_->drawn[index], [&] { s = draw(index); });
  return {s.image.clone(), s.mask.clone(), s.id};  // the caller may change its copy
}

Sample SyntheticDataset::draw(size_t index) const {
  Generator g(mix_seed(seed_, index));
  const Star star = draw_star(g);
  std::vector<Figure> figures;
  const int64_t others = g.integer(3, 6);
  for (int64_t i = 0; i < others; ++i) figures.push_back(draw_object(g, star, i == 0));
  const auto in_star = [&star](double x, double y) {
    return std::hypot(x - star.cx, y - star.cy) <=
           star.radius(std::atan2(y - star.cy, x - star.cx));
  };
  figures.push_back(
      {static_cast<int32_t>(kStarClass), star.cx, star.cy, star.r0 * (1 + star.a), in_star});
  const Look look(g);

  Tensor mask = Tensor::zeros({kSide, kSide}, DType::Int32);
  Tensor image = Tensor::empty({3, kSide, kSide});
  int32_t* m = mask.data<int32_t>();
  float* px = image.data<float>();
  for (int64_t y = 0; y < kSide; ++y)
    for (int64_t x = 0; x < kSide; ++x) {
      int32_t& label = m[y * kSide + x];
      for (const Figure& f : figures)  // the last one drawn wins
        if (f.covers(x, y)) label = f.label;
      const double texture = look.texture(label, x, y);
      for (int64_t c = 0; c < 3; ++c) {
        const double v = look.gain * (look.colour[label][c] + texture) + kNoise * g.normal();
        px[(c * kSide + y) * kSide + x] = static_cast<float>(std::clamp(std::round(v), 0.0, 255.0));
      }
    }
  char id[32];
  std::snprintf(id, sizeof id, "%s_%05zu", split_.c_str(), index);
  return {image, mask, id};
}

}  // namespace tdseg
