#include "cloister/kv/store.h"

#include <algorithm>

namespace cloister::kv {
namespace {

bool BelowEnd(std::string_view key, const std::optional<std::string>& to) {
  return !to || key < std::string_view(*to);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Codecs

std::string Codec<uint64_t>::Encode(uint64_t value) {
  const Bytes bytes = EncodeBigEndian(value, 8);
  return std::string(AsString(bytes));
}

Result<uint64_t> Codec<uint64_t>::Decode(std::string_view bytes) {
  if (bytes.size() != 8) {
    return ParseError("uint64 value is ", bytes.size(), " bytes, expected 8");
  }
  ByteReader reader(AsBytes(bytes), "uint64 value");
  return reader.U64Be("value");
}

// ---------------------------------------------------------------------------------------------
// MapHandle

std::optional<std::string> MapHandle::get(std::string_view key) {
  ASSERT(!tx_->finished_, "read through a finished transaction");
  const auto map_it = tx_->writes_.maps.find(name_);
  if (map_it != tx_->writes_.maps.end()) {
    const auto key_it = map_it->second.find(std::string(key));
    if (key_it != map_it->second.end()) return key_it->second;
  }
  tx_->point_reads_.emplace(std::make_pair(name_, std::string(key)), true);
  return tx_->store_->ReadAt(name_, key, tx_->read_version_);
}

Status MapHandle::put(std::string_view key, std::string_view value) {
  ASSERT(!tx_->finished_, "write through a finished transaction");
  ASSERT(writable_, "put on read-only handle of map '", name_, "'");
  if (key.size() > kKeyLengthMax) {
    return InvalidArgumentError("key is ", key.size(), " bytes, limit ", kKeyLengthMax);
  }
  if (value.size() > kValueLengthMax) {
    return InvalidArgumentError("value is ", value.size(), " bytes, limit ", kValueLengthMax);
  }
  tx_->writes_.maps[name_][std::string(key)] = std::string(value);
  return OkStatus();
}

Status MapHandle::remove(std::string_view key) {
  ASSERT(!tx_->finished_, "write through a finished transaction");
  ASSERT(writable_, "remove on read-only handle of map '", name_, "'");
  if (key.size() > kKeyLengthMax) {
    return InvalidArgumentError("key is ", key.size(), " bytes, limit ", kKeyLengthMax);
  }
  tx_->writes_.maps[name_][std::string(key)] = std::nullopt;
  return OkStatus();
}

Page<std::string, std::string> MapHandle::range(std::string_view from,
                                                const std::optional<std::string>& to,
                                                size_t limit) {
  ASSERT(!tx_->finished_, "scan through a finished transaction");
  ASSERT(limit > 0, "range limit must be positive");
  // Read limit + 1 live snapshot keys beyond every own removal that could hide one; merge with
  // this transaction's own writes in the same interval.
  const auto own_it = tx_->writes_.maps.find(name_);
  size_t own_count = 0;
  std::map<std::string, std::optional<std::string>> merged;
  if (own_it != tx_->writes_.maps.end()) {
    for (auto it = own_it->second.lower_bound(std::string(from));
         it != own_it->second.end() && BelowEnd(it->first, to); ++it) {
      merged.emplace(it->first, it->second);
      ++own_count;
    }
  }
  for (auto& [key, value] :
       tx_->store_->ScanAt(name_, from, to, tx_->read_version_, limit + own_count + 1)) {
    merged.emplace(std::move(key), std::move(value));  // own writes win (emplace keeps them)
  }
  Page<std::string, std::string> page;
  for (auto& [key, value] : merged) {
    if (!value) continue;
    if (page.items.size() == limit) {
      page.next_key = key;
      break;
    }
    page.items.emplace_back(key, std::move(*value));
  }
  // The interval this page depends on: up to the next key, or to the end of the range.
  std::optional<std::string> covered_to = to;
  if (page.next_key) covered_to = *page.next_key;
  tx_->range_reads_.push_back({name_, std::string(from), covered_to});
  return page;
}

// ---------------------------------------------------------------------------------------------
// Tx

MapHandle* Tx::Handle(std::string_view map_name, bool writable) {
  ASSERT(!finished_, "handle requested from a finished transaction");
  const Status valid = ValidateMapName(map_name);
  ASSERT(valid.ok(), "invalid map name: ", valid.ok() ? "" : valid.error().message);
  // A read-only and a read-write handle of the same map are distinct objects.
  const std::string id = std::string(writable ? "rw\n" : "ro\n") + std::string(map_name);
  auto it = handles_.find(id);
  if (it == handles_.end()) {
    it = handles_.emplace(id, std::make_unique<MapHandle>(this, std::string(map_name), writable))
             .first;
  }
  return it->second.get();
}

Tx::Tx(Tx&& other) noexcept
    : store_(other.store_),
      read_version_(other.read_version_),
      finished_(other.finished_),
      writes_(std::move(other.writes_)),
      point_reads_(std::move(other.point_reads_)),
      range_reads_(std::move(other.range_reads_)),
      handles_(std::move(other.handles_)),
      typed_handles_(std::move(other.typed_handles_)) {
  AdoptHandles();
}

Tx& Tx::operator=(Tx&& other) noexcept {
  store_ = other.store_;
  read_version_ = other.read_version_;
  finished_ = other.finished_;
  writes_ = std::move(other.writes_);
  point_reads_ = std::move(other.point_reads_);
  range_reads_ = std::move(other.range_reads_);
  handles_ = std::move(other.handles_);
  typed_handles_ = std::move(other.typed_handles_);
  AdoptHandles();
  return *this;
}

void Tx::AdoptHandles() {
  for (auto& [id, handle] : handles_) handle->tx_ = this;
}

MapHandle* Tx::rw(std::string_view map_name) { return Handle(map_name, true); }
MapHandle* Tx::ro(std::string_view map_name) { return Handle(map_name, false); }

void Tx::Abort() {
  finished_ = true;
  writes_.maps.clear();
  point_reads_.clear();
  range_reads_.clear();
}

// ---------------------------------------------------------------------------------------------
// Store

Tx Store::Begin() { return Tx(this, current_version_); }

Result<Tx> Store::BeginAt(Version version) {
  if (version < compacted_version_ || version > current_version_) {
    return OutOfRangeError("version ", version, " is outside the readable versions [",
                           compacted_version_, ", ", current_version_, "]");
  }
  return Tx(this, version);
}

std::optional<std::string> Store::ReadAt(std::string_view map, std::string_view key,
                                         Version version) const {
  const auto map_it = maps_.find(map);
  if (map_it == maps_.end()) return std::nullopt;
  const auto key_it = map_it->second.find(key);
  if (key_it == map_it->second.end()) return std::nullopt;
  const History& history = key_it->second;
  // Last entry with version <= `version`.
  auto it = std::upper_bound(history.begin(), history.end(), version,
                             [](Version v, const Entry& entry) { return v < entry.version; });
  if (it == history.begin()) return std::nullopt;
  return std::prev(it)->value;
}

std::vector<std::pair<std::string, std::string>> Store::ScanAt(std::string_view map,
                                                               std::string_view from,
                                                               const std::optional<std::string>& to,
                                                               Version version,
                                                               size_t limit) const {
  std::vector<std::pair<std::string, std::string>> out;
  const auto map_it = maps_.find(map);
  if (map_it == maps_.end()) return out;
  for (auto it = map_it->second.lower_bound(from);
       it != map_it->second.end() && BelowEnd(it->first, to) && out.size() < limit; ++it) {
    std::optional<std::string> value = ReadAt(map, it->first, version);
    if (value) out.emplace_back(it->first, std::move(*value));
  }
  return out;
}

Version Store::LatestVersion(std::string_view map, std::string_view key) const {
  const auto map_it = maps_.find(map);
  if (map_it == maps_.end()) return 0;
  const auto key_it = map_it->second.find(key);
  if (key_it == map_it->second.end() || key_it->second.empty()) return 0;
  return key_it->second.back().version;
}

Status Store::Validate(const Tx& tx) const {
  if (tx.read_version_ < compacted_version_) {
    return ConflictError("transaction read version ", tx.read_version_,
                         " is older than the compaction point ", compacted_version_);
  }
  for (const auto& [map_key, unused] : tx.point_reads_) {
    const Version latest = LatestVersion(map_key.first, map_key.second);
    if (latest > tx.read_version_) {
      return ConflictError("map '", map_key.first, "': a key read at version ", tx.read_version_,
                           " was written at version ", latest);
    }
  }
  for (const Tx::RangeRead& range : tx.range_reads_) {
    const auto map_it = maps_.find(range.map);
    if (map_it == maps_.end()) continue;
    for (auto it = map_it->second.lower_bound(range.from);
         it != map_it->second.end() && BelowEnd(it->first, range.to); ++it) {
      if (!it->second.empty() && it->second.back().version > tx.read_version_) {
        return ConflictError("map '", range.map, "': a key in a range scanned at version ",
                             tx.read_version_, " was written at version ",
                             it->second.back().version);
      }
    }
  }
  return OkStatus();
}

void Store::Install(const WriteSet& write_set, Version version) {
  ASSERT(version == current_version_ + 1, "installing version ", version, " after ",
         current_version_);
  for (const auto& [name, writes] : write_set.maps) {
    MapState& state = maps_[name];
    for (const auto& [key, value] : writes) {
      History& history = state[key];
      DEBUG_ASSERT(history.empty() || history.back().version < version);
      history.push_back(Entry{version, value});
    }
  }
  current_version_ = version;
}

Result<CommitResult> Store::Commit(Tx& tx) {
  ASSERT(tx.store_ == this, "transaction committed to another store");
  ASSERT(!tx.finished_, "transaction committed twice");
  tx.finished_ = true;
  if (tx.writes_.empty()) {
    // A read-only transaction is serializable at its snapshot; nothing to validate or install.
    return CommitResult{tx.read_version_, {}};
  }
  RETURN_IF_ERROR(Validate(tx));
  const Version version = current_version_ + 1;
  Install(tx.writes_, version);
  CommitResult result{version, std::move(tx.writes_)};
  tx.writes_ = {};
  return result;
}

Status Store::Apply(const WriteSet& write_set, Version version) {
  if (version != current_version_ + 1) {
    return FailedPreconditionError("write set for version ", version, " cannot follow version ",
                                   current_version_);
  }
  for (const auto& [name, writes] : write_set.maps) {
    RETURN_IF_ERROR(ValidateMapName(name));
    if (writes.empty()) return InvalidArgumentError("write set map '", name, "' is empty");
    for (const auto& [key, value] : writes) {
      if (key.size() > kKeyLengthMax || (value && value->size() > kValueLengthMax)) {
        return InvalidArgumentError("write set map '", name, "' has an oversized key or value");
      }
    }
  }
  Install(write_set, version);
  return OkStatus();
}

void Store::Rollback(Version version) {
  ASSERT(version >= compacted_version_ && version <= current_version_, "rollback to ", version,
         " outside [", compacted_version_, ", ", current_version_, "]");
  for (auto map_it = maps_.begin(); map_it != maps_.end();) {
    MapState& state = map_it->second;
    for (auto key_it = state.begin(); key_it != state.end();) {
      History& history = key_it->second;
      while (!history.empty() && history.back().version > version) history.pop_back();
      key_it = history.empty() ? state.erase(key_it) : std::next(key_it);
    }
    map_it = state.empty() ? maps_.erase(map_it) : std::next(map_it);
  }
  current_version_ = version;
}

size_t Store::Compact(Version version) {
  ASSERT(version <= current_version_, "compaction point ", version, " is after ", current_version_);
  if (version <= compacted_version_) return 0;
  size_t freed = 0;
  for (auto map_it = maps_.begin(); map_it != maps_.end();) {
    MapState& state = map_it->second;
    for (auto key_it = state.begin(); key_it != state.end();) {
      History& history = key_it->second;
      // Keep the last entry at or below `version` (the value there) and everything after it.
      auto keep = std::upper_bound(history.begin(), history.end(), version,
                                   [](Version v, const Entry& entry) { return v < entry.version; });
      if (keep != history.begin()) {
        --keep;
        // A removal at or below the compaction point leaves nothing any reader can see.
        if (!keep->value) ++keep;
        freed += static_cast<size_t>(keep - history.begin());
        history.erase(history.begin(), keep);
      }
      key_it = history.empty() ? state.erase(key_it) : std::next(key_it);
    }
    map_it = state.empty() ? maps_.erase(map_it) : std::next(map_it);
  }
  compacted_version_ = version;
  return freed;
}

Status Store::ForEachAt(Version version,
                        const std::function<void(const std::string&, const std::string&,
                                                 const std::string&)>& visit) const {
  if (version < compacted_version_ || version > current_version_) {
    return OutOfRangeError("version ", version, " is outside the readable versions [",
                           compacted_version_, ", ", current_version_, "]");
  }
  for (const auto& [name, state] : maps_) {
    for (const auto& [key, history] : state) {
      auto it = std::upper_bound(history.begin(), history.end(), version,
                                 [](Version v, const Entry& entry) { return v < entry.version; });
      if (it == history.begin()) continue;
      const Entry& entry = *std::prev(it);
      if (entry.value) visit(name, key, *entry.value);
    }
  }
  return OkStatus();
}

void Store::Reset(Version version,
                  std::map<std::string, std::map<std::string, std::string>> state) {
  maps_.clear();
  for (auto& [name, keys] : state) {
    MapState& map_state = maps_[name];
    for (auto& [key, value] : keys) {
      map_state.emplace(key, History{Entry{version, std::move(value)}});
    }
  }
  current_version_ = version;
  compacted_version_ = version;
}

size_t Store::HistoryEntryCount() const {
  size_t count = 0;
  for (const auto& [name, state] : maps_) {
    for (const auto& [key, history] : state) count += history.size();
  }
  return count;
}

}  // namespace cloister::kv
