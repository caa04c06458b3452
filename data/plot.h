// A line plot drawn on a Canvas: a title, a boxed plot area with light grid lines at a
// few round tick values on each axis (steps of 1, 2 or 5 times a power of ten), the
// tick values, axis labels (the y label above its axis), and one polyline with a marker
// at each point per series.
#pragma once
#include <string>
#include <vector>

#include "data/canvas.h"

namespace tdseg {

struct PlotSeries {
  std::vector<double> x, y;
  Rgb color;
};

struct LinePlot {
  std::string title, x_label, y_label;
  std::vector<PlotSeries> series;
  int64_t width = 720, height = 480;
};

// A ValueError when there is no point, a series' x and y differ in length or a value is
// not finite.
Canvas render_plot(const LinePlot& plot);

}  // namespace tdseg
