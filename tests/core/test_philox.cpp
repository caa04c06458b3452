// Philox4x32-10 against the known answers of Random123's tests/kat_vectors (the three
// "philox4x32 10" lines: counter words, key words, then the block, in hex).
#include <gtest/gtest.h>

#include "core/philox.h"

namespace tdseg {
namespace {

uint64_t join(uint32_t lo, uint32_t hi) { return uint64_t{hi} << 32 | lo; }

TEST(Philox, MatchesRandom123KnownAnswers) {
  const struct {
    uint32_t counter[4], key[2], block[4];
  } cases[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
       {0xffffffff, 0xffffffff},
       {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
       {0xa4093822, 0x299f31d0},
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (const auto& c : cases) {
    const philox::Block b = philox::block(join(c.counter[0], c.counter[1]),
                                          join(c.key[0], c.key[1]),
                                          join(c.counter[2], c.counter[3]));
    for (int k = 0; k < 4; ++k) EXPECT_EQ(b.w[k], c.block[k]) << "word " << k;
  }
}

}  // namespace
}  // namespace tdseg
