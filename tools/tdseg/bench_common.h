// What `tdseg bench std` and `tdseg bench step` share: the device to run on, timing on
// its timeline, its copy bandwidth, its peak memory, random labels with the STD heads'
// data, and the parsing of size options.
#pragma once
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/device_memory.h"
#include "core/tensor.h"
#include "cuda/device.h"
#include "layers/std/std_config.h"
#include "layers/std/std_extras.h"
#include "tools/tdseg/args.h"
#include "tools/tdseg/commands.h"
#include "tools/tdseg/timing.h"

#if defined(TDSEG_WITH_CUDA)
#include "cuda/context.h"
#endif

namespace tdseg::cli {

// --device cpu|cuda|cuda:N; without it cuda:0 when a GPU is usable, else the CPU.
inline Device bench_device(Args& args, const std::string& command) {
  return device_option(args, command, cuda::query_devices().devices.empty() ? "cpu" : "cuda");
}

// "cuda:0 (NVIDIA H100 80GB HBM3)" or "cpu".
inline std::string device_name(Device d) {
  if (d.is_cpu()) return "cpu";
  return d.str() + " (" + cuda::query_devices().devices.at(d.index).name + ")";
}

// Points on a device's timeline: CUDA events recorded on the device's stream, or the host
// clock on the CPU (whose ops return when done). ms(from, to) waits for point `to`.
class Timeline {
 public:
  Timeline(Device device, int points) : device_(device), host_(points) {
#if defined(TDSEG_WITH_CUDA)
    if (device.is_cuda()) {
      stream_ = cuda::context(device.index).stream.get();
      events_.resize(points);
    }
#endif
  }
  void mark(int point) {
#if defined(TDSEG_WITH_CUDA)
    if (device_.is_cuda()) return events_[point].record(stream_);
#endif
    host_[point] = now_ms();
  }
  double ms(int from, int to) const {
#if defined(TDSEG_WITH_CUDA)
    if (device_.is_cuda()) {
      events_[to].synchronize();
      return events_[to].since(events_[from]);
    }
#endif
    return host_[to] - host_[from];
  }

 private:
  Device device_;
  std::vector<double> host_;
#if defined(TDSEG_WITH_CUDA)
  cudaStream_t stream_ = nullptr;
  std::vector<cuda::Event> events_;
#endif
};

// The bandwidth baseline, GB/s: a copy of 256 MiB from one device buffer to another
// (cudaMemcpyAsync), or of 64 MiB with memcpy on the CPU; it reads and writes each byte
// once, 2 x the buffer a copy. Median of `repeat` copies after a warm-up.
inline double copy_gbps(Device device, int repeat) {
  const int64_t n = (device.is_cuda() ? int64_t(256) : int64_t(64)) << 20;  // bytes
  const Tensor src = Tensor::full({n / 4}, 1.0, DType::Float32, device);
  const Tensor dst = Tensor::empty({n / 4}, DType::Float32, device);
  Timeline line(device, 2);
  std::vector<double> ms;
  for (int r = 0; r <= repeat; ++r) {
    line.mark(0);
#if defined(TDSEG_WITH_CUDA)
    if (device.is_cuda())
      TDSEG_CUDA_CHECK(cudaMemcpyAsync(dst.data_ptr(), src.data_ptr(), n, cudaMemcpyDeviceToDevice,
                                       cuda::context(device.index).stream.get()));
#endif
    if (device.is_cpu()) std::memcpy(dst.data_ptr(), src.data_ptr(), n);
    line.mark(1);
    if (r > 0) ms.push_back(line.ms(0, 1));  // run 0 warms up
  }
  return 2.0 * n / (median(ms) * 1e6);
}

// Peak memory from a reset on: the GPU's caching allocator counts the bytes it hands out
// (inputs included); the CPU keeps no such count (nullopt).
inline void reset_peak_memory(Device device) {
  if (device.is_cuda()) device_memory::reset_peak(device);
}
inline std::optional<double> peak_memory_mib(Device device) {
  if (device.is_cuda()) return device_memory::use(device).peak / double(1 << 20);
  return std::nullopt;
}

// Whether a failed CUDA, cuDNN or cuBLAS call ran out of device memory.
inline bool is_out_of_memory(const CudaError& e) {
  const std::string m = e.what();
  return m.find("out of memory") != std::string::npos || m.find("ALLOC_FAILED") != std::string::npos;
}

// Labels [N, H, W] uniform over the classes, on the host, from `gen`.
inline Tensor random_labels(int64_t N, int64_t H, int64_t W, int64_t classes, Generator& gen) {
  Tensor labels = Tensor::empty({N, H, W}, DType::Int32);
  for (int64_t i = 0; i < labels.numel(); ++i)
    labels.data<int32_t>()[i] = static_cast<int32_t>(gen.integer(0, classes - 1));
  return labels;
}

// The STD heads' data as the data loader makes it from host labels: VP-STD's volumes
// (pixels per class) and SS-STD's centres (the centroid of the star class's mask, the
// image centre when the class is absent), in `dtype` on `device`.
inline StdExtras label_extras(const Tensor& labels, int64_t classes, int64_t star_class, DType dtype,
                              Device device) {
  StdExtras ex;
  ex.volumes = volumes_from_labels(labels, classes, dtype).to(device);
  Tensor mask = Tensor::empty({labels.size(0), 1, labels.size(1), labels.size(2)}, DType::Float64);
  for (int64_t i = 0; i < mask.numel(); ++i)
    mask.data<double>()[i] = labels.data<int32_t>()[i] == star_class ? 1.0 : 0.0;
  ex.centers = star_centroids(mask, 0).to(dtype).to(device);
  return ex;
}

// "16,21,513,513" with sep ',' and count 4 -> {16, 21, 513, 513}: `count` positive integers.
inline std::vector<int64_t> parse_sizes(const std::string& s, char sep, size_t count,
                                        const std::string& what) {
  std::vector<int64_t> out;
  size_t start = 0;
  for (;;) {
    const size_t end = s.find(sep, start);
    const std::string part = s.substr(start, end == std::string::npos ? std::string::npos : end - start);
    size_t used = 0;
    int64_t v = 0;
    try {
      v = std::stoll(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    check<UsageError>(used == part.size() && !part.empty() && v > 0, what, ", got '", s, "'");
    out.push_back(v);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  check<UsageError>(out.size() == count, what, ", got '", s, "'");
  return out;
}

// v with `decimals` digits after the point, or "n/a".
inline std::string fixed(const std::optional<double>& v, int decimals) {
  if (!v) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, *v);
  return buf;
}

// An optional value as JSON: the number, or null.
inline nlohmann::json number_or_null(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

}  // namespace tdseg::cli
