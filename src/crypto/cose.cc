// COSE_Sign1 signing, decoding and verification over our CBOR codec and crypto Sign/Verify.
#include "cloister/crypto/cose.h"

#include <utility>

#include "cloister/crypto/signature.h"

namespace cloister::crypto::cose {
namespace {

using cbor::MapEntry;
using cbor::Value;

constexpr std::string_view kContextSignature1 = "Signature1";

HashAlgorithm HashFor(Algorithm algorithm) {
  switch (algorithm) {
    case Algorithm::kEs256:
      return HashAlgorithm::kSha256;
    case Algorithm::kEs384:
      return HashAlgorithm::kSha384;
    case Algorithm::kEdDsa:
      return HashAlgorithm::kSha512;  // ignored: Ed25519 signs the message itself
  }
  return HashAlgorithm::kSha256;
}

KeyType KeyTypeFor(Algorithm algorithm) {
  switch (algorithm) {
    case Algorithm::kEs256:
      return KeyType::kP256;
    case Algorithm::kEs384:
      return KeyType::kP384;
    case Algorithm::kEdDsa:
      return KeyType::kEd25519;
  }
  return KeyType::kP256;
}

bool IsLabel(const Value& key) { return key.IsInt() || key.type() == cbor::Type::kText; }

// Checks that every key of `headers` is a label (int or text) and none is also in `other`.
Status CheckLabels(const Value& headers, const Value* other, std::string_view bucket) {
  for (const MapEntry& entry : headers.entries()) {
    if (!IsLabel(entry.key)) {
      return InvalidArgumentError("COSE ", bucket, " header label ", cbor::Diagnostic(entry.key),
                                  " is not an integer or text");
    }
    if (other != nullptr && other->Find(entry.key) != nullptr) {
      return InvalidArgumentError("COSE header label ", cbor::Diagnostic(entry.key),
                                  " appears in both protected and unprotected headers");
    }
  }
  return OkStatus();
}

// Appends entries to a header map, refusing a label already present.
Status AddHeaders(const std::vector<MapEntry>& entries, Value* headers, std::string_view bucket) {
  for (const MapEntry& entry : entries) {
    if (headers->Find(entry.key) != nullptr) {
      return InvalidArgumentError("COSE ", bucket, " header label ", cbor::Diagnostic(entry.key),
                                  " given twice");
    }
    headers->Insert(entry.key, entry.value);
  }
  return OkStatus();
}

Result<Value> BuildProtected(Algorithm algorithm, const SignOptions& options) {
  Value headers = Value::Map();
  headers.Insert(Value::Int(kHeaderAlg), Value::Int(static_cast<int64_t>(algorithm)));
  if (options.content_type.has_value()) {
    const cbor::Type type = options.content_type->type();
    if (type != cbor::Type::kUnsigned && type != cbor::Type::kText) {
      return InvalidArgumentError("COSE content type must be an unsigned integer or text, not ",
                                  cbor::TypeName(type));
    }
    headers.Insert(Value::Int(kHeaderContentType), *options.content_type);
  }
  if (options.kid.has_value())
    headers.Insert(Value::Int(kHeaderKid), Value::ByteString(*options.kid));
  RETURN_IF_ERROR(AddHeaders(options.extra_protected, &headers, "protected"));
  RETURN_IF_ERROR(CheckLabels(headers, nullptr, "protected"));
  return headers;
}

// Splits `message` into its four fields, accepting tag 18 or no tag.
Result<std::span<const Value>> Sign1Fields(const Value& message, bool* tagged) {
  const Value* array = &message;
  *tagged = message.type() == cbor::Type::kTag;
  if (*tagged) {
    if (message.argument() != kTagSign1) {
      return ParseError("COSE_Sign1: tag ", message.argument(), " is not COSE_Sign1 (18)");
    }
    array = &message.items().front();
  }
  if (array->type() != cbor::Type::kArray) {
    return ParseError("COSE_Sign1: expected an array, found ", cbor::TypeName(array->type()));
  }
  if (array->items().size() != 4) {
    return ParseError("COSE_Sign1: array has ", array->items().size(), " fields, expected 4");
  }
  return std::span<const Value>(array->items());
}

Status CheckCritical(const Sign1Message& message, const VerifyOptions& options) {
  if (message.unprotected_headers.Find(kHeaderCrit) != nullptr) {
    return VerificationError("COSE_Sign1: crit (label 2) must be in the protected header");
  }
  const Value* critical = message.protected_headers.Find(kHeaderCrit);
  if (critical == nullptr) return OkStatus();
  if (critical->type() != cbor::Type::kArray || critical->items().empty()) {
    return VerificationError("COSE_Sign1: crit must be a non-empty array of labels");
  }
  for (const Value& label : critical->items()) {
    bool understood = false;
    for (const Value& known : options.understood_critical) understood |= known == label;
    if (!understood) {
      return VerificationError("COSE_Sign1: critical header ", cbor::Diagnostic(label),
                               " is not understood");
    }
  }
  return OkStatus();
}

}  // namespace

std::string_view AlgorithmName(Algorithm algorithm) {
  switch (algorithm) {
    case Algorithm::kEs256:
      return "ES256";
    case Algorithm::kEs384:
      return "ES384";
    case Algorithm::kEdDsa:
      return "EdDSA";
  }
  return "unknown";
}

Result<Algorithm> AlgorithmForKey(KeyType type) {
  switch (type) {
    case KeyType::kP256:
      return Algorithm::kEs256;
    case KeyType::kP384:
      return Algorithm::kEs384;
    case KeyType::kEd25519:
      return Algorithm::kEdDsa;
    default:
      return InvalidArgumentError("COSE_Sign1 signs with P-256, P-384 or Ed25519, not ",
                                  KeyTypeName(type));
  }
}

Bytes Sig1Structure(ByteSpan protected_bytes, ByteSpan external_aad, ByteSpan payload) {
  return cbor::Encode(Value::Array({Value::Text(std::string(kContextSignature1)),
                                    Value::ByteString(protected_bytes),
                                    Value::ByteString(external_aad), Value::ByteString(payload)}));
}

Result<Bytes> Sign1(const PrivateKey& key, ByteSpan payload, const SignOptions& options) {
  ASSIGN_OR_RETURN(const Algorithm algorithm, AlgorithmForKey(key.type()));
  ASSIGN_OR_RETURN(const Value protected_headers, BuildProtected(algorithm, options));
  Value unprotected = Value::Map();
  RETURN_IF_ERROR(AddHeaders(options.unprotected, &unprotected, "unprotected"));
  RETURN_IF_ERROR(CheckLabels(unprotected, &protected_headers, "unprotected"));

  const Bytes protected_bytes = cbor::Encode(protected_headers);
  const Bytes to_be_signed = Sig1Structure(protected_bytes, options.external_aad, payload);
  ASSIGN_OR_RETURN(Bytes signature,
                   Sign(key, HashFor(algorithm), to_be_signed, SignatureFormat::kRawBigEndian));
  Value message = Value::Array({Value::ByteString(protected_bytes), std::move(unprotected),
                                options.detached ? Value::Null() : Value::ByteString(payload),
                                Value::ByteString(std::move(signature))});
  if (options.tagged) message = Value::Tag(kTagSign1, std::move(message));
  return cbor::Encode(message);
}

Result<Sign1Message> DecodeSign1(ByteSpan message, const cbor::DecodeOptions& options) {
  ASSIGN_OR_RETURN(const Value decoded, cbor::Decode(message, options));
  Sign1Message out;
  ASSIGN_OR_RETURN(std::span<const Value> fields, Sign1Fields(decoded, &out.tagged));

  if (fields[0].type() != cbor::Type::kBytes) {
    return ParseError("COSE_Sign1: protected header is a ", cbor::TypeName(fields[0].type()),
                      ", expected a byte string");
  }
  out.protected_bytes = fields[0].data();
  if (!out.protected_bytes.empty()) {
    Result<Value> headers = cbor::Decode(out.protected_bytes, options);
    if (!headers.ok()) {
      return ParseError("COSE_Sign1: protected header: ", headers.error().message);
    }
    out.protected_headers = std::move(headers).value();
  }
  if (out.protected_headers.type() != cbor::Type::kMap) {
    return ParseError("COSE_Sign1: protected header is a ",
                      cbor::TypeName(out.protected_headers.type()), ", expected a map");
  }
  if (fields[1].type() != cbor::Type::kMap) {
    return ParseError("COSE_Sign1: unprotected header is a ", cbor::TypeName(fields[1].type()),
                      ", expected a map");
  }
  out.unprotected_headers = fields[1];
  if (fields[2].type() == cbor::Type::kBytes) {
    out.payload = fields[2].data();
  } else if (!fields[2].IsNull()) {
    return ParseError("COSE_Sign1: payload is a ", cbor::TypeName(fields[2].type()),
                      ", expected a byte string or nil");
  }
  if (fields[3].type() != cbor::Type::kBytes) {
    return ParseError("COSE_Sign1: signature is a ", cbor::TypeName(fields[3].type()),
                      ", expected a byte string");
  }
  out.signature = fields[3].data();

  Status labels = CheckLabels(out.protected_headers, nullptr, "protected");
  if (labels.ok())
    labels = CheckLabels(out.unprotected_headers, &out.protected_headers, "unprotected");
  if (!labels.ok()) return ParseError("COSE_Sign1: ", labels.error().message);
  return out;
}

Result<Algorithm> Sign1Message::Alg() const {
  const Value* alg = protected_headers.Find(kHeaderAlg);
  if (alg == nullptr) {
    return VerificationError("COSE_Sign1: no alg (label 1) in the protected header");
  }
  Result<int64_t> id = alg->AsInt();
  if (!id.ok()) {
    return UnsupportedError("COSE_Sign1: alg ", cbor::Diagnostic(*alg), " is not supported");
  }
  switch (*id) {
    case static_cast<int64_t>(Algorithm::kEs256):
    case static_cast<int64_t>(Algorithm::kEs384):
    case static_cast<int64_t>(Algorithm::kEdDsa):
      return static_cast<Algorithm>(*id);
    default:
      return UnsupportedError("COSE_Sign1: alg ", *id,
                              " is not supported (ES256 -7, ES384 -35, EdDSA -8)");
  }
}

const Value* Sign1Message::Header(int64_t label) const {
  const Value* found = protected_headers.Find(label);
  return found != nullptr ? found : unprotected_headers.Find(label);
}

const Value* Sign1Message::Header(std::string_view label) const {
  const Value* found = protected_headers.Find(label);
  return found != nullptr ? found : unprotected_headers.Find(label);
}

Status VerifySign1(const Sign1Message& message, const PublicKey& key,
                   const VerifyOptions& options) {
  ASSIGN_OR_RETURN(const Algorithm algorithm, message.Alg());
  if (key.type() != KeyTypeFor(algorithm)) {
    return VerificationError("COSE_Sign1: alg ", AlgorithmName(algorithm), " needs a ",
                             KeyTypeName(KeyTypeFor(algorithm)), " key, given ",
                             KeyTypeName(key.type()));
  }
  RETURN_IF_ERROR(CheckCritical(message, options));
  if (message.payload.has_value() == options.detached_payload.has_value()) {
    return VerificationError(message.payload.has_value()
                                 ? "COSE_Sign1: payload attached and also given as detached"
                                 : "COSE_Sign1: payload is detached and none was given");
  }
  const Bytes& payload = message.payload.has_value() ? *message.payload : *options.detached_payload;
  const Bytes to_be_signed = Sig1Structure(message.protected_bytes, options.external_aad, payload);
  Status verified = Verify(key, HashFor(algorithm), to_be_signed, message.signature,
                           SignatureFormat::kRawBigEndian);
  if (!verified.ok()) {
    return VerificationError("COSE_Sign1 ", AlgorithmName(algorithm),
                             " signature does not verify: ", verified.error().message);
  }
  return OkStatus();
}

Result<Sign1Message> DecodeAndVerifySign1(ByteSpan message, const PublicKey& key,
                                          const VerifyOptions& options,
                                          const cbor::DecodeOptions& decode_options) {
  ASSIGN_OR_RETURN(Sign1Message decoded, DecodeSign1(message, decode_options));
  RETURN_IF_ERROR(VerifySign1(decoded, key, options));
  return decoded;
}

}  // namespace cloister::crypto::cose
