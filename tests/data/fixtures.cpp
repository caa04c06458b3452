#include "tests/data/fixtures.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "data/png.h"
#include "data/png_chunks.h"

// A writer of this file's own (static functions) for the JPEG fixtures.
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include "stb_image_write.h"
#pragma GCC diagnostic pop

namespace tdseg::testing {

namespace {

void put32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

void chunk(std::vector<uint8_t>& out, const char* type, const std::vector<uint8_t>& data) {
  put32(out, static_cast<uint32_t>(data.size()));
  const size_t start = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  put32(out, crc32(&out[start], out.size() - start));
}

// zlib with stored (uncompressed) blocks: header, blocks of at most 65535 bytes, Adler-32.
std::vector<uint8_t> zlib_stored(const std::vector<uint8_t>& raw) {
  std::vector<uint8_t> out{0x78, 0x01};
  size_t pos = 0;
  do {
    const size_t n = std::min<size_t>(65535, raw.size() - pos);
    out.push_back(pos + n == raw.size() ? 1 : 0);  // BFINAL, BTYPE 00
    out.push_back(n & 0xFF);
    out.push_back(n >> 8);
    out.push_back(~n & 0xFF);
    out.push_back((~n >> 8) & 0xFF);
    out.insert(out.end(), raw.begin() + pos, raw.begin() + pos + n);
    pos += n;
  } while (pos < raw.size());
  uint32_t a = 1, b = 0;
  for (uint8_t v : raw) {
    a = (a + v) % 65521;
    b = (b + a) % 65521;
  }
  put32(out, b << 16 | a);
  return out;
}

}  // namespace

ScratchDir::ScratchDir(const std::string& name)
    : path_(::testing::TempDir() + "tdseg_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" + name + "/") {
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

ScratchDir::~ScratchDir() {
  std::error_code ec;  // best effort: a leftover folder is not a test failure
  std::filesystem::remove_all(path_, ec);
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(f.flush()) << path;
}

void write_png_in(const std::string& path, int64_t w, int64_t h, int channels,
                  const std::vector<uint8_t>& pixels) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  write_png(path, w, h, channels, pixels);
}

std::vector<uint8_t> random_bytes(size_t n, Generator& gen, int lo, int hi) {
  std::vector<uint8_t> v(n);
  for (auto& x : v) x = static_cast<uint8_t>(gen.integer(lo, hi));
  return v;
}

std::vector<uint8_t> indexed_png(int64_t w, int64_t h, int depth, int color_type,
                                 const std::vector<std::array<uint8_t, 3>>& palette,
                                 const std::vector<uint8_t>& samples) {
  std::vector<uint8_t> png{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}, ihdr;
  put32(ihdr, static_cast<uint32_t>(w));
  put32(ihdr, static_cast<uint32_t>(h));
  // depth, colour type, deflate, filter method 0, no interlace
  ihdr.insert(ihdr.end(), {static_cast<uint8_t>(depth), static_cast<uint8_t>(color_type), 0, 0, 0});
  chunk(png, "IHDR", ihdr);
  if (color_type == 3) {
    std::vector<uint8_t> plte;
    for (const auto& c : palette) plte.insert(plte.end(), c.begin(), c.end());
    chunk(png, "PLTE", plte);
  }
  std::vector<uint8_t> raw;
  const int64_t row_bytes = (w * depth + 7) / 8;
  for (int64_t y = 0; y < h; ++y) {
    raw.push_back(0);  // filter type None
    std::vector<uint8_t> row(row_bytes, 0);
    for (int64_t x = 0; x < w; ++x) {  // samples packed from the high bits down
      const int64_t bit = x * depth;
      row[bit / 8] |= samples[y * w + x] << (8 - depth - bit % 8);
    }
    raw.insert(raw.end(), row.begin(), row.end());
  }
  chunk(png, "IDAT", zlib_stored(raw));
  chunk(png, "IEND", {});
  return png;
}

void write_jpeg(const std::string& path, int64_t w, int64_t h, const std::vector<uint8_t>& pixels) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  ASSERT_TRUE(
      stbi_write_jpg(path.c_str(), static_cast<int>(w), static_cast<int>(h), 3, pixels.data(), 95))
      << path;
}

std::vector<std::array<uint8_t, 3>> voc_palette() {
  std::vector<std::array<uint8_t, 3>> p(256);
  for (int i = 0; i < 256; ++i) {
    std::array<uint8_t, 3> c{0, 0, 0};
    for (int bit = 0, v = i; v; ++bit, v >>= 3)
      for (int ch = 0; ch < 3; ++ch) c[ch] |= ((v >> ch) & 1) << (7 - bit);
    p[i] = c;
  }
  return p;
}

}  // namespace tdseg::testing
