// Strict JSON field readers shared by gov's record and request parsers (private to gov).
//
// Every reader names the document and field in its error, so a refused proposal or a corrupt
// record says exactly what was wrong. Parsing never throws (nlohmann's non-throwing parse).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "cloister/base/result.h"

namespace cloister::gov {

// `text` as a JSON object, or kParse naming `what`.
inline Result<nlohmann::json> ParseJsonObject(std::string_view text, std::string_view what) {
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded() || !value.is_object()) {
    return ParseError(what, ": not a JSON object");
  }
  return value;
}

inline Result<std::string> JsonString(const nlohmann::json& object, const char* name,
                                      std::string_view what) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) {
    return ParseError(what, ": field '", name, "' missing or not a string");
  }
  return it->get<std::string>();
}

inline Result<uint64_t> JsonUint(const nlohmann::json& object, const char* name,
                                 std::string_view what) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_number_unsigned()) {
    return ParseError(what, ": field '", name, "' missing or not an unsigned integer");
  }
  return it->get<uint64_t>();
}

inline Result<int64_t> JsonInt(const nlohmann::json& object, const char* name,
                               std::string_view what) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_number_integer()) {
    return ParseError(what, ": field '", name, "' missing or not an integer");
  }
  return it->get<int64_t>();
}

// Fails unless every key of `object` is one of `allowed` (a misspelt field must not be ignored).
inline Status JsonOnlyKeys(const nlohmann::json& object,
                           std::initializer_list<std::string_view> allowed, std::string_view what) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    bool known = false;
    for (std::string_view name : allowed) known = known || it.key() == name;
    if (!known) return ParseError(what, ": unknown field '", it.key(), "'");
  }
  return OkStatus();
}

}  // namespace cloister::gov
