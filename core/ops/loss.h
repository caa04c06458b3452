// Negative log-likelihood over pixels. log_probs [N, C, ...] (e.g. log_softmax output),
// target [N, ...] int32 class indices on the same device. Pixels labelled ignore_index do
// not count:
//   loss = -(1 / |V|) * sum_{(n, i) in V} log_probs[n, target[n, i], i],
//   V = {(n, i) : target[n, i] != ignore_index}; loss = 0 when V is empty.
// A label outside [0, C) other than ignore_index is a ValueError naming the label.
#pragma once
#include "core/tensor.h"

namespace tdseg::ops {

constexpr int32_t kIgnoreIndex = 255;

Tensor nll_loss(const Tensor& log_probs, const Tensor& target,
                int32_t ignore_index = kIgnoreIndex);

// Shared with cross_entropy (core/ops/cross_entropy.cpp): the inputs of a per-pixel loss,
// scores [N, C, ...] and target [N, ...] made contiguous, with L pixels per image.
struct LossInputs {
  Tensor scores, target;
  int64_t N, C, L;
};
// Validates scores (floating; `what` names them in messages) and target (int32, same
// device), and returns them as LossInputs.
LossInputs check_loss_inputs(const char* op, const Tensor& scores, const char* what,
                             const Tensor& target);
// The ValueError of label `label` at the flat pixel p = n * L + i of the target, outside
// [0, C) and not ignored.
[[noreturn]] void throw_bad_label(const char* op, const LossInputs& in, int32_t label,
                                  int64_t p, int32_t ignore_index);
// Throws that error for the first such label (in memory order) of a CPU target.
void check_labels_cpu(const char* op, const LossInputs& in, int32_t ignore_index);

}  // namespace tdseg::ops
