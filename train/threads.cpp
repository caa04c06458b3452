#include "train/threads.h"

#include <algorithm>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace tdseg {

ThreadBudget::ThreadBudget(int loader_workers) {
#ifdef _OPENMP
  previous_ = omp_get_max_threads();
  threads_ = std::max(1, omp_get_num_procs() - loader_workers);
  omp_set_num_threads(threads_);
#else
  (void)loader_workers;
#endif
}

ThreadBudget::~ThreadBudget() {
#ifdef _OPENMP
  omp_set_num_threads(previous_);
#endif
}

}  // namespace tdseg
