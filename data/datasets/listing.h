// How the file datasets find their samples: list files of ids and folder scans. Errors
// are IOErrors naming the list file or folder.
#pragma once
#include <string>
#include <vector>

namespace tdseg {

// The ids of a list file, one per line (surrounding blanks and empty lines ignored). A
// missing or empty list, or a line with two words, is an error naming the file.
std::vector<std::string> read_list(const std::string& path);

// The names of the files in `dir` that end with `suffix`, without it, sorted.
std::vector<std::string> list_stems(const std::string& dir, const std::string& suffix);

// The names of the sub-folders of `dir`, sorted.
std::vector<std::string> list_folders(const std::string& dir);

// "a/b" from "a" or "a/" and "b".
std::string join(const std::string& folder, const std::string& name);

// An IOError "<dataset>: <what> <path> is not a folder" unless it is one.
void require_folder(const std::string& path, const std::string& dataset, const std::string& what);

}  // namespace tdseg
