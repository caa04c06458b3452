// Evaluation of a segmentation network on a dataset: the confusion matrix of its argmax
// predictions against the masks (255 ignored), hence per-class IoU, mIoU and pixel
// accuracy (train/metrics.h).
//
// Single- or multi-scale with flips, as the reference's predict_labels_multi_scale: for
// each scale s the image is resized (align_corners bilinear) to scale_dimension(H, s) x
// scale_dimension(W, s), the network's output z (and, with flip, that of the mirrored
// image, mirrored back) is resized back to H x W the same way, and the softmax
// probabilities of all these are averaged; the prediction is their argmax.
// Extras of the STD heads at scale s: VP-STD volumes scale with the area, from the ground
// truth (the paper's evaluation) or from a file of class ratios; SS-STD centres scale
// with the image (mirrored with it), from the ground truth or estimated by the block.
#pragma once
#include <string>
#include <vector>

#include "data/loader.h"
#include "models/deeplab.h"
#include "train/config.h"
#include "train/metrics.h"

namespace tdseg {

struct EvalOptions {
  std::vector<double> scales{1.0};
  bool flip = false;
  std::string volumes = "ground_truth";  // or a ratio file: .npy [C], or text of C numbers
  std::string centers = "ground_truth";  // or "estimate"
};

EvalOptions eval_options(const RunConfig& config);

// Class ratios [C] (float64, each in [0, 1]) from a .npy file or a text file of numbers;
// an IOError or ValueError naming the file.
Tensor read_volume_ratios(const std::string& path, int64_t classes);

// What the evaluation does, for its output: "scales 0.75, 1, 1.25 with flip; VP-STD
// volumes from the ground truth".
std::string describe_eval(const EvalOptions& options, const DeepLabConfig& model);

// The extras the model's head needs for this batch (see the header comment); `ratios`
// is the file's [C] when options.volumes names one.
StdExtras eval_extras(const DeepLabConfig& model, const Batch& batch, const EvalOptions& options,
                      const Tensor& ratios);

struct Probabilities {
  Tensor head;    // [N, C, H, W]: averaged softmax of the model's output z
  Tensor logits;  // the same for the logits before an STD head (when asked for)
};

// The model must be in evaluation mode; `images` are normalised [N, 3, H, W] on the host
// and run on the model's device; the results are on the host. With
// `with_logits`, also averages softmax(logits) of the stage before the head.
Probabilities predict_probabilities(const DeepLabV3Plus& model, const Tensor& images,
                                    const StdExtras& extras, const EvalOptions& options,
                                    bool with_logits = false);

struct EvalResult {
  ConfusionMatrix matrix{1};
  int64_t images = 0;
  double seconds = 0;
  std::string description;  // describe_eval's
};

// Puts the model in evaluation mode and runs it over one pass of the loader's batches.
EvalResult evaluate(DeepLabV3Plus& model, const Dataset& dataset, const LoaderOptions& loader,
                    const EvalOptions& options);

}  // namespace tdseg
