// The emulator's side of the traffic count (traffic.h): the runtime tells it of each
// allocation of device memory, the scheduler of each launch and each barrier. Without
// TDSEG_TRAFFIC (the plain and race-check builds) the calls are empty.
#pragma once

#include <cstddef>

namespace emu::traffic {

#ifdef TDSEG_TRAFFIC
void on_alloc(const void* p, size_t n);
void on_free(const void* p);
void launch_begin();
void launch_end(const char* kernel);
void on_barrier();  // the running thread has reached a __syncthreads
#else
inline void on_alloc(const void*, size_t) {}
inline void on_free(const void*) {}
inline void launch_begin() {}
inline void launch_end(const char*) {}
inline void on_barrier() {}
#endif

}  // namespace emu::traffic
