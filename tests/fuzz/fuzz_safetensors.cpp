// Fuzz target: load_safetensors (core/safetensors.h). A file it reads must survive
// save_safetensors and load_safetensors unchanged: the same names in the same order,
// dtypes, shapes, bytes and metadata.
#include <cstring>

#include "core/safetensors.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tdseg;
  const std::string path = fuzz::input_file(data, size, ".safetensors");
  fuzz::expect_clean_refusal([&] {
    const SafetensorsFile file = load_safetensors(path);
    save_safetensors(path + ".again", file.tensors, file.metadata);
    const SafetensorsFile back = load_safetensors(path + ".again");
    if (back.metadata != file.metadata) fuzz::finding("metadata that does not round-trip");
    if (back.tensors.size() != file.tensors.size()) fuzz::finding("tensors lost in a round trip");
    for (size_t i = 0; i < file.tensors.size(); ++i) {
      const auto& [name, t] = file.tensors[i];
      const auto& [back_name, b] = back.tensors[i];
      if (back_name != name || b.dtype() != t.dtype() || b.shape() != t.shape() ||
          std::memcmp(b.data_ptr(), t.data_ptr(), t.numel() * dtype_size(t.dtype())) != 0)
        fuzz::finding("tensor '" + name + "' does not round-trip");
    }
  }, path);
  return 0;
}
