// What the fuzz targets share (tools/fuzz.sh builds and runs them with libFuzzer,
// AddressSanitizer and UBSan). tdseg's readers take paths, so the fuzzer's bytes go to a
// file of this process's own first. A reader may refuse a file only with a tdseg::Error
// that names the file (one line by construction: core/error.h); anything else thrown
// (std::bad_alloc, a json or std::stoi exception), a crash, a leak or a sanitizer report
// is a finding.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"

namespace tdseg::fuzz {

// The bytes as a file (in /dev/shm, memory, where it exists): tdseg-fuzz-PID followed by
// `suffix` (".npy", ...). That file and the target's copies of it (the same name with more
// after it) are removed when the process exits.
inline std::string input_file(const uint8_t* data, size_t size, const std::string& suffix) {
  static const std::string prefix =
      std::string(access("/dev/shm", W_OK) == 0 ? "/dev/shm/" : "/tmp/") + "tdseg-fuzz-" +
      std::to_string(getpid());
  static const int removal = std::atexit([] {
    const std::filesystem::path p(prefix);
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(p.parent_path(), ec))
      if (entry.path().filename().string().rfind(p.filename().string() + ".", 0) == 0)
        std::filesystem::remove(entry.path(), ec);
  });
  (void)removal;
  const std::string path = prefix + suffix;
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

// Fails (abort, which libFuzzer reports with the input) with `why` on stderr.
[[noreturn]] inline void finding(const std::string& why) {
  std::fprintf(stderr, "tdseg fuzz finding: %s\n", why.c_str());
  std::abort();
}

// Runs `read`; a tdseg::Error must contain `names` where it is not empty.
template <typename Read>
void expect_clean_refusal(Read&& read, const std::string& names) {
  try {
    read();
  } catch (const Error& e) {
    const std::string message = e.what();
    if (!names.empty() && message.find(names) == std::string::npos)
      finding("an error that does not name '" + names + "': " + message);
  }
}

}  // namespace tdseg::fuzz
