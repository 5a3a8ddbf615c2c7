// Helpers for filling Claims::raw_fields consistently across platforms. Internal to tee/.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cloister/base/bytes.h"
#include "cloister/tee/evidence.h"

namespace cloister::tee {

// "0x" and lower-case hex without leading zeros ("0x0" for zero), as the manifest prints flags.
std::string HexNumber(uint64_t value);

inline void AddField(Claims* claims, std::string_view name, ByteSpan value) {
  claims->raw_fields.emplace_back(std::string(name), ToHex(value));
}
inline void AddField(Claims* claims, std::string_view name, std::string value) {
  claims->raw_fields.emplace_back(std::string(name), std::move(value));
}
inline void AddNumber(Claims* claims, std::string_view name, uint64_t value) {
  claims->raw_fields.emplace_back(std::string(name), std::to_string(value));
}
inline void AddSvn(Claims* claims, std::string_view name, uint64_t value) {
  claims->security_versions.emplace_back(std::string(name), value);
}

}  // namespace cloister::tee
