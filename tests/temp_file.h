// Files of a test's own in the temporary folder, and reading one back.
#pragma once
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

namespace tdseg::testing {

// TMPDIR/tdseg_TEST_NAME: a path no other test writes (ctest runs tests in parallel
// processes).
inline std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "tdseg_" +
         ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" + name;
}

// A file's bytes as a string ("" when it cannot be read).
inline std::string file_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

}  // namespace tdseg::testing
