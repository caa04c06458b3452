// The structure of a JPEG file, read without decoding it: SOI (FF D8), marker segments
// (FF xx, a 2-byte big-endian length counting itself, data), after each SOS the
// entropy-coded scan (where FF is followed by a stuffed 00 or a restart marker D0-D7),
// and EOI (FF D9). stb_image decodes a truncated JPEG into an image with a grey or
// garbled bottom without failing, so image.cpp checks that the file reaches its EOI.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tdseg {

// Whether `bytes` start with a JPEG's SOI marker followed by another marker.
bool is_jpeg(const std::vector<uint8_t>& bytes);

// Throws IOError naming `path` when the file ends before its EOI marker ("truncated") or
// a segment is malformed ("corrupt"), and when a scan uses a Huffman table that no
// earlier segment defines or a component of the frame is in no scan that starts it
// (stb_image would read uninitialised memory for either). Bytes after EOI are allowed
// (some cameras add them).
void check_jpeg_complete(const std::vector<uint8_t>& bytes, const std::string& path);

}  // namespace tdseg
