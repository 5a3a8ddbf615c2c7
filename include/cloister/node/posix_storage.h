// PosixStorage: ledger::Storage on a directory of the host's file system.
//
// The node layer is the only one that touches the disk; the ledger reaches files only through
// ledger::Storage, and this is its real implementation. Appends go through O_APPEND descriptors
// kept open per file; Sync() is fdatasync(2), SyncDirectory() fsync(2) on the directory, so that
// created, renamed and removed names are durable too. Nothing here trusts what it reads: the
// ledger verifies every byte (see ledger/reader.h).
//
// Thread safety: none; one thread uses a PosixStorage at a time. Descriptors are closed by the
// destructor.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "cloister/ledger/storage.h"

namespace cloister::node {

class PosixStorage final : public ledger::Storage {
 public:
  // Opens directory `path`; with `create`, creates it (mode 0700) when absent.
  static Result<std::unique_ptr<PosixStorage>> Open(const std::string& path, bool create);
  ~PosixStorage() override;
  PosixStorage(const PosixStorage&) = delete;
  PosixStorage& operator=(const PosixStorage&) = delete;

  Result<std::vector<std::string>> List() override;
  Result<Bytes> Read(const std::string& name) override;
  Result<uint64_t> Size(const std::string& name) override;
  Status Append(const std::string& name, ByteSpan data) override;
  Status Sync(const std::string& name) override;
  Status Truncate(const std::string& name, uint64_t size) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status Remove(const std::string& name) override;
  Status SyncDirectory() override;

  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  PosixStorage(std::string path, int directory_fd)
      : path_(std::move(path)), directory_fd_(directory_fd) {}
  Result<int> AppendDescriptor(const std::string& name);
  void CloseDescriptor(const std::string& name);

  std::string path_;
  int directory_fd_;
  std::map<std::string, int> append_fds_;
};

}  // namespace cloister::node
