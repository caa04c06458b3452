// An 8-bit RGB raster to draw figures and plots on: rectangles, lines, other canvases and
// text in stb_easy_font's bitmap font. Drawing outside the canvas is clipped.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tdseg {

struct Rgb {
  uint8_t r, g, b;
};

class Canvas {
 public:
  Canvas(int64_t width, int64_t height, Rgb background = {255, 255, 255});

  int64_t width() const { return width_; }
  int64_t height() const { return height_; }
  // Rows top to bottom, 3 bytes (r, g, b) per pixel: what write_png takes.
  const std::vector<uint8_t>& pixels() const { return pixels_; }
  Rgb at(int64_t x, int64_t y) const;

  // The pixels [x0, x1) x [y0, y1).
  void fill_rect(int64_t x0, int64_t y0, int64_t x1, int64_t y1, Rgb c);
  // A straight line from (x0, y0) to (x1, y1), `width` pixels thick.
  void line(double x0, double y0, double x1, double y1, Rgb c, int64_t width = 1);
  // `other` with its top-left corner at (x, y).
  void paste(int64_t x, int64_t y, const Canvas& other);
  // One line of text with its top-left corner at (x, y), each font pixel drawn as a
  // scale x scale square; printable ASCII only.
  void text(int64_t x, int64_t y, const std::string& s, Rgb c, int64_t scale = 1);
  static int64_t text_width(const std::string& s, int64_t scale = 1);
  static int64_t text_height(int64_t scale = 1);

 private:
  int64_t width_, height_;
  std::vector<uint8_t> pixels_;
};

}  // namespace tdseg
