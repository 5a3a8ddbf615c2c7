// Root signatures and receipts: what lets a client check a transaction offline.
//
// A signature transaction carries a COSE_Sign1 (RFC 9052) by the service key whose payload is the
// Merkle root (32 bytes) of the ledger's first `tree_size` entries, and whose protected header
// holds alg, kid (SHA-256 of the service key's SubjectPublicKeyInfo), "ledger_id" (bstr) and
// "tree_size" (uint). A receipt for entry i is that same COSE_Sign1, from the first signature
// transaction after i, with an unprotected "receipt" header holding the inclusion proof and the
// entry's claims:
//
//   "receipt": { "entry_header": bstr (88 bytes), "public": bstr (the public write set),
//                "private_digest": bstr (SHA-256 of the private ciphertext),
//                "path": [* bstr] (RFC 9162 inclusion path, leaf to root) }
//
// Verification needs only the service certificate's key: recompute the entry's leaf hash from
// its header, public part and private digest, fold the path into a root (RFC 9162 §2.1.3.2),
// require it to equal the signed payload, and verify the signature. The unprotected header is
// not signed, and need not be: any change to it changes the recomputed root.
#pragma once

#include <cstdint>
#include <vector>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"
#include "cloister/crypto/key.h"
#include "cloister/kv/write_set.h"
#include "cloister/ledger/entry.h"

namespace cloister::ledger {

// The COSE_Sign1 over `root` for the first `tree_size` entries of ledger `ledger_id`.
Result<Bytes> SignRoot(const crypto::PrivateKey& service_key, ByteSpan ledger_id,
                       uint64_t tree_size, ByteSpan root);

// Checks that `cose_sign1` signs `root` for `tree_size` entries of `ledger_id` with `service_key`.
Status VerifyRootSignature(ByteSpan cose_sign1, ByteSpan ledger_id, uint64_t tree_size,
                           ByteSpan root, const crypto::PublicKey& service_key);

// Builds the receipt of the entry (`header_bytes`, `public_part`, `private_part`) from the root
// signature `cose_sign1` and the inclusion `path` of the entry in that signature's tree.
Result<Bytes> BuildReceipt(ByteSpan cose_sign1, ByteSpan header_bytes, ByteSpan public_part,
                           ByteSpan private_part, const std::vector<Bytes>& path);

// What a verified receipt proves.
struct ReceiptClaims {
  EntryHeader header;          // index, term, kind, ledger id of the entry
  kv::WriteSet public_writes;  // the entry's public writes
  uint64_t tree_size = 0;      // the signed tree the entry is in
  Bytes root;
};

// Verifies a receipt with the service key alone. kVerification (or kParse for a malformed
// receipt) with the reason otherwise.
Result<ReceiptClaims> VerifyReceipt(ByteSpan receipt, const crypto::PublicKey& service_key);

}  // namespace cloister::ledger
