// The calls of the host that cost a GPU more than their work: each synchronisation makes
// the host wait for everything queued before it, and leaves the GPU idle until the host
// queues more; each cudaMalloc and cudaFree synchronises the device too. The emulated
// runtime counts them, so that a test can require a training step to make none (after a
// warm-up, through the caching allocator) or only those it must.
#pragma once

#include <cstdint>

namespace emu::host_calls {

struct Counts {
  uint64_t syncs = 0;   // cudaStreamSynchronize, cudaEventSynchronize
  uint64_t mallocs = 0;  // cudaMalloc, cudaHostAlloc
  uint64_t frees = 0;    // cudaFree, cudaFreeHost
};

// Since the process began.
Counts counts();

// While held, each event recorded reads as pending (cudaEventQuery: cudaErrorNotReady)
// until it is waited on, a stream is synchronised, or the hold ends: as if the copies and
// kernels queued before it were still running. The emulated streams run everything at
// once, so without this no code that polls an event could see one pending.
void hold_events(bool hold);

}  // namespace emu::host_calls
