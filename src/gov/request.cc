#include "cloister/gov/request.h"

#include <algorithm>
#include <charconv>

#include "cloister/crypto/cbor.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/signature.h"
#include "cloister/gov/tables.h"

namespace cloister::gov {
namespace {

namespace cbor = crypto::cbor;
namespace cose = crypto::cose;
using cbor::Value;

constexpr size_t kKidBytes = 32;
// Digits of created_at in a requests-table key: every positive int64 fits.
constexpr size_t kCreatedAtDigits = 19;
constexpr size_t kMaxProposalIdChars = 64;

crypto::HashAlgorithm HashFor(cose::Algorithm algorithm) {
  return algorithm == cose::Algorithm::kEs384 ? crypto::HashAlgorithm::kSha384
                                              : crypto::HashAlgorithm::kSha256;
}

size_t EcdsaComponentSize(cose::Algorithm algorithm) {
  return algorithm == cose::Algorithm::kEs384 ? 48 : 32;
}

Status CheckHeaders(const RequestHeaders& headers) {
  const bool needs_proposal =
      headers.type == RequestType::kBallot || headers.type == RequestType::kWithdrawal;
  if (needs_proposal && headers.proposal_id.empty()) {
    return InvalidArgumentError("a ", RequestTypeName(headers.type), " must name a proposal id");
  }
  if (!needs_proposal && !headers.proposal_id.empty()) {
    return InvalidArgumentError("a ", RequestTypeName(headers.type),
                                " must not carry a proposal id");
  }
  if (headers.proposal_id.size() > kMaxProposalIdChars) {
    return InvalidArgumentError("proposal id is ", headers.proposal_id.size(),
                                " characters, at most ", kMaxProposalIdChars);
  }
  if (headers.nonce.size() > kMaxNonceBytes) {
    return InvalidArgumentError("nonce is ", headers.nonce.size(), " bytes, at most ",
                                kMaxNonceBytes);
  }
  if (headers.service_id.size() != kServiceIdBytes) {
    return InvalidArgumentError("the service id must be ", kServiceIdBytes,
                                " bytes (SHA-256 of the service certificate), not ",
                                headers.service_id.size());
  }
  if (headers.created_at_unix_seconds <= 0) {
    return InvalidArgumentError("created_at must be a positive Unix time");
  }
  return OkStatus();
}

// Reads the governance headers out of a decoded protected header map.
Result<RequestHeaders> ReadHeaders(const cose::Sign1Message& message) {
  const Value& headers = message.protected_headers;
  const Value* type = headers.Find(kHeaderType);
  const Value* created_at = headers.Find(kHeaderCreatedAt);
  if (type == nullptr) return ParseError("request: protected header ", kHeaderType, " missing");
  if (created_at == nullptr) {
    return ParseError("request: protected header ", kHeaderCreatedAt, " missing");
  }
  RequestHeaders out;
  Result<std::string_view> type_name = type->AsText();
  if (!type_name.ok()) return ParseError("request: ", kHeaderType, " is not text");
  ASSIGN_OR_RETURN(out.type, ParseRequestType(*type_name));
  Result<int64_t> created = created_at->AsInt();
  if (!created.ok()) return ParseError("request: ", kHeaderCreatedAt, " is not an integer");
  out.created_at_unix_seconds = *created;
  if (const Value* proposal = headers.Find(kHeaderProposalId)) {
    Result<std::string_view> id = proposal->AsText();
    if (!id.ok()) return ParseError("request: ", kHeaderProposalId, " is not text");
    out.proposal_id = std::string(*id);
  }
  if (const Value* nonce = headers.Find(kHeaderNonce)) {
    Result<ByteSpan> bytes = nonce->AsBytes();
    if (!bytes.ok()) return ParseError("request: ", kHeaderNonce, " is not a byte string");
    out.nonce.assign(bytes->begin(), bytes->end());
  }
  const Value* service = headers.Find(kHeaderService);
  if (service == nullptr)
    return ParseError("request: protected header ", kHeaderService, " missing");
  Result<ByteSpan> service_bytes = service->AsBytes();
  if (!service_bytes.ok()) return ParseError("request: ", kHeaderService, " is not a byte string");
  out.service_id.assign(service_bytes->begin(), service_bytes->end());
  Status valid = CheckHeaders(out);
  if (!valid.ok()) return ParseError("request: ", valid.error().message);
  return out;
}

}  // namespace

std::string_view RequestTypeName(RequestType type) {
  switch (type) {
    case RequestType::kProposal:
      return "proposal";
    case RequestType::kBallot:
      return "ballot";
    case RequestType::kWithdrawal:
      return "withdrawal";
    case RequestType::kRecoveryShare:
      return "recovery_share";
  }
  return "unknown";
}

Result<RequestType> ParseRequestType(std::string_view name) {
  for (RequestType type : {RequestType::kProposal, RequestType::kBallot, RequestType::kWithdrawal,
                           RequestType::kRecoveryShare}) {
    if (RequestTypeName(type) == name) return type;
  }
  return InvalidArgumentError("unknown request type '", name,
                              "' (proposal, ballot, withdrawal, recovery_share)");
}

Result<PreparedRequest> PreparedRequest::Prepare(const crypto::Certificate& signer,
                                                 const RequestHeaders& headers, ByteSpan payload) {
  RETURN_IF_ERROR(CheckHeaders(headers));
  if (payload.size() > kMaxRequestPayloadBytes) {
    return InvalidArgumentError("request payload is ", payload.size(), " bytes, at most ",
                                kMaxRequestPayloadBytes);
  }
  ASSIGN_OR_RETURN(crypto::PublicKey key, signer.SubjectPublicKey());
  ASSIGN_OR_RETURN(cose::Algorithm algorithm, cose::AlgorithmForKey(key.type()));
  Value map = Value::Map();
  map.Insert(Value::Int(cose::kHeaderAlg), Value::Int(static_cast<int64_t>(algorithm)));
  map.Insert(Value::Int(cose::kHeaderKid), Value::ByteString(crypto::Sha256(signer.Der())));
  map.Insert(Value::Text(std::string(kHeaderType)),
             Value::Text(std::string(RequestTypeName(headers.type))));
  map.Insert(Value::Text(std::string(kHeaderCreatedAt)),
             Value::Int(headers.created_at_unix_seconds));
  if (!headers.proposal_id.empty()) {
    ASSIGN_OR_RETURN(Value id, Value::TextChecked(headers.proposal_id));
    map.Insert(Value::Text(std::string(kHeaderProposalId)), std::move(id));
  }
  if (!headers.nonce.empty()) {
    map.Insert(Value::Text(std::string(kHeaderNonce)), Value::ByteString(headers.nonce));
  }
  map.Insert(Value::Text(std::string(kHeaderService)), Value::ByteString(headers.service_id));
  PreparedRequest prepared;
  prepared.protected_bytes_ = cbor::Encode(map);
  prepared.payload_.assign(payload.begin(), payload.end());
  prepared.algorithm_ = algorithm;
  return prepared;
}

Bytes PreparedRequest::Encode() const {
  return cbor::Encode(
      Value::Array({Value::ByteString(protected_bytes_), Value::ByteString(payload_)}));
}

Result<PreparedRequest> PreparedRequest::Decode(ByteSpan encoded) {
  Result<Value> value = cbor::Decode(encoded, cbor::DeterministicOptions());
  if (!value.ok()) return ParseError("prepared request: ", value.error().message);
  Result<std::span<const Value>> items = value->AsArray();
  if (!items.ok() || items->size() != 2 || (*items)[0].type() != cbor::Type::kBytes ||
      (*items)[1].type() != cbor::Type::kBytes) {
    return ParseError("prepared request: expected [protected bstr, payload bstr]");
  }
  PreparedRequest prepared;
  prepared.protected_bytes_ = (*items)[0].data();
  prepared.payload_ = (*items)[1].data();
  cose::Sign1Message as_message;
  as_message.protected_bytes = prepared.protected_bytes_;
  Result<Value> headers = cbor::Decode(prepared.protected_bytes_, cbor::DeterministicOptions());
  if (!headers.ok()) return ParseError("prepared request: header: ", headers.error().message);
  as_message.protected_headers = std::move(headers).value();
  ASSIGN_OR_RETURN(prepared.algorithm_, as_message.Alg());
  RETURN_IF_ERROR(ReadHeaders(as_message));
  return prepared;
}

Bytes PreparedRequest::ToBeSigned() const {
  return cose::Sig1Structure(protected_bytes_, {}, payload_);
}

Result<Bytes> PreparedRequest::Finish(const crypto::Certificate& signer, ByteSpan signature) const {
  ASSIGN_OR_RETURN(crypto::PublicKey key, signer.SubjectPublicKey());
  ASSIGN_OR_RETURN(cose::Algorithm key_algorithm, cose::AlgorithmForKey(key.type()));
  if (key_algorithm != algorithm_) {
    return InvalidArgumentError("the certificate's key signs with ",
                                cose::AlgorithmName(key_algorithm),
                                " but the request was "
                                "prepared for ",
                                cose::AlgorithmName(algorithm_));
  }
  Bytes raw(signature.begin(), signature.end());
  const bool ecdsa = algorithm_ != cose::Algorithm::kEdDsa;
  if (ecdsa && raw.size() != 2 * EcdsaComponentSize(algorithm_)) {
    Result<Bytes> converted = crypto::EcdsaDerToRaw(signature, EcdsaComponentSize(algorithm_));
    if (!converted.ok()) {
      return VerificationError("signature is neither raw r||s nor DER: ",
                               converted.error().message);
    }
    raw = std::move(converted).value();
  }
  Bytes message = cbor::Encode(Value::Tag(
      cose::kTagSign1, Value::Array({Value::ByteString(protected_bytes_), Value::Map(),
                                     Value::ByteString(payload_), Value::ByteString(raw)})));
  ASSIGN_OR_RETURN(cose::Sign1Message decoded, cose::DecodeSign1(message));
  const cbor::Value* kid = decoded.Header(cose::kHeaderKid);
  if (kid == nullptr || kid->data() != crypto::Sha256(signer.Der())) {
    return InvalidArgumentError("the request was prepared for another certificate (kid differs)");
  }
  Status verified = cose::VerifySign1(decoded, key);
  if (!verified.ok()) {
    return VerificationError("the signature does not verify under the member certificate: ",
                             verified.error().message);
  }
  return message;
}

Result<Bytes> SignToBeSigned(const crypto::PrivateKey& key, ByteSpan to_be_signed) {
  ASSIGN_OR_RETURN(cose::Algorithm algorithm, cose::AlgorithmForKey(key.type()));
  return crypto::Sign(key, HashFor(algorithm), to_be_signed,
                      crypto::SignatureFormat::kRawBigEndian);
}

Result<Bytes> SignRequest(const crypto::PrivateKey& key, const crypto::Certificate& signer,
                          const RequestHeaders& headers, ByteSpan payload) {
  ASSIGN_OR_RETURN(PreparedRequest prepared, PreparedRequest::Prepare(signer, headers, payload));
  ASSIGN_OR_RETURN(Bytes signature, SignToBeSigned(key, prepared.ToBeSigned()));
  return prepared.Finish(signer, signature);
}

Bytes ServiceIdOf(const crypto::Certificate& service_certificate) {
  return crypto::Sha256(service_certificate.Der());
}

Result<VerifiedRequest> VerifyRequest(kv::Tx& tx, ByteSpan message,
                                      const VerifyRequestOptions& options) {
  if (options.service_id.size() != kServiceIdBytes) {
    return InvalidArgumentError("request verification needs this service's id (", kServiceIdBytes,
                                " bytes)");
  }
  cbor::DecodeOptions decode = cbor::DeterministicOptions();
  decode.max_depth = 8;
  decode.max_string_bytes = kMaxRequestPayloadBytes;
  Result<cose::Sign1Message> decoded = cose::DecodeSign1(message, decode);
  if (!decoded.ok()) return ParseError("request: ", decoded.error().message);
  if (!decoded->tagged) return ParseError("request: COSE_Sign1 must carry tag 18");
  if (!decoded->payload) return ParseError("request: payload must be attached");
  const cbor::Value* kid = decoded->protected_headers.Find(cose::kHeaderKid);
  if (kid == nullptr || kid->type() != cbor::Type::kBytes || kid->data().size() != kKidBytes) {
    return ParseError(
        "request: protected kid must be the 32-byte SHA-256 of the member "
        "certificate");
  }
  ASSIGN_OR_RETURN(RequestHeaders headers, ReadHeaders(*decoded));
  if (headers.service_id != options.service_id) {
    return PermissionDeniedError("request is for service ", ToHex(headers.service_id),
                                 ", not this service ", ToHex(options.service_id));
  }

  const std::string member_id = ToHex(kid->data());
  Result<StoredMember> member = FindMember(tx, member_id);
  if (!member.ok())
    return PermissionDeniedError("request signed by ", member_id, ", who is not a member");
  if (member->record.status != "active") {
    return PermissionDeniedError("member ", member_id, " is ", member->record.status);
  }
  ASSIGN_OR_RETURN(crypto::Certificate certificate,
                   crypto::Certificate::FromPem(member->record.certificate_pem));
  ASSIGN_OR_RETURN(crypto::PublicKey key, certificate.SubjectPublicKey());
  Status verified = cose::VerifySign1(*decoded, key);
  if (!verified.ok()) {
    return VerificationError("request from member ", member_id,
                             ": signature does not verify: ", verified.error().message);
  }

  const int64_t created = headers.created_at_unix_seconds;
  if (created < options.now_unix_seconds - options.max_age_seconds) {
    return OutOfRangeError("request created at ", created, " is older than ",
                           options.max_age_seconds, " s (now ", options.now_unix_seconds, ")");
  }
  ASSIGN_OR_RETURN(const int64_t pruned_before, RequestsPrunedBefore(tx));
  if (created < pruned_before) {
    return OutOfRangeError("request created at ", created, " is older than ", pruned_before,
                           ", before which the digests of executed requests have been pruned");
  }
  if (created > options.now_unix_seconds + options.max_future_seconds) {
    return OutOfRangeError("request created at ", created, " is more than ",
                           options.max_future_seconds, " s in the future (now ",
                           options.now_unix_seconds, ")");
  }
  VerifiedRequest out;
  out.digest = crypto::Sha256(cose::Sig1Structure(decoded->protected_bytes, {}, *decoded->payload));
  if (tx.ro(kRequestsMap)->has(RequestKey(created, out.digest))) {
    return AlreadyExistsError("request ", ToHex(out.digest), " was already executed (replay)");
  }
  out.prune_before_unix_seconds =
      std::min(options.now_unix_seconds, created) - options.max_age_seconds;
  out.member_id = member_id;
  out.headers = std::move(headers);
  out.payload = std::move(*decoded->payload);
  return out;
}

std::string RequestKey(int64_t created_at_unix_seconds, ByteSpan digest) {
  std::string digits = std::to_string(created_at_unix_seconds);
  if (digits.size() < kCreatedAtDigits) digits.insert(0, kCreatedAtDigits - digits.size(), '0');
  return digits + "/" + ToHex(digest);
}

Result<int64_t> RequestsPrunedBefore(kv::Tx& tx) {
  const std::optional<std::string> text = tx.ro(kRequestsMap)->get(kRequestsPrunedBeforeKey);
  if (!text) return 0;
  int64_t value = 0;
  auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (error != std::errc() || end != text->data() + text->size()) {
    return CorruptError(kRequestsMap, " ", kRequestsPrunedBeforeKey, " is '", *text, "'");
  }
  return value;
}

Status RecordRequest(kv::Tx& tx, const VerifiedRequest& request) {
  const int64_t created = request.headers.created_at_unix_seconds;
  kv::MapHandle* requests = tx.rw(kRequestsMap);
  RETURN_IF_ERROR(requests->put(RequestKey(created, request.digest),
                                request.member_id + " " + std::to_string(created)));
  // Invariant 4: the horizon only grows, and only entries created before it are removed.
  ASSIGN_OR_RETURN(int64_t horizon, RequestsPrunedBefore(tx));
  if (request.prune_before_unix_seconds > horizon) {
    horizon = request.prune_before_unix_seconds;
    RETURN_IF_ERROR(requests->put(kRequestsPrunedBeforeKey, std::to_string(horizon)));
  }
  if (horizon <= 0) return OkStatus();
  // Keys below RequestKey(horizon, {}) without its "/" are exactly those created before it.
  const std::string end = RequestKey(horizon, {}).substr(0, kCreatedAtDigits);
  const kv::Page<std::string, std::string> old = requests->range("", end, kMaxPrunedPerRequest);
  for (const auto& [key, value] : old.items) RETURN_IF_ERROR(requests->remove(key));
  return OkStatus();
}

}  // namespace cloister::gov
