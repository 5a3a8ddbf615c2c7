// Storage: the directory of files on the untrusted host disk where the ledger and snapshots live.
//
// Like leveldb's Env, this interface is the only way ledger code reaches a disk: the ledger layer
// never calls the operating system (only the node layer does I/O; node/posix_storage.h is the
// real implementation, MemoryStorage below the one for tests). A Storage is a flat directory of
// named files; names are 1..128 bytes of [A-Za-z0-9._-] and never "." or "..".
//
// Durability contract (what the ledger relies on, and what a faulty host may break):
//  - Append() adds bytes at the end of a file, creating it if absent. Appended bytes are durable
//    only after Sync(name) returns OK; a crash may drop or tear unsynced bytes.
//  - Rename() atomically replaces `to`; Remove() and Rename() are durable after SyncDirectory().
//  - Truncate() shortens a file; durable after Sync(name).
// Everything read back may have been altered by the host: callers verify it.
//
// Thread safety: implementations are not synchronised; one thread uses a Storage at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"

namespace cloister::ledger {

// OK for a valid file name (see above); kInvalidArgument saying why otherwise.
Status ValidateFileName(std::string_view name);

class Storage {
 public:
  virtual ~Storage() = default;

  // Names of the files in the directory, sorted.
  virtual Result<std::vector<std::string>> List() = 0;
  // The whole content of `name` (kNotFound if absent).
  virtual Result<Bytes> Read(const std::string& name) = 0;
  virtual Result<uint64_t> Size(const std::string& name) = 0;
  virtual Status Append(const std::string& name, ByteSpan data) = 0;
  virtual Status Sync(const std::string& name) = 0;
  virtual Status Truncate(const std::string& name, uint64_t size) = 0;
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  virtual Status Remove(const std::string& name) = 0;
  virtual Status SyncDirectory() = 0;
};

}  // namespace cloister::ledger
