#include "cloister/node/sealed_event.h"

#include <nlohmann/json.hpp>

#include "cloister/crypto/aead.h"
#include "cloister/crypto/hash.h"

namespace cloister::node {
namespace {

using nlohmann::json;

Bytes BigEndian64(uint64_t value) {
  Bytes out(8);
  for (size_t i = 0; i < 8; ++i) out[7 - i] = static_cast<uint8_t>(value >> (8 * i));
  return out;
}

Result<Bytes> Base64Member(const json& object, const char* name, bool required) {
  auto it = object.find(name);
  if (it == object.end()) {
    if (required) return ParseError("sealed event: field '", name, "' is missing");
    return Bytes{};
  }
  if (!it->is_string()) return ParseError("sealed event: field '", name, "' is not a string");
  Result<Bytes> bytes = Base64Decode(it->get<std::string>());
  if (!bytes.ok()) return ParseError("sealed event: field '", name, "' is not valid base64");
  return bytes;
}

}  // namespace

crypto::hpke::Suite EventSuite() {
  return {crypto::hpke::Kem::kX25519HkdfSha256, crypto::hpke::Kdf::kHkdfSha256,
          crypto::hpke::Aead::kAes128Gcm};
}

Bytes EventExporterContext(uint64_t seq) {
  return Concat(AsBytes("cloister/event"), BigEndian64(seq));
}

Bytes EventAad(uint64_t seq, ByteSpan aad) {
  return Concat(AsBytes("cloister/event/v1"), BigEndian64(seq), aad);
}

Result<const crypto::hpke::RecipientContext*> EventOpener::ContextFor(const std::string& id,
                                                                      ByteSpan enc) {
  auto it = contexts_.find(id);
  if (it != contexts_.end()) return &it->second;
  crypto::hpke::RecipientParams params;
  params.info = AsBytes(kEventHpkeInfo);
  Result<crypto::hpke::RecipientContext> context =
      crypto::hpke::SetupRecipient(EventSuite(), enc, service_key_, params);
  if (!context.ok()) return InvalidArgumentError("sealed event: enc: ", context.error().message);
  while (contexts_.size() >= max_contexts_ && !order_.empty()) {
    contexts_.erase(order_.front());
    order_.pop_front();
  }
  order_.push_back(id);
  return &contexts_.emplace(id, std::move(context).value()).first->second;
}

Result<OpenedEvent> EventOpener::Open(std::string_view envelope_json) {
  json envelope = json::parse(envelope_json, nullptr, /*allow_exceptions=*/false);
  if (envelope.is_discarded() || !envelope.is_object()) {
    return ParseError("sealed event: the body is not a JSON object");
  }
  ASSIGN_OR_RETURN(Bytes enc, Base64Member(envelope, "enc", true));
  ASSIGN_OR_RETURN(Bytes ciphertext, Base64Member(envelope, "ciphertext", true));
  ASSIGN_OR_RETURN(Bytes aad, Base64Member(envelope, "aad", false));
  auto seq = envelope.find("seq");
  if (seq == envelope.end() || !seq->is_number_unsigned()) {
    return ParseError("sealed event: field 'seq' missing or not an unsigned integer");
  }
  if (enc.size() != crypto::hpke::KemEncSize(EventSuite().kem)) {
    return InvalidArgumentError("sealed event: enc is ", enc.size(), " bytes, expected ",
                                crypto::hpke::KemEncSize(EventSuite().kem));
  }
  if (ciphertext.size() < 16 || ciphertext.size() > kMaxEventCiphertextBytes) {
    return InvalidArgumentError("sealed event: ciphertext is ", ciphertext.size(),
                                " bytes, expected 16 to ", kMaxEventCiphertextBytes);
  }
  OpenedEvent opened;
  opened.seq = seq->get<uint64_t>();
  const Bytes digest = crypto::Sha256(enc);
  opened.context_id = ToHex(ByteSpan(digest).first(16));
  ASSIGN_OR_RETURN(const crypto::hpke::RecipientContext* context,
                   ContextFor(opened.context_id, enc));
  ASSIGN_OR_RETURN(Bytes key, context->Export(EventExporterContext(opened.seq), 16));
  const Bytes nonce(12, 0);
  Result<Bytes> plaintext = crypto::AeadOpen(crypto::AeadAlgorithm::kAes128Gcm, key, nonce,
                                             EventAad(opened.seq, aad), ciphertext);
  if (!plaintext.ok()) {
    return VerificationError("sealed event: context ", opened.context_id, " seq ", opened.seq,
                             " does not authenticate");
  }
  opened.plaintext = std::move(plaintext).value();
  return opened;
}

}  // namespace cloister::node
