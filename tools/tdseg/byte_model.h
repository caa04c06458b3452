// The byte model of `tdseg bench std` (docs/PERFORMANCE.md): what a row must move between
// the device and its memory. tests/tools/test_byte_model.cpp checks it against the bytes
// the emulated kernels touch (tools/cuda_emulator/traffic.h).
#pragma once
#include <optional>

#include "core/dtype.h"
#include "core/shape.h"
#include "layers/std/std_config.h"

namespace tdseg::cli {

// Bytes per element of [N, C, H, W], forward and backward.
struct Traffic {
  double forward = 0, backward = 0;
};

// A row of bench std: the cross-entropy of block c's output (c.prior None: of the logits
// themselves) on int32 labels, dL/do only, in `dtype`, on the one-kernel iterations or
// (passes) the separate passes forward and the tile kernel back. Nothing for the composed
// form, a chain of generic ops.
std::optional<Traffic> bytes_moved(const StdConfig& c, bool passes, const Shape& shape, DType dtype);

}  // namespace tdseg::cli
