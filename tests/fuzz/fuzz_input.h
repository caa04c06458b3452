// What the fuzz targets share (tools/fuzz.sh builds and runs them with libFuzzer,
// AddressSanitizer and UBSan). tdseg's readers take paths, so the fuzzer's bytes go to a
// file of this process's own first. A reader may refuse a file only with a tdseg::Error
// of one line that names the file; anything else thrown (std::bad_alloc, a json or
// std::stoi exception), a second line, a crash, a leak or a sanitizer report is a finding.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "core/error.h"

namespace tdseg::fuzz {

// The bytes as a file (in /dev/shm, memory, where it exists); the same path for every call
// of this process.
inline std::string input_file(const uint8_t* data, size_t size, const std::string& suffix) {
  static const std::string dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm/" : "/tmp/";
  const std::string path = dir + "tdseg-fuzz-" + std::to_string(getpid()) + suffix;
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

// Fails (abort, which libFuzzer reports with the input) with `why` on stderr.
[[noreturn]] inline void finding(const std::string& why) {
  std::fprintf(stderr, "tdseg fuzz finding: %s\n", why.c_str());
  std::abort();
}

// Runs `read`; a tdseg::Error must be one line and, where `names` is not empty, contain it.
template <typename Read>
void expect_clean_refusal(Read&& read, const std::string& names) {
  try {
    read();
  } catch (const Error& e) {
    const std::string message = e.what();
    if (message.find('\n') != std::string::npos) finding("an error of several lines: " + message);
    if (!names.empty() && message.find(names) == std::string::npos)
      finding("an error that does not name '" + names + "': " + message);
  }
}

}  // namespace tdseg::fuzz
