// `cloister receipt get ID [-o FILE]`: fetches the COSE receipt of a committed transaction,
// verifies it with the pinned service certificate, and writes it (CBOR) to FILE or prints it in
// base64. `cloister receipt verify` (receipt_commands.cc) checks the file again offline.
// Exit 0 when fetched and verified, 1 when it does not verify, 2 for usage, I/O or network.
#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>

#include "client_support.h"
#include "command_registry.h"

namespace cloister::cli {
namespace {

int GetReceipt(const ConnectFlags& connect, const std::string& id_text, const std::string& out) {
  Result<client::TxId> id = client::TxId::Parse(id_text);
  if (!id.ok()) {
    std::cerr << "cloister receipt get: " << id.error().ToString() << "\n";
    return kExitUsage;
  }
  Result<Connected> connected = Connect(connect, /*attest=*/false);
  Result<Bytes> receipt =
      connected.ok() ? connected->client->GetReceipt(*id) : Result<Bytes>(connected.error());
  if (!receipt.ok()) {
    std::cerr << "cloister receipt get: " << receipt.error().ToString() << "\n";
    return kExitUsage;
  }
  Result<ledger::ReceiptClaims> claims = connected->client->VerifyReceipt(*receipt, *id);
  if (!claims.ok()) {
    std::cerr << "cloister receipt get: the receipt of " << id->ToString()
              << " does NOT verify: " << claims.error().ToString() << "\n";
    return kExitRejected;
  }
  if (out.empty()) {
    std::cout << Base64Encode(*receipt) << "\n";
    return kExitOk;
  }
  std::ofstream file(out, std::ios::binary | std::ios::trunc);
  file.write(reinterpret_cast<const char*>(receipt->data()),
             static_cast<std::streamsize>(receipt->size()));
  if (!file) {
    std::cerr << "cloister receipt get: cannot write '" << out << "'\n";
    return kExitUsage;
  }
  std::cerr << "receipt of " << id->ToString() << " verified (tree size " << claims->tree_size
            << "), written to " << out << "\n";
  return kExitOk;
}

void AddReceiptGet(CLI::App& app, int* exit_code) {
  // `receipt verify` may have created the `receipt` command already (adders run in name order).
  // (This CLI11 has no get_subcommand_no_throw; get_subcommand would throw.)
  const std::vector<CLI::App*> existing =
      app.get_subcommands([](CLI::App* sub) { return sub->get_name() == "receipt"; });
  CLI::App* receipt = existing.empty() ? nullptr : existing.front();
  if (receipt == nullptr) {
    receipt = app.add_subcommand("receipt", "Fetch and verify transaction receipts");
    receipt->require_subcommand(1);
  }
  auto connect = std::make_shared<ConnectFlags>();
  auto id = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  CLI::App* get = receipt->add_subcommand(
      "get", "Fetch a transaction's receipt and verify it with the service certificate");
  get->add_option("ID", *id, "Transaction id term.index")->required();
  get->add_option("-o,--output", *out, "Write the receipt (CBOR) here instead of base64 on stdout");
  connect->AddTo(get);
  get->callback([=] { *exit_code = GetReceipt(*connect, *id, *out); });
}

const bool kRegistered = RegisterCommands("receipt_get", &AddReceiptGet);

}  // namespace
}  // namespace cloister::cli
