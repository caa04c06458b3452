// The byte model (byte_model.h): each kernel reads each byte it needs once and writes each
// of its outputs once; re-reads, and reads of what it wrote, come from L1/L2 (the halo of
// a blur, the passes of a softmax over a pixel's C values). Counted in values of the dtype
// per element of [N, C, H, W] (v B each), with per-pixel arrays ([N, H, W]) at 1 / C of a
// value, the int32 labels at 4 / C B, the doubles of VP-STD's plane sums' shares at
// 8 ceil(W / 128) / W B (one a plane for each row's 128-pixel segment), arrays of [N, C]
// at nothing. docs/PERFORMANCE.md itemises the kernels; the test of this file counts them.
//
//   the loss (every row)   forward reads z and the labels, writes the pixels' lse:
//                          1 + 1 / C, labels; backward reads z, lse, labels, writes dz:
//                          2 + 1 / C, labels (12 B in float32 and a little: the
//                          softmax + NLL baseline)
//   one-kernel iterations  (std_fused_cuda_pipeline.h; T iterations)
//     STD forward          2 + 4 T: u_0 and the row pass of 1 - 2u_0 from o (3); an
//                          iteration reads the rows and o, writes u_{t+1} and its rows
//                          (4), the last z_T alone (3)
//     STD backward         2 + 5 T: go = gz_T / eps and the row pass of gP_T (3); an
//                          iteration reads the rows, u_t, go, writes go and the next rows
//                          (5), the last no rows (4)
//     VP-STD forward       2 + 6 T: as STD's, with a first kernel an iteration for
//                          w = softmax(a_t), which reads the rows and o and writes S's
//                          shares (2), which the dual's step reads
//     VP-STD backward      14 T: an iteration: the row pass of 1 - 2u_t (2); w and the
//                          shares of the planes' sums of w and gz (rows, o, gz in, w out:
//                          4); ga folded into gz, go += gz' / eps, the rows of gP' and ga's
//                          shares (w, gz, go in, go, rows out: 5; the first sets go: 4);
//                          gz_t (rows, u_t in, gz_t out: 3; the last adds gz_0 / eps to go
//                          instead: 4); three shares written and read
//     SS-STD               adds 8 / C an iteration forward, 14 / C backward (the dual, the
//                          star field, gz_t's star plane), and the star field s [N, 2, H,
//                          W] once (2 / C)
//   passes (--kernels passes: rows, columns, argument and softmax forward; the tile
//   kernel back)
//     STD forward          2 + 7 T: u_0 from o (2); an iteration: the row pass of
//                          1 - 2u_t (2), its column pass P_t (2), z and u_{t+1} from o and
//                          P_t (3; the last writes z_T instead)
//     STD backward         4 + 5 T: an iteration the tile kernel (gz_{t+1}, u_t, go in,
//                          go, gz_t out: 5); the step through z_0 = o / eps (4)
//     VP-STD forward       2 + 11 T: STD's 7, w = softmax(a_t) (3) and its planes' sums (1)
//     VP-STD backward      4 + 19 T: the tile kernel (5), P_t again (4), w again (3),
//                          the planes' sums of gz and w (2), ga and gz' (4), ga's sums (1)
//     SS-STD               adds 8 / C an iteration forward, 13 / C backward, s once
//   checkpoints (SS-STD's T = 50: k = 8)  the backward recomputes the iterations
//                          t = 1 .. k - 1 of each segment, a forward iteration each (43
//                          of 50); the one-kernel iterations also each segment's first
//                          rows (2), and their forward writes only the star planes of
//                          u_{t+1} where it is no checkpoint (1 - 1 / C less)
#include "tools/tdseg/byte_model.h"

#include <algorithm>
#include <cmath>

namespace tdseg::cli {

std::optional<Traffic> bytes_moved(const StdConfig& c, bool passes, const Shape& shape, DType dtype) {
  if (c.prior != StdPrior::None && c.impl == StdImpl::Composed) return std::nullopt;
  const double v = static_cast<double>(dtype_size(dtype)), C = static_cast<double>(shape[1]);
  const double W = static_cast<double>(shape[3]);
  const double labels = 4 / C;
  Traffic values{1 + 1 / C, 2 + 1 / C};  // the loss, in values
  double fixed_forward = labels, fixed_backward = labels;  // bytes not in values
  if (c.prior != StdPrior::None) {
    const bool vp = c.prior == StdPrior::VP, ss = c.prior == StdPrior::SS;
    const double T = static_cast<double>(c.iters);
    // A forward iteration, a backward one, and what runs once each way.
    double fwd = passes ? (vp ? 11 : 7) : (vp ? 6 : 4);
    double bwd = passes ? (vp ? 19 : 5) : (vp ? 14 : 5);
    double fwd_once = 2, bwd_once = passes ? 4 : (vp ? 0 : 2);
    if (ss) {
      fwd += 8 / C;
      bwd += (passes ? 13 : 14) / C;
      fwd_once += 2 / C;
    }
    if (vp && !passes) {
      const double share = 8 * std::ceil(W / 128) / W;
      fixed_forward += 2 * share * T;
      fixed_backward += 6 * share * T;
    }
    const StdMemoryPlan plan = std_memory_plan(c, shape, dtype);
    double recomputed = 0, first_rows = 0;  // the backward's segments from their checkpoints
    for (int64_t start = 0; start < c.iters; start += plan.every) {
      const int64_t len = std::min(plan.every, c.iters - start);
      recomputed += static_cast<double>(len - 1);
      if (len > 1 && !passes) first_rows += 2;
    }
    // u_1 .. u_{T-1} that are no checkpoint: the one-kernel forward writes their star planes
    const double unkept = passes ? 0 : recomputed * (ss ? 1 - 1 / C : 1);
    values.forward += fwd_once + fwd * T - unkept;
    values.backward += bwd_once + bwd * T + fwd * recomputed + first_rows;
  }
  return Traffic{values.forward * v + fixed_forward, values.backward * v + fixed_backward};
}

}  // namespace tdseg::cli
