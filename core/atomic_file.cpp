#include "core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/error.h"

namespace tdseg {

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)), tmp_(path_ + ".tmp") {
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);  // less the umask
  if (fd_ < 0) fail_file(path_, std::string("cannot write: ") + std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (fd_ < 0) return;
  ::close(fd_);
  std::remove(tmp_.c_str());
}

void AtomicFile::fail(const std::string& why) {
  const std::string reason = why + std::strerror(errno);
  ::close(fd_);
  fd_ = -1;
  std::remove(tmp_.c_str());
  fail_file(path_, reason);
}

void AtomicFile::write(const void* data, size_t bytes) {
  check<Error>(fd_ >= 0, path_, ": write after commit");
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {  // write() may take fewer bytes than asked, or be interrupted
    const ssize_t n = ::write(fd_, p, bytes);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("cannot write: ");
    p += n;
    bytes -= static_cast<size_t>(n);
  }
}

void AtomicFile::commit() {
  check<Error>(fd_ >= 0, path_, ": committed twice");
  // The data on the disk before the rename: else a power loss just after the rename can
  // leave PATH empty on some file systems.
  if (::fsync(fd_) != 0) fail("cannot write: ");
  const int fd = fd_;
  fd_ = -1;
  const char* step = "cannot write: ";
  if (::close(fd) == 0) {
    step = "cannot rename the temporary file: ";
    if (std::rename(tmp_.c_str(), path_.c_str()) == 0) return;
  }
  const std::string why = step + std::string(std::strerror(errno));
  std::remove(tmp_.c_str());
  fail_file(path_, why);
}

void write_file_atomically(const std::string& path, std::string_view bytes) {
  AtomicFile f(path);
  f.write(bytes);
  f.commit();
}

}  // namespace tdseg
