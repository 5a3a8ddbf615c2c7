// AWS Nitro Enclaves attestation documents: COSE_Sign1 (RFC 9052) over a CBOR payload, signed
// with ES384 by a short-lived leaf certificate that chains through the document's cabundle to the
// pinned AWS Nitro Enclaves root (aws-nitro-enclaves-nsm-api, docs/attestation_process.md).
//
// Accepted: tagged (18) and untagged messages, definite and indefinite-length maps (one real
// producer emits an indefinite payload map). Required payload fields: module_id, digest
// ("SHA384"), timestamp (ms), pcrs (index -> 48-byte digest), certificate, cabundle (root first).
// Optional: public_key, user_data, nonce, each a bstr or null.
//
// Time: leaves live about three hours, so when VerifyOptions::at_unix_seconds is absent the chain
// is checked at the document's own timestamp; a policy judges whether that timestamp is recent.
// cabundle[0] must equal the pinned root; the pinned copy is what anchors the chain.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"
#include "cloister/tee/evidence.h"

namespace cloister::tee {

struct NitroDocument {
  bool tagged = false;
  Bytes protected_bytes;
  Bytes payload;
  Bytes signature;
  std::string module_id;
  std::string digest;
  uint64_t timestamp_unix_millis = 0;
  std::vector<std::pair<uint64_t, Bytes>> pcrs;  // ascending index
  Bytes certificate;                             // DER leaf
  std::vector<Bytes> cabundle;                   // DER, root first
  std::optional<Bytes> public_key;
  std::optional<Bytes> user_data;
  std::optional<Bytes> nonce;

  // The PCR with this index, or nullptr.
  [[nodiscard]] const Bytes* Pcr(uint64_t index) const;
};

// Decodes the COSE_Sign1 envelope and the payload; checks structure and types only.
Result<NitroDocument> ParseNitroDocument(ByteSpan raw);

class NitroVerifier final : public Verifier {
 public:
  [[nodiscard]] Result<Claims> Verify(const Evidence& evidence,
                                      const VerifyOptions& options) const override;
};

}  // namespace cloister::tee
