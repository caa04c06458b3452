// Fuzz target: load_npy (core/npy.h). A file it reads must survive save_npy and load_npy
// unchanged: the same dtype, shape and bytes.
#include <cstring>

#include "core/npy.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tdseg;
  const std::string path = fuzz::input_file(data, size, ".npy");
  fuzz::expect_clean_refusal([&] {
    const Tensor t = load_npy(path);
    save_npy(path + ".again.npy", t);
    const Tensor back = load_npy(path + ".again.npy");
    if (back.dtype() != t.dtype() || back.shape() != t.shape() ||
        std::memcmp(back.data_ptr(), t.data_ptr(), t.numel() * dtype_size(t.dtype())) != 0)
      fuzz::finding("a .npy that does not round-trip: " + t.str());
  }, path);
  return 0;
}
