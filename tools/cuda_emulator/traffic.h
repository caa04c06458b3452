// The bytes each emulated kernel launch moves to and from device memory, where the kernels
// are built with the traffic count (TDSEG_EMULATOR_TRAFFIC; README.md, "Counting a
// kernel's bytes"). Per launch it counts the distinct bytes of device memory (cudaMalloc's)
// that the kernel read before writing them, and those it wrote: what the launch must move
// between a GPU and its memory at the least, each byte once, however often its threads
// touch it (re-reads, and reads of what the launch wrote, come from the caches, as in the
// byte model of docs/PERFORMANCE.md); and, loads and stores apart, how its warps coalesced
// the accesses (Requests) and how the banks of shared memory served them (Banks).
// Registers, shared memory and the host's copies and memsets are not counted as bytes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace emu::traffic {

// A launch's warp-level requests to device memory, loads or stores (coalescing.cpp): what
// a profiler reports as requests and sectors. sectors / requests is 4 for 32 threads
// reading consecutive floats, 32 for 32 threads each reading a float of another row.
struct Requests {
  uint64_t requests = 0;  // instructions executed by a warp (some or all of its threads)
  uint64_t sectors = 0;   // the 32-byte sectors they touched, per request
  uint64_t ideal = 0;     // the fewest sectors that could hold each request's distinct bytes

  double efficiency() const { return sectors ? double(ideal) / sectors : 1.0; }
  Requests& operator+=(const Requests& o) {
    requests += o.requests;
    sectors += o.sectors;
    ideal += o.ideal;
    return *this;
  }
};

// A launch's warp-level requests to its dynamic shared memory, loads or stores
// (coalescing.cpp): what a profiler reports as shared requests and wavefronts. The 32
// banks each serve one 32-bit word a pass, so a request takes as many passes (wavefronts)
// as the most distinct words that one bank holds among its threads' addresses: 1 for 32
// threads reading consecutive floats or one float together, 32 for 32 threads reading a
// column of a 32-float-wide tile. The static __shared__ arrays of the block reductions
// (cuda/block_reduce.cuh) are not seen.
struct Banks {
  uint64_t requests = 0;
  uint64_t wavefronts = 0;
  uint64_t ideal = 0;  // the fewest passes: each request's distinct words over 32

  double efficiency() const { return wavefronts ? double(ideal) / wavefronts : 1.0; }
  Banks& operator+=(const Banks& o) {
    requests += o.requests;
    wavefronts += o.wavefronts;
    ideal += o.ideal;
    return *this;
  }
};

struct Launch {
  std::string kernel;  // the name at the launch, without its template arguments
  uint64_t read = 0, written = 0;
  Requests loads, stores;
  Banks shared_loads, shared_stores;
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
