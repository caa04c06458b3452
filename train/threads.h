// The OpenMP threads of the compute next to the loader's worker threads. On a machine
// with few cores, OpenMP threads that spin at their barriers while loader threads want
// the same cores slow a training step by an order of magnitude (measured on 2 cores: 40
// steps of the tiny model in 25 s with 2 OpenMP threads and 2 workers, 2.1 s with 1), so
// while a ThreadBudget lives the compute gets max(1, cores - workers) threads. The
// previous setting comes back at its end. Results depend on the thread count (reduction
// order), not on anything else: a run and its resumption on the same machine agree.
#pragma once

namespace tdseg {

class ThreadBudget {
 public:
  explicit ThreadBudget(int loader_workers);
  ~ThreadBudget();
  ThreadBudget(const ThreadBudget&) = delete;
  ThreadBudget& operator=(const ThreadBudget&) = delete;
  int compute_threads() const { return threads_; }

 private:
  int previous_ = 1, threads_ = 1;
};

}  // namespace tdseg
