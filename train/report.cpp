#include "train/report.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <iomanip>

#include "core/atomic_file.h"
#include "data/png.h"
#include "train/progress.h"
#include "train/setup.h"
#include "train/visualize.h"

namespace tdseg {

namespace fs = std::filesystem;

namespace {

std::string percent(double v) { return cat(std::fixed, std::setprecision(2), 100 * v, "%"); }

std::string file_safe(const std::string& id) {
  std::string s = id;
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
  return s;
}

void write_canvas(const fs::path& path, const Canvas& c) {
  write_png(path.string(), c.width(), c.height(), 3, c.pixels());
}

std::string iou_markdown(const ConfusionMatrix& m, const std::vector<std::string>& names) {
  std::string out = "| class | IoU |\n|---|---:|\n";
  for (int64_t c = 0; c < m.classes(); ++c) {
    const auto v = m.iou(c);
    out += cat("| ", class_name(names, c), " | ", v ? percent(*v) : "-", " |\n");
  }
  return out + cat("| **mIoU** | **", percent(m.mean_iou()), "** |\n");
}

// On a GPU, the most device memory a logged window of steps held; "" on the CPU.
std::string peak_memory_row(const RunConfig& config, const History& h) {
  std::optional<double> peak;
  for (const History::Step& s : h.steps)
    if (s.peak_mib) peak = std::max(peak.value_or(0), *s.peak_mib);
  if (!peak) return "";
  return cat("| peak device memory | ", std::llround(*peak), " MiB on ", config.device,
             " (the caching allocator's count, evaluations excluded) |\n");
}

// The share of the training time the steps waited for the loader: "2.5%".
std::string loader_wait_share(const TrainResult& r) {
  return cat(std::fixed, std::setprecision(1),
             100 * r.loader_wait_seconds / std::max(r.train_seconds, 1e-9), "%");
}

std::string loader_wait_cell(const TrainResult& r, int64_t workers) {
  return cat(std::setprecision(3), r.loader_wait_seconds, " s, ", loader_wait_share(r),
             " of it (", workers, " loader worker", workers == 1 ? "" : "s", ")");
}

}  // namespace

std::vector<std::string> write_gallery(DeepLabV3Plus& model, const Dataset& val,
                                       const RunConfig& config, const std::string& run_dir) {
  std::vector<std::string> files;
  if (config.eval.gallery == 0) return files;
  fs::create_directories(fs::path(run_dir) / "gallery");
  model.eval();
  const DeepLabConfig& mc = model.config();
  const bool std_head = mc.head.prior != StdPrior::None;
  const EvalOptions options = eval_options(config);
  const Tensor ratios = mc.head.prior == StdPrior::VP && options.volumes != "ground_truth"
                            ? read_volume_ratios(options.volumes, mc.classes)
                            : Tensor();
  const LoaderOptions lo = eval_loader_options(config);
  Loader loader(val, lo);
  Batch batch;
  while (static_cast<int64_t>(files.size()) < config.eval.gallery && loader.next(batch)) {
    const Probabilities p = predict_probabilities(
        model, batch.images, eval_extras(mc, batch, options, ratios), options, std_head);
    const Tensor predicted = argmax_classes(p.head);
    const Tensor image =
        denormalize(batch.images.reshape({3, batch.images.size(2), batch.images.size(3)}), lo);
    const Shape hw{batch.images.size(2), batch.images.size(3)};
    std::vector<TitledPanel> panels = {{"image", image_canvas(image)},
                                       {"ground truth", mask_canvas(batch.masks.reshape(hw))}};
    if (std_head)
      panels.push_back({"softmax (logits)", mask_canvas(argmax_classes(p.logits).reshape(hw))});
    panels.push_back(
        {std_head ? head_name(mc) + " head" : "prediction", mask_canvas(predicted.reshape(hw))});
    panels.push_back({"overlay", overlay(image_canvas(image), predicted.reshape(hw))});
    const int64_t factor = std::max<int64_t>(1, 256 / std::max(hw[0], hw[1]));
    const std::string name = cat("gallery/", files.size(), "_", file_safe(batch.ids.at(0)), ".png");
    write_canvas(fs::path(run_dir) / name, strip(panels, factor));
    files.push_back(name);
  }
  return files;
}

void write_run_report(const RunConfig& config, const TrainResult& r, DeepLabV3Plus& model,
                      const Dataset& val) {
  const std::vector<std::string> gallery = write_gallery(model, val, config, r.run_dir);
  const ConfusionMatrix& m = r.eval.matrix;
  std::string md =
      cat("# tdseg run: ", r.model, ", ", r.head, " head\n\n", "| | |\n|---|---|\n", "| data | ",
          config.data.format, " (validation: ", val.size(), " images of ", val.name(), ") |\n",
          "| iterations | ", r.steps, " (batch ", config.train.batch_size, ", crop ",
          config.data.crop, ", ", config.train.optimizer, " lr ", config.train.lr, ") |\n",
          "| training time | ", format_duration(r.train_seconds), " (this process) |\n",
          "| waiting for data | ", loader_wait_cell(r, config.data.workers), " |\n",
          peak_memory_row(config, r.history), "| final mIoU | ", percent(m.mean_iou()), " |\n", "| pixel accuracy | ",
          percent(m.pixel_accuracy()), " |\n", "| best validation mIoU | ", percent(r.best_miou),
          " at iteration ", r.best_step, " |\n", "| evaluation | ", r.eval.description, " |\n\n");
  if (fs::exists(fs::path(r.run_dir) / "curves.png"))
    md += "## Curves\n\n![loss and validation mIoU](curves.png)\n\n";
  md += "## Per-class IoU (final evaluation)\n\n" + iou_markdown(m, r.class_names) + "\n";
  md += "Confusion matrix:\n\n```\n" + m.format_matrix(r.class_names) + "```\n\n";
  if (!gallery.empty()) {
    md += "## Gallery (validation images)\n\n";
    for (const std::string& g : gallery) md += "![" + g + "](" + g + ")\n\n";
  }
  md += "## Configuration\n\n```json\n" + config.json.dump(2) + "\n```\n";
  write_file_atomically((fs::path(r.run_dir) / "report.md").string(), md);
}

std::string comparison_table(const std::vector<TrainResult>& runs) {
  // One column per run, one row per class, then the totals.
  std::vector<std::pair<std::string, std::vector<std::string>>> rows;
  auto row = [&](const std::string& label, auto&& cell) {
    std::vector<std::string> cells;
    for (const TrainResult& r : runs) cells.push_back(cell(r));
    rows.emplace_back(label, cells);
  };
  row("head", [](const TrainResult& r) { return r.head; });
  for (int64_t c = 0; c < runs.at(0).eval.matrix.classes(); ++c)
    row(class_name(runs[0].class_names, c), [&](const TrainResult& r) {
      const auto v = r.eval.matrix.iou(c);
      return v ? percent(*v) : std::string("-");
    });
  row("mIoU", [](const TrainResult& r) { return percent(r.eval.matrix.mean_iou()); });
  row("pixel accuracy", [](const TrainResult& r) { return percent(r.eval.matrix.pixel_accuracy()); });
  row("best mIoU", [](const TrainResult& r) { return percent(r.best_miou); });
  row("at iteration", [](const TrainResult& r) { return std::to_string(r.best_step); });
  row("training time", [](const TrainResult& r) { return format_duration(r.train_seconds); });
  row("loader wait", loader_wait_share);
  std::string out;
  for (const auto& [label, cells] : rows) {
    out += label + std::string(label.size() < 16 ? 16 - label.size() : 1, ' ');
    for (const std::string& cell : cells)
      out += std::string(cell.size() < 10 ? 10 - cell.size() : 1, ' ') + cell;
    out += "\n";
  }
  return out;
}

void write_comparison_report(const std::string& path, const std::vector<TrainResult>& runs,
                             double wall_seconds) {
  const fs::path base = fs::absolute(path).parent_path();
  std::string md =
      cat("# tdseg: the same network with different heads\n\n", "Model family: ", runs.at(0).model,
          "; total wall time ", format_duration(wall_seconds), ".\n\n```\n", comparison_table(runs),
          "```\n\n");
  for (const TrainResult& r : runs) {
    const std::string rel = fs::relative(fs::absolute(r.run_dir), base).string();
    md += cat("## ", r.head, " head\n\n[report](", rel, "/report.md)\n\n![curves](", rel,
              "/curves.png)\n\n");
    std::vector<std::string> gallery;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(fs::path(r.run_dir) / "gallery", ec))
      gallery.push_back(rel + "/gallery/" + e.path().filename().string());
    std::sort(gallery.begin(), gallery.end());
    for (const std::string& g : gallery) md += "![" + g + "](" + g + ")\n\n";
  }
  write_file_atomically(path, md);
}

}  // namespace tdseg
