// Seeds derived from several integers (a seed, a split, an index, an epoch) so that each
// random stream depends on its coordinates only: samples and augmentations are then the
// same whichever thread makes them, in whichever order. splitmix64's finaliser makes
// nearby inputs give unrelated seeds.
#pragma once
#include <cstdint>

namespace tdseg {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

inline uint64_t mix_seed(uint64_t a, uint64_t b) { return splitmix64(splitmix64(a) ^ b); }

}  // namespace tdseg
