// The simulated TEE (virtual_tee.h): a fixed, public vendor key and same-shaped evidence.
#include "cloister/tee/virtual_tee.h"

#include <cstring>

#include "claims_util.h"
#include "cloister/base/assert.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/signature.h"

namespace cloister::tee {

const crypto::PrivateKey& SimulatedRootKey() {
  static const crypto::PrivateKey kKey = [] {
    Result<Bytes> scalar = crypto::Hkdf(crypto::HashAlgorithm::kSha384, {},
                                        AsBytes(kSimulatedRootSeed), AsBytes("v1"), 48);
    ASSERT(scalar.ok(), "simulated root derivation");
    Result<crypto::PrivateKey> key = crypto::PrivateKey::FromRaw(crypto::KeyType::kP384, *scalar);
    // A 48-byte HKDF output is below the P-384 order with overwhelming probability, and this one
    // is a fixed constant checked by the tests.
    ASSERT(key.ok(), "simulated root scalar out of range: ", key.error().ToString());
    return std::move(key).value();
  }();
  return kKey;
}

Bytes SimulatedRootFingerprint() { return crypto::Sha256(SimulatedRootKey().Public().ToSpkiDer()); }

Result<Bytes> SignVirtualReport(const VirtualReport& report) {
  if (report.measurement.size() != 48 || report.report_data.size() != 64 ||
      report.host_data.size() != 32) {
    return InvalidArgumentError("virtual report fields must be 48/64/32 bytes, got ",
                                report.measurement.size(), "/", report.report_data.size(), "/",
                                report.host_data.size());
  }
  Bytes out;
  ByteWriter writer(&out);
  writer.Append(AsBytes(kVirtualMagic));
  writer.U32Le(report.version);
  writer.U32Le(report.debug ? 1 : 0);
  writer.Append(report.measurement);
  writer.Append(report.report_data);
  writer.Append(report.host_data);
  writer.U32Le(report.svn);
  writer.Append(Bytes(12, 0));
  ASSERT(out.size() == kVirtualSignedSize, "virtual layout");
  ASSIGN_OR_RETURN(const Bytes signature,
                   crypto::Sign(SimulatedRootKey(), crypto::HashAlgorithm::kSha384, out,
                                crypto::SignatureFormat::kRawBigEndian));
  writer.Append(signature);
  return out;
}

Result<VirtualReport> ParseVirtualReport(ByteSpan raw) {
  if (raw.size() != kVirtualEvidenceSize) {
    return ParseError("virtual evidence is ", raw.size(), " bytes, expected ",
                      kVirtualEvidenceSize);
  }
  ByteReader reader(raw, "virtual evidence");
  ASSIGN_OR_RETURN(const ByteSpan magic, reader.Take(kVirtualMagic.size(), "magic"));
  if (AsString(magic) != kVirtualMagic) return ParseError("virtual evidence: bad magic");
  VirtualReport report;
  ASSIGN_OR_RETURN(report.version, reader.U32Le("version"));
  if (report.version != 1) return UnsupportedError("virtual evidence version ", report.version);
  ASSIGN_OR_RETURN(const uint32_t flags, reader.U32Le("flags"));
  if (flags > 1) return ParseError("virtual evidence: unknown flags 0x", HexNumber(flags));
  report.debug = flags == 1;
  ASSIGN_OR_RETURN(const ByteSpan measurement, reader.Take(48, "measurement"));
  ASSIGN_OR_RETURN(const ByteSpan report_data, reader.Take(64, "report_data"));
  ASSIGN_OR_RETURN(const ByteSpan host_data, reader.Take(32, "host_data"));
  ASSIGN_OR_RETURN(report.svn, reader.U32Le("svn"));
  ASSIGN_OR_RETURN(const ByteSpan reserved, reader.Take(12, "reserved"));
  if (!IsAllZero(reserved)) return ParseError("virtual evidence: non-zero reserved bytes");
  report.measurement.assign(measurement.begin(), measurement.end());
  report.report_data.assign(report_data.begin(), report_data.end());
  report.host_data.assign(host_data.begin(), host_data.end());
  return report;
}

Result<Claims> VirtualVerifier::Verify(const Evidence& evidence, const VerifyOptions&) const {
  ASSIGN_OR_RETURN(const VirtualReport report, ParseVirtualReport(evidence.raw));
  const ByteSpan raw(evidence.raw);
  const Status signature = crypto::Verify(
      SimulatedRootKey().Public(), crypto::HashAlgorithm::kSha384, raw.first(kVirtualSignedSize),
      raw.subspan(kVirtualSignedSize), crypto::SignatureFormat::kRawBigEndian);
  if (!signature.ok()) {
    return VerificationError(
        "virtual evidence signature does not verify under the simulated "
        "root: ",
        signature.error().message);
  }
  Claims claims;
  claims.platform = Platform::kVirtual;
  claims.insecure = true;
  claims.measurement = report.measurement;
  claims.report_data = report.report_data;
  claims.debug = report.debug;
  claims.product = "virtual";
  claims.host_data = report.host_data;
  claims.signing_key = "simulated";
  claims.root_fingerprint = SimulatedRootFingerprint();
  AddSvn(&claims, "svn", report.svn);
  AddNumber(&claims, "version", report.version);
  AddNumber(&claims, "debug", report.debug ? 1 : 0);
  AddField(&claims, "measurement", report.measurement);
  AddField(&claims, "report_data", report.report_data);
  AddField(&claims, "host_data", report.host_data);
  AddNumber(&claims, "svn", report.svn);
  AddField(&claims, "insecure", std::string("simulated TEE: no hardware isolation"));
  return claims;
}

Result<Evidence> VirtualAttester::Attest(ByteSpan report_data) {
  if (report_data.size() > 64) {
    return InvalidArgumentError("report_data is ", report_data.size(), " bytes, at most 64");
  }
  VirtualReport report;
  report.debug = debug_;
  report.measurement = measurement_;
  report.report_data.assign(report_data.begin(), report_data.end());
  report.report_data.resize(64, 0);
  report.host_data = host_data_;
  ASSIGN_OR_RETURN(Bytes raw, SignVirtualReport(report));
  return Evidence{.platform = Platform::kVirtual, .raw = std::move(raw)};
}

}  // namespace cloister::tee
