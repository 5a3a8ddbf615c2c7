// `cloister ledger verify DIR [--service-cert FILE]` and `cloister ledger dump DIR
// [--public-only]`: the auditor's view of a ledger directory, with no ledger secret.
//
// verify checks every segment (headers, frames, leaf hashes, index sequence, hash chain, signed
// Merkle roots and their signatures, pinned to the service certificate when given) and every
// snapshot in the directory (signature, and that its Merkle leaves match the ledger's). A ledger
// whose first segment starts after index 1 (a node that joined from a snapshot) continues from
// the snapshot in the directory, or the one given with --snapshot, which is verified first
// (ledger::VerifyDirectory). Exit 0 only if everything is intact; 1 with the precise reason
// otherwise; 2 for usage or I/O errors.
// dump prints one JSON object per entry: index, term, kind, public writes, and the size of the
// private part (never its content: the CLI holds no secret).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "cloister/crypto/x509.h"
#include "cloister/ledger/directory.h"
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

int Verify(const std::string& directory, const std::string& certificate_path,
           const std::string& snapshot_path) {
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
  ledger::DirectoryOptions options{.service_key = pinned ? &*pinned : nullptr};
  std::unique_ptr<node::PosixStorage> snapshot_storage;
  if (!snapshot_path.empty()) {
    const std::filesystem::path path(snapshot_path);
    const std::string name = path.filename().string();
    if (!ledger::ParseSnapshotFileName(name)) {
      std::cerr << "cloister ledger verify: --snapshot " << snapshot_path
                << ": the file name must be snapshot_<index, 20 digits>.snap\n";
      return kExitUsage;
    }
    const std::string parent = path.has_parent_path() ? path.parent_path().string() : ".";
    Result<std::unique_ptr<node::PosixStorage>> opened = node::PosixStorage::Open(parent, false);
    if (!opened.ok()) {
      std::cerr << "cloister ledger verify: " << opened.error().ToString() << "\n";
      return kExitUsage;
    }
    snapshot_storage = std::move(opened).value();
    options.snapshot_storage = snapshot_storage.get();
    options.snapshot_name = name;
  }
  Result<ledger::DirectoryReport> report = ledger::VerifyDirectory(storage->get(), options);
  if (!report.ok()) {
    std::cerr << "ledger " << directory << " is NOT intact: " << report.error().ToString() << "\n";
    return report.error().code == ErrorCode::kIo ? kExitUsage : kExitRejected;
  }
  const ledger::ReaderState& state = report->read.state;
  std::cout << "ledger " << directory << " is intact: ";
  if (report->base_snapshot) {
    std::cout << "snapshot at index " << *report->base_snapshot << ", then ";
  }
  std::cout << report->read.entry_count << " entries in " << report->read.segment_count
            << " segments (last index " << state.next_index - 1 << "), " << state.signature_count
            << " signatures (last signed index " << state.last_signed_index << "), "
            << report->snapshot_count << " snapshots, root " << ToHex(state.tree.Root()) << "\n";
  if (!pinned) {
    std::cout << "note: signatures were checked against the key the ledger names; pass "
                 "--service-cert to pin the service identity\n";
  }
  if (state.last_signed_index + 1 < state.next_index) {
    std::cout << "note: entries "
              << std::max(state.last_signed_index, report->base_snapshot.value_or(0)) + 1 << ".."
              << state.next_index - 1 << " are not yet covered by a signature\n";
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
  auto snapshot = std::make_shared<std::string>();
  verify->add_option("--snapshot", *snapshot,
                     "Snapshot the ledger continues from (default: the one in DIR, when the "
                     "first segment starts after index 1)");
  verify->callback([=] { *exit_code = Verify(*verify_directory, *certificate, *snapshot); });

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
