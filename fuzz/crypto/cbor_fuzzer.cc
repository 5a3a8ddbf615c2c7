// libFuzzer target for the CBOR decoder and the COSE_Sign1 decoder.
//
// Properties checked on every input (a violation stops the process through ASSERT, which
// libFuzzer reports as a crash with the input saved):
//  1. Decoding never crashes, reads out of bounds or exhausts memory (ASan/UBSan, limits).
//  2. Input accepted by the deterministic decoder is exactly what Encode() produces for it.
//  3. Anything the lenient decoder accepts re-encodes to bytes the deterministic decoder accepts,
//     and decode(encode(v)) re-encodes to the same bytes; a deterministic value equals its lenient
//     decoding; whatever the deterministic decoder accepts, the lenient one accepts too.
//  4. A prefix decode consumes a prefix that decodes on its own to the same value.
//  5. COSE_Sign1 decoding never crashes, and no fuzzed message verifies under a key generated
//     here (the fuzzer cannot forge an Ed25519 or ECDSA signature).
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "cloister/base/assert.h"
#include "cloister/crypto/cbor.h"
#include "cloister/crypto/cose.h"
#include "cloister/crypto/key.h"

namespace {

using cloister::Bytes;
using cloister::ByteSpan;
namespace cbor = cloister::crypto::cbor;
namespace cose = cloister::crypto::cose;

cbor::DecodeOptions LenientOptions() {
  cbor::DecodeOptions options;
  options.allow_indefinite = true;
  options.max_string_bytes = 1 << 20;
  return options;
}

void CheckCbor(ByteSpan input) {
  const cbor::DecodeOptions lenient = LenientOptions();
  cbor::DecodeOptions strict = cbor::DeterministicOptions();
  strict.max_string_bytes = lenient.max_string_bytes;

  cloister::Result<cbor::Value> deterministic = cbor::Decode(input, strict);
  if (deterministic.ok()) {
    const Bytes encoded = cbor::Encode(*deterministic);
    ASSERT(ByteSpan(encoded).size() == input.size() &&
               std::equal(encoded.begin(), encoded.end(), input.begin()),
           "deterministic input does not re-encode to itself");
  }
  cloister::Result<cbor::Value> value = cbor::Decode(input, lenient);
  ASSERT(value.ok() || !deterministic.ok(), "strict decoder accepted what the lenient refused");
  if (value.ok()) {
    (void)cbor::Diagnostic(*value);
    const Bytes encoded = cbor::Encode(*value);
    cloister::Result<cbor::Value> again = cbor::Decode(encoded, strict);
    ASSERT(again.ok(), "re-encoding is not deterministic: ", again.error().message);
    ASSERT(cbor::Encode(*again) == encoded, "decode(encode(v)) re-encodes differently");
    if (deterministic.ok()) {
      ASSERT(*deterministic == *value, "strict and lenient decodings differ");
      ASSERT(*again == *value, "decode(encode(v)) != v for deterministic input");
    }
  }
  size_t consumed = 0;
  cloister::Result<cbor::Value> prefix = cbor::DecodePrefix(input, &consumed, lenient);
  if (prefix.ok()) {
    ASSERT(consumed <= input.size(), "prefix decode consumed more than the input");
    cloister::Result<cbor::Value> alone = cbor::Decode(input.first(consumed), lenient);
    ASSERT(alone.ok() && *alone == *prefix, "prefix does not decode alone to the same value");
  }
}

void CheckCose(ByteSpan input) {
  static const cloister::crypto::PublicKey kKey =
      cloister::crypto::PrivateKey::Generate(cloister::crypto::KeyType::kEd25519)->Public();
  cloister::Result<cose::Sign1Message> message = cose::DecodeSign1(input, LenientOptions());
  if (!message.ok()) return;
  (void)message->Alg();
  cose::VerifyOptions options;
  if (!message->payload.has_value()) options.detached_payload = Bytes{1, 2, 3};
  ASSERT(!cose::VerifySign1(*message, kKey, options).ok(), "a fuzzed COSE_Sign1 verified");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteSpan input(data, size);
  CheckCbor(input);
  CheckCose(input);
  return 0;
}
