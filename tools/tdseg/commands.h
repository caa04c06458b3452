// The subcommands of `tdseg`. Each returns the process exit code; a tdseg::Error thrown
// from one is printed as a single line by main() and exits 2.
#pragma once
#include <string>
#include <vector>

#include "core/device.h"
#include "tools/tdseg/args.h"

namespace tdseg {
struct RunConfig;
}

namespace tdseg::cli {

struct Command {
  const char* name;
  const char* summary;
  const char* usage;  // the full --help text
  int (*run)(Args&);
};

int cmd_version(Args&);
int cmd_devices(Args&);
int cmd_inspect(Args&);
int cmd_smoke(Args&);
int cmd_bench(Args&);
int cmd_std(Args&);
int cmd_model(Args&);
int cmd_toy(Args&);
int cmd_train(Args&);
int cmd_eval(Args&);
int cmd_predict(Args&);

// Says in one line, on stdout, when the binary has CUDA but this machine has no GPU.
void note_cpu_fallback();

// --device cpu|cuda|cuda:N (`fallback` when not given), checked against this machine:
// a malformed name is a usage error, a device it lacks a DeviceError saying why.
Device device_option(Args& args, const std::string& command, const std::string& fallback);

// --tf32 on|off (default on) and --conv-search heuristic|timed (default heuristic): the
// CUDA backend's math for a benchmark, as a run's cuda.tf32 and cuda.conv_search set it.
// Returns it in words, e.g. "TF32 on, heuristic convolution algorithms".
std::string math_options(Args& args, const std::string& command);

// Each run's device checked before any work is done or any data read (run_device: a GPU
// asked for and missing is the error), then note_cpu_fallback().
void check_devices(const std::vector<RunConfig>& configs);

}  // namespace tdseg::cli
