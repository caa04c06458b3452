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

std::vector<uint8_t> progressive_jpeg() {
  // Pillow 13, quality 50.
  static const char hex[] =
    "ffd8ffe000104a46494600010100000100010000ffdb004300100b0c0e0c0a100e0d0e1211101318281a1816"
    "16183123251d283a333d3c3933383740485c4e404457453738506d51575f626768673e4d71797064785c6567"
    "63ffdb0043011112121815182f1a1a2f63423842636363636363636363636363636363636363636363636363"
    "6363636363636363636363636363636363636363636363636363ffc200110800070009030122000211010311"
    "01ffc400160001010100000000000000000000000000000203ffc40015010101000000000000000000000000"
    "00000304ffda000c030100021003100000018dc9dbffc4001610010101000000000000000000000000000012"
    "02ffda0008010100010502a469ffc40017110003010000000000000000000000000000010212ffda00080103"
    "01013f0189593fffc4001811000203000000000000000000000000000211000104ffda0008010201013f01d0"
    "76094fffc400191000010500000000000000000000000000000121224272ffda0008010100063f028ab64a9f"
    "ffc4001810010003010000000000000000000000000100116131ffda0008010100013f212e59078536673fff"
    "da000c0301000200030000001087ffc40018110002030000000000000000000000000000011141f0ffda0008"
    "010301013f10807a8fffc400161101010100000000000000000000000000010041ffda0008010201013f1044"
    "68bfffc4001a10010100020300000000000000000000000111002161d1f0ffda0008010100013f1061e09828"
    "0117764a2433caf59fffd9";
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < sizeof hex - 1; i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(hex + i, 2), nullptr, 16)));
  return out;
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
