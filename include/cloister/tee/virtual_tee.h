// The simulated TEE (`virtual`): evidence with the shape of a hardware report, signed by a
// simulated vendor key that is PUBLIC and FIXED, for development networks and tests.
//
// It is insecure by design: anyone can compute the simulated root's private key from the
// documented constant below, so virtual evidence proves nothing about isolation. Every node of a
// dev network must nevertheless agree on the root, which is why it is derived, not random.
// Claims from virtual evidence carry insecure = true, and every Policy refuses them unless the
// policy names the simulated root's fingerprint explicitly (policy.h).
//
// Wire format (272 bytes, integers little-endian):
//   0   8   magic "CLVIRT01"
//   8   4   version (1)
//   12  4   flags: bit 0 debug
//   16  48  measurement (SHA-384 of the executable, or configured)
//   64  64  report_data
//   128 32  host_data
//   160 4   svn
//   164 12  reserved, zero
//   176 96  ECDSA P-384 / SHA-384 signature over bytes 0..175, r||s big-endian
#pragma once

#include <cstdint>
#include <string_view>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"
#include "cloister/crypto/key.h"
#include "cloister/tee/evidence.h"

namespace cloister::tee {

inline constexpr std::string_view kVirtualMagic = "CLVIRT01";
inline constexpr size_t kVirtualEvidenceSize = 272;
inline constexpr size_t kVirtualSignedSize = 176;
// The documented constant the simulated root key is derived from:
//   scalar = HKDF-SHA384(salt = "", ikm = kSimulatedRootSeed, info = "v1", 48 bytes)
inline constexpr std::string_view kSimulatedRootSeed =
    "cloister simulated TEE vendor root: public, fixed, insecure by design";

// The simulated vendor key pair (the private half is public knowledge).
const crypto::PrivateKey& SimulatedRootKey();
// SHA-256 of the simulated root's SubjectPublicKeyInfo DER: what a policy names to allow virtual.
Bytes SimulatedRootFingerprint();

struct VirtualReport {
  uint32_t version = 1;
  bool debug = false;
  Bytes measurement;  // 48 bytes
  Bytes report_data;  // 64 bytes
  Bytes host_data;    // 32 bytes
  uint32_t svn = 0;
};

// Serialises and signs `report` with the simulated root. Fails on wrong field sizes.
Result<Bytes> SignVirtualReport(const VirtualReport& report);
// Parses the layout (no signature check).
Result<VirtualReport> ParseVirtualReport(ByteSpan raw);

class VirtualVerifier final : public Verifier {
 public:
  [[nodiscard]] Result<Claims> Verify(const Evidence& evidence,
                                      const VerifyOptions& options) const override;
};

// Attester for the simulated TEE. `measurement` is usually MeasureExecutable() (attester.h).
class VirtualAttester final : public Attester {
 public:
  explicit VirtualAttester(Bytes measurement, Bytes host_data = Bytes(32, 0), bool debug = false)
      : measurement_(std::move(measurement)), host_data_(std::move(host_data)), debug_(debug) {}
  [[nodiscard]] Platform platform() const override { return Platform::kVirtual; }
  [[nodiscard]] Result<Evidence> Attest(ByteSpan report_data) override;

 private:
  Bytes measurement_;
  Bytes host_data_;
  bool debug_;
};

}  // namespace cloister::tee
