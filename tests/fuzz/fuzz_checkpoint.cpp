// Fuzz target: a training checkpoint's metadata (train/run_checkpoint.h), as `tdseg eval`
// and `tdseg predict` read it before building the network: read_checkpoint_info, then the
// configuration stored in it, checked.
#include "tests/fuzz/fuzz_input.h"
#include "train/run_checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tdseg;
  const std::string path = fuzz::input_file(data, size, ".safetensors");
  fuzz::expect_clean_refusal([&] {
    const CheckpointInfo info = read_checkpoint_info(path);
    fuzz::expect_clean_refusal([&] { checkpoint_config(info, path, "", {}); }, "");
  }, path);
  return 0;
}
