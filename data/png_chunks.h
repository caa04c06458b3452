// The structure of a PNG file, read without decoding its pixels: the 8-byte signature,
// then chunks of (length: 4 bytes big-endian, type: 4 ASCII letters, data, CRC-32 of type
// and data), IHDR first and IEND last. stb_image skips CRCs and may decode part of a
// truncated file, so image.cpp walks the chunks first to name a truncated or corrupt
// file; and it reads the palette (PLTE) of an indexed mask, whose indices stb_image
// would expand into colours.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tdseg {

struct PngInfo {
  int64_t width = 0, height = 0;
  int bit_depth = 0;   // bits per sample (per index for colour type 3)
  int color_type = 0;  // 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA
  // The PLTE entries; empty when absent.
  std::vector<std::array<uint8_t, 3>> palette;
};

constexpr int kPngGray = 0, kPngPalette = 3;

// Whether `bytes` start with the PNG signature.
bool is_png(const std::vector<uint8_t>& bytes);

// Walks every chunk up to IEND. Throws IOError naming `path`: "truncated" when the file
// ends inside a chunk or before IEND, "corrupt" for a CRC mismatch or a bad IHDR.
PngInfo read_png_info(const std::vector<uint8_t>& bytes, const std::string& path);

// The CRC-32 of PNG and zlib (polynomial 0xEDB88320), continuing from `crc`.
uint32_t crc32(const uint8_t* data, size_t n, uint32_t crc = 0);

}  // namespace tdseg
