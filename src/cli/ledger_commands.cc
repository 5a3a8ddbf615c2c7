// `cloister ledger verify DIR [--service-cert FILE]` and `cloister ledger dump DIR
// [--public-only]`: the auditor's view of a ledger directory, with no ledger secret.
//
// verify checks every segment (headers, frames, leaf hashes, index sequence, hash chain, signed
// Merkle roots and their signatures, pinned to the service certificate when given) and every
// snapshot in the directory (signature, and that its Merkle leaves match the ledger's). Exit 0
// only if everything is intact; 1 with the precise reason otherwise; 2 for usage or I/O errors.
// dump prints one JSON object per entry: index, term, kind, public writes, and the size of the
// private part (never its content: the CLI holds no secret).
#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "cloister/crypto/x509.h"
#include "cloister/ledger/reader.h"
#include "cloister/ledger/snapshot.h"
#include "cloister/node/posix_storage.h"
#include "command_registry.h"

namespace cloister::cli {
namespace {

Result<crypto::PublicKey> LoadServiceKey(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return IoError("cannot read service certificate '", path, "'");
  const Bytes data((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  ASSIGN_OR_RETURN(crypto::Certificate certificate, crypto::Certificate::FromDerOrPem(data));
  return certificate.SubjectPublicKey();
}

// Checks every snapshot file against the verified ledger state.
Status VerifySnapshots(ledger::Storage& storage, const ledger::ReaderState& state,
                       const crypto::PublicKey& key, int* count) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, storage.List());
  for (const std::string& name : names) {
    if (!ledger::ParseSnapshotFileName(name)) continue;
    ASSIGN_OR_RETURN(ledger::Snapshot snapshot,
                     ledger::ReadSnapshot(&storage, name, key, {.ledger_id = state.ledger_id}));
    if (snapshot.index > state.tree.size() ||
        snapshot.tree.Root() != state.tree.RootAt(snapshot.index)) {
      return CorruptError(name, ": its Merkle leaves do not match the ledger's first ",
                          snapshot.index, " entries");
    }
    ++*count;
  }
  return OkStatus();
}

int Verify(const std::string& directory, const std::string& certificate_path) {
  std::optional<crypto::PublicKey> pinned;
  if (!certificate_path.empty()) {
    Result<crypto::PublicKey> key = LoadServiceKey(certificate_path);
    if (!key.ok()) {
      std::cerr << "cloister ledger verify: " << key.error().ToString() << "\n";
      return kExitUsage;
    }
    pinned = *key;
  }
  Result<std::unique_ptr<node::PosixStorage>> storage = node::PosixStorage::Open(directory, false);
  if (!storage.ok()) {
    std::cerr << "cloister ledger verify: " << storage.error().ToString() << "\n";
    return kExitUsage;
  }
  ledger::LedgerReader reader(storage->get(), {.service_key = pinned ? &*pinned : nullptr});
  Result<ledger::ReadReport> report = reader.ReadAll();
  if (report.ok() && report->state.ledger_id.empty()) {
    report = NotFoundError("no ledger segment in ", directory);
  }
  if (!report.ok()) {
    std::cerr << "ledger " << directory << " is NOT intact: " << report.error().ToString() << "\n";
    return report.error().code == ErrorCode::kIo ? kExitUsage : kExitRejected;
  }
  const ledger::ReaderState& state = report->state;
  int snapshots = 0;
  if (state.service_key_spki) {
    const crypto::PublicKey key =
        pinned ? *pinned : crypto::PublicKey::FromSpkiDer(*state.service_key_spki).value();
    const Status checked = VerifySnapshots(**storage, state, key, &snapshots);
    if (!checked.ok()) {
      std::cerr << "ledger " << directory << " is NOT intact: " << checked.error().ToString()
                << "\n";
      return kExitRejected;
    }
  }
  std::cout << "ledger " << directory << " is intact: " << report->entry_count << " entries in "
            << report->segment_count << " segments, " << state.signature_count
            << " signatures (last signed index " << state.last_signed_index << "), " << snapshots
            << " snapshots, root " << ToHex(state.tree.Root()) << "\n";
  if (!pinned) {
    std::cout << "note: signatures were checked against the key the ledger names; pass "
                 "--service-cert to pin the service identity\n";
  }
  if (state.last_signed_index < report->entry_count) {
    std::cout << "note: entries " << state.last_signed_index + 1 << ".." << report->entry_count
              << " are not yet covered by a signature\n";
  }
  return kExitOk;
}

nlohmann::json Printable(const std::string& bytes) {
  for (const char c : bytes) {
    if (c < 0x20 || c > 0x7e) return nlohmann::json{{"hex", ToHex(AsBytes(bytes))}};
  }
  return bytes;
}

int Dump(const std::string& directory, bool public_only) {
  Result<std::unique_ptr<node::PosixStorage>> storage = node::PosixStorage::Open(directory, false);
  if (!storage.ok()) {
    std::cerr << "cloister ledger dump: " << storage.error().ToString() << "\n";
    return kExitUsage;
  }
  auto print = [public_only](const ledger::ReadEntry& entry) -> Status {
    nlohmann::json line;
    line["index"] = entry.header.index;
    line["term"] = entry.header.term;
    line["kind"] = entry.header.kind == ledger::EntryKind::kSignature ? "signature" : "transaction";
    nlohmann::json writes = nlohmann::json::object();
    for (const auto& [map, keys] : entry.public_writes.maps) {
      for (const auto& [key, value] : keys) {
        writes[map][key] = value ? Printable(*value) : nlohmann::json(nullptr);
      }
    }
    line["public"] = writes;
    if (!public_only && entry.has_private) {
      line["private"] = {{"encrypted", true}, {"secret_start", entry.header.secret_start}};
    }
    std::cout << line.dump() << "\n";
    return OkStatus();
  };
  ledger::LedgerReader reader(storage->get(), {.on_entry = print});
  Result<ledger::ReadReport> report = reader.ReadAll();
  if (!report.ok()) {
    std::cerr << "ledger " << directory
              << " is NOT intact (dump stopped): " << report.error().ToString() << "\n";
    return kExitRejected;
  }
  return kExitOk;
}

void AddLedgerCommands(CLI::App& app, int* exit_code) {
  CLI::App* ledger = app.add_subcommand("ledger", "Verify and inspect a ledger directory");
  ledger->require_subcommand(1);

  CLI::App* verify = ledger->add_subcommand(
      "verify", "Check segments, hash chain, Merkle roots, signatures and snapshots");
  auto verify_directory = std::make_shared<std::string>();
  auto certificate = std::make_shared<std::string>();
  verify->add_option("DIR", *verify_directory, "Ledger directory")->required();
  verify->add_option("--service-cert", *certificate,
                     "Service certificate (PEM or DER) that must have signed the ledger");
  verify->callback([=] { *exit_code = Verify(*verify_directory, *certificate); });

  CLI::App* dump = ledger->add_subcommand("dump", "Print every entry as one JSON object per line");
  auto dump_directory = std::make_shared<std::string>();
  auto public_only = std::make_shared<bool>(false);
  dump->add_option("DIR", *dump_directory, "Ledger directory")->required();
  dump->add_flag("--public-only", *public_only, "Print public writes only");
  dump->callback([=] { *exit_code = Dump(*dump_directory, *public_only); });
}

const bool kRegistered = RegisterCommands("ledger", &AddLedgerCommands);

}  // namespace
}  // namespace cloister::cli
