// Fuzz target: a run's config file (train/config.h): read, merged onto the defaults and
// checked. A refusal names the file or the key at fault, on one line.
#include "tests/fuzz/fuzz_input.h"
#include "train/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tdseg;
  const std::string path = fuzz::input_file(data, size, ".json");
  fuzz::expect_clean_refusal([&] { build_config(path, {}); }, "");
  return 0;
}
