#include "cloister/gov/recovery.h"

#include <charconv>

#include "cloister/crypto/aead.h"
#include "cloister/crypto/cbor.h"
#include "cloister/crypto/random.h"
#include "cloister/gov/tables.h"
#include "gov/json_util.h"

namespace cloister::gov {
namespace {

using nlohmann::json;
namespace cbor = crypto::cbor;
namespace hpke = crypto::hpke;

constexpr std::string_view kShareInfoPrefix = "cloister/recovery-share/v1";
constexpr std::string_view kWrapAad = "cloister/recovery/wrapped-ledger-secrets/v1";
constexpr std::string_view kWrappedKey = "wrapped_ledger_secret";
constexpr std::string_view kSharesThresholdKey = "shares_threshold";
constexpr size_t kWrappingKeyBytes = 32;
constexpr size_t kNonceBytes = 12;
constexpr size_t kLedgerSecretBytes = 32;
constexpr size_t kMaxLedgerSecrets = 4096;

Bytes ShareInfo(std::string_view member_id) {
  return Concat(AsBytes(kShareInfoPrefix), AsBytes(member_id));
}

Bytes EncodeSecrets(const LedgerSecretMap& secrets) {
  cbor::Value map = cbor::Value::Map();
  for (const auto& [start, secret] : secrets) {
    map.Insert(cbor::Value::Unsigned(start), cbor::Value::ByteString(secret));
  }
  return cbor::Encode(map);
}

Result<LedgerSecretMap> DecodeSecrets(ByteSpan encoded) {
  ASSIGN_OR_RETURN(cbor::Value value, cbor::Decode(encoded, cbor::DeterministicOptions()));
  ASSIGN_OR_RETURN(std::span<const cbor::MapEntry> entries, value.AsMap());
  LedgerSecretMap secrets;
  for (const cbor::MapEntry& entry : entries) {
    ASSIGN_OR_RETURN(uint64_t start, entry.key.AsUint());
    ASSIGN_OR_RETURN(ByteSpan secret, entry.value.AsBytes());
    if (secret.size() != kLedgerSecretBytes) {
      return CorruptError("recovered ledger secret from ", start, " is ", secret.size(), " bytes");
    }
    secrets[start] = Bytes(secret.begin(), secret.end());
  }
  return secrets;
}

Status CheckSecrets(const LedgerSecretMap& secrets) {
  if (secrets.empty() || secrets.size() > kMaxLedgerSecrets) {
    return InvalidArgumentError("recovery needs 1 to ", kMaxLedgerSecrets, " ledger secrets");
  }
  for (const auto& [start, secret] : secrets) {
    if (secret.size() != kLedgerSecretBytes) {
      return InvalidArgumentError("ledger secret from ", start, " is ", secret.size(),
                                  " bytes, expected ", kLedgerSecretBytes);
    }
  }
  return OkStatus();
}

// Seals one share to its member and writes it.
Status WriteShare(kv::Tx& tx, const MemberRecord& member, const shamir::Share& share) {
  ASSIGN_OR_RETURN(crypto::PublicKey key, hpke::DeserializePublicKey(hpke::Kem::kX25519HkdfSha256,
                                                                     member.encryption_public_key));
  const Bytes info = ShareInfo(member.id);
  hpke::SenderParams params;
  params.info = info;
  Bytes plaintext = share.Encode();
  Result<hpke::Sealed> sealed = hpke::Seal(RecoverySuite(), key, params, {}, plaintext);
  std::fill(plaintext.begin(), plaintext.end(), 0);
  if (!sealed.ok()) return sealed.error();
  EncryptedShare record{member.id, sealed->enc, sealed->ciphertext};
  return tx.rw(kRecoverySharesMap)->put(member.id, record.ToJson());
}

Status RemoveAllShares(kv::Tx& tx) {
  kv::MapHandle* shares = tx.rw(kRecoverySharesMap);
  kv::Page<std::string, std::string> page = shares->range("", std::nullopt, kMaxMembers + 1);
  for (const auto& [key, value] : page.items) RETURN_IF_ERROR(shares->remove(key));
  return OkStatus();
}

}  // namespace

hpke::Suite RecoverySuite() {
  return hpke::Suite{hpke::Kem::kX25519HkdfSha256, hpke::Kdf::kHkdfSha256, hpke::Aead::kAes256Gcm};
}

std::string EncryptedShare::ToJson() const {
  json out;
  out["member_id"] = member_id;
  out["enc"] = Base64Encode(enc);
  out["ciphertext"] = Base64Encode(ciphertext);
  return out.dump();
}

Result<EncryptedShare> EncryptedShare::FromJson(std::string_view text) {
  ASSIGN_OR_RETURN(json object, ParseJsonObject(text, "encrypted share"));
  RETURN_IF_ERROR(JsonOnlyKeys(object, {"member_id", "enc", "ciphertext"}, "encrypted share"));
  EncryptedShare share;
  ASSIGN_OR_RETURN(share.member_id, JsonString(object, "member_id", "encrypted share"));
  ASSIGN_OR_RETURN(std::string enc, JsonString(object, "enc", "encrypted share"));
  ASSIGN_OR_RETURN(std::string ciphertext, JsonString(object, "ciphertext", "encrypted share"));
  Result<Bytes> enc_bytes = Base64Decode(enc);
  Result<Bytes> ciphertext_bytes = Base64Decode(ciphertext);
  if (!enc_bytes.ok() || !ciphertext_bytes.ok()) {
    return ParseError("encrypted share: 'enc' and 'ciphertext' must be base64");
  }
  share.enc = std::move(enc_bytes).value();
  share.ciphertext = std::move(ciphertext_bytes).value();
  return share;
}

Status IssueRecoveryShares(kv::Tx& tx, const LedgerSecretMap& secrets) {
  RETURN_IF_ERROR(CheckSecrets(secrets));
  ASSIGN_OR_RETURN(uint64_t threshold, RecoveryThreshold(tx));
  ASSIGN_OR_RETURN(std::vector<MemberRecord> members, ReadMembers(tx));
  std::vector<MemberRecord> holders;
  for (MemberRecord& member : members) {
    if (member.status == "active" && !member.encryption_public_key.empty()) {
      holders.push_back(std::move(member));
    }
  }
  if (threshold == 0 || threshold > holders.size()) {
    return FailedPreconditionError("recovery threshold ", threshold, " needs 1 to ", holders.size(),
                                   " members with an encryption key");
  }
  Bytes wrapping_key = crypto::SecureRandomBytes(kWrappingKeyBytes);
  const Bytes nonce = crypto::SecureRandomBytes(kNonceBytes);
  Bytes plaintext = EncodeSecrets(secrets);
  Result<Bytes> wrapped = crypto::AeadSeal(crypto::AeadAlgorithm::kAes256Gcm, wrapping_key, nonce,
                                           AsBytes(kWrapAad), plaintext);
  std::fill(plaintext.begin(), plaintext.end(), 0);
  Result<std::vector<shamir::Share>> shares =
      wrapped.ok() ? shamir::Split(wrapping_key, threshold, holders.size())
                   : Result<std::vector<shamir::Share>>(wrapped.error());
  std::fill(wrapping_key.begin(), wrapping_key.end(), 0);
  if (!shares.ok()) return shares.error();

  RETURN_IF_ERROR(RemoveAllShares(tx));
  for (size_t i = 0; i < holders.size(); ++i) {
    RETURN_IF_ERROR(WriteShare(tx, holders[i], (*shares)[i]));
  }
  kv::MapHandle* recovery = tx.rw(kRecoveryMap);
  RETURN_IF_ERROR(recovery->put(kWrappedKey, Base64Encode(Concat(nonce, *wrapped))));
  return recovery->put(kSharesThresholdKey, std::to_string(threshold));
}

Result<EncryptedShare> ReadEncryptedShare(kv::Tx& tx, std::string_view member_id) {
  std::optional<std::string> value = tx.ro(kRecoverySharesMap)->get(member_id);
  if (!value) return NotFoundError("no recovery share for member ", member_id);
  Result<EncryptedShare> share = EncryptedShare::FromJson(*value);
  if (!share.ok())
    return CorruptError("recovery share of ", member_id, ": ", share.error().message);
  return share;
}

Result<shamir::Share> DecryptShare(const EncryptedShare& share,
                                   const crypto::PrivateKey& encryption_key) {
  const Bytes info = ShareInfo(share.member_id);
  hpke::RecipientParams params;
  params.info = info;
  Result<Bytes> plaintext =
      hpke::Open(RecoverySuite(), share.enc, encryption_key, params, {}, share.ciphertext);
  if (!plaintext.ok()) {
    return VerificationError("recovery share of ", share.member_id,
                             " does not open with this key: ", plaintext.error().message);
  }
  Result<shamir::Share> decoded = shamir::Share::Decode(*plaintext);
  std::fill(plaintext->begin(), plaintext->end(), 0);
  return decoded;
}

std::string RecoverySharePayload(const shamir::Share& share) {
  json out;
  out["share"] = Base64Encode(share.Encode());
  return out.dump();
}

Result<RecoveryCoordinator> RecoveryCoordinator::FromState(kv::Tx& tx) {
  std::optional<std::string> wrapped = tx.ro(kRecoveryMap)->get(kWrappedKey);
  std::optional<std::string> threshold = tx.ro(kRecoveryMap)->get(kSharesThresholdKey);
  if (!wrapped || !threshold) {
    return NotFoundError("the ledger holds no recovery material (no shares were ever issued)");
  }
  RecoveryCoordinator coordinator;
  Result<Bytes> bytes = Base64Decode(*wrapped);
  if (!bytes.ok() || bytes->size() <= kNonceBytes) {
    return CorruptError("recovery: wrapped ledger secret is not base64 nonce || ciphertext");
  }
  coordinator.wrapped_ = std::move(bytes).value();
  auto [end, error] = std::from_chars(threshold->data(), threshold->data() + threshold->size(),
                                      coordinator.threshold_);
  if (error != std::errc() || end != threshold->data() + threshold->size() ||
      coordinator.threshold_ == 0 || coordinator.threshold_ > kMaxMembers) {
    return CorruptError("recovery: shares threshold '", *threshold, "' is not 1 to ", kMaxMembers);
  }
  return coordinator;
}

Result<size_t> RecoveryCoordinator::Submit(const VerifiedRequest& request) {
  if (request.headers.type != RequestType::kRecoveryShare) {
    return InvalidArgumentError("expected a recovery_share request, got a ",
                                RequestTypeName(request.headers.type));
  }
  if (shares_.contains(request.member_id)) {
    return AlreadyExistsError("member ", request.member_id, " already submitted a share");
  }
  ASSIGN_OR_RETURN(json payload, ParseJsonObject(AsString(request.payload), "recovery share"));
  RETURN_IF_ERROR(JsonOnlyKeys(payload, {"share"}, "recovery share"));
  ASSIGN_OR_RETURN(std::string text, JsonString(payload, "share", "recovery share"));
  Result<Bytes> encoded = Base64Decode(text);
  if (!encoded.ok()) return ParseError("recovery share: 'share' is not base64");
  ASSIGN_OR_RETURN(shamir::Share share, shamir::Share::Decode(*encoded));
  if (share.y.size() != kWrappingKeyBytes) {
    return InvalidArgumentError("recovery share is ", share.y.size(), " bytes, expected ",
                                kWrappingKeyBytes);
  }
  for (const auto& [member, held] : shares_) {
    if (held.x == share.x) {
      return AlreadyExistsError("member ", member, " already submitted share number ", share.x);
    }
  }
  shares_.emplace(request.member_id, std::move(share));
  return shares_.size();
}

Result<LedgerSecretMap> RecoveryCoordinator::Recover() const {
  if (shares_.size() < threshold_) {
    return FailedPreconditionError("recovery needs ", threshold_, " members' shares, have ",
                                   shares_.size());
  }
  std::vector<shamir::Share> shares;
  for (const auto& [member, share] : shares_) shares.push_back(share);
  ASSIGN_OR_RETURN(Bytes wrapping_key, shamir::Combine(shares));
  const ByteSpan wrapped(wrapped_);
  Result<Bytes> plaintext =
      crypto::AeadOpen(crypto::AeadAlgorithm::kAes256Gcm, wrapping_key, wrapped.first(kNonceBytes),
                       AsBytes(kWrapAad), wrapped.subspan(kNonceBytes));
  std::fill(wrapping_key.begin(), wrapping_key.end(), 0);
  if (!plaintext.ok()) {
    return VerificationError(
        "the submitted shares do not rebuild the recovery key (a share is "
        "wrong or from an older issue)");
  }
  Result<LedgerSecretMap> secrets = DecodeSecrets(*plaintext);
  std::fill(plaintext->begin(), plaintext->end(), 0);
  return secrets;
}

}  // namespace cloister::gov
