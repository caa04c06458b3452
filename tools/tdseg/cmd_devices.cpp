// `tdseg version` and `tdseg devices`: what this build has and what this machine offers;
// and the choice of device and of CUDA math that the other commands share.
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "core/gemm.h"
#include "cuda/device.h"
#include "tools/tdseg/commands.h"
#include "train/setup.h"

namespace tdseg::cli {

int cmd_version(Args& args) {
  args.finish(0);
  std::printf("tdseg %s\n", TDSEG_VERSION);
  std::printf("CPU GEMM: %s\n", blas_name());
  std::printf("CUDA backend: %s\n", cuda::built_with_cuda()
                                        ? ("built (" + cuda::library_versions() + ")").c_str()
                                        : "not built");
  return 0;
}

int cmd_devices(Args& args) {
  args.finish(0);
  const cuda::Availability a = cuda::query_devices();
  if (a.devices.empty()) {
    std::printf("%s\n", a.reason.c_str());
    return 0;
  }
  for (const cuda::DeviceInfo& d : a.devices)
    std::printf("cuda:%d  %s  %.1f GiB  compute capability %d.%d\n", d.index, d.name.c_str(),
                d.total_memory / double(1ull << 30), d.major, d.minor);
  return 0;
}

void note_cpu_fallback() {
  if (!cuda::built_with_cuda()) return;
  const cuda::Availability a = cuda::query_devices();
  // On stdout: it is information, and stderr stays the one line of an error, if any.
  if (a.devices.empty()) std::printf("tdseg: %s; running on the CPU\n", a.reason.c_str());
}

Device device_option(Args& args, const std::string& command, const std::string& fallback) {
  const std::string name = args.option_or("device", fallback);
  const std::optional<Device> device = parse_device(name);
  check<UsageError>(device.has_value(), command, ": --device must be cpu, cuda or cuda:N, got '",
                    name, "'");
  const std::string why = cuda::why_unusable(*device);
  check<DeviceError>(why.empty(), command, ": --device ", name, ": ", why);
  return *device;
}

std::string math_options(Args& args, const std::string& command) {
  const std::string tf32 = args.option_or("tf32", "on");
  const std::string search = args.option_or("conv-search", "heuristic");
  check<UsageError>(tf32 == "on" || tf32 == "off", command, ": --tf32 must be on or off, got '",
                    tf32, "'");
  check<UsageError>(search == "heuristic" || search == "timed", command,
                    ": --conv-search must be heuristic or timed, got '", search, "'");
  apply_cuda_options({tf32 == "on", search});
  return "TF32 " + tf32 + ", " + search + " convolution algorithms";
}

void check_devices(const std::vector<RunConfig>& configs) {
  for (const RunConfig& c : configs) run_device(c);
  note_cpu_fallback();
}

}  // namespace tdseg::cli
