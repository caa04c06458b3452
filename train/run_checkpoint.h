// Training checkpoints: one safetensors file holding the model's parameters and buffers
// under their module names (so layers/checkpoint.h's Partial load reads the model from
// it), the optimiser's state under "optimizer.*", and metadata:
//   tdseg.config     the run's effective configuration (JSON), to rebuild the model
//   tdseg.classes    the network's classes, tdseg.star_class the dataset's star class
//                    (-1: none), so that eval and predict need not open the training data
//   tdseg.step       the training iterations done (the loader resumes after that many
//                    batches, the dropout stream is seeded per step)
//   tdseg.best_miou  the best validation mIoU so far and tdseg.best_step its iteration
//   tdseg.miou       the validation mIoU at this step, when evaluated
// Written atomically (a temporary file, then a rename).
#pragma once
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "layers/module.h"
#include "train/config.h"
#include "train/optimizer.h"

namespace tdseg {

struct CheckpointInfo {
  nlohmann::json config;  // null when the file has none (a plain model checkpoint)
  int64_t classes = 0;    // a plain checkpoint: the rows of logits.weight
  int64_t star_class = -1;
  int64_t step = 0;
  std::optional<double> best_miou, miou;
  int64_t best_step = 0;
};

void save_run_checkpoint(const std::string& path, const Module& model, const Optimizer* optimizer,
                         const CheckpointInfo& info);

// The metadata only.
CheckpointInfo read_checkpoint_info(const std::string& path);

// The configuration a checkpoint was trained with (the defaults for a plain checkpoint),
// then the config file `file` (when non-empty) and the overrides, parsed.
RunConfig checkpoint_config(const CheckpointInfo& info, const std::string& path,
                            const std::string& file, const std::vector<std::string>& overrides);

// Copies every model tensor from the file (an IOError naming the file and what is missing
// or mismatched otherwise) and, when `optimizer` is given, its state (which must be there).
CheckpointInfo load_run_checkpoint(const std::string& path, Module& model, Optimizer* optimizer);

}  // namespace tdseg
