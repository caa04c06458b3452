// The traffic count's second half (traffic.h, Requests and Banks): how the warps of a
// launch coalesce their accesses to device memory, and how the banks of shared memory
// serve theirs. traffic.cpp hands each access here.
#pragma once

#include <cstdint>

#include "traffic.h"

namespace emu::traffic::coalescing {

// A new launch begins: what earlier ones left is forgotten.
void launch_begin();
// An access of size bytes at offset of device allocation region (an index stable within
// the launch) by the running emulated thread, from the instruction at site.
void access(uint64_t region, uint64_t offset, unsigned size, bool write, const void* site);
// The running thread has reached a __syncthreads: its requests from here on are new ones.
void barrier();
// The same as access() for an access at offset of the running block's dynamic shared memory.
void shared_access(uint64_t offset, unsigned size, bool write, const void* site);
// The launch's loads and stores, every host thread's: to device memory, to shared memory.
void launch_end(Requests& loads, Requests& stores, Banks& shared_loads, Banks& shared_stores);

}  // namespace emu::traffic::coalescing
