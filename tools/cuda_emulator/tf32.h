// TF32, the tensor cores' reading of a float32: its sign, its 8 exponent bits and the top
// 10 of its 23 mantissa bits, rounded to nearest even (NaN and infinity pass unchanged).
// The emulated cuBLAS and cuDNN round their float32 multiplicands to it wherever the math
// mode allows TF32, so that a test's TF32 tolerance is exercised off the GPU too.
#pragma once
#include <cstdint>
#include <cstring>

namespace emulator {

inline float tf32(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  if ((bits & 0x7f800000u) != 0x7f800000u) {
    bits += 0xfffu + ((bits >> 13) & 1u);
    bits &= 0xffffe000u;
  }
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

inline double tf32(double v) { return tf32(static_cast<float>(v)); }

}  // namespace emulator
