// Why nlohmann/json refused a text, for a one-line message: "error at byte N" for a syntax
// error, else its reason without the "[json.exception...] " prefix ("number overflow
// parsing '1e400'").
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace tdseg {

inline std::string json_error(const nlohmann::json::exception& e) {
  if (const auto* p = dynamic_cast<const nlohmann::json::parse_error*>(&e))
    return cat("error at byte ", p->byte);
  const std::string what = e.what();
  return what.substr(what.find("] ") + 2);
}

}  // namespace tdseg
