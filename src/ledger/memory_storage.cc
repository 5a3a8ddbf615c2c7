#include "cloister/ledger/memory_storage.h"

namespace cloister::ledger {

Status ValidateFileName(std::string_view name) {
  if (name.empty() || name.size() > 128) {
    return InvalidArgumentError("file name is ", name.size(), " bytes, expected 1..128");
  }
  if (name == "." || name == "..") return InvalidArgumentError("file name '", name, "'");
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok)
      return InvalidArgumentError("file name '", name, "' has a character outside [A-Za-z0-9._-]");
  }
  return OkStatus();
}

Result<std::vector<std::string>> MemoryStorage::List() {
  std::vector<std::string> names;
  for (const auto& [name, file] : files_) names.push_back(name);
  return names;
}

Result<Bytes> MemoryStorage::Read(const std::string& name) {
  const auto it = files_.find(name);
  if (it == files_.end()) return NotFoundError("no file '", name, "'");
  return it->second.data;
}

Result<uint64_t> MemoryStorage::Size(const std::string& name) {
  const auto it = files_.find(name);
  if (it == files_.end()) return NotFoundError("no file '", name, "'");
  return static_cast<uint64_t>(it->second.data.size());
}

Status MemoryStorage::Append(const std::string& name, ByteSpan data) {
  RETURN_IF_ERROR(ValidateFileName(name));
  Bytes& file = files_[name].data;
  file.insert(file.end(), data.begin(), data.end());
  return OkStatus();
}

Status MemoryStorage::Sync(const std::string& name) {
  const auto it = files_.find(name);
  if (it == files_.end()) return NotFoundError("no file '", name, "' to sync");
  it->second.synced_size = it->second.data.size();
  ++sync_count_;
  return OkStatus();
}

Status MemoryStorage::Truncate(const std::string& name, uint64_t size) {
  const auto it = files_.find(name);
  if (it == files_.end()) return NotFoundError("no file '", name, "' to truncate");
  if (size > it->second.data.size()) {
    return OutOfRangeError("truncate '", name, "' to ", size, " bytes: it has ",
                           it->second.data.size());
  }
  it->second.data.resize(size);
  it->second.synced_size = std::min(it->second.synced_size, static_cast<size_t>(size));
  return OkStatus();
}

Status MemoryStorage::Rename(const std::string& from, const std::string& to) {
  RETURN_IF_ERROR(ValidateFileName(to));
  const auto it = files_.find(from);
  if (it == files_.end()) return NotFoundError("no file '", from, "' to rename");
  File file = std::move(it->second);
  files_.erase(it);
  files_[to] = std::move(file);
  return OkStatus();
}

Status MemoryStorage::Remove(const std::string& name) {
  if (files_.erase(name) == 0) return NotFoundError("no file '", name, "' to remove");
  return OkStatus();
}

Status MemoryStorage::SyncDirectory() { return OkStatus(); }

void MemoryStorage::Crash(CrashMode mode, Rng& rng) {
  for (auto& [name, file] : files_) {
    const size_t unsynced = file.data.size() - file.synced_size;
    size_t kept = 0;
    if (mode != CrashMode::kDropUnsynced && unsynced > 0) kept = rng.Uniform(unsynced + 1);
    file.data.resize(file.synced_size + kept);
    if (mode == CrashMode::kTornGarbage && unsynced > 0) {
      const size_t garbage = rng.Uniform(64);
      for (size_t i = 0; i < garbage; ++i) file.data.push_back(static_cast<uint8_t>(rng.Next()));
    }
    file.synced_size = file.data.size();
  }
}

Bytes& MemoryStorage::MutableFile(const std::string& name) {
  const auto it = files_.find(name);
  ASSERT(it != files_.end(), "no file '", name, "'");
  return it->second.data;
}

}  // namespace cloister::ledger
