// printable(): text from a file or a user quoted in a one-line message; every tdseg error
// passes its message through it.
#include <gtest/gtest.h>

#include "core/error.h"

namespace tdseg::testing {
namespace {

TEST(Printable, KeepsAsciiAndUtf8AndEscapesEveryOtherByte) {
  EXPECT_EQ(printable("model.std.iters = [1, 2] ~"), "model.std.iters = [1, 2] ~");
  EXPECT_EQ(printable(std::string("a\nb\tc\r\0d\x7f", 9)), "a\\x0Ab\\x09c\\x0D\\x00d\\x7F");
  // Well-formed sequences of 2, 3 and 4 bytes, at the edges of table 3-7.
  const char* kept[] = {"\xC2\x80", "\xC3\xA9", "\xDF\xBF", "\xE0\xA0\x80", "\xE2\x82\xAC",
                        "\xED\x9F\xBF", "\xEE\x80\x80", "\xF0\x90\x80\x80", "\xF0\x9F\x98\x80",
                        "\xF4\x8F\xBF\xBF"};
  for (const char* s : kept) EXPECT_EQ(printable(s), s) << s;
  // Ill-formed: a stray continuation, overlong forms, a surrogate, beyond U+10FFFF, a
  // sequence cut short (at the end, or by an ASCII byte).
  const std::pair<const char*, const char*> escaped[] = {
      {"\x80", "\\x80"},
      {"\xC0\xAF", "\\xC0\\xAF"},
      {"\xC1\xBF", "\\xC1\\xBF"},
      {"\xE0\x9F\xBF", "\\xE0\\x9F\\xBF"},
      {"\xED\xA0\x80", "\\xED\\xA0\\x80"},
      {"\xF0\x8F\xBF\xBF", "\\xF0\\x8F\\xBF\\xBF"},
      {"\xF4\x90\x80\x80", "\\xF4\\x90\\x80\\x80"},
      {"\xF5\x80\x80\x80", "\\xF5\\x80\\x80\\x80"},
      {"x\xE2\x82", "x\\xE2\\x82"},
      {"\xE2\x82y\xAC", "\\xE2\\x82y\\xAC"},
      {"\xC3\xA9\xFF", "\xC3\xA9\\xFF"},
  };
  for (const auto& [in, out] : escaped) EXPECT_EQ(printable(in), out) << out;
}

TEST(Printable, EveryErrorIsOneLine) {
  EXPECT_STREQ(IOError("f.npy: shape (2,\n3\x01)").what(), "f.npy: shape (2,\\x0A3\\x01)");
  EXPECT_STREQ(CudaError(std::string("cudaMalloc\0", 11)).what(), "cudaMalloc\\x00");
  // Escaping twice changes nothing: its output is printable ASCII and UTF-8.
  const std::string once = printable("a\tb\xFF\xC3\xA9");
  EXPECT_EQ(printable(once), once);
}

}  // namespace
}  // namespace tdseg::testing
