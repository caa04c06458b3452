#include "train/history.h"

#include <fstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "data/plot.h"
#include "data/png.h"

namespace tdseg {

using nlohmann::json;

namespace {

json to_json(const History::Step& s) {
  json j = {{"iter", s.iter},
            {"loss", s.loss},
            {"lr", s.lr},
            {"images_per_s", s.images_per_s},
            {"elapsed_s", s.elapsed_s},
            {"loader_wait_s", s.loader_wait_s}};
  if (s.peak_mib) j["peak_mib"] = *s.peak_mib;
  return j;
}

json to_json(const History::Eval& e) {
  return {{"iter", e.iter},
          {"val_miou", e.miou},
          {"val_pixel_accuracy", e.pixel_accuracy},
          {"eval_s", e.seconds}};
}

}  // namespace

RunLog::RunLog(std::string path, int64_t resume_step) : path_(std::move(path)) {
  std::vector<std::string> kept;
  if (resume_step >= 0) {
    std::ifstream in(path_);
    std::string line;
    while (std::getline(in, line)) {
      const json j = json::parse(line, nullptr, false);
      // A crash while a line was appended leaves it torn at the end, without its newline.
      if (j.is_discarded() && in.eof()) break;
      check<IOError>(!j.is_discarded() && j.contains("iter"), path_, ": not a log line: ", line);
      if (j["iter"].get<int64_t>() > resume_step) continue;
      kept.push_back(line);
      if (j.contains("loss"))
        history_.steps.push_back({j["iter"], j["loss"], j["lr"], j["images_per_s"],
                                  j["elapsed_s"], j.value("loader_wait_s", 0.0),
                                  j.contains("peak_mib") ? std::optional<double>(j["peak_mib"])
                                                         : std::nullopt});
      else
        history_.evals.push_back({j["iter"], j["val_miou"], j["val_pixel_accuracy"], j["eval_s"]});
    }
  }
  // Rewritten whole, through a temporary and a rename, so that a crash leaves a valid log.
  std::string text;
  for (const std::string& line : kept) text += line + "\n";
  write_file_atomically(path_, text);
}

void RunLog::append(const json& line) const {
  std::ofstream out(path_, std::ios::app);
  out << line.dump() << "\n";
  check<IOError>(out.good(), path_, ": cannot append to the run log");
}

void RunLog::step(const History::Step& s) {
  history_.steps.push_back(s);
  append(to_json(s));
}

void RunLog::eval(const History::Eval& e) {
  history_.evals.push_back(e);
  append(to_json(e));
}

void write_curves(const std::string& path, const History& h) {
  LinePlot loss{"training loss (cross-entropy)", "iteration", "loss",
                {{{}, {}, {200, 40, 40}}},       720,         320};
  for (const History::Step& s : h.steps) {
    loss.series[0].x.push_back(static_cast<double>(s.iter));
    loss.series[0].y.push_back(s.loss);
  }
  LinePlot miou{"validation mIoU", "iteration", "mIoU", {{{}, {}, {40, 80, 200}}}, 720, 320};
  for (const History::Eval& e : h.evals) {
    miou.series[0].x.push_back(static_cast<double>(e.iter));
    miou.series[0].y.push_back(e.miou);
  }
  const bool both = !h.evals.empty();
  check<ValueError>(!h.steps.empty(), path, ": no logged step to plot");
  const Canvas top = render_plot(loss);
  Canvas c(top.width(), both ? 2 * top.height() : top.height());
  c.paste(0, 0, top);
  if (both) c.paste(0, top.height(), render_plot(miou));
  write_png(path, c.width(), c.height(), 3, c.pixels());
}

}  // namespace tdseg
