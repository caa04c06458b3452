// Fuzz target: read_image and read_mask (data/image.h) on one file: the PNG chunk walk,
// the JPEG segment walk and stb_image behind them. A decoded image must be [3, H, W] of
// values in [0, 255] and a mask [H, W] of values in [0, 255].
#include <vector>

#include "data/image.h"
#include "data/png_chunks.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

using namespace tdseg;

// Recomputes the CRC of every whole chunk of a PNG: read_png_info refuses a CRC mismatch,
// and a mutation that breaks one would never reach the decoder.
void fix_png_crcs(std::vector<uint8_t>& b) {
  if (!is_png(b)) return;
  for (size_t pos = 8; pos + 12 <= b.size();) {
    const uint64_t length =
        uint64_t{b[pos]} << 24 | uint64_t{b[pos + 1]} << 16 | b[pos + 2] << 8 | b[pos + 3];
    if (length > b.size() - pos - 12) return;
    const uint32_t crc = crc32(&b[pos + 4], 4 + length);
    uint8_t* out = &b[pos + 8 + length];
    for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(crc >> (24 - 8 * i));
    pos += 12 + length;
  }
}

void check_values(const Tensor& t, const char* what) {
  const float* p = t.data<float>();
  for (int64_t i = 0, n = t.numel(); i < n; ++i)
    if (!(p[i] >= 0 && p[i] <= 255)) fuzz::finding(cat(what, " value ", p[i], " outside [0, 255]"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  fix_png_crcs(bytes);
  const std::string path = fuzz::input_file(bytes.data(), bytes.size(), ".img");
  fuzz::expect_clean_refusal([&] {
    const Tensor image = read_image(path);
    if (image.dim() != 3 || image.size(0) != 3) fuzz::finding("an image not of shape [3, H, W]");
    check_values(image, "image");
  }, path);
  fuzz::expect_clean_refusal([&] {
    const Tensor mask = read_mask(path);
    if (mask.dim() != 2) fuzz::finding("a mask not of shape [H, W]");
    const int32_t* m = mask.data<int32_t>();
    for (int64_t i = 0, n = mask.numel(); i < n; ++i)
      if (m[i] < 0 || m[i] > 255) fuzz::finding(cat("mask value ", m[i], " outside [0, 255]"));
  }, path);
  return 0;
}
