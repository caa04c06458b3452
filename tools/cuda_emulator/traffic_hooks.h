// The emulator's side of the traffic count (traffic.h): the runtime tells it of each
// allocation of device memory, the scheduler of each launch.
#pragma once

#include <cstddef>

namespace emu::traffic {

void on_alloc(const void* p, size_t n);
void on_free(const void* p);
void launch_begin();
void launch_end(const char* kernel);

}  // namespace emu::traffic
