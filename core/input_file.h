// Opening a file to read, with the errors every reader gives: an IOError
// "PATH: is a folder, not a file" (a folder opens as a stream on Linux, then fails on the
// first read with a message that names nothing) or "PATH: cannot open[ WHAT]: REASON".
#pragma once
#include <fstream>
#include <string>

namespace tdseg {

// WHAT names the file's role for the message ("the config file"); may be empty.
std::ifstream open_input(const std::string& path, std::ios::openmode mode = std::ios::in,
                         const std::string& what = "");

}  // namespace tdseg
