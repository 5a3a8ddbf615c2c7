#include "openssl_util.h"

#include <climits>

namespace cloister::crypto::internal {

std::string DrainOpenSslErrors() {
  std::string out;
  unsigned long code = 0;
  while ((code = ERR_get_error()) != 0) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    if (!out.empty()) out.append("; ");
    out.append(buffer);
  }
  return out;
}

Error OpenSslError(std::string_view what) {
  std::string detail = DrainOpenSslErrors();
  if (detail.empty()) return CryptoError(what);
  return CryptoError(what, ": ", detail);
}

BioPtr MemoryBio(const void* data, size_t size) {
  ASSERT(size <= static_cast<size_t>(INT_MAX), "buffer too large for a BIO: ", size);
  return BioPtr(BIO_new_mem_buf(data, static_cast<int>(size)));
}

std::string BioContents(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  if (size <= 0 || data == nullptr) return {};
  return std::string(data, static_cast<size_t>(size));
}

}  // namespace cloister::crypto::internal
