// A small command-line parser: positionals, `--name value`, `--name=value` and boolean
// `--flag`s. Every option a command reads is declared by reading it; finish() then
// rejects anything left over, so a misspelt flag is an error, not silently ignored.
#pragma once
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"

namespace tdseg::cli {

struct UsageError : ValueError { using ValueError::ValueError; };

class Args {
 public:
  Args(std::vector<std::string> tokens, std::string command);

  bool help() const { return help_; }
  bool flag(const std::string& name);  // --name present (takes no value)
  std::optional<std::string> option(const std::string& name);
  std::vector<std::string> options(const std::string& name);  // every --name VALUE, in order
  std::string option_or(const std::string& name, const std::string& fallback);
  int64_t int_or(const std::string& name, int64_t fallback, int64_t min, int64_t max);
  double double_or(const std::string& name, double fallback);  // any finite number
  std::string positional(size_t index, const std::string& what);  // required
  // Throws UsageError for unknown options or surplus positionals.
  void finish(size_t positionals_expected) const;

 private:
  std::string command_;
  std::vector<std::string> positionals_;
  std::vector<std::pair<std::string, std::optional<std::string>>> options_;
  std::set<std::string> used_;
  bool help_ = false;
};

}  // namespace tdseg::cli
