#include "core/input_file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace tdseg {

std::ifstream open_input(const std::string& path, std::ios::openmode mode,
                         const std::string& what) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail_file(path, "is a folder, not a file");
  std::ifstream f(path, mode | std::ios::in);
  if (!f) fail_file(path, cat("cannot open", what.empty() ? "" : " " + what, ": ", std::strerror(errno)));
  return f;
}

}  // namespace tdseg
