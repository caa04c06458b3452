#include "tools/tdseg/toy_figure.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <utility>

#include "core/error.h"
#include "data/canvas.h"
#include "data/plot.h"
#include "data/png.h"

namespace tdseg::cli {

namespace {

constexpr int64_t kScale = 2, kGap = 16;  // text scale; space between panels
constexpr Rgb kBlack{0, 0, 0}, kWhite{255, 255, 255}, kRed{220, 0, 0};

// v (N x N) as gray, lo black and hi white, each value a zoom x zoom square.
Canvas panel(const double* v, int64_t N, double lo, double hi, int64_t zoom) {
  Canvas c(N * zoom, N * zoom);
  for (int64_t y = 0; y < N; ++y)
    for (int64_t x = 0; x < N; ++x) {
      const double t = std::clamp((v[y * N + x] - lo) / (hi - lo), 0.0, 1.0);
      const auto g = static_cast<uint8_t>(std::lround(255 * t));
      c.fill_rect(x * zoom, y * zoom, (x + 1) * zoom, (y + 1) * zoom, {g, g, g});
    }
  return c;
}

// A red disc with a white rim at the pixel centre (cx, cy) of a zoomed panel.
void mark_centre(Canvas& c, double cx, double cy, int64_t zoom) {
  const double x0 = (cx + 0.5) * zoom, y0 = (cy + 0.5) * zoom;
  for (auto [radius, colour] : {std::pair<double, Rgb>{7, kWhite}, {5, kRed}})
    for (int64_t y = std::lround(y0 - radius); y <= std::lround(y0 + radius); ++y)
      for (int64_t x = std::lround(x0 - radius); x <= std::lround(x0 + radius); ++x)
        if (std::hypot(x - x0, y - y0) <= radius) c.fill_rect(x, y, x + 1, y + 1, colour);
}

std::string fixed(double v, int digits) { return cat(std::fixed, std::setprecision(digits), v); }

struct Panel {
  std::string file;
  Canvas canvas;
  std::vector<std::string> title;  // lines under the panel
};

Canvas figure(const std::vector<Panel>& panels, const std::vector<std::string>& header,
              const std::vector<std::string>& footer) {
  const int64_t side = panels[0].canvas.width(), line = Canvas::text_height(kScale);
  size_t title_lines = 0;
  for (const Panel& p : panels) title_lines = std::max(title_lines, p.title.size());
  int64_t width = static_cast<int64_t>(panels.size()) * (side + kGap) + kGap;
  for (const auto* lines : {&header, &footer})
    for (const std::string& s : *lines)
      width = std::max(width, Canvas::text_width(s, kScale) + 2 * kGap);
  const int64_t top = kGap + static_cast<int64_t>(header.size()) * line + kGap;
  const int64_t notes = top + side + 8 + static_cast<int64_t>(title_lines) * line + kGap;
  Canvas c(width, notes + static_cast<int64_t>(footer.size()) * line + kGap);
  for (size_t k = 0; k < header.size(); ++k)
    c.text(kGap, kGap + static_cast<int64_t>(k) * line, header[k], kBlack, kScale);
  for (size_t i = 0; i < panels.size(); ++i) {
    const int64_t x = kGap + static_cast<int64_t>(i) * (side + kGap);
    c.paste(x, top, panels[i].canvas);
    for (size_t k = 0; k < panels[i].title.size(); ++k) {
      const std::string& s = panels[i].title[k];
      c.text(x + (side - Canvas::text_width(s, kScale)) / 2,
             top + side + 8 + static_cast<int64_t>(k) * line, s, kBlack, kScale);
    }
  }
  for (size_t k = 0; k < footer.size(); ++k)
    c.text(kGap, notes + static_cast<int64_t>(k) * line, footer[k], kBlack, kScale);
  return c;
}

}  // namespace

std::vector<std::string> write_toy_pictures(const ToyResult& r, const ToyConfig& tc,
                                            const std::string& dir) {
  const int64_t N = tc.size, zoom = (288 + N - 1) / N;
  const double* v = r.image.data<double>();
  const auto [lo, hi] = std::minmax_element(v, v + N * N);
  std::vector<double> mask(r.mask.data<int32_t>(), r.mask.data<int32_t>() + N * N);
  std::vector<Panel> panels;
  panels.push_back(
      {"input.png", panel(v, N, *lo, *hi, zoom), {"input v", cat("noise ", tc.noise)}});
  panels.push_back({"mask.png", panel(mask.data(), N, 0, 1, zoom), {"true mask", "(the object)"}});
  const char* files[] = {"softmax.png", "std.png", "ss_std.png"};
  const std::string what[] = {"softmax (no prior)", cat("STD, T = ", tc.std_iters),
                              cat("SS-STD, T = ", tc.ss_iters)};
  for (size_t m = 0; m < r.methods.size(); ++m) {
    const ToyMethod& method = r.methods[m];
    Panel p{files[m], panel(method.u.data<double>() + N * N, N, 0, 1, zoom),
            {what[m], cat("IoU ", fixed(method.iou, 3), "  viol. ", fixed(method.violation, 1))}};
    if (method.name == "SS-STD") {
      mark_centre(p.canvas, r.cx, r.cy, zoom);
      p.title.push_back("red: the star centre");
    }
    panels.push_back(std::move(p));
  }
  const std::vector<std::string> header = {
      cat("Toy experiment (paper, 4.1, Fig. 6): a noisy star in 2 classes from "
          "o_i = -1/2 (v - mu_i)^2, mu = 2-means = (", fixed(r.mu[0], 2), ", ",
          fixed(r.mu[1], 2), ")"),
      cat(N, "x", N, ", seed ", tc.seed, "; eps ", tc.eps, ", lambda ", tc.lambda, ", kernel ",
          tc.kernel_size, "x", tc.kernel_size, ", sigma ", tc.sigma,
          "; shown: u of the object class, black 0 to white 1")};
  const std::vector<std::string> footer = {
      "IoU: of {u > 1/2} against the true mask.",
      "viol.: the star-shape violation sum_x max(0, -s . grad u), s the unit vector to the centre;",
      "       0 when u never rises going away from the centre."};
  std::vector<std::string> written;
  auto save = [&](const std::string& name, const Canvas& c) {
    written.push_back(dir + "/" + name);
    write_png(written.back(), c.width(), c.height(), 3, c.pixels());
  };
  for (const Panel& p : panels) save(p.file, p.canvas);
  save("figure.png", figure(panels, header, footer));
  LinePlot plot{"Energy F + R of STD per iteration (Theorem 3.1)",
                "iteration t", "F + R", {{{}, r.energy, {31, 119, 180}}}};
  for (size_t t = 0; t < r.energy.size(); ++t) plot.series[0].x.push_back(static_cast<double>(t));
  save("energy.png", render_plot(plot));
  return written;
}

}  // namespace tdseg::cli
