// The emulator's traffic count (tools/cuda_emulator/traffic.h) on kernels whose bytes are
// known: each distinct byte of device memory once, reads of what the launch wrote free,
// both halves of a read-modify-write, nothing for shared memory or for what lies outside
// the allocations. Built for the traffic count only.
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

}  // namespace
