#include "cloister/ledger/receipt.h"

#include "cloister/crypto/cbor.h"
#include "cloister/crypto/cose.h"
#include "cloister/crypto/hash.h"
#include "cloister/ledger/merkle.h"

namespace cloister::ledger {
namespace {

namespace cbor = crypto::cbor;
namespace cose = crypto::cose;

constexpr std::string_view kLedgerIdLabel = "ledger_id";
constexpr std::string_view kTreeSizeLabel = "tree_size";
constexpr std::string_view kReceiptLabel = "receipt";
// A path longer than this cannot belong to a tree of fewer than 2^64 leaves.
constexpr size_t kPathLengthMax = 64;

struct SignedRoot {
  cose::Sign1Message message;
  Bytes ledger_id;
  uint64_t tree_size = 0;
  Bytes root;
};

// Decodes a root signature's structure and protected claims (not the signature).
Result<SignedRoot> DecodeSignedRoot(ByteSpan cose_sign1) {
  SignedRoot signed_root;
  ASSIGN_OR_RETURN(signed_root.message, cose::DecodeSign1(cose_sign1));
  const cbor::Value& protected_headers = signed_root.message.protected_headers;
  const cbor::Value* ledger_id = protected_headers.Find(kLedgerIdLabel);
  const cbor::Value* tree_size = protected_headers.Find(kTreeSizeLabel);
  if (ledger_id == nullptr || tree_size == nullptr) {
    return VerificationError("root signature lacks a protected ledger_id or tree_size header");
  }
  ASSIGN_OR_RETURN(ByteSpan ledger_id_bytes, ledger_id->AsBytes());
  signed_root.ledger_id.assign(ledger_id_bytes.begin(), ledger_id_bytes.end());
  ASSIGN_OR_RETURN(signed_root.tree_size, tree_size->AsUint());
  if (!signed_root.message.payload || signed_root.message.payload->size() != kHashSize) {
    return VerificationError("root signature payload is not a ", kHashSize, "-byte root");
  }
  signed_root.root = *signed_root.message.payload;
  return signed_root;
}

Result<std::vector<Bytes>> DecodePath(const cbor::Value& value) {
  ASSIGN_OR_RETURN(std::span<const cbor::Value> items, value.AsArray());
  if (items.size() > kPathLengthMax) {
    return ParseError("receipt path has ", items.size(), " elements, limit ", kPathLengthMax);
  }
  std::vector<Bytes> path;
  for (const cbor::Value& item : items) {
    ASSIGN_OR_RETURN(ByteSpan hash, item.AsBytes());
    path.emplace_back(hash.begin(), hash.end());
  }
  return path;
}

Result<ByteSpan> GetBytes(const cbor::Value& map, std::string_view label) {
  ASSIGN_OR_RETURN(const cbor::Value* value, map.Get(label));
  return value->AsBytes();
}

}  // namespace

Result<Bytes> SignRoot(const crypto::PrivateKey& service_key, ByteSpan ledger_id,
                       uint64_t tree_size, ByteSpan root) {
  cose::SignOptions options;
  options.kid = crypto::Sha256(service_key.Public().ToSpkiDer());
  options.extra_protected.push_back(
      {cbor::Value::Text(std::string(kLedgerIdLabel)), cbor::Value::ByteString(ledger_id)});
  options.extra_protected.push_back(
      {cbor::Value::Text(std::string(kTreeSizeLabel)), cbor::Value::Unsigned(tree_size)});
  return cose::Sign1(service_key, root, options);
}

Status VerifyRootSignature(ByteSpan cose_sign1, ByteSpan ledger_id, uint64_t tree_size,
                           ByteSpan root, const crypto::PublicKey& service_key) {
  ASSIGN_OR_RETURN(SignedRoot signed_root, DecodeSignedRoot(cose_sign1));
  if (!std::equal(ledger_id.begin(), ledger_id.end(), signed_root.ledger_id.begin(),
                  signed_root.ledger_id.end())) {
    return VerificationError("root signature is for ledger ", ToHex(signed_root.ledger_id),
                             ", not ", ToHex(ledger_id));
  }
  if (signed_root.tree_size != tree_size) {
    return VerificationError("root signature covers ", signed_root.tree_size, " entries, expected ",
                             tree_size);
  }
  if (!std::equal(root.begin(), root.end(), signed_root.root.begin(), signed_root.root.end())) {
    return VerificationError("signed root ", ToHex(signed_root.root),
                             " differs from the Merkle root ", ToHex(root), " of ", tree_size,
                             " entries");
  }
  return cose::VerifySign1(signed_root.message, service_key);
}

Result<Bytes> BuildReceipt(ByteSpan cose_sign1, ByteSpan header_bytes, ByteSpan public_part,
                           ByteSpan private_part, const std::vector<Bytes>& path) {
  ASSIGN_OR_RETURN(SignedRoot signed_root, DecodeSignedRoot(cose_sign1));
  const cose::Sign1Message& message = signed_root.message;
  std::vector<cbor::Value> path_items;
  for (const Bytes& hash : path) path_items.push_back(cbor::Value::ByteString(hash));
  cbor::Value receipt = cbor::Value::Map();
  receipt.Insert(cbor::Value::Text("entry_header"), cbor::Value::ByteString(header_bytes));
  receipt.Insert(cbor::Value::Text("public"), cbor::Value::ByteString(public_part));
  receipt.Insert(cbor::Value::Text("private_digest"),
                 cbor::Value::ByteString(crypto::Sha256(private_part)));
  receipt.Insert(cbor::Value::Text("path"), cbor::Value::Array(std::move(path_items)));
  cbor::Value unprotected = cbor::Value::Map();
  for (const cbor::MapEntry& entry : message.unprotected_headers.entries()) {
    if (entry.key == cbor::Value::Text(std::string(kReceiptLabel))) continue;
    unprotected.Insert(entry.key, entry.value);
  }
  unprotected.Insert(cbor::Value::Text(std::string(kReceiptLabel)), std::move(receipt));
  cbor::Value array = cbor::Value::Array(
      {cbor::Value::ByteString(message.protected_bytes), std::move(unprotected),
       cbor::Value::ByteString(*message.payload), cbor::Value::ByteString(message.signature)});
  return cbor::Encode(cbor::Value::Tag(cose::kTagSign1, std::move(array)));
}

Result<ReceiptClaims> VerifyReceipt(ByteSpan receipt_bytes, const crypto::PublicKey& service_key) {
  ASSIGN_OR_RETURN(SignedRoot signed_root, DecodeSignedRoot(receipt_bytes));
  const cbor::Value* receipt = signed_root.message.unprotected_headers.Find(kReceiptLabel);
  if (receipt == nullptr) return ParseError("receipt: no unprotected 'receipt' header");
  ASSIGN_OR_RETURN(ByteSpan header_bytes, GetBytes(*receipt, "entry_header"));
  ASSIGN_OR_RETURN(ByteSpan public_part, GetBytes(*receipt, "public"));
  ASSIGN_OR_RETURN(ByteSpan private_digest, GetBytes(*receipt, "private_digest"));
  ASSIGN_OR_RETURN(const cbor::Value* path_value, receipt->Get("path"));
  ASSIGN_OR_RETURN(std::vector<Bytes> path, DecodePath(*path_value));
  if (header_bytes.size() != kEntryHeaderSize || private_digest.size() != kHashSize) {
    return ParseError("receipt: entry header is ", header_bytes.size(),
                      " bytes and private digest ", private_digest.size(), " bytes");
  }
  ReceiptClaims claims;
  ASSIGN_OR_RETURN(claims.header, EntryHeader::Decode(header_bytes));
  if (claims.header.public_length != public_part.size()) {
    return VerificationError("receipt: public part is ", public_part.size(),
                             " bytes, the entry header says ", claims.header.public_length);
  }
  if (!std::equal(claims.header.ledger_id.begin(), claims.header.ledger_id.end(),
                  signed_root.ledger_id.begin(), signed_root.ledger_id.end())) {
    return VerificationError("receipt: entry belongs to another ledger than the signature");
  }
  const Bytes leaf =
      EntryLeafHashFromDigests(header_bytes, crypto::Sha256(public_part), private_digest);
  ASSIGN_OR_RETURN(claims.root, RootFromInclusionProof(claims.header.index - 1,
                                                       signed_root.tree_size, leaf, path));
  if (claims.root != signed_root.root) {
    return VerificationError("receipt: the inclusion proof of entry ", claims.header.index,
                             " gives root ", ToHex(claims.root), ", the signed root is ",
                             ToHex(signed_root.root));
  }
  RETURN_IF_ERROR(cose::VerifySign1(signed_root.message, service_key));
  claims.tree_size = signed_root.tree_size;
  if (!public_part.empty()) {
    ASSIGN_OR_RETURN(claims.public_writes, kv::WriteSet::Decode(public_part));
  }
  return claims;
}

}  // namespace cloister::ledger
