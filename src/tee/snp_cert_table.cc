// The SEV-SNP extended report certificate table (GHCB specification, "SNP Extended Guest
// Request"): 24-byte entries {GUID (16), offset u32, length u32} ending with an all-zero entry;
// offsets are relative to the table start. Pure parsing, no I/O.
#include <algorithm>
#include <array>
#include <cstring>

#include "cloister/tee/attester.h"

namespace cloister::tee {
namespace {

constexpr size_t kEntrySize = 24;
constexpr size_t kMaxEntries = 16;

// GUIDs as they appear in memory (the first three fields little-endian).
struct Known {
  std::array<uint8_t, 16> guid;
  int rank;  // order in the endorsements: signing key first
};
constexpr Known kKnown[] = {
    // VCEK 63da758d-e664-4564-adc5-f4b93be8accd
    {{0x8d, 0x75, 0xda, 0x63, 0x64, 0xe6, 0x64, 0x45, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac,
      0xcd},
     0},
    // VLEK a8074bc2-a25a-483e-aae6-39c045a0b8a1
    {{0xc2, 0x4b, 0x07, 0xa8, 0x5a, 0xa2, 0x3e, 0x48, 0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8,
      0xa1},
     0},
    // ASK 4ab7b379-bbac-4fe4-a02f-05aef327c782
    {{0x79, 0xb3, 0xb7, 0x4a, 0xac, 0xbb, 0xe4, 0x4f, 0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7,
      0x82},
     1},
    // ARK c0b406a4-a803-4952-9743-3fb6014cd0ae
    {{0xa4, 0x06, 0xb4, 0xc0, 0x03, 0xa8, 0x52, 0x49, 0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0,
      0xae},
     2},
};

}  // namespace

Result<std::vector<Bytes>> ParseSnpCertificateTable(ByteSpan table) {
  std::vector<std::pair<int, Bytes>> ranked;
  for (size_t index = 0;; ++index) {
    if (index >= kMaxEntries) return ParseError("SNP certificate table has too many entries");
    ByteReader reader(table.subspan(std::min(table.size(), index * kEntrySize)),
                      "SNP certificate table");
    ASSIGN_OR_RETURN(const ByteSpan guid, reader.Take(16, "GUID"));
    ASSIGN_OR_RETURN(const uint32_t offset, reader.U32Le("offset"));
    ASSIGN_OR_RETURN(const uint32_t length, reader.U32Le("length"));
    if (IsAllZero(guid) && offset == 0 && length == 0) break;
    if (offset > table.size() || length > table.size() - offset) {
      return ParseError("SNP certificate table entry ", index, " points outside the table");
    }
    for (const Known& known : kKnown) {
      if (std::memcmp(known.guid.data(), guid.data(), 16) == 0) {
        const ByteSpan der = table.subspan(offset, length);
        ranked.emplace_back(known.rank, Bytes(der.begin(), der.end()));
      }
    }
  }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Bytes> out;
  for (auto& [rank, der] : ranked) out.push_back(std::move(der));
  return out;
}

}  // namespace cloister::tee
