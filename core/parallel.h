// When a CPU loop is worth an OpenMP team. Starting a team costs microseconds and, with
// more threads than free cores (ctest -j2, a data loader), spinning threads can cost far
// more; loops over fewer elements than this run on the calling thread.
#pragma once
#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace tdseg {

constexpr int64_t kParallelMinElements = 1 << 16;

// The threads a parallel loop started here would have.
inline int max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// f(i) for i in [0, n), shared among threads when n * work_per_item is large enough.
template <typename F>
void parallel_for(int64_t n, int64_t work_per_item, F&& f) {
#pragma omp parallel for if (n * work_per_item >= kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) f(i);
}

}  // namespace tdseg
