// The traffic count's second half (traffic.h, Requests): how the warps of a launch
// coalesce their accesses to device memory. traffic.cpp hands each access here.
#pragma once

#include <cstdint>

#include "traffic.h"

namespace emu::traffic::coalescing {

// A new launch begins: what earlier ones left is forgotten.
void launch_begin();
// An access of size bytes at offset of device allocation region (an index stable within
// the launch) by the running emulated thread, from the instruction at site.
void access(uint64_t region, uint64_t offset, unsigned size, bool write, const void* site);
// The launch's loads and stores, every host thread's.
void launch_end(Requests& loads, Requests& stores);

}  // namespace emu::traffic::coalescing
