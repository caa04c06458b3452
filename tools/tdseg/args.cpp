#include "tools/tdseg/args.h"

#include <cmath>

namespace tdseg::cli {

Args::Args(std::vector<std::string> tokens, std::string command) : command_(std::move(command)) {
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& t = tokens[i];
    if (t == "--help" || t == "-h") {
      help_ = true;
    } else if (t.rfind("--", 0) == 0 && t.size() > 2) {
      const size_t eq = t.find('=');
      if (eq != std::string::npos) {
        options_.emplace_back(t.substr(2, eq - 2), t.substr(eq + 1));
      } else if (i + 1 < tokens.size() && tokens[i + 1].rfind("--", 0) != 0) {
        options_.emplace_back(t.substr(2), tokens[++i]);
      } else {
        options_.emplace_back(t.substr(2), std::nullopt);
      }
    } else {
      positionals_.push_back(t);
    }
  }
}

bool Args::flag(const std::string& name) {
  for (auto& [n, v] : options_) {
    if (n != name) continue;
    used_.insert(name);
    if (v) {  // `--flag value`: the value was a positional after all
      positionals_.push_back(*v);
      v.reset();
    }
    return true;
  }
  return false;
}

std::optional<std::string> Args::option(const std::string& name) {
  for (const auto& [n, v] : options_) {
    if (n != name) continue;
    used_.insert(name);
    check<UsageError>(v.has_value(), command_, ": --", name, " needs a value");
    return v;
  }
  return std::nullopt;
}

std::vector<std::string> Args::options(const std::string& name) {
  std::vector<std::string> values;
  for (const auto& [n, v] : options_) {
    if (n != name) continue;
    used_.insert(name);
    check<UsageError>(v.has_value(), command_, ": --", name, " needs a value");
    values.push_back(*v);
  }
  return values;
}

std::string Args::option_or(const std::string& name, const std::string& fallback) {
  return option(name).value_or(fallback);
}

int64_t Args::int_or(const std::string& name, int64_t fallback, int64_t min, int64_t max) {
  auto v = option(name);
  if (!v) return fallback;
  size_t end = 0;
  int64_t x = 0;
  try {
    x = std::stoll(*v, &end);
  } catch (const std::exception&) {
    end = 0;
  }
  check<UsageError>(end == v->size() && !v->empty(), command_, ": --", name,
                    " expects an integer, got '", *v, "'");
  check<UsageError>(x >= min && x <= max, command_, ": --", name, " must be in [", min, ", ",
                    max, "], got ", x);
  return x;
}

double Args::double_or(const std::string& name, double fallback) {
  auto v = option(name);
  if (!v) return fallback;
  size_t end = 0;
  double x = 0;
  try {
    x = std::stod(*v, &end);
  } catch (const std::exception&) {
    end = 0;
  }
  check<UsageError>(end == v->size() && !v->empty() && std::isfinite(x), command_, ": --", name,
                    " expects a number, got '", *v, "'");
  return x;
}

std::string Args::positional(size_t index, const std::string& what) {
  check<UsageError>(index < positionals_.size(), command_, ": missing ", what,
                    " (see tdseg ", command_, " --help)");
  return positionals_[index];
}

void Args::finish(size_t positionals_expected) const {
  for (const auto& [n, _] : options_)
    check<UsageError>(used_.count(n) > 0, command_, ": unknown option --", n,
                      " (see tdseg ", command_, " --help)");
  check<UsageError>(positionals_.size() <= positionals_expected, command_,
                    ": unexpected argument '",
                    positionals_.size() > positionals_expected ? positionals_[positionals_expected] : "",
                    "'");
}

}  // namespace tdseg::cli
