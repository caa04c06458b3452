// Typed errors. Every public entry validates its inputs and throws one of these with a
// message that names the op (or file, or flag) at fault and the shapes involved; the
// command line turns any of them into one line on stderr and exit code 2.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace tdseg {

// Text from a file or a user, fit to quote in a one-line message: printable ASCII and
// well-formed UTF-8 as they are, every other byte (a newline, a control character, a
// stray byte) as \xHH.
std::string printable(std::string_view text);

// Every message is one line: what a file or a user put in it (a name with a newline, a
// stray byte) is escaped here, once for every error.
struct Error : std::runtime_error {
  explicit Error(const std::string& message) : std::runtime_error(printable(message)) {}
};
struct ShapeError : Error { using Error::Error; };   // incompatible shapes or ranks
struct DTypeError : Error { using Error::Error; };   // unsupported or mismatched dtype
struct DeviceError : Error { using Error::Error; };  // wrong or unavailable device
struct ValueError : Error { using Error::Error; };   // a bad argument value (label, option, ...)
struct IOError : Error { using Error::Error; };      // a missing, corrupt or truncated file
struct AutogradError : Error { using Error::Error; };  // misuse of the autograd graph
struct CudaError : DeviceError { using DeviceError::DeviceError; };  // a failed CUDA, cuDNN or cuBLAS call

// cat("conv2d: ", 3, "x", 4) -> "conv2d: 3x4"
template <typename... Args>
std::string cat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}

// Throws E with the concatenated message when cond is false.
template <typename E = Error, typename... Args>
void check(bool cond, Args&&... args) {
  if (!cond) throw E(cat(std::forward<Args>(args)...));
}

// Throws the IOError "PATH: why" of a file that cannot be read or written as it should.
[[noreturn]] inline void fail_file(const std::string& path, const std::string& why) {
  throw IOError(cat(path, ": ", why));
}

}  // namespace tdseg
