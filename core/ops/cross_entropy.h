// Cross-entropy of per-pixel class scores, nll_loss(log_softmax(logits), target) as one
// op. logits [N, C, ...], target [N, ...] int32 on the same device:
//   loss = (1 / |V|) * sum_{(n, i) in V} (lse[n, i] - logits[n, target[n, i], i]),
//   lse[n, i] = log sum_c exp(logits[n, c, i]),
// with V, the ignore label and the label errors of nll_loss (core/ops/loss.h). The node
// saves lse and the backward is, with p = softmax(logits) (e.g. Bishop 2006, eq. 4.109),
//   dx[n, c, i] = (p[n, c, i] - [c == target[n, i]]) * dy / |V|  at valid pixels, 0 elsewhere.
#pragma once
#include "core/ops/loss.h"

namespace tdseg::ops {

Tensor cross_entropy(const Tensor& logits, const Tensor& target,
                     int32_t ignore_index = kIgnoreIndex);

}  // namespace tdseg::ops
