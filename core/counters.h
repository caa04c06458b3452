// Work counters for summaries and benchmarks, per thread: the multiply-adds of the
// convolutions run so far, and the bytes of op outputs recorded in the autograd graph
// (what a training step keeps alive until backward). Read differences around the code
// of interest; nothing resets them behind the caller's back.
#pragma once
#include <cstdint>

namespace tdseg {

struct Counters {
  int64_t conv_macs = 0;
  int64_t graph_bytes = 0;
};

Counters& counters();  // this thread's

}  // namespace tdseg
