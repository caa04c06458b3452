// Running the real `tdseg` binary from a test: its exit code and what it printed on stderr.
#pragma once
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace tdseg::testing {

struct Outcome {
  int code;
  int stderr_lines;
  std::string err;
};

// A file prefix of this test's own: ctest runs tests in parallel processes, and other
// builds may run the same test at the same time (hence the process id).
inline std::string dir() {
  return ::testing::TempDir() + "tdseg_" +
         ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" +
         std::to_string(getpid()) + "_";
}

inline Outcome tdseg(const std::string& arguments) {
  const std::string err = dir() + "stderr.txt";
  const int status = std::system((std::string(TDSEG_BINARY) + " " + arguments + " >/dev/null 2>" + err).c_str());
  std::ifstream f(err);
  std::string text((std::istreambuf_iterator<char>(f)), {});
  int lines = 0;
  for (char c : text) lines += c == '\n';
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, lines, text};
}

}  // namespace tdseg::testing
