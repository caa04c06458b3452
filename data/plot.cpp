#include "data/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace tdseg {

namespace {

constexpr int64_t kScale = 2;  // text: 2 x 2 screen pixels per font pixel
constexpr Rgb kBlack{0, 0, 0}, kGrid{225, 225, 225};

// An axis over [lo, hi] widened to whole multiples of a round step that gives about five
// intervals: step = m 10^p with m in {1, 2, 5}.
struct Axis {
  double lo, hi, step;
  Axis(double min, double max) {
    if (max - min <= 0) min -= 0.5, max += 0.5;  // one value: a unit range around it
    const double raw = (max - min) / 5, p = std::pow(10.0, std::floor(std::log10(raw)));
    step = 10 * p;
    for (double m : {1.0, 2.0, 5.0})
      if (m * p >= raw) {
        step = m * p;
        break;
      }
    lo = std::floor(min / step) * step;
    hi = std::ceil(max / step) * step;
  }
  std::vector<double> ticks() const {
    std::vector<double> t;
    for (int64_t k = std::llround(lo / step); k * step <= hi + 1e-9 * step; ++k)
      t.push_back(k * step);
    return t;
  }
};

std::string tick_label(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", std::abs(v) < 1e-12 ? 0.0 : v);
  return buf;
}

}  // namespace

Canvas render_plot(const LinePlot& plot) {
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  for (const PlotSeries& s : plot.series) {
    check<ValueError>(s.x.size() == s.y.size(), "plot: ", plot.title, ": a series has ",
                      s.x.size(), " x values and ", s.y.size(), " y values");
    for (size_t k = 0; k < s.x.size(); ++k) {
      check<ValueError>(std::isfinite(s.x[k]) && std::isfinite(s.y[k]), "plot: ", plot.title,
                        ": point (", s.x[k], ", ", s.y[k], ") is not finite");
      xmin = std::min(xmin, s.x[k]), xmax = std::max(xmax, s.x[k]);
      ymin = std::min(ymin, s.y[k]), ymax = std::max(ymax, s.y[k]);
    }
  }
  check<ValueError>(xmin <= xmax, "plot: ", plot.title, ": nothing to plot");
  const Axis ax(xmin, xmax), ay(ymin, ymax);

  // Layout: title, y label, plot area, x tick values, x label, from the top down.
  const int64_t line = Canvas::text_height(kScale), glyph = 7 * kScale;  // capital height
  int64_t label_width = 0;
  for (double t : ay.ticks())
    label_width = std::max(label_width, Canvas::text_width(tick_label(t), kScale));
  const int64_t left = 24 + label_width, right = plot.width - 32;
  const int64_t top = 24 + 2 * line, bottom = plot.height - 24 - 2 * line;
  check<ValueError>(right - left > 16 && bottom - top > 16, "plot: ", plot.title, ": ",
                    plot.width, "x", plot.height, " is too small");
  auto px = [&](double x) { return left + (x - ax.lo) / (ax.hi - ax.lo) * (right - left); };
  auto py = [&](double y) { return bottom - (y - ay.lo) / (ay.hi - ay.lo) * (bottom - top); };

  Canvas c(plot.width, plot.height);
  c.text((plot.width - Canvas::text_width(plot.title, kScale)) / 2, 8, plot.title, kBlack, kScale);
  c.text(left - Canvas::text_width(plot.y_label, kScale) / 2, top - line - 4, plot.y_label,
         kBlack, kScale);
  for (double t : ax.ticks()) {
    const int64_t x = std::llround(px(t));
    const std::string s = tick_label(t);
    c.line(x, top, x, bottom, kGrid);
    c.line(x, bottom, x, bottom + 5, kBlack);
    c.text(x - Canvas::text_width(s, kScale) / 2, bottom + 10, s, kBlack, kScale);
  }
  for (double t : ay.ticks()) {
    const int64_t y = std::llround(py(t));
    const std::string s = tick_label(t);
    c.line(left, y, right, y, kGrid);
    c.line(left - 5, y, left, y, kBlack);
    c.text(left - 10 - Canvas::text_width(s, kScale), y - glyph / 2, s, kBlack, kScale);
  }
  c.text((left + right - Canvas::text_width(plot.x_label, kScale)) / 2, bottom + 16 + line,
         plot.x_label, kBlack, kScale);
  c.line(left, top, left, bottom, kBlack);
  c.line(left, bottom, right, bottom, kBlack);
  c.line(left, top, right, top, kBlack);
  c.line(right, top, right, bottom, kBlack);
  for (const PlotSeries& s : plot.series)
    for (size_t k = 0; k < s.x.size(); ++k) {
      const double x = px(s.x[k]), y = py(s.y[k]);
      if (k > 0) c.line(px(s.x[k - 1]), py(s.y[k - 1]), x, y, s.color, 2);
      const int64_t mx = std::llround(x), my = std::llround(y);
      c.fill_rect(mx - 3, my - 3, mx + 4, my + 4, s.color);
    }
  return c;
}

}  // namespace tdseg
