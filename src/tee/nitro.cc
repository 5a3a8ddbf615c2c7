// AWS Nitro attestation documents (nitro.h), decoded with crypto/cbor and crypto/cose.
#include "cloister/tee/nitro.h"

#include <algorithm>

#include "claims_util.h"
#include "cloister/crypto/cbor.h"
#include "cloister/crypto/cose.h"
#include "cloister/crypto/x509.h"
#include "cloister/tee/chain_cache.h"
#include "cloister/tee/roots.h"

namespace cloister::tee {
namespace {

namespace cbor = crypto::cbor;
namespace cose = crypto::cose;

constexpr size_t kMaxPcrs = 32;
constexpr size_t kMaxCabundle = 8;
constexpr size_t kPcrSize = 48;

cbor::DecodeOptions NitroDecodeOptions() {
  cbor::DecodeOptions options;
  options.allow_indefinite = true;
  options.max_depth = 8;
  return options;
}

Result<ByteSpan> RequiredBytes(const cbor::Value& payload, std::string_view key) {
  ASSIGN_OR_RETURN(const cbor::Value* value, payload.Get(key));
  Result<ByteSpan> bytes = value->AsBytes();
  if (!bytes.ok()) return ParseError("Nitro document: '", key, "' is not a byte string");
  return bytes;
}

Result<std::optional<Bytes>> OptionalBytes(const cbor::Value& payload, std::string_view key) {
  const cbor::Value* value = payload.Find(key);
  if (value == nullptr || value->IsNull()) return std::optional<Bytes>();
  Result<ByteSpan> bytes = value->AsBytes();
  if (!bytes.ok()) return ParseError("Nitro document: '", key, "' is neither bytes nor null");
  return std::optional<Bytes>(Bytes(bytes->begin(), bytes->end()));
}

Result<std::string> RequiredText(const cbor::Value& payload, std::string_view key) {
  ASSIGN_OR_RETURN(const cbor::Value* value, payload.Get(key));
  Result<std::string_view> text = value->AsText();
  if (!text.ok()) return ParseError("Nitro document: '", key, "' is not text");
  return std::string(*text);
}

Status ReadPcrs(const cbor::Value& payload, NitroDocument* document) {
  ASSIGN_OR_RETURN(const cbor::Value* pcrs, payload.Get("pcrs"));
  Result<std::span<const cbor::MapEntry>> entries = pcrs->AsMap();
  if (!entries.ok()) return ParseError("Nitro document: 'pcrs' is not a map");
  if (entries->empty() || entries->size() > kMaxPcrs) {
    return ParseError("Nitro document has ", entries->size(), " PCRs, expected 1 to ", kMaxPcrs);
  }
  for (const cbor::MapEntry& entry : *entries) {
    Result<uint64_t> index = entry.key.AsUint();
    Result<ByteSpan> value = entry.value.AsBytes();
    if (!index.ok() || *index >= kMaxPcrs || !value.ok() || value->size() != kPcrSize) {
      return ParseError("Nitro document: PCR entries must map an index below ", kMaxPcrs, " to ",
                        kPcrSize, " bytes");
    }
    document->pcrs.emplace_back(*index, Bytes(value->begin(), value->end()));
  }
  std::sort(document->pcrs.begin(), document->pcrs.end());
  return OkStatus();
}

Status ReadPayload(const cbor::Value& payload, NitroDocument* document) {
  if (payload.type() != cbor::Type::kMap) return ParseError("Nitro payload is not a map");
  ASSIGN_OR_RETURN(document->module_id, RequiredText(payload, "module_id"));
  ASSIGN_OR_RETURN(document->digest, RequiredText(payload, "digest"));
  ASSIGN_OR_RETURN(const cbor::Value* timestamp, payload.Get("timestamp"));
  Result<uint64_t> millis = timestamp->AsUint();
  if (!millis.ok()) return ParseError("Nitro document: 'timestamp' is not an unsigned integer");
  document->timestamp_unix_millis = *millis;
  RETURN_IF_ERROR(ReadPcrs(payload, document));
  ASSIGN_OR_RETURN(const ByteSpan certificate, RequiredBytes(payload, "certificate"));
  document->certificate.assign(certificate.begin(), certificate.end());
  ASSIGN_OR_RETURN(const cbor::Value* cabundle, payload.Get("cabundle"));
  Result<std::span<const cbor::Value>> items = cabundle->AsArray();
  if (!items.ok() || items->empty() || items->size() > kMaxCabundle) {
    return ParseError("Nitro document: 'cabundle' must be an array of 1 to ", kMaxCabundle,
                      " certificates");
  }
  for (const cbor::Value& item : *items) {
    Result<ByteSpan> der = item.AsBytes();
    if (!der.ok()) return ParseError("Nitro document: cabundle entry is not a byte string");
    document->cabundle.emplace_back(der->begin(), der->end());
  }
  ASSIGN_OR_RETURN(document->public_key, OptionalBytes(payload, "public_key"));
  ASSIGN_OR_RETURN(document->user_data, OptionalBytes(payload, "user_data"));
  ASSIGN_OR_RETURN(document->nonce, OptionalBytes(payload, "nonce"));
  return OkStatus();
}

}  // namespace

const Bytes* NitroDocument::Pcr(uint64_t index) const {
  for (const auto& [pcr_index, value] : pcrs) {
    if (pcr_index == index) return &value;
  }
  return nullptr;
}

Result<NitroDocument> ParseNitroDocument(ByteSpan raw) {
  Result<cose::Sign1Message> message = cose::DecodeSign1(raw, NitroDecodeOptions());
  if (!message.ok()) return std::move(message).error().WithContext("Nitro COSE_Sign1");
  ASSIGN_OR_RETURN(const cose::Algorithm algorithm, message->Alg());
  if (algorithm != cose::Algorithm::kEs384) {
    return VerificationError("Nitro document algorithm is ", cose::AlgorithmName(algorithm),
                             ", expected ES384");
  }
  if (!message->payload) return ParseError("Nitro document has a detached payload");
  NitroDocument document;
  document.tagged = message->tagged;
  document.protected_bytes = message->protected_bytes;
  document.payload = *message->payload;
  document.signature = message->signature;
  Result<cbor::Value> payload = cbor::Decode(document.payload, NitroDecodeOptions());
  if (!payload.ok()) return std::move(payload).error().WithContext("Nitro payload");
  RETURN_IF_ERROR(ReadPayload(*payload, &document));
  if (document.digest != "SHA384") {
    return UnsupportedError("Nitro document digest '", document.digest, "', expected SHA384");
  }
  if (document.Pcr(0) == nullptr) return ParseError("Nitro document has no PCR0");
  return document;
}

namespace {

void FillNitroClaims(const NitroDocument& document, Claims* claims) {
  claims->platform = Platform::kNitro;
  claims->product = "Nitro";
  claims->signing_key = "AWS Nitro";
  // ParseNitroDocument guarantees PCR0; the check keeps the compiler's null analysis honest.
  if (const Bytes* pcr0 = document.Pcr(0); pcr0 != nullptr) claims->measurement = *pcr0;
  claims->report_data = document.user_data.value_or(Bytes{});
  // Debug-mode enclaves report PCR0, PCR1 and PCR2 as zeros: their contents are not measured.
  bool all_zero = true;
  for (uint64_t index : {0u, 1u, 2u}) {
    const Bytes* pcr = document.Pcr(index);
    all_zero = all_zero && (pcr == nullptr || IsAllZero(*pcr));
  }
  claims->debug = all_zero;
  claims->chip_id = ToBytes(document.module_id);
  claims->timestamp_unix_millis = static_cast<int64_t>(document.timestamp_unix_millis);
  auto optional_hex = [](const std::optional<Bytes>& value) {
    return value ? ToHex(*value) : std::string();
  };
  AddNumber(claims, "cose_tagged", document.tagged ? 1 : 0);
  AddField(claims, "module_id", document.module_id);
  AddField(claims, "digest", document.digest);
  AddNumber(claims, "timestamp_ms", document.timestamp_unix_millis);
  for (const auto& [index, value] : document.pcrs) {
    AddField(claims, "pcr" + std::to_string(index), value);
  }
  AddField(claims, "user_data", optional_hex(document.user_data));
  AddField(claims, "nonce", optional_hex(document.nonce));
  AddField(claims, "public_key", optional_hex(document.public_key));
  AddNumber(claims, "cabundle_len", document.cabundle.size());
}

}  // namespace

Result<Claims> NitroVerifier::Verify(const Evidence& evidence, const VerifyOptions& options) const {
  ASSIGN_OR_RETURN(const NitroDocument document, ParseNitroDocument(evidence.raw));
  ASSIGN_OR_RETURN(const crypto::Certificate leaf,
                   crypto::Certificate::FromDer(document.certificate));
  ASSIGN_OR_RETURN(const crypto::Certificate supplied_root,
                   crypto::Certificate::FromDer(document.cabundle.front()));
  if (!(supplied_root == PinnedAwsNitroRoot())) {
    return VerificationError("Nitro cabundle[0] '", supplied_root.Subject(),
                             "' is not the pinned AWS Nitro Enclaves root (a root inside "
                             "evidence is never trusted)");
  }
  std::vector<crypto::Certificate> intermediates;
  for (size_t i = document.cabundle.size(); i-- > 1;) {
    ASSIGN_OR_RETURN(crypto::Certificate certificate,
                     crypto::Certificate::FromDer(document.cabundle[i]));
    intermediates.push_back(std::move(certificate));
  }
  const int64_t at =
      options.at_unix_seconds.value_or(static_cast<int64_t>(document.timestamp_unix_millis / 1000));
  ASSIGN_OR_RETURN(
      const VerifiedChain chain,
      VerifyLeafChain(leaf, intermediates, PinnedAwsNitroRoot(), at, {}, options.chain_cache));
  ASSIGN_OR_RETURN(const crypto::PublicKey key, leaf.SubjectPublicKey());
  if (key.type() != crypto::KeyType::kP384) {
    return VerificationError("Nitro leaf key is ", crypto::KeyTypeName(key.type()),
                             ", expected P-384");
  }
  ASSIGN_OR_RETURN(const cose::Sign1Message message,
                   cose::DecodeSign1(evidence.raw, NitroDecodeOptions()));
  const Status signature = cose::VerifySign1(message, key);
  if (!signature.ok()) {
    return VerificationError("Nitro document signature does not verify under '", leaf.Subject(),
                             "': ", signature.error().message);
  }
  Claims claims;
  FillNitroClaims(document, &claims);
  claims.root_fingerprint = chain.root_fingerprint;
  claims.endorsement_not_after = chain.not_after;
  claims.endorsement_expiring_subject = chain.expiring_subject;
  return claims;
}

}  // namespace cloister::tee
