// The bytes each emulated kernel launch moves to and from device memory, where the kernels
// are built with the traffic count (TDSEG_EMULATOR_TRAFFIC; README.md, "Counting a
// kernel's bytes"). Per launch it counts the distinct bytes of device memory (cudaMalloc's)
// that the kernel read before writing them, and those it wrote: what the launch must move
// between a GPU and its memory at the least, each byte once, however often its threads
// touch it (re-reads, and reads of what the launch wrote, come from the caches, as in the
// byte model of docs/PERFORMANCE.md). Registers, shared memory and the host's copies and
// memsets are not counted.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace emu::traffic {

struct Launch {
  std::string kernel;  // the name at the launch, without its template arguments
  uint64_t read = 0, written = 0;
};

// Whether this build counts (only the kernels of tdseg_lib_traffic are instrumented).
bool available();
// Counts the launches from here on, forgetting those recorded before.
void start();
// Stops counting; the launches since start(), in order.
std::vector<Launch> stop();
// The bytes of the launches, read and written.
uint64_t total(const std::vector<Launch>& launches);

}  // namespace emu::traffic
