// The CPU emulation of the GPU (tools/cuda_emulator) runs what CUDA defines as the GPU
// would, and stops, naming the place, at what CUDA leaves undefined and a GPU may run
// differently: a barrier some threads skip, shuffles with lanes that are not there, more
// dynamic shared memory than a block gets without opting in. Built for the emulation only.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace {

// The sum of in[0 .. blockDim.x) through shared memory, a barrier and a shuffle tree.
__global__ void block_sum(const float* in, float* out) {
  extern __shared__ float tile[];
  tile[threadIdx.x] = in[threadIdx.x];
  __syncthreads();
  float v = 0;
  for (unsigned i = threadIdx.x; i < blockDim.x; i += 32) v += tile[i];
  if (threadIdx.x < 32) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    if (threadIdx.x == 0) *out = v;
  }
}

__global__ void barriers_apart(float* out) {
  if (threadIdx.x < 16) {
    __syncthreads();
  } else {
    __syncthreads();
  }
  out[threadIdx.x] = 1;
}

__global__ void barrier_after_return(float* out) {
  if (threadIdx.x >= 48) return;
  __syncthreads();
  out[threadIdx.x] = 1;
}

// With 48 threads the second warp has 16 lanes, not the 32 the mask names.
__global__ void shuffle_full_mask(float* out) {
  out[threadIdx.x] = __shfl_down_sync(0xffffffffu, float(threadIdx.x), 1);
}

__global__ void uses_dynamic_shared(float* out) {
  extern __shared__ float tile[];
  tile[threadIdx.x] = 1;
  out[threadIdx.x] = tile[threadIdx.x];
}

// Races, for the race check (TDSEG_EMULATOR_RACECHECK) to find: thread i reads what
// thread i + 1 writes to shared memory with no barrier between; every block writes *out.
__global__ void neighbour_without_barrier(float* out) {
  extern __shared__ float tile[];
  tile[threadIdx.x] = float(threadIdx.x);
  out[threadIdx.x] = tile[(threadIdx.x + 1) % blockDim.x];
}

__global__ void blocks_write_one_place(float* out) {
  if (threadIdx.x == 0) *out = float(blockIdx.x);
}

// n floats of the emulated device's memory, freed at the end of the scope.
struct DeviceFloats {
  explicit DeviceFloats(size_t n) : n(n) { EXPECT_EQ(cudaMalloc(&p, n * sizeof(float)), cudaSuccess); }
  DeviceFloats(const DeviceFloats&) = delete;
  DeviceFloats& operator=(const DeviceFloats&) = delete;
  ~DeviceFloats() { cudaFree(p); }
  std::vector<float> host() const {
    std::vector<float> h(n);
    EXPECT_EQ(cudaMemcpyAsync(h.data(), p, n * sizeof(float), cudaMemcpyDeviceToHost, nullptr), cudaSuccess);
    return h;
  }
  size_t n;
  float* p = nullptr;
};

TEST(CudaEmulator, RunsBarriersSharedMemoryAndShuffles) {
  const unsigned threads = 96;  // three warps; the shuffle tree runs in the first
  std::mt19937 rng(17);
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::vector<float> in(threads);
  for (float& v : in) v = uniform(rng);
  DeviceFloats d_in(threads), d_out(1);
  cudaMemcpyAsync(d_in.p, in.data(), threads * sizeof(float), cudaMemcpyHostToDevice, nullptr);
  block_sum<<<1, threads, threads * sizeof(float)>>>(d_in.p, d_out.p);
  double want = 0;
  for (float v : in) want += v;
  // 96 float additions of partial sums below 96 in magnitude: each rounds by at most
  // 96 x 2^-24, under 6e-6, so 1e-3 bounds them all.
  EXPECT_NEAR(d_out.host()[0], want, 1e-3);
}

TEST(CudaEmulatorDeathTest, ThreadsAtDifferentBarriersStop) {
  DeviceFloats out(64);
  EXPECT_DEATH(barriers_apart<<<1, 64>>>(out.p), "threads wait at different __syncthreads.*test_cuda_emulator.cu");
}

TEST(CudaEmulatorDeathTest, BarrierAfterSomeThreadsReturnedStops) {
  DeviceFloats out(64);
  EXPECT_DEATH(barrier_after_return<<<1, 64>>>(out.p), "__syncthreads after some of the block's threads returned");
}

TEST(CudaEmulatorDeathTest, ShuffleMaskNamingMissingLanesStops) {
  DeviceFloats out(48);
  EXPECT_DEATH(shuffle_full_mask<<<1, 48>>>(out.p), "a warp shuffle's mask names lanes that are not at it");
}

TEST(CudaEmulatorDeathTest, DynamicSharedMemoryPast48KiBStops) {
  DeviceFloats out(32);
  uses_dynamic_shared<<<1, 32, 48 * 1024>>>(out.p);  // the most a block gets without opting in
  EXPECT_EQ(out.host()[31], 1.0f);
  EXPECT_DEATH(uses_dynamic_shared<<<1, 32, 48 * 1024 + 4>>>(out.p), "invalid launch configuration.*shared 49156 B");
}


// Each runs a race; under the race check the sanitizer must report it (its ctest passes
// on the report, tests/CMakeLists.txt), elsewhere there is nothing to see.
#ifdef __SANITIZE_THREAD__
constexpr bool kRaceCheck = true;
#else
constexpr bool kRaceCheck = false;
#endif

TEST(CudaEmulatorRace, SharedMemoryReadWithoutBarrier) {
  if (!kRaceCheck) GTEST_SKIP() << "the race check is the build with TDSEG_EMULATOR_RACECHECK=ON";
  DeviceFloats out(64);
  neighbour_without_barrier<<<1, 64, 64 * sizeof(float)>>>(out.p);
}

TEST(CudaEmulatorRace, BlocksWritingOnePlace) {
  if (!kRaceCheck) GTEST_SKIP() << "the race check is the build with TDSEG_EMULATOR_RACECHECK=ON";
  DeviceFloats out(1);
  blocks_write_one_place<<<64, 32>>>(out.p);
}

}  // namespace
