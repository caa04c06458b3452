// AtomicFile: the new bytes replace a file whole, or the old file stays; the temporary
// never outlives the writer; errors name the file asked for. And open_input's errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/atomic_file.h"
#include "core/input_file.h"
#include "tests/check_close.h"
#include "tests/temp_file.h"

namespace tdseg::testing {
namespace {

namespace fs = std::filesystem;

TEST(AtomicFile, ReplacesTheFileOnlyWhenCommitted) {
  const std::string path = temp_path("a.bin");
  write_file_atomically(path, "old");
  {
    AtomicFile f(path);
    f.write("new ");
    f.write("bytes");
    EXPECT_EQ(file_text(path), "old");  // written so far: the temporary only
    EXPECT_EQ(file_text(path + ".tmp"), "new bytes");
    f.commit();
  }
  EXPECT_EQ(file_text(path), "new bytes");
  EXPECT_FALSE(fs::exists(path + ".tmp"));

  {  // an error between the first byte and the commit (the writer dropped uncommitted)
    AtomicFile f(path);
    f.write("half of a checkpoint");
  }
  EXPECT_EQ(file_text(path), "new bytes");
  EXPECT_FALSE(fs::exists(path + ".tmp"));

  // Bytes that are not text, past any buffer size.
  std::string binary(3 << 20, '\0');
  for (size_t i = 0; i < binary.size(); ++i) binary[i] = static_cast<char>(i * 131 % 256);
  write_file_atomically(path, binary);
  EXPECT_EQ(file_text(path), binary);
  fs::remove(path);
}

TEST(AtomicFile, ErrorsNameTheFileAndLeaveNoTemporary) {
  const std::string nowhere = temp_path("no/such/folder/x.npy");
  EXPECT_THROW_MSG(AtomicFile{nowhere}, IOError,
                   nowhere + ": cannot write: No such file or directory");

  const std::string folder = temp_path("folder");  // a folder where the file should go
  fs::remove_all(folder);
  fs::create_directory(folder);
  EXPECT_THROW_MSG(write_file_atomically(folder, "x"), IOError,
                   folder + ": cannot rename the temporary file: Is a directory");
  EXPECT_FALSE(fs::exists(folder + ".tmp"));
  EXPECT_TRUE(fs::is_directory(folder));

  AtomicFile f(temp_path("twice"));
  f.commit();
  EXPECT_THROW_MSG(f.write("late"), Error, "twice: write after commit");
  EXPECT_THROW_MSG(f.commit(), Error, "twice: committed twice");
  fs::remove_all(folder);
  fs::remove(temp_path("twice"));
}

TEST(InputFile, ErrorsNameTheFileAndItsRole) {
  const std::string missing = temp_path("missing.json");
  EXPECT_THROW_MSG(open_input(missing), IOError,
                   missing + ": cannot open: No such file or directory");
  EXPECT_THROW_MSG(open_input(missing, std::ios::in, "the config file"), IOError,
                   missing + ": cannot open the config file: No such file or directory");
  // A folder opens as a stream on Linux and fails at the first read, naming nothing.
  const std::string folder = temp_path("folder");
  fs::create_directories(folder);
  EXPECT_THROW_MSG(open_input(folder, std::ios::binary | std::ios::ate), IOError,
                   folder + ": is a folder, not a file");
  fs::remove_all(folder);

  const std::string file = temp_path("present.txt");
  write_file_atomically(file, "12 34");
  std::ifstream f = open_input(file);
  int a = 0, b = 0;
  f >> a >> b;
  EXPECT_EQ(a + b, 46);
  fs::remove(file);
}

}  // namespace
}  // namespace tdseg::testing
