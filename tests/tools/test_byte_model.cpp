// The byte model of `tdseg bench std` (tools/tdseg/byte_model.h) against the bytes the
// kernels touch: each row of the bench runs on the emulated GPU with the traffic count
// (tools/cuda_emulator/traffic.h), which adds, launch by launch, the distinct bytes of
// device memory each kernel read (before writing them) and wrote. That is what the
// kernels must move at the least; the model claims to count the same, so the two must
// agree. A kernel that moves more than its model (a forgotten array, a value written
// twice over) fails here, as does a model that forgets a kernel. Each row's launches are
// printed, by kernel.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <ostream>

#include "tests/tools/std_row.h"
#include "tools/tdseg/byte_model.h"

namespace tdseg {
namespace {

using emu::traffic::Launch;

struct Row {
  const char* name;
  StdPrior prior;
  int64_t iters;
  bool passes;
};

void PrintTo(const Row& r, std::ostream* os) { *os << r.name; }

void print(const char* what, const std::vector<Launch>& launches, double elements) {
  struct Sum {
    int launches = 0;
    double read = 0, written = 0;
  };
  std::map<std::string, Sum> by_kernel;
  for (const Launch& l : launches) {
    Sum& s = by_kernel[l.kernel];
    ++s.launches;
    s.read += static_cast<double>(l.read) / elements;
    s.written += static_cast<double>(l.written) / elements;
  }
  std::printf("  %s, B per element:\n", what);
  for (const auto& [kernel, s] : by_kernel)
    std::printf("    %-34s %3d launches  read %7.2f  written %7.2f\n", kernel.c_str(), s.launches, s.read, s.written);
}

const Row kRows[] = {
    {"SoftmaxNll", StdPrior::None, 0, false}, {"StdFused", StdPrior::STD, 10, false},
    {"VpStdFused", StdPrior::VP, 10, false},  {"SsStdFused", StdPrior::SS, 50, false},
    {"StdPasses", StdPrior::STD, 10, true},   {"VpStdPasses", StdPrior::VP, 10, true},
    {"SsStdPasses", StdPrior::SS, 50, true},
};

class ByteModel : public ::testing::TestWithParam<Row> {};

// The model and the count, per element, forward and backward, within 0.2% of the count:
// the model leaves out arrays of [N, C], the blocks' partial sums and the taps.
TEST_P(ByteModel, AgreesWithTheBytesTheKernelsTouch) {
  const Row& r = GetParam();
  const Shape shape{2, 21, 37, 45};
  const double elements = static_cast<double>(numel(shape));
  StdConfig c;
  c.prior = r.prior;
  c.iters = r.iters;
  const std::optional<cli::Traffic> model = cli::bytes_moved(c, r.passes, shape, DType::Float32);
  ASSERT_TRUE(model.has_value());
  const StdRowLaunches n = std_row_launches(
      r.prior, r.iters, r.passes ? cuda::StdKernels::Passes : cuda::StdKernels::OneKernel, shape);
  const double forward = static_cast<double>(emu::traffic::total(n.forward)) / elements;
  const double backward = static_cast<double>(emu::traffic::total(n.backward)) / elements;
  std::printf("%s: counted %.2f + %.2f B per element, model %.2f + %.2f\n", r.name, forward, backward,
              model->forward, model->backward);
  print("forward", n.forward, elements);
  print("backward", n.backward, elements);
  EXPECT_NEAR(forward, model->forward, 0.002 * forward);
  EXPECT_NEAR(backward, model->backward, 0.002 * backward);
}

INSTANTIATE_TEST_SUITE_P(Rows, ByteModel, ::testing::ValuesIn(kRows),
                         [](const ::testing::TestParamInfo<Row>& i) { return std::string(i.param.name); });

}  // namespace
}  // namespace tdseg
