// A model's table: for each stage of a real training-mode forward at the given input,
// its output shape, parameters, convolution multiply-adds and the bytes of activations
// the autograd graph records (what a training step keeps until backward), from
// core/counters.h; then subtotals per flow and the totals.
#pragma once
#include <string>
#include <vector>

#include "models/deeplab.h"

namespace tdseg {

struct SummaryRow {
  std::string name;
  Shape output;
  int64_t params = 0, macs = 0, graph_bytes = 0;
};

struct ModelSummary {
  std::string model;
  Shape input;
  std::vector<SummaryRow> rows;
  SummaryRow total;
};

ModelSummary summarize(DeepLabV3Plus& model, int64_t batch, int64_t H, int64_t W);
std::string format_summary(const ModelSummary& s);

}  // namespace tdseg
