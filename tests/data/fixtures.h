// What the data tests build their fixtures with: a fresh folder per test and writers for
// the files datasets hold (gray, RGB and palette PNGs, JPEGs), filled from seeded
// generators, never constants.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/random.h"

namespace tdseg::testing {

// An empty folder of this test's own (ctest runs tests in parallel processes), removed
// with the object.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }  // ends in '/'

 private:
  std::string path_;
};

// Both create the file's folder first.
void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes);
void write_png_in(const std::string& path, int64_t w, int64_t h, int channels,
                  const std::vector<uint8_t>& pixels);

// `n` bytes uniform in [lo, hi].
std::vector<uint8_t> random_bytes(size_t n, Generator& gen, int lo = 0, int hi = 255);

// A one-sample-per-pixel PNG written by hand: colour type 0 (gray) or 3 (palette, with
// `palette` as its PLTE), `depth` bits per sample (1, 2, 4 or 8), `samples` row-major;
// chunks IHDR, PLTE, IDAT (zlib stored blocks) and IEND with their CRCs.
std::vector<uint8_t> indexed_png(int64_t w, int64_t h, int depth, int color_type,
                                 const std::vector<std::array<uint8_t, 3>>& palette,
                                 const std::vector<uint8_t>& samples);

// A baseline JPEG of RGB `pixels` (quality 95) through stb_image_write.
void write_jpeg(const std::string& path, int64_t w, int64_t h, const std::vector<uint8_t>& pixels);

// A progressive JPEG, 9 x 7 RGB: its first DC scan names AC tables that later segments
// define, as progressive files do.
std::vector<uint8_t> progressive_jpeg();

// The PASCAL VOC colour map (bit-interleaved index bits): 256 distinct colours.
std::vector<std::array<uint8_t, 3>> voc_palette();

}  // namespace tdseg::testing
