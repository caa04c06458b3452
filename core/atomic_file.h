// A file written whole or not at all: the bytes go to PATH.tmp, which commit() flushes to
// the disk (fsync) and renames over PATH. A crash, a full disk or an error before the
// rename leaves PATH as it was (the old file, or none), never part of the new one, and
// the temporary is removed. Every I/O error is an IOError naming PATH.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace tdseg {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);  // creates PATH.tmp, truncating any left there
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();  // uncommitted: closes and removes PATH.tmp

  void write(const void* data, size_t bytes);
  void write(std::string_view text) { write(text.data(), text.size()); }
  void commit();  // fsync, close, rename over PATH

 private:
  [[noreturn]] void fail(const std::string& why);
  std::string path_, tmp_;
  int fd_ = -1;
};

// AtomicFile for a file made of one string.
void write_file_atomically(const std::string& path, std::string_view bytes);

}  // namespace tdseg
