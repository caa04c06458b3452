// What the kernel harnesses of tools/kernels/ share: their command line, the paper's
// Gaussian, timing with CUDA events, the device-to-device copy each table is measured
// against, the check of one version against another, and the table. A harness runs
// every version of one kernel on the same random data: version 1 is the library's, and
// each other must agree with it; then it times them all in the same run.
#pragma once
#include <algorithm>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "cuda/stream.h"

namespace tdseg::harness {

struct Setup {
  int N = 16, C = 21, H = 513, W = 513, repeat = 20;  // the VOC shape, float32
  int K = 7;                                          // the paper's Gaussian, sigma = 5
  std::string device;                                 // the GPU's name
};

// Reads "N C H W [repeat]" into s. Returns 0 to go on, or the exit code: 2 for bad
// arguments (one line on stderr naming the argument), 77 where no GPU can be used.
int parse(const char* name, int argc, char** argv, Setup& s);

// g_c for each of C classes, [C, K] in float32 on the GPU (layers/std/gaussian_blur.h).
Tensor gaussian_taps(int C, int K, double sigma = 5.0);

// Median milliseconds of fn() between CUDA events on s, over `repeat` runs after one.
template <typename F>
double median_ms(int repeat, cudaStream_t s, F fn) {
  std::vector<double> t;
  cuda::Event start, stop;
  for (int k = 0; k <= repeat; ++k) {
    start.record(s);
    fn();
    stop.record(s);
    stop.synchronize();
    if (k > 0) t.push_back(stop.since(start));
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// GB/s of a device-to-device copy of `like`'s bytes (read and written both counted).
double copy_gbps(const Tensor& like, int repeat);

// max |a - b| / max |b| over two float32 tensors on the GPU.
double relative_difference(const Tensor& a, const Tensor& b);

// The table: a header naming the kernel, the shape and the copy's GB/s; then a row per
// version with its median ms, the GB/s its `bytes` make, their fraction of the copy's,
// and its difference from version 1.
void print_header(const char* kernel, const Setup& s, double copy);
void print_row(int version, double ms, double bytes, double copy, double diff);

// The harness's loop over versions 1 .. count: prepare(v) sets up the version's outputs,
// run(v) runs it once, difference(v) compares its outputs with version 1's (version 1
// keeps its own and gives 0), then run(v) is timed and its row printed. Returns 1 when a
// difference exceeds 1e-6, else 0.
template <typename Prepare, typename Run, typename Difference>
int check_and_time(const Setup& set, int count, cudaStream_t s, double bytes, double copy,
                   Prepare prepare, Run run, Difference difference) {
  int status = 0;
  for (int v = 1; v <= count; ++v) {
    prepare(v);
    run(v);
    const double diff = difference(v);
    if (diff > 1e-6) status = 1;
    print_row(v, median_ms(set.repeat, s, [&] { run(v); }), bytes, copy, diff);
  }
  return status;
}

// main() of a harness: body(argc, argv), any exception one line on stderr and exit 2.
int main(const char* name, int argc, char** argv, int (*body)(int, char**));

}  // namespace tdseg::harness
