// Reading images and label masks. Files are read whole, checked to be complete (PNG: every
// chunk and its CRC up to IEND; JPEG: every segment up to EOI) and decoded by stb_image,
// which this library compiles (image.cpp holds the one STB_IMAGE_IMPLEMENTATION of the
// link; other files include "stb_image.h" for its declarations only).
// Every failure is an IOError whose message starts with the path: a missing file, one that
// is not a PNG or JPEG, a truncated or corrupt one (with stb_image's reason when it fails).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace tdseg {

// The file's bytes; IOError naming it when it cannot be read.
std::vector<uint8_t> read_file(const std::string& path);

// A PNG or JPEG as float32 [3, H, W], RGB in [0, 255]: gray is repeated into the three
// channels, alpha is dropped, 16-bit PNG samples are reduced to 8 bits.
Tensor read_image(const std::string& path);

// A PNG label mask as int32 [H, W] of values in [0, 255]:
//   gray (1, 2, 4 or 8 bits)  the gray values, unscaled (a 1-bit mask gives 0 and 1);
//   palette (colour type 3)   the palette INDICES (PASCAL VOC's SegmentationClass), not
//                             the colours. stb_image expands indices into the palette's
//                             colours, so each colour is mapped back through the PLTE
//                             chunk; a colour that two entries share is ambiguous and an
//                             error when a pixel has it.
// 16-bit gray, RGB and alpha masks are errors: their values are not indices.
Tensor read_mask(const std::string& path);

}  // namespace tdseg
