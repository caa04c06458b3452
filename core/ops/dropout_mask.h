// Dropout's mask, element by element, from a key: the same function on the CPU
// (core/ops/dropout.cpp) and in the CUDA kernel (cuda/ops/dropout.cu), so that both
// devices drop the same elements and the backward remakes the forward's mask instead of
// keeping it.
//
// One Philox block (core/philox.h) gives four 32-bit words. For n elements there are
// G = ceil(n / 4) blocks; element i takes word i / G of block i % G, so the thread that
// draws block g reads and writes elements g, g + G, g + 2G, g + 3G: neighbouring threads,
// neighbouring elements. An element is kept when its word is below
// floor(keep_prob * 2^32): with probability keep_prob to within 2^-32, decided by integers
// alone, the same on every device.
#pragma once
#include <cstdint>

#include "core/philox.h"

namespace tdseg::ops {

struct DropoutMask {
  uint64_t key;
  uint64_t threshold;  // floor(keep_prob * 2^32), 2^32 keeps everything
  int64_t n, groups;   // elements, and blocks G = ceil(n / 4)

  DropoutMask(uint64_t key_, double keep_prob, int64_t n_)
      : key(key_),
        threshold(static_cast<uint64_t>(keep_prob * 4294967296.0)),
        n(n_),
        groups((n_ + 3) / 4) {}

  // out[i] = keep(i) ? x[i] * scale : 0 for the (up to) four elements of block g.
  template <typename T>
  TDSEG_HD void apply(int64_t g, const T* x, T* out, T scale) const {
    const philox::Block b = philox::block(static_cast<uint64_t>(g), key);
    for (int k = 0; k < 4; ++k) {
      const int64_t i = g + k * groups;
      if (i < n) out[i] = b.w[k] < threshold ? x[i] * scale : T(0);
    }
  }
};

}  // namespace tdseg::ops
