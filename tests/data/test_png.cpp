// PNG files: what write_png writes, stb_image reads back byte for byte; bad sizes and
// unwritable paths are typed errors naming the file.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "data/png.h"
#include "tests/check_close.h"
#include "tests/temp_file.h"

// stb's own reader, to check the writer independently of data/image.h (which compiles
// stb_image's implementation into the library: declarations only here).
#include "stb_image.h"

namespace tdseg::testing {
namespace {

// A path of this test's own: ctest runs tests in parallel processes.
void expect_round_trip(int64_t w, int64_t h, int channels) {
  std::vector<uint8_t> pixels(w * h * channels);
  for (size_t k = 0; k < pixels.size(); ++k)
    pixels[k] = static_cast<uint8_t>((k * 37 + k / 7) % 256);
  const std::string path = temp_path(std::to_string(channels) + ".png");
  write_png(path, w, h, channels, pixels);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  int rw = 0, rh = 0, rc = 0;
  uint8_t* back = stbi_load(path.c_str(), &rw, &rh, &rc, 0);
  ASSERT_NE(back, nullptr) << stbi_failure_reason();
  EXPECT_EQ(rw, w);
  EXPECT_EQ(rh, h);
  EXPECT_EQ(rc, channels);
  EXPECT_EQ(std::vector<uint8_t>(back, back + pixels.size()), pixels);
  stbi_image_free(back);
  std::filesystem::remove(path);
}

TEST(Png, GrayRoundTrip) { expect_round_trip(13, 7, 1); }
TEST(Png, RgbRoundTrip) { expect_round_trip(5, 11, 3); }

TEST(Png, OverwritesAnExistingFile) {
  const std::string path = temp_path("again.png");
  write_png(path, 2, 2, 1, {0, 0, 0, 0});
  write_png(path, 1, 1, 1, {200});
  int w = 0, h = 0, c = 0;
  uint8_t* back = stbi_load(path.c_str(), &w, &h, &c, 0);
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(w * h, 1);
  EXPECT_EQ(back[0], 200);
  stbi_image_free(back);
  std::filesystem::remove(path);
}

TEST(Png, ErrorsNameTheFile) {
  const std::string missing = temp_path("no/such/folder/x.png");
  EXPECT_THROW_MSG(write_png(missing, 1, 1, 1, {0}), IOError, missing + ": cannot write");
  EXPECT_THROW_MSG(write_png("a.png", 2, 2, 3, {0, 0, 0}), ValueError,
                   "png: a.png: 3 bytes for 2x2x3");
  EXPECT_THROW_MSG(write_png("a.png", 1, 1, 2, {0, 0}), ValueError,
                   "png: a.png: 2 channels, expected 1 (gray) or 3 (RGB)");
  EXPECT_THROW_MSG(write_png("a.png", 0, 1, 1, {}), ValueError, "png: a.png: size 0x1");
}

}  // namespace
}  // namespace tdseg::testing
