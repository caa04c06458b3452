#include "data/canvas.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

// stb's font has static functions; this file does not use them all.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "stb_easy_font.h"
#pragma GCC diagnostic pop

namespace tdseg {

Canvas::Canvas(int64_t width, int64_t height, Rgb background) : width_(width), height_(height) {
  check<ValueError>(width > 0 && height > 0, "canvas: size ", width, "x", height,
                    " must be positive");
  pixels_.resize(width * height * 3);
  for (int64_t k = 0; k < width * height; ++k) {
    pixels_[3 * k] = background.r;
    pixels_[3 * k + 1] = background.g;
    pixels_[3 * k + 2] = background.b;
  }
}

Rgb Canvas::at(int64_t x, int64_t y) const {
  check<ValueError>(x >= 0 && x < width_ && y >= 0 && y < height_, "canvas: pixel (", x, ", ",
                    y, ") is outside the ", width_, "x", height_, " canvas");
  const uint8_t* p = &pixels_[3 * (y * width_ + x)];
  return {p[0], p[1], p[2]};
}

void Canvas::fill_rect(int64_t x0, int64_t y0, int64_t x1, int64_t y1, Rgb c) {
  x0 = std::max<int64_t>(x0, 0), y0 = std::max<int64_t>(y0, 0);
  x1 = std::min(x1, width_), y1 = std::min(y1, height_);
  for (int64_t y = y0; y < y1; ++y)
    for (int64_t x = x0; x < x1; ++x) {
      uint8_t* p = &pixels_[3 * (y * width_ + x)];
      p[0] = c.r, p[1] = c.g, p[2] = c.b;
    }
}

// A square brush stepped along the segment at most one pixel at a time.
void Canvas::line(double x0, double y0, double x1, double y1, Rgb c, int64_t width) {
  const double length = std::max(std::abs(x1 - x0), std::abs(y1 - y0));
  const int64_t steps = std::max<int64_t>(1, std::llround(length));
  const int64_t lo = (width - 1) / 2, hi = width / 2 + 1;
  for (int64_t k = 0; k <= steps; ++k) {
    const double t = static_cast<double>(k) / steps;
    const int64_t x = std::llround(x0 + t * (x1 - x0)), y = std::llround(y0 + t * (y1 - y0));
    fill_rect(x - lo, y - lo, x + hi, y + hi, c);
  }
}

void Canvas::paste(int64_t x, int64_t y, const Canvas& other) {
  for (int64_t r = 0; r < other.height_; ++r)
    for (int64_t col = 0; col < other.width_; ++col)
      fill_rect(x + col, y + r, x + col + 1, y + r + 1, other.at(col, r));
}

// stb_easy_font_print returns axis-aligned quads (4 vertices of x, y, z floats and 4 colour
// bytes, 16 bytes each) in font pixels; each is filled as a rectangle.
void Canvas::text(int64_t x, int64_t y, const std::string& s, Rgb c, int64_t scale) {
  struct Vertex {
    float x, y, z;
    uint8_t color[4];
  };
  std::string chars = s;
  std::vector<Vertex> quads(4 * 64 * (s.size() + 1));  // room for 64 quads a character
  const int n = stb_easy_font_print(0, 0, chars.data(), nullptr, quads.data(),
                                    static_cast<int>(quads.size() * sizeof(Vertex)));
  for (int q = 0; q < n; ++q) {
    const Vertex &a = quads[4 * q], &b = quads[4 * q + 2];
    fill_rect(x + std::lround(a.x * scale), y + std::lround(a.y * scale),
              x + std::lround(b.x * scale), y + std::lround(b.y * scale), c);
  }
}

int64_t Canvas::text_width(const std::string& s, int64_t scale) {
  std::string chars = s;
  return stb_easy_font_width(chars.data()) * scale;
}

int64_t Canvas::text_height(int64_t scale) {
  return 12 * scale;  // stb_easy_font's line height, descenders included
}

}  // namespace tdseg
