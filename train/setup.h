// A run's parts built from its configuration: datasets, loaders, the model and the
// optimiser options. Problems are ValueErrors naming the config key at fault.
#pragma once
#include <memory>

#include "data/loader.h"
#include "models/deeplab.h"
#include "models/registry.h"
#include "train/config.h"
#include "train/optimizer.h"

namespace tdseg {

// The device of `device` in the configuration: cpu, cuda (GPU 0) or cuda:N, an error
// naming the reason where this machine cannot use it.
Device run_device(const RunConfig& config);

// The CUDA backend's math (a run's cuda.tf32 and cuda.conv_search): process-wide
// settings, made before the run's first op. Nothing to do in a build without CUDA.
void apply_cuda_options(const RunConfig::Cuda& options);

// The training split (train) or the evaluation split (eval.split).
std::unique_ptr<Dataset> open_dataset(const RunConfig& config, bool train);

// The network's classes: data.classes when set (at least the dataset's), else the dataset's.
int64_t run_classes(const RunConfig& config, const Dataset& dataset);

LoaderOptions train_loader_options(const RunConfig& config);
// One image at a time, no augmentation, in order: evaluation and galleries.
LoaderOptions eval_loader_options(const RunConfig& config);

// model.name from the registry with model.head (auto: the name's prefix) and the
// model.std.* parameters, train.bn_momentum, model.keep_prob and train.seed.
DeepLabConfig run_model_config(const RunConfig& config, int64_t classes, int64_t star_class);
// "softmax", "std", "vp" or "ss": the head a config selects.
std::string head_name(const DeepLabConfig& config);

OptimizerOptions optimizer_options(const RunConfig& config);

// The network a checkpoint holds, built from `config` and the checkpoint's classes and
// star class, its weights loaded (every tensor of the model must be in the file).
std::unique_ptr<DeepLabV3Plus> load_model(const RunConfig& config, const std::string& checkpoint);

}  // namespace tdseg
