#include "data/datasets/listing.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/input_file.h"

namespace fs = std::filesystem;

namespace tdseg {

namespace {

fs::directory_iterator open_folder(const std::string& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  check<IOError>(!ec, dir, ": cannot list the folder: ", ec.message());
  return it;
}

}  // namespace

std::vector<std::string> read_list(const std::string& path) {
  std::ifstream f = open_input(path, std::ios::in, "the list file");
  std::vector<std::string> ids;
  std::string line;
  for (int number = 1; std::getline(f, line); ++number) {
    const size_t begin = line.find_first_not_of(" \t\r");
    if (begin == std::string::npos) continue;
    const std::string id = line.substr(begin, line.find_last_not_of(" \t\r") + 1 - begin);
    check<IOError>(id.find_first_of(" \t") == std::string::npos, path, ":", number, ": '", id,
                   "' is not one sample id (one id per line)");
    ids.push_back(id);
  }
  check<IOError>(!ids.empty(), path, ": the list file has no sample ids");
  return ids;
}

std::vector<std::string> list_stems(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> stems;
  for (const auto& entry : open_folder(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      stems.push_back(name.substr(0, name.size() - suffix.size()));
  }
  std::sort(stems.begin(), stems.end());
  return stems;
}

std::vector<std::string> list_folders(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : open_folder(dir))
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string join(const std::string& folder, const std::string& name) {
  return folder.empty() || folder.back() == '/' ? folder + name : folder + "/" + name;
}

void require_folder(const std::string& path, const std::string& dataset, const std::string& what) {
  check<IOError>(!path.empty() && fs::is_directory(path), dataset, ": ", what, " '", path,
                 "' is not a folder");
}

}  // namespace tdseg
