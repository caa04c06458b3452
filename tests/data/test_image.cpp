// Reading images and masks: exact pixels for PNG, close ones for JPEG, palette masks as
// indices, and an IOError naming the file for every kind of bad file.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "data/image.h"
#include "data/png.h"
#include "data/png_chunks.h"
#include "tests/check_close.h"
#include "tests/data/fixtures.h"

namespace tdseg::testing {
namespace {

// RGB bytes [h, w, 3] as float32 [3, h, w].
Tensor planar(const std::vector<uint8_t>& rgb, int64_t w, int64_t h) {
  Tensor t = Tensor::empty({3, h, w});
  for (int64_t k = 0; k < w * h; ++k)
    for (int64_t c = 0; c < 3; ++c) t.data<float>()[c * w * h + k] = rgb[3 * k + c];
  return t;
}

Tensor labels(const std::vector<uint8_t>& v, int64_t w, int64_t h) {
  std::vector<int32_t> wide(v.begin(), v.end());
  return Tensor::from_vector<int32_t>({h, w}, wide);
}

TEST(Image, Crc32OfTheCheckString) {
  const std::string s = "123456789";
  EXPECT_EQ(crc32(reinterpret_cast<const uint8_t*>(s.data()), s.size()), 0xCBF43926u);
}

TEST(Image, PngPixelsExactlyGrayExpanded) {
  Generator gen(1);
  const ScratchDir scratch("png");
  const std::string dir = scratch.path();
  const auto rgb = random_bytes(7 * 5 * 3, gen), gray = random_bytes(7 * 5, gen);
  write_png(dir + "rgb.png", 7, 5, 3, rgb);
  write_png(dir + "gray.png", 7, 5, 1, gray);
  EXPECT_TRUE(all_close(read_image(dir + "rgb.png"), planar(rgb, 7, 5), 0, 0));
  std::vector<uint8_t> gray3;
  for (uint8_t v : gray) gray3.insert(gray3.end(), {v, v, v});
  EXPECT_TRUE(all_close(read_image(dir + "gray.png"), planar(gray3, 7, 5), 0, 0));
}

TEST(Image, JpegPixelsClose) {
  // A smooth random image: JPEG at quality 95 keeps it within a few levels (seen: 9).
  Generator gen(2);
  const int64_t w = 24, h = 16;
  std::vector<uint8_t> rgb(w * h * 3);
  const double fx = gen.uniform(0.1, 0.3), fy = gen.uniform(0.1, 0.3);
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int64_t c = 0; c < 3; ++c)
        rgb[(y * w + x) * 3 + c] = static_cast<uint8_t>(128 + 60 * std::sin(fx * x + fy * y + c));
  const ScratchDir scratch("jpeg");
  const std::string path = scratch.path() + "a.jpg";
  write_jpeg(path, w, h, rgb);
  EXPECT_TRUE(all_close(read_image(path), planar(rgb, w, h), 14, 0));  // tolerance: 14 levels
}

TEST(Image, GrayMaskValuesAsTheyAre) {
  Generator gen(3);
  const ScratchDir scratch("gray");
  const std::string dir = scratch.path();
  const auto values = random_bytes(9 * 4, gen);
  write_png(dir + "m.png", 9, 4, 1, values);
  EXPECT_TRUE(all_close(read_mask(dir + "m.png"), labels(values, 9, 4), 0, 0));
  // Low bit depths are stored values too, not stretched to [0, 255].
  const auto bits = random_bytes(11 * 3, gen, 0, 1), nibbles = random_bytes(11 * 3, gen, 0, 15);
  write_bytes(dir + "1bit.png", indexed_png(11, 3, 1, kPngGray, {}, bits));
  write_bytes(dir + "4bit.png", indexed_png(11, 3, 4, kPngGray, {}, nibbles));
  EXPECT_TRUE(all_close(read_mask(dir + "1bit.png"), labels(bits, 11, 3), 0, 0));
  EXPECT_TRUE(all_close(read_mask(dir + "4bit.png"), labels(nibbles, 11, 3), 0, 0));
}

TEST(Image, PaletteMaskAsIndicesNotColours) {
  Generator gen(4);
  const ScratchDir scratch("palette");
  const std::string dir = scratch.path();
  std::vector<uint8_t> idx = random_bytes(13 * 6, gen, 0, 20);
  for (size_t k = 0; k < idx.size(); k += 7) idx[k] = 255;  // VOC's object borders
  write_bytes(dir + "voc.png", indexed_png(13, 6, 8, kPngPalette, voc_palette(), idx));
  EXPECT_TRUE(all_close(read_mask(dir + "voc.png"), labels(idx, 13, 6), 0, 0));
  // 2-bit indices into a short palette.
  const auto small = random_bytes(5 * 5, gen, 0, 3);
  write_bytes(
      dir + "small.png",
      indexed_png(5, 5, 2, kPngPalette, {{9, 9, 9}, {200, 0, 0}, {0, 200, 0}, {1, 2, 3}}, small));
  EXPECT_TRUE(all_close(read_mask(dir + "small.png"), labels(small, 5, 5), 0, 0));
}

TEST(Image, DuplicatePaletteColoursAreAnErrorOnlyWhereUsed) {
  const ScratchDir scratch("dup");
  const std::string dir = scratch.path();
  const std::vector<std::array<uint8_t, 3>> palette{{0, 0, 0}, {128, 0, 0}, {0, 0, 0}};
  write_bytes(dir + "unused.png", indexed_png(2, 2, 8, kPngPalette, palette, {1, 1, 1, 1}));
  EXPECT_TRUE(all_close(read_mask(dir + "unused.png"), labels({1, 1, 1, 1}, 2, 2), 0, 0));
  write_bytes(dir + "used.png", indexed_png(2, 2, 8, kPngPalette, palette, {1, 1, 2, 1}));
  EXPECT_THROW_MSG(read_mask(dir + "used.png"), IOError,
                   dir + "used.png: ambiguous palette PNG: colour (0, 0, 0) at (0, 1)");
}

TEST(Image, ErrorsNameTheFile) {
  Generator gen(5);
  const ScratchDir scratch("errors");
  const std::string dir = scratch.path();
  EXPECT_THROW_MSG(read_image(dir + "missing.png"), IOError,
                   dir + "missing.png: cannot open: No such file or directory");
  EXPECT_THROW_MSG(read_image(dir), IOError, "is a folder, not a file");
  write_bytes(dir + "empty.png", {});
  EXPECT_THROW_MSG(read_image(dir + "empty.png"), IOError,
                   dir + "empty.png: not an image (empty file)");
  write_bytes(dir + "noise.jpg", random_bytes(100, gen, 1, 200));
  EXPECT_THROW_MSG(read_image(dir + "noise.jpg"), IOError,
                   dir + "noise.jpg: not a PNG or JPEG image (unknown signature)");

  const auto rgb = random_bytes(8 * 8 * 3, gen);
  write_png(dir + "whole.png", 8, 8, 3, rgb);
  auto png = read_file(dir + "whole.png");
  write_bytes(dir + "cut.png", std::vector<uint8_t>(png.begin(), png.begin() + png.size() / 2));
  EXPECT_THROW_MSG(read_image(dir + "cut.png"), IOError,
                   dir + "cut.png: truncated PNG (chunk IDAT");
  write_bytes(dir + "noend.png", std::vector<uint8_t>(png.begin(), png.end() - 12));
  EXPECT_THROW_MSG(read_image(dir + "noend.png"), IOError,
                   "noend.png: truncated PNG (ends at byte");
  png[png.size() - 20] ^= 0x5A;  // inside IDAT's data
  write_bytes(dir + "flipped.png", png);
  EXPECT_THROW_MSG(read_image(dir + "flipped.png"), IOError,
                   dir + "flipped.png: corrupt PNG (CRC mismatch in chunk IDAT");
  png = read_file(dir + "whole.png");
  const size_t idat = std::search(png.begin(), png.end(), "IDAT", "IDAT" + 4) - png.begin();
  png.at(idat + 1) = '\n';  // a chunk type must be 4 letters (the message stays one line)
  write_bytes(dir + "type.png", png);
  EXPECT_THROW_MSG(read_image(dir + "type.png"), IOError,
                   cat(dir, "type.png: corrupt PNG (chunk type 'I\\x0AAT' at byte ", idat - 4,
                       " is not 4 letters)"));

  write_jpeg(dir + "whole.jpg", 8, 8, rgb);
  const auto jpg = read_file(dir + "whole.jpg");
  write_bytes(dir + "cut.jpg", std::vector<uint8_t>(jpg.begin(), jpg.end() - 40));
  EXPECT_THROW_MSG(
      read_image(dir + "cut.jpg"), IOError,
      dir + "cut.jpg: truncated JPEG (ends at byte " + std::to_string(jpg.size() - 40));
  write_bytes(dir + "hollow.jpg", {0xFF, 0xD8, 0xFF, 0xD9});  // whole, but no frame
  EXPECT_THROW_MSG(read_image(dir + "hollow.jpg"), IOError,
                   dir + "hollow.jpg: corrupt image (stb_image: ");
}

// The bytes of a JPEG of w x h random RGB pixels (seed `seed`), written to `path` by
// stb_image_write.
std::vector<uint8_t> random_jpeg(const std::string& path, int64_t w, int64_t h, uint64_t seed) {
  Generator gen(seed);
  write_jpeg(path, w, h, random_bytes(w * h * 3, gen));
  return read_file(path);
}

// The first segment `marker` (FF marker) at or after `from`.
size_t find_segment(const std::vector<uint8_t>& b, uint8_t marker, size_t from = 0) {
  for (size_t i = from; i + 1 < b.size(); ++i)
    if (b[i] == 0xFF && b[i + 1] == marker) return i;
  ADD_FAILURE() << "no segment FF " << int(marker);
  return 0;
}

// The JPEG with its scan header at `sos` cut to the scan's first `keep` components.
std::vector<uint8_t> with_first_components(const std::vector<uint8_t>& jpg, size_t sos, int keep) {
  const size_t length = size_t(jpg[sos + 2]) << 8 | jpg[sos + 3], end = sos + 2 + length;
  std::vector<uint8_t> out(jpg.begin(), jpg.begin() + sos);
  const std::vector<uint8_t> header = {0xFF, 0xDA, 0, uint8_t(6 + 2 * keep), uint8_t(keep)};
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), jpg.begin() + sos + 5, jpg.begin() + sos + 5 + 2 * keep);  // id, tables
  out.insert(out.end(), jpg.begin() + end - 3, jpg.end());  // Ss, Se, Ah/Al, the scan's data
  return out;
}

// stb_image decodes with a Huffman table that no segment defined, and leaves a component
// that no scan decodes, as uninitialised memory: a file with either is an error before it
// gets there (data/jpeg_markers.cpp).
TEST(Image, AJpegScanMustUseDefinedHuffmanTables) {
  const ScratchDir scratch("huffman");
  const std::string dir = scratch.path();
  std::vector<uint8_t> jpg = random_jpeg(dir + "baseline.jpg", 8, 8, 7);
  const size_t sos = find_segment(jpg, 0xDA), dht = find_segment(jpg, 0xC4);
  // FF DA, length (2 bytes), Ns, then the first component's id and its DC/AC table ids.
  for (const auto& [tables, missing] : {std::pair{0x20, "DC 2"}, std::pair{0x03, "AC 3"}}) {
    std::vector<uint8_t> bad = jpg;
    bad[sos + 6] = tables;
    write_bytes(dir + "undefined.jpg", bad);
    EXPECT_THROW_MSG(read_image(dir + "undefined.jpg"), IOError,
                     dir + "undefined.jpg: corrupt JPEG (a scan uses Huffman table " + missing +
                         ", which no earlier segment defines)");
  }
  // The interleaved scan cut to its first component: the other two would be left
  // uninitialised pixels.
  write_bytes(dir + "one.jpg", with_first_components(jpg, sos, 1));
  EXPECT_THROW_MSG(read_image(dir + "one.jpg"), IOError,
                   dir + "one.jpg: corrupt JPEG (component 2 of the frame is in no scan)");
  jpg[dht + 5] = 0xFF;  // the first table's count of 1-bit codes: more values than follow
  write_bytes(dir + "dht.jpg", jpg);
  EXPECT_THROW_MSG(read_image(dir + "dht.jpg"), IOError,
                   dir + "dht.jpg: corrupt JPEG (malformed Huffman table segment)");

  std::vector<uint8_t> progressive = progressive_jpeg();
  write_bytes(dir + "progressive.jpg", progressive);
  EXPECT_EQ(read_image(dir + "progressive.jpg").shape(), (Shape{3, 7, 9}));
  // Its first scan, of the DC coefficients of the three components, cut to two; a DC
  // refinement scan of all three follows, which reads raw bits onto the blocks started.
  write_bytes(dir + "two.jpg", with_first_components(progressive, find_segment(progressive, 0xDA), 2));
  EXPECT_THROW_MSG(read_image(dir + "two.jpg"), IOError,
                   dir + "two.jpg: corrupt JPEG (component 3 of the frame is in no first DC scan)");
  // Its second scan, the first of AC coefficients, made to name AC table 3.
  const size_t ac_scan = find_segment(progressive, 0xDA, find_segment(progressive, 0xDA) + 2);
  ASSERT_EQ(progressive[ac_scan + 7], 1);  // Ss
  progressive[ac_scan + 6] = 0x03;
  write_bytes(dir + "progressive.jpg", progressive);
  EXPECT_THROW_MSG(read_image(dir + "progressive.jpg"), IOError,
                   "progressive.jpg: corrupt JPEG (a scan uses Huffman table AC 3");
}

// stb_image reads zeros where a scan's data runs out: a frame larger than its scans can
// code (at least a bit a block) is an error, not a large grey image.
TEST(Image, AJpegScanMustHoldABitForEachBlock) {
  const ScratchDir scratch("blocks");
  const std::string dir = scratch.path();
  std::vector<uint8_t> jpg = random_jpeg(dir + "small.jpg", 16, 16, 8);
  // FF C0, length, precision, height and width (2 bytes each), Nf, then per component its
  // id and sampling factors: stb_image_write's 4:4:4 at quality 95.
  const size_t sof = find_segment(jpg, 0xC0), sos = find_segment(jpg, 0xDA);
  ASSERT_EQ(jpg[sof + 9], 3);
  for (int c = 0; c < 3; ++c) ASSERT_EQ(jpg[sof + 11 + 3 * c], 0x11);
  const size_t data = sos + 2 + (jpg[sos + 2] << 8 | jpg[sos + 3]);
  const size_t bytes = find_segment(jpg, 0xD9, data) - data;
  EXPECT_EQ(read_image(dir + "small.jpg").shape(), (Shape{3, 16, 16}));
  // 2047 x 1023 pixels: 256 x 128 blocks of each of the 3 components.
  jpg[sof + 5] = 0x03, jpg[sof + 6] = 0xFF, jpg[sof + 7] = 0x07, jpg[sof + 8] = 0xFF;
  write_bytes(dir + "large.jpg", jpg);
  EXPECT_THROW_MSG(read_image(dir + "large.jpg"), IOError,
                   cat(dir, "large.jpg: corrupt JPEG (the scan at byte ", data, " has ", bytes,
                       " bytes of data, too few for the ", 3 * 256 * 128, " blocks it codes)"));
}

TEST(Image, MasksMustHoldIndices) {
  Generator gen(6);
  const ScratchDir scratch("masks");
  const std::string dir = scratch.path();
  const auto rgb = random_bytes(4 * 4 * 3, gen);
  write_png(dir + "rgb.png", 4, 4, 3, rgb);
  EXPECT_THROW_MSG(
      read_mask(dir + "rgb.png"), IOError,
      dir + "rgb.png: a mask must be gray or palette indices, not PNG colour type 2 (RGB)");
  write_jpeg(dir + "m.jpg", 4, 4, rgb);
  EXPECT_THROW_MSG(read_mask(dir + "m.jpg"), IOError, dir + "m.jpg: a mask must be a PNG");
}

}  // namespace
}  // namespace tdseg::testing
