// Recovery shares: how members, and only members, can bring a lost service's private state back.
//
// While the service runs, the node calls IssueRecoveryShares with its ledger secrets (at
// genesis, and again whenever governance bumps the "recovery_shares" node request). That draws
// a fresh random wrapping key, stores the secrets encrypted under it (AES-256-GCM) in
// public:cloister.recovery, splits the wrapping key with Shamir (shamir.h) into one share per
// active member that has an encryption key, any k of which reconstruct it (k = the service's
// recovery_threshold), and stores each share HPKE-sealed (RecoverySuite(), base mode, info =
// "cloister/recovery-share/v1" || member id) to that member in public:cloister.recovery.shares.
// The wrapping key itself is never stored and is erased after the split.
//
// After total loss, a new attested node reads the public part of the old ledger, builds a
// RecoveryCoordinator from it, and members submit their decrypted shares as signed requests of
// type recovery_share (over TLS to the attested node). The shares stay in the coordinator's
// memory (in the TEE) and never enter the ledger. Once k distinct members' shares arrive,
// Recover() rebuilds the wrapping key and decrypts the ledger secrets; the AEAD tag detects a
// wrong or corrupted share set.
//
// Invariants:
//  1. Fewer than k shares give no information about the wrapping key (Shamir), and without it
//     the wrapped secrets are AES-256-GCM ciphertext: nothing private is readable.
//  2. One share per member counts; a member cannot reach the threshold alone by resubmitting.
//  3. Each issue replaces every previous share and wrapped secret in the same transaction, so
//     old shares of removed members stop mattering once the new ones commit.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"
#include "cloister/crypto/hpke.h"
#include "cloister/crypto/key.h"
#include "cloister/gov/request.h"
#include "cloister/gov/shamir.h"
#include "cloister/kv/store.h"

namespace cloister::gov {

// DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM.
crypto::hpke::Suite RecoverySuite();

// Ledger secrets by the ledger index they start at (ledger::LedgerSecrets' content).
using LedgerSecretMap = std::map<uint64_t, Bytes>;

struct EncryptedShare {
  std::string member_id;
  Bytes enc;
  Bytes ciphertext;

  [[nodiscard]] std::string ToJson() const;
  static Result<EncryptedShare> FromJson(std::string_view text);
};

// Issues fresh recovery material for `secrets` (non-empty, each 32 bytes) into `tx`, for the
// active members with an encryption key and the service's recovery threshold. Fails with
// kFailedPrecondition when the threshold is 0 or above the number of such members.
Status IssueRecoveryShares(kv::Tx& tx, const LedgerSecretMap& secrets);

// The encrypted share of `member_id`, as stored.
Result<EncryptedShare> ReadEncryptedShare(kv::Tx& tx, std::string_view member_id);

// Member side: opens an encrypted share with the member's X25519 private key.
Result<shamir::Share> DecryptShare(const EncryptedShare& share,
                                   const crypto::PrivateKey& encryption_key);

// The payload of a recovery_share request: {"share": "<base64 of x || y>"}.
std::string RecoverySharePayload(const shamir::Share& share);

// Node side, during recovery: collects members' shares in memory and reconstructs the secrets.
// Not thread-safe.
class RecoveryCoordinator {
 public:
  // Reads the wrapped secrets and the threshold they were split with from the state `tx` reads
  // (the old service's public tables). kNotFound when no recovery material was ever issued.
  static Result<RecoveryCoordinator> FromState(kv::Tx& tx);

  // Takes the share in a verified recovery_share request (VerifyRequest checked its signer).
  // Returns how many members' shares are held. kAlreadyExists when this member already
  // submitted (invariant 2).
  Result<size_t> Submit(const VerifiedRequest& request);

  [[nodiscard]] size_t submitted() const { return shares_.size(); }
  [[nodiscard]] size_t threshold() const { return threshold_; }

  // The ledger secrets, once threshold() shares are held (kFailedPrecondition before);
  // kVerification when the shares do not rebuild the wrapping key.
  [[nodiscard]] Result<LedgerSecretMap> Recover() const;

 private:
  size_t threshold_ = 0;
  Bytes wrapped_;  // nonce || AES-256-GCM ciphertext of the secrets
  std::map<std::string, shamir::Share> shares_;
};

}  // namespace cloister::gov
