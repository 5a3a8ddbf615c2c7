// MeasureExecutable (attester.h): the simulated TEE's only file access, reading the executable
// whose SHA-384 becomes the virtual measurement.
#include <fstream>

#include "cloister/crypto/hash.h"
#include "cloister/tee/attester.h"

namespace cloister::tee {

Result<Bytes> MeasureExecutable(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return IoError("cannot read ", path, " to measure it");
  crypto::Hasher hasher(crypto::HashAlgorithm::kSha384);
  char buffer[1 << 16];
  while (file.read(buffer, sizeof(buffer)) || file.gcount() > 0) {
    hasher.Update(
        ByteSpan(reinterpret_cast<const uint8_t*>(buffer), static_cast<size_t>(file.gcount())));
  }
  return hasher.Finish();
}

}  // namespace cloister::tee
