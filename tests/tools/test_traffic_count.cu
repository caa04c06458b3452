// The emulator's traffic count (tools/cuda_emulator/traffic.h) on kernels whose bytes are
// known: each distinct byte of device memory once, reads of what the launch wrote free,
// both halves of a read-modify-write, nothing for shared memory or for what lies outside
// the allocations; and how the warps coalesce their accesses (sectors per request) and
// the banks serve their shared-memory accesses (wavefronts per request) on kernels whose
// patterns are known. Built for the traffic count only.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <vector>

#include "traffic.h"

namespace {

// y = y + x: reads x and y, writes y.
__global__ void add_into(const float* x, float* y, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] += x[i];
}

// A 3-point stencil: each x[i] is read by three threads, once from memory.
__global__ void stencil(const float* x, float* y, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = (i > 0 ? x[i - 1] : 0.f) + x[i] + (i + 1 < n ? x[i + 1] : 0.f);
}

// Writes y through shared memory, then reads back what it wrote: only the writes count.
__global__ void write_then_read(float* y, int n) {
  extern __shared__ float tile[];
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  tile[threadIdx.x] = float(i);
  __syncthreads();
  if (i < n) {
    y[i] = tile[blockDim.x - 1 - threadIdx.x];
    y[i] = 2 * y[i];
  }
}

// y[i] = x[i * stride + offset]: stride 0 is a broadcast of x[offset].
__global__ void gather(const float* x, float* y, int n, int stride, int offset) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = x[i * stride + offset];
}

// y = x^T for a square matrix of side n, one thread an element of y: y is written along
// rows, x read down its columns.
__global__ void transpose(const float* x, float* y, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n * n) y[i] = x[(i % n) * n + i / n];
}

// One warp fills a tile of 32 x 33 values of T in shared memory, a row of 32 at a time,
// then thread t reads value t * stride of it: stride 0 is a broadcast, 32 a column of a
// 32-wide tile, 33 a column of a tile padded to 33.
template <typename T>
__global__ void shared_pattern(T* y, int stride) {
  extern __shared__ __align__(16) unsigned char bytes[];
  T* tile = reinterpret_cast<T*>(bytes);
  for (int i = threadIdx.x; i < 32 * 33; i += blockDim.x) tile[i] = T(i);
  __syncthreads();
  y[threadIdx.x] = tile[threadIdx.x * stride];
}

float* device_floats(int n) {
  void* p = nullptr;
  EXPECT_EQ(cudaMalloc(&p, n * sizeof(float)), cudaSuccess);
  return static_cast<float*>(p);
}

TEST(CudaEmulatorTraffic, CountsEachByteOnceAndReadsBeforeWrites) {
  const int n = 1000, threads = 128, blocks = (n + threads - 1) / threads;
  float* x = device_floats(n);
  float* y = device_floats(n);
  cudaMemsetAsync(x, 0, n * sizeof(float), nullptr);  // host-side: not counted
  emu::traffic::start();
  add_into<<<blocks, threads>>>(x, y, n);
  stencil<<<blocks, threads>>>(x, y, n);
  write_then_read<<<blocks, threads, threads * sizeof(float)>>>(y, n);
  add_into<<<blocks, threads>>>(x, y, n / 2);
  const std::vector<emu::traffic::Launch> l = emu::traffic::stop();
  ASSERT_EQ(l.size(), 4u);
  const uint64_t B = n * sizeof(float);
  EXPECT_EQ(l[0].kernel, "add_into");
  EXPECT_EQ(l[0].read, 2 * B);
  EXPECT_EQ(l[0].written, B);
  EXPECT_EQ(l[1].kernel, "stencil");
  EXPECT_EQ(l[1].read, B);
  EXPECT_EQ(l[1].written, B);
  EXPECT_EQ(l[2].kernel, "write_then_read");
  EXPECT_EQ(l[2].read, 0u);
  EXPECT_EQ(l[2].written, B);
  EXPECT_EQ(l[3].read, B);  // the first half of x and of y
  EXPECT_EQ(l[3].written, B / 2);

  add_into<<<blocks, threads>>>(x, y, n);  // after stop(): not recorded
  emu::traffic::start();
  EXPECT_TRUE(emu::traffic::stop().empty());
  cudaFree(x);
  cudaFree(y);
}

using emu::traffic::Requests;

// The count of the one launch that launch() makes.
template <typename Launcher>
emu::traffic::Launch only_launch(Launcher launch) {
  emu::traffic::start();
  launch();
  const std::vector<emu::traffic::Launch> l = emu::traffic::stop();
  EXPECT_EQ(l.size(), 1u);
  return l.empty() ? emu::traffic::Launch{} : l[0];
}

// Its loads and stores to device memory.
template <typename Launcher>
std::pair<Requests, Requests> requests_of(Launcher launch) {
  const emu::traffic::Launch l = only_launch(launch);
  return {l.loads, l.stores};
}

void expect_requests(const Requests& r, uint64_t requests, uint64_t sectors, uint64_t ideal) {
  EXPECT_EQ(r.requests, requests);
  EXPECT_EQ(r.sectors, sectors);
  EXPECT_EQ(r.ideal, ideal);
}

TEST(CudaEmulatorCoalescing, SectorsPerRequestOfKnownPatterns) {
  const int n = 1024, threads = 128, blocks = n / threads, warps = n / 32;
  float* x = device_floats(2 * n + 1);
  float* y = device_floats(n);
  auto gathered = [&](int stride, int offset) {
    return requests_of([&] { gather<<<blocks, threads>>>(x, y, n, stride, offset); });
  };
  // Consecutive floats: a warp's 128 bytes in 4 sectors, loads and stores alike.
  auto [loads, stores] = gathered(1, 0);
  expect_requests(loads, warps, 4 * warps, 4 * warps);
  expect_requests(stores, warps, 4 * warps, 4 * warps);
  EXPECT_EQ(loads.efficiency(), 1.0);
  // One float further: the same 128 bytes straddle 5 sectors.
  expect_requests(gathered(1, 1).first, warps, 5 * warps, 4 * warps);
  // Every other float: 8 sectors for 4 sectors' worth.
  expect_requests(gathered(2, 0).first, warps, 8 * warps, 4 * warps);
  EXPECT_EQ(gathered(2, 0).first.efficiency(), 0.5);
  // The same float for the whole warp: one sector, which is all it needs.
  expect_requests(gathered(0, 3).first, warps, warps, warps);

  // Down the columns of a 32 x 32 matrix: a sector for each thread, an eighth of it used.
  const int side = 32;
  auto [column_loads, row_stores] =
      requests_of([&] { transpose<<<side * side / threads, threads>>>(x, y, side); });
  expect_requests(column_loads, side, side * 32, side * 4);
  EXPECT_EQ(column_loads.efficiency(), 0.125);
  expect_requests(row_stores, side, side * 4, side * 4);
  cudaFree(x);
  cudaFree(y);
}

using emu::traffic::Banks;

// The shared loads and stores of one launch of shared_pattern<T>.
template <typename T>
std::pair<Banks, Banks> banks_of(int stride) {
  T* y = nullptr;
  EXPECT_EQ(cudaMalloc(&y, 32 * sizeof(T)), cudaSuccess);
  const emu::traffic::Launch l =
      only_launch([&] { shared_pattern<T><<<1, 32, 32 * 33 * sizeof(T)>>>(y, stride); });
  cudaFree(y);
  return {l.shared_loads, l.shared_stores};
}

void expect_banks(const Banks& b, uint64_t requests, uint64_t wavefronts, uint64_t ideal) {
  EXPECT_EQ(b.requests, requests);
  EXPECT_EQ(b.wavefronts, wavefronts);
  EXPECT_EQ(b.ideal, ideal);
}

TEST(CudaEmulatorBanks, WavefrontsPerRequestOfKnownPatterns) {
  // The tile's 33 rows, each 32 consecutive floats: one pass each.
  auto [loads, stores] = banks_of<float>(1);
  expect_banks(stores, 33, 33, 33);
  expect_banks(loads, 1, 1, 1);
  EXPECT_EQ(banks_of<float>(0).first.wavefronts, 1u);  // one word for all: a broadcast
  expect_banks(banks_of<float>(2).first, 1, 2, 1);     // two threads a bank: 2 passes
  expect_banks(banks_of<float>(32).first, 1, 32, 1);   // a column: one bank, 32 passes
  EXPECT_EQ(banks_of<float>(32).first.efficiency(), 1.0 / 32);
  expect_banks(banks_of<float>(33).first, 1, 1, 1);    // the padded column: every bank once
  // Doubles: 32 of them are 64 words, two a bank at best; 16 bytes apart, four.
  expect_banks(banks_of<double>(1).first, 1, 2, 2);
  expect_banks(banks_of<double>(2).first, 1, 4, 2);
  expect_banks(banks_of<double>(2).second, 33, 66, 66);
}

TEST(CudaEmulatorCoalescing, APartWarpIsOneRequestOfItsThreads) {
  const int n = 1000, threads = 128;  // 31 whole warps, then 8 threads
  float* x = device_floats(n);
  float* y = device_floats(n);
  auto [loads, stores] =
      requests_of([&] { add_into<<<(n + threads - 1) / threads, threads>>>(x, y, n); });
  // x and y read, y written: each whole warp 4 sectors an array, the last 1.
  expect_requests(loads, 2 * 32, 2 * (31 * 4 + 1), 2 * (31 * 4 + 1));
  expect_requests(stores, 32, 31 * 4 + 1, 31 * 4 + 1);
  cudaFree(x);
  cudaFree(y);
}

}  // namespace
