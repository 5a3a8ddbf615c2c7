// WriteSet: what one committed transaction changed, as it travels to followers and the ledger.
//
// A write set is a deterministic, ordered description of the puts and removes of one
// transaction, grouped by map. Maps whose names start with "public:" are public (stored in clear
// in the ledger, auditable); every other map is private (encrypted in the ledger). Encode() is
// deterministic (maps and keys in byte order), so two replicas produce identical bytes for the
// same transaction; Decode() is strict and bounded and rejects anything Encode() would not
// produce (unsorted or duplicate names and keys, unknown operations, trailing bytes).
//
// Encoding (all integers little-endian; see docs/kv.md):
//   u32 map_count, then per map in name order:
//     u16 name_length, name, u32 write_count, then per write in key order:
//       u8 op (1 = put, 2 = remove), u32 key_length, key, [put only: u32 value_length, value]
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"

namespace cloister::kv {

// Versions number committed transactions: 1, 2, 3, ... (0 is the empty store).
using Version = uint64_t;

inline constexpr std::string_view kPublicPrefix = "public:";
// Limits enforced on decode (and on write by the store) so hostile input cannot ask for unbounded
// allocations.
inline constexpr size_t kMapNameLengthMax = 255;
inline constexpr size_t kKeyLengthMax = 64 * 1024;
inline constexpr size_t kValueLengthMax = 64 * 1024 * 1024;

// True for maps stored in clear ("public:..."), false for private (encrypted) maps.
bool IsPublicMap(std::string_view map_name);

// A map name is 1..kMapNameLengthMax bytes of printable ASCII.
Status ValidateMapName(std::string_view map_name);

struct WriteSet {
  // map name -> key -> value (nullopt = remove). Ordered, so iteration is deterministic.
  std::map<std::string, std::map<std::string, std::optional<std::string>>> maps;

  [[nodiscard]] bool empty() const { return maps.empty(); }
  // Number of puts and removes over all maps.
  [[nodiscard]] size_t WriteCount() const;

  [[nodiscard]] Bytes Encode() const;
  static Result<WriteSet> Decode(ByteSpan bytes);

  // Returns (public part, private part): the maps named "public:..." and the others.
  [[nodiscard]] std::pair<WriteSet, WriteSet> SplitByVisibility() const;
  // Adds every map of `other` (which must have no map in common with *this).
  void Merge(const WriteSet& other);

  friend bool operator==(const WriteSet&, const WriteSet&) = default;
};

}  // namespace cloister::kv
