// Philox4x32-10 (Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as easy as
// 1, 2, 3", SC 2011; Random123's philox4x32 with 10 rounds, as cuRAND's and PyTorch's
// dropout use): a counter-based generator, block i of the stream is a pure function of
// (counter i, key). So any thread on any device can draw its own numbers without a shared
// state, and the CPU and the GPU draw the same ones: what lets dropout make its mask where
// the data lives (core/ops/dropout_mask.h) instead of on the host.
//
// A round multiplies two of the four words by fixed constants and mixes the 64-bit
// products' halves with the other two words and the key; the key is bumped by the Weyl
// constants between rounds. tests/core/test_philox.cpp checks Random123's answers.
#pragma once
#include <cstdint>

#include "core/host_device.h"

namespace tdseg::philox {

struct Block {
  uint32_t w[4];
};

TDSEG_HD inline Block one_round(const Block& c, uint32_t k0, uint32_t k1) {
  const uint64_t p0 = uint64_t{0xD2511F53u} * c.w[0], p1 = uint64_t{0xCD9E8D57u} * c.w[2];
  const uint32_t hi0 = uint32_t(p0 >> 32), lo0 = uint32_t(p0);
  const uint32_t hi1 = uint32_t(p1 >> 32), lo1 = uint32_t(p1);
  return {{hi1 ^ c.w[1] ^ k0, lo1, hi0 ^ c.w[3] ^ k1, lo0}};
}

// The four 32-bit words of block `counter` (the high 64 bits of Random123's 128-bit
// counter are given too, for its test vectors) under the 64-bit key.
TDSEG_HD inline Block block(uint64_t counter, uint64_t key, uint64_t counter_hi = 0) {
  Block c{{uint32_t(counter), uint32_t(counter >> 32), uint32_t(counter_hi),
           uint32_t(counter_hi >> 32)}};
  uint32_t k0 = uint32_t(key), k1 = uint32_t(key >> 32);
  for (int r = 0; r < 10; ++r) {
    if (r > 0) {
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    c = one_round(c, k0, k1);
  }
  return c;
}

}  // namespace tdseg::philox
