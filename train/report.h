// Reports of runs, in Markdown beside the run:
//   RUN/report.md      the summary (model, head, iterations, time, mIoU, best), the
//                      per-class IoU table and confusion matrix of the final evaluation,
//                      the curves (curves.png), a gallery of validation predictions
//                      (RUN/gallery/*.png: image, ground truth, prediction, and for an STD
//                      head the softmax of the logits before it) and the configuration.
//   OUT/report.md      (comparison) the runs' mIoU side by side, linking each run's report.
#pragma once
#include <string>
#include <vector>

#include "data/dataset.h"
#include "models/deeplab.h"
#include "train/config.h"
#include "train/trainer.h"

namespace tdseg {

// Writes the gallery's first config.eval.gallery validation images; returns their paths
// relative to the run folder.
std::vector<std::string> write_gallery(DeepLabV3Plus& model, const Dataset& val,
                                       const RunConfig& config, const std::string& run_dir);

void write_run_report(const RunConfig& config, const TrainResult& result, DeepLabV3Plus& model,
                      const Dataset& val);

// The runs side by side as plain text: per-class IoU, mIoU, pixel accuracy, the best
// validation mIoU and its iteration, training time.
std::string comparison_table(const std::vector<TrainResult>& runs);
void write_comparison_report(const std::string& path, const std::vector<TrainResult>& runs,
                             double wall_seconds);

}  // namespace tdseg
