// When a CPU loop is worth an OpenMP team. Starting a team costs microseconds and, with
// more threads than free cores (ctest -j2, a data loader), spinning threads can cost far
// more; loops over fewer elements than this run on the calling thread.
#pragma once
#include <cstdint>

namespace tdseg {

constexpr int64_t kParallelMinElements = 1 << 16;

}  // namespace tdseg
