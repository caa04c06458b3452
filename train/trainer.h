// The training loop of `tdseg train`. For step = 1 .. train.iters:
//   lr   = poly_lr(train.lr, step - 1, train.iters, train.poly_power)
//   z    = model(batch.images, extras)            (training mode; VP: the batch's volumes,
//                                                  SS: its centres, edge weight: its images)
//   loss = cross_entropy(z, batch.masks)          (nll_loss(log_softmax(z)) fused; 255 ignored)
//   backward, then one optimiser update
// with a progress line, log.jsonl (every train.log_every steps), an evaluation on the
// validation split every train.eval_every steps and at the end (curves.png redrawn after
// each), and checkpoints every train.checkpoint_every steps and at the end:
//   RUN/checkpoints/step-000500.safetensors   the last train.keep_checkpoints of them
//   RUN/checkpoints/best.safetensors          the best validation mIoU so far
// A resumed run (TrainOptions::resume) restores the model, the optimiser state and the
// step, skips the loader past the batches already used and seeds each step's dropout
// from (train.seed, step), so that on the CPU its losses equal an uninterrupted run's.
// A non-finite loss (or weights, when checkpointing) stops the run with TrainingDiverged
// naming the step; the checkpoints written before it stay.
#pragma once
#include <cstdio>
#include <string>
#include <vector>

#include "train/config.h"
#include "train/evaluate.h"
#include "train/history.h"

namespace tdseg {

struct TrainingDiverged : Error {
  using Error::Error;
};

struct TrainOptions {
  std::string run_dir;
  std::string resume;            // a checkpoint to continue from; empty: a fresh run
  std::FILE* progress = stdout;  // the progress line; null: silent
};

struct TrainResult {
  std::string run_dir, head, model;
  int64_t steps = 0;
  double train_seconds = 0;  // this process's training time, evaluations excluded
  double loader_wait_seconds = 0;  // the part of it the steps waited for their batches
  EvalResult eval;           // the final evaluation
  double best_miou = 0;
  int64_t best_step = 0;
  std::vector<std::string> class_names;
  History history;
};

TrainResult train(const RunConfig& config, const TrainOptions& options);

// RUN_DIR's newest checkpoints/step-*.safetensors, or the file itself; an IOError when
// there is none.
std::string resume_checkpoint(const std::string& run_dir_or_checkpoint);

// The run folder of a checkpoint RUN/checkpoints/X.safetensors: RUN.
std::string run_dir_of(const std::string& checkpoint);

}  // namespace tdseg
