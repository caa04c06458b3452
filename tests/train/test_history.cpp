// The run log: a resumed run keeps the entries up to its checkpoint's step, and a crash
// that tore the last line does not stop the resume.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/check_close.h"
#include "tests/temp_file.h"
#include "train/history.h"

namespace tdseg::testing {
namespace {

// Steps 1 to 4 logged, an evaluation at 2.
void write_log(const std::string& path) {
  RunLog log(path, -1);
  for (int64_t i = 1; i <= 4; ++i) {
    log.step({i, 2.0 / i, 0.1, 300.0 + i, 0.5 * i, 0.01 * i, std::nullopt});
    if (i == 2) log.eval({2, 0.25, 0.75, 1.5});
  }
}

TEST(RunLog, ResumeKeepsTheEntriesUpToItsStep) {
  const std::string path = temp_path("log.jsonl");
  write_log(path);
  const RunLog resumed(path, 2);
  ASSERT_EQ(resumed.history().steps.size(), 2u);
  EXPECT_EQ(resumed.history().steps[1].iter, 2);
  EXPECT_EQ(resumed.history().steps[1].loss, 1.0);
  ASSERT_EQ(resumed.history().evals.size(), 1u);
  EXPECT_EQ(resumed.history().evals[0].miou, 0.25);
  EXPECT_EQ(RunLog(path, 2).history().steps.size(), 2u);  // the file holds those three lines
  std::filesystem::remove(path);
}

TEST(RunLog, ATornLastLineIsDroppedAnyOtherBadLineIsAnError) {
  const std::string path = temp_path("log.jsonl");
  write_log(path);
  std::ofstream(path, std::ios::app) << R"({"iter": 5, "loss": 0.3)";
  const RunLog resumed(path, 10);
  EXPECT_EQ(resumed.history().steps.size(), 4u);
  EXPECT_EQ(file_text(path).back(), '\n');  // rewritten without it

  std::string text = file_text(path);
  text.insert(text.find('\n') + 1, "{\"iter\": 1, \"lo\n");  // torn, then more lines
  std::ofstream(path) << text;
  EXPECT_THROW_MSG(RunLog(path, 10), IOError, path + ": not a log line: {\"iter\": 1, \"lo");
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace tdseg::testing
