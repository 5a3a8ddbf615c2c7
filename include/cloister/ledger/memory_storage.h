// MemoryStorage: an in-memory Storage with a host's faults, for tests and the simulator.
//
// Each file keeps the bytes that were synced and the bytes appended since. Crash() models a
// power loss (H2 in HOST_ATTACKS.md): unsynced bytes are dropped, or torn (a random prefix
// survives, possibly followed by garbage). Tests may also reach into the files to flip bits,
// truncate, duplicate or replace them, as a hostile host would (H9, H10).
//
// Thread safety: none.
#pragma once

#include <map>
#include <string>

#include "cloister/base/rng.h"
#include "cloister/ledger/storage.h"

namespace cloister::ledger {

class MemoryStorage final : public Storage {
 public:
  Result<std::vector<std::string>> List() override;
  Result<Bytes> Read(const std::string& name) override;
  Result<uint64_t> Size(const std::string& name) override;
  Status Append(const std::string& name, ByteSpan data) override;
  Status Sync(const std::string& name) override;
  Status Truncate(const std::string& name, uint64_t size) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status Remove(const std::string& name) override;
  Status SyncDirectory() override;

  enum class CrashMode {
    kDropUnsynced,  // every unsynced byte is lost
    kTornWrites,    // a random prefix of each file's unsynced bytes survives
    kTornGarbage,   // as kTornWrites, then a random number of random bytes
  };
  // Simulates power loss: afterwards each file holds what survived, all of it "synced".
  void Crash(CrashMode mode, Rng& rng);

  // Direct access to a file's current bytes (synced + unsynced), as the host sees them. The file
  // must exist. Changing them changes what Read() returns.
  Bytes& MutableFile(const std::string& name);
  [[nodiscard]] bool Exists(const std::string& name) const { return files_.contains(name); }
  // Number of Sync() calls that reached the "disk" (for group-commit tests).
  [[nodiscard]] uint64_t sync_count() const { return sync_count_; }

 private:
  struct File {
    Bytes data;
    size_t synced_size = 0;
  };
  std::map<std::string, File> files_;
  uint64_t sync_count_ = 0;
};

}  // namespace cloister::ledger
