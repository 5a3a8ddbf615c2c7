// `cloister receipt verify RECEIPT --service-cert FILE`: checks a receipt offline with nothing but
// the service certificate, and prints what it proves (entry index, term, kind, signed tree size
// and root, public writes) as JSON. Exit 0 when it verifies, 1 when it does not, 2 for usage or
// I/O errors.
#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "cloister/crypto/x509.h"
#include "cloister/ledger/receipt.h"
#include "command_registry.h"

namespace cloister::cli {
namespace {

Result<Bytes> ReadWholeFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return IoError("cannot read '", path, "'");
  return Bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

nlohmann::json PrintableValue(const std::string& bytes) {
  for (const char c : bytes) {
    if (c < 0x20 || c > 0x7e) return nlohmann::json{{"hex", ToHex(AsBytes(bytes))}};
  }
  return bytes;
}

int VerifyReceiptFile(const std::string& receipt_path, const std::string& certificate_path) {
  Result<Bytes> receipt = ReadWholeFile(receipt_path);
  Result<Bytes> certificate_bytes = ReadWholeFile(certificate_path);
  if (!receipt.ok() || !certificate_bytes.ok()) {
    std::cerr << "cloister receipt verify: "
              << (receipt.ok() ? certificate_bytes.error() : receipt.error()).ToString() << "\n";
    return kExitUsage;
  }
  Result<crypto::Certificate> certificate = crypto::Certificate::FromDerOrPem(*certificate_bytes);
  Result<crypto::PublicKey> key = certificate.ok() ? certificate->SubjectPublicKey()
                                                   : Result<crypto::PublicKey>(certificate.error());
  if (!key.ok()) {
    std::cerr << "cloister receipt verify: service certificate: " << key.error().ToString() << "\n";
    return kExitUsage;
  }
  Result<ledger::ReceiptClaims> claims = ledger::VerifyReceipt(*receipt, *key);
  if (!claims.ok()) {
    std::cerr << "receipt " << receipt_path << " does NOT verify: " << claims.error().ToString()
              << "\n";
    return kExitRejected;
  }
  nlohmann::json out;
  out["verified"] = true;
  out["index"] = claims->header.index;
  out["term"] = claims->header.term;
  out["kind"] = claims->header.kind == ledger::EntryKind::kSignature ? "signature" : "transaction";
  out["ledger_id"] = ToHex(claims->header.ledger_id);
  out["tree_size"] = claims->tree_size;
  out["root"] = ToHex(claims->root);
  nlohmann::json writes = nlohmann::json::object();
  for (const auto& [map, keys] : claims->public_writes.maps) {
    for (const auto& [k, value] : keys) {
      writes[map][k] = value ? PrintableValue(*value) : nlohmann::json(nullptr);
    }
  }
  out["public"] = writes;
  std::cout << out.dump() << "\n";
  return kExitOk;
}

void AddReceiptCommands(CLI::App& app, int* exit_code) {
  CLI::App* receipt = app.add_subcommand("receipt", "Verify transaction receipts offline");
  receipt->require_subcommand(1);
  CLI::App* verify = receipt->add_subcommand("verify", "Verify a receipt (COSE_Sign1, CBOR)");
  auto receipt_path = std::make_shared<std::string>();
  auto certificate = std::make_shared<std::string>();
  verify->add_option("RECEIPT", *receipt_path, "Receipt file")->required();
  verify->add_option("--service-cert", *certificate, "Service certificate (PEM or DER)")
      ->required();
  verify->callback([=] { *exit_code = VerifyReceiptFile(*receipt_path, *certificate); });
}

const bool kRegistered = RegisterCommands("receipt", &AddReceiptCommands);

}  // namespace
}  // namespace cloister::cli
