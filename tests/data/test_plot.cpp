// The canvas and the line plot: text, lines and series land where they should, and a
// plot with nothing to draw is an error.
#include <gtest/gtest.h>

#include "data/plot.h"
#include "tests/check_close.h"

namespace tdseg::testing {
namespace {

constexpr Rgb kRed{255, 0, 0};

bool same(Rgb a, Rgb b) { return a.r == b.r && a.g == b.g && a.b == b.b; }

int64_t count(const Canvas& c, Rgb colour, int64_t x0, int64_t y0, int64_t x1, int64_t y1) {
  int64_t n = 0;
  for (int64_t y = y0; y < y1; ++y)
    for (int64_t x = x0; x < x1; ++x) n += same(c.at(x, y), colour);
  return n;
}

TEST(Canvas, TextStaysInItsBox) {
  Canvas c(200, 40);
  const std::string s = "F + R 3.1";
  c.text(10, 5, s, kRed, 2);
  const int64_t w = Canvas::text_width(s, 2), h = Canvas::text_height(2);
  EXPECT_GT(w, 8 * 2 * 3);  // at least 3 font pixels a character
  const int64_t inside = count(c, kRed, 10, 5, 10 + w, 5 + h);
  EXPECT_GT(inside, 100);
  EXPECT_EQ(count(c, kRed, 0, 0, 200, 40), inside);
}

TEST(Canvas, LinesRectanglesAndPasteAreClipped) {
  Canvas c(20, 10);
  c.line(-5, 5, 30, 5, kRed);  // a horizontal line across and beyond the canvas
  EXPECT_EQ(count(c, kRed, 0, 0, 20, 10), 20);
  c.fill_rect(15, 8, 40, 40, {0, 0, 0});
  EXPECT_EQ(count(c, {0, 0, 0}, 0, 0, 20, 10), 10);
  Canvas small(4, 4, {0, 255, 0});
  c.paste(18, -2, small);
  EXPECT_EQ(count(c, {0, 255, 0}, 0, 0, 20, 10), 4);
  EXPECT_THROW_MSG(c.at(20, 0), ValueError, "canvas: pixel (20, 0) is outside the 20x10 canvas");
}

TEST(Plot, DrawsTheSeriesInsideTheAxes) {
  LinePlot p{"title", "x", "y", {{{0, 1, 2, 3}, {10, 7, 6, 5.5}, kRed}}};
  const Canvas c = render_plot(p);
  EXPECT_EQ(c.width(), 720);
  EXPECT_EQ(c.height(), 480);
  EXPECT_GT(count(c, kRed, 0, 0, c.width(), c.height()), 200);
  // the corners stay white, the series stays off the outer margins
  EXPECT_TRUE(same(c.at(0, 0), {255, 255, 255}));
  EXPECT_TRUE(same(c.at(c.width() - 1, c.height() - 1), {255, 255, 255}));
  EXPECT_EQ(count(c, kRed, 0, 0, 24, c.height()), 0);
  EXPECT_EQ(count(c, kRed, 0, c.height() - 24, c.width(), c.height()), 0);
}

TEST(Plot, ErrorsNameThePlot) {
  EXPECT_THROW_MSG(render_plot({"empty", "x", "y", {}}), ValueError,
                   "plot: empty: nothing to plot");
  EXPECT_THROW_MSG(render_plot({"odd", "x", "y", {{{0, 1}, {1}, kRed}}}), ValueError,
                   "plot: odd: a series has 2 x values and 1 y values");
  EXPECT_THROW_MSG(render_plot({"nan", "x", "y", {{{0}, {NAN}, kRed}}}), ValueError,
                   "plot: nan: point (0, nan) is not finite");
}

}  // namespace
}  // namespace tdseg::testing
