#include "cloister/client/event_sealer.h"

#include <nlohmann/json.hpp>

#include "cloister/crypto/aead.h"
#include "cloister/crypto/hash.h"

namespace cloister::client {
namespace {

// "cloister/event" || seq (8 bytes BE): the exporter context of event `seq`'s key.
Bytes ExporterContext(uint64_t seq) {
  return Concat(AsBytes("cloister/event"), EncodeBigEndian(seq, 8));
}

// "cloister/event/v1" || seq (8 bytes BE) || aad: the AEAD's additional data.
Bytes EventAad(uint64_t seq, ByteSpan aad) {
  return Concat(AsBytes("cloister/event/v1"), EncodeBigEndian(seq, 8), aad);
}

}  // namespace

crypto::hpke::Suite EventSuite() {
  return {crypto::hpke::Kem::kX25519HkdfSha256, crypto::hpke::Kdf::kHkdfSha256,
          crypto::hpke::Aead::kAes128Gcm};
}

EventSealer::EventSealer(crypto::hpke::SenderContext context) : context_(std::move(context)) {
  const Bytes digest = crypto::Sha256(context_.enc());
  context_id_ = ToHex(ByteSpan(digest).first(16));
}

Result<EventSealer> EventSealer::Create(const crypto::PublicKey& service_hpke_key) {
  if (service_hpke_key.type() != crypto::KeyType::kX25519) {
    return InvalidArgumentError("event sealer: the service HPKE key is ",
                                crypto::KeyTypeName(service_hpke_key.type()), ", expected X25519");
  }
  crypto::hpke::SenderParams params;
  params.info = AsBytes(kEventInfo);
  ASSIGN_OR_RETURN(crypto::hpke::SenderContext context,
                   crypto::hpke::SetupSender(EventSuite(), service_hpke_key, params));
  return EventSealer(std::move(context));
}

Result<SealedEvent> EventSealer::Seal(ByteSpan event, ByteSpan aad) {
  ASSIGN_OR_RETURN(SealedEvent sealed, SealAt(next_seq_, event, aad));
  ++next_seq_;
  return sealed;
}

Result<SealedEvent> EventSealer::SealAt(uint64_t seq, ByteSpan event, ByteSpan aad) const {
  if (event.size() > kMaxEventPlaintextBytes) {
    return OutOfRangeError("event sealer: the event is ", event.size(),
                           " bytes, the service accepts at most ", kMaxEventPlaintextBytes);
  }
  ASSIGN_OR_RETURN(Bytes key, context_.Export(ExporterContext(seq), 16));
  const Bytes nonce(12, 0);
  ASSIGN_OR_RETURN(Bytes ciphertext, crypto::AeadSeal(crypto::AeadAlgorithm::kAes128Gcm, key, nonce,
                                                      EventAad(seq, aad), event));
  nlohmann::json envelope;
  envelope["enc"] = Base64Encode(context_.enc());
  envelope["seq"] = seq;
  envelope["ciphertext"] = Base64Encode(ciphertext);
  if (!aad.empty()) envelope["aad"] = Base64Encode(aad);
  return SealedEvent{envelope.dump(), context_id_, seq};
}

}  // namespace cloister::client
