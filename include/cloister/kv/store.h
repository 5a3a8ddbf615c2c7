// Store and Tx: an in-memory, multi-versioned, transactional store of named ordered maps.
//
// The store is the replicated state machine's state. Transactions are optimistic: a Tx reads a
// consistent snapshot (the version committed when it began, or an older version it asks for),
// buffers its writes, and Commit() validates that nothing it read, including the set of keys in
// every range it scanned, changed since its snapshot; otherwise it fails with kConflict and
// changes nothing. A committed transaction gets the next version and yields its WriteSet, which
// followers install with Apply() to reach the same state.
//
//   kv::Store store;
//   kv::Tx tx = store.Begin();
//   tx.rw("accounts")->put("alice", "10");
//   ASSIGN_OR_RETURN(kv::CommitResult committed, store.Commit(tx));
//
// Invariants:
//  1. Versions are consecutive: each Commit() or Apply() that writes anything makes version
//     current_version() + 1 and nothing else; read-only commits make no version.
//  2. Every key keeps its history as (version, value-or-tombstone) in increasing version order;
//     the value a Tx reads at version v is the last entry with version <= v.
//  3. History older than compacted_version() is merged away by Compact(): reads at versions
//     below it fail, and transactions that began below it cannot commit. Memory therefore stays
//     bounded by the live state plus the history kept after the compaction point.
//  4. Serializability: a Tx commits only if no key it read and no key inside a range it scanned
//     has a version newer than the Tx's read version (backward validation, phantoms included).
//
// Thread safety: none. A Store and its Txs are used by one thread (the node's execution loop);
// a Tx must not outlive its Store.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>
#include <vector>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"
#include "cloister/kv/write_set.h"

namespace cloister::kv {

class Store;
class Tx;

// One page of a range scan, in key order. `next_key` is where the next page starts (pass it as
// `from`), or nullopt when the range is exhausted.
template <typename K, typename V>
struct Page {
  std::vector<std::pair<K, V>> items;
  std::optional<K> next_key;
};

// The untyped view of one map inside one transaction: keys and values are byte strings, ordered
// by unsigned byte comparison. Obtained from Tx::rw()/ro(); valid while the Tx lives.
class MapHandle {
 public:
  MapHandle(Tx* tx, std::string name, bool writable)
      : tx_(tx), name_(std::move(name)), writable_(writable) {}

  [[nodiscard]] const std::string& name() const { return name_; }

  // The value of `key` as this transaction sees it (its own writes first), or nullopt.
  std::optional<std::string> get(std::string_view key);
  bool has(std::string_view key) { return get(key).has_value(); }
  // Buffered until commit. Requires a handle from rw(); key and value within the size limits.
  Status put(std::string_view key, std::string_view value);
  Status remove(std::string_view key);
  // Keys in [from, to) in order (to = nullopt: unbounded), at most `limit` items (limit > 0).
  // Records the scanned interval so that a concurrent insert into it is a conflict (phantom).
  Page<std::string, std::string> range(std::string_view from, const std::optional<std::string>& to,
                                       size_t limit);

 private:
  friend class Tx;
  Tx* tx_;
  std::string name_;
  bool writable_;
};

// Encoding of typed keys and values into bytes. Integer keys are big-endian so that byte order
// is numeric order. Specialise Codec<T> for application types.
template <typename T>
struct Codec;

template <>
struct Codec<std::string> {
  static std::string Encode(const std::string& value) { return value; }
  static Result<std::string> Decode(std::string_view bytes) { return std::string(bytes); }
};

template <>
struct Codec<uint64_t> {
  static std::string Encode(uint64_t value);
  static Result<uint64_t> Decode(std::string_view bytes);
};

template <>
struct Codec<Bytes> {
  static std::string Encode(const Bytes& value) { return std::string(AsString(value)); }
  static Result<Bytes> Decode(std::string_view bytes) { return ToBytes(bytes); }
};

// A map name with the types of its keys and values: `const TypedMap<std::string, uint64_t>
// kBalances{"balances"};` then `tx.rw(kBalances)->put("alice", 10)`.
template <typename K, typename V>
struct TypedMap {
  std::string name;
};

// The typed view of one map inside one transaction. Decoding errors (a value written with
// another type) are returned, never asserted.
template <typename K, typename V>
class TypedHandle {
 public:
  explicit TypedHandle(MapHandle* untyped) : untyped_(untyped) {}

  Result<std::optional<V>> get(const K& key) {
    std::optional<std::string> raw = untyped_->get(Codec<K>::Encode(key));
    if (!raw) return std::optional<V>();
    ASSIGN_OR_RETURN(V value, Codec<V>::Decode(*raw));
    return std::optional<V>(std::move(value));
  }
  bool has(const K& key) { return untyped_->has(Codec<K>::Encode(key)); }
  Status put(const K& key, const V& value) {
    return untyped_->put(Codec<K>::Encode(key), Codec<V>::Encode(value));
  }
  Status remove(const K& key) { return untyped_->remove(Codec<K>::Encode(key)); }
  Result<Page<K, V>> range(const K& from, const std::optional<K>& to, size_t limit) {
    std::optional<std::string> raw_to;
    if (to) raw_to = Codec<K>::Encode(*to);
    Page<std::string, std::string> raw = untyped_->range(Codec<K>::Encode(from), raw_to, limit);
    Page<K, V> page;
    for (auto& [raw_key, raw_value] : raw.items) {
      ASSIGN_OR_RETURN(K key, Codec<K>::Decode(raw_key));
      ASSIGN_OR_RETURN(V value, Codec<V>::Decode(raw_value));
      page.items.emplace_back(std::move(key), std::move(value));
    }
    if (raw.next_key) {
      ASSIGN_OR_RETURN(K next, Codec<K>::Decode(*raw.next_key));
      page.next_key = std::move(next);
    }
    return page;
  }

 private:
  MapHandle* untyped_;
};

// A transaction. Move-only; created by Store::Begin()/BeginAt(), finished by Store::Commit() or
// Abort(). After it is finished, using its handles is a programming error (ASSERT).
class Tx {
 public:
  // Moving a Tx keeps its handles valid (they follow the transaction).
  Tx(Tx&& other) noexcept;
  Tx& operator=(Tx&& other) noexcept;
  Tx(const Tx&) = delete;
  Tx& operator=(const Tx&) = delete;

  // Read-write and read-only handles to a map (created on first use; the map need not exist yet).
  // The pointer stays valid while this Tx lives. Asserts the name is valid (names are code).
  MapHandle* rw(std::string_view map_name);
  MapHandle* ro(std::string_view map_name);
  template <typename K, typename V>
  TypedHandle<K, V>* rw(const TypedMap<K, V>& map) {
    return Typed<K, V>(rw(map.name));
  }
  template <typename K, typename V>
  TypedHandle<K, V>* ro(const TypedMap<K, V>& map) {
    return Typed<K, V>(ro(map.name));
  }

  // The committed version this transaction reads.
  [[nodiscard]] Version read_version() const { return read_version_; }
  [[nodiscard]] bool finished() const { return finished_; }
  // Discards every buffered write; the Tx is finished.
  void Abort();
  // The writes buffered so far.
  [[nodiscard]] const WriteSet& pending_writes() const { return writes_; }

 private:
  friend class Store;
  friend class MapHandle;
  struct RangeRead {
    std::string map;
    std::string from;
    std::optional<std::string> to;  // exclusive; nullopt = unbounded
  };

  Tx(Store* store, Version read_version) : store_(store), read_version_(read_version) {}
  void AdoptHandles();
  MapHandle* Handle(std::string_view map_name, bool writable);
  template <typename K, typename V>
  TypedHandle<K, V>* Typed(MapHandle* untyped) {
    const std::string id = untyped->name() + "\n" + typeid(TypedHandle<K, V>).name();
    auto it = typed_handles_.find(id);
    if (it == typed_handles_.end()) {
      it = typed_handles_.emplace(id, std::make_shared<TypedHandle<K, V>>(untyped)).first;
    }
    return static_cast<TypedHandle<K, V>*>(it->second.get());
  }

  Store* store_;
  Version read_version_;
  bool finished_ = false;
  WriteSet writes_;
  // (map, key) pairs read from the snapshot (not from this Tx's own writes).
  std::map<std::pair<std::string, std::string>, bool> point_reads_;
  std::vector<RangeRead> range_reads_;
  std::map<std::string, std::unique_ptr<MapHandle>> handles_;
  std::map<std::string, std::shared_ptr<void>> typed_handles_;
};

struct CommitResult {
  // The new version, or the read version for a read-only transaction.
  Version version = 0;
  // What changed (empty for a read-only transaction).
  WriteSet write_set;
};

class Store {
 public:
  Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  [[nodiscard]] Version current_version() const { return current_version_; }
  [[nodiscard]] Version compacted_version() const { return compacted_version_; }

  // A transaction reading the current version.
  Tx Begin();
  // A transaction reading committed version `version` (compacted_version() <= version <=
  // current_version(), else kOutOfRange). It may write, but commits only if nothing it read
  // changed since.
  Result<Tx> BeginAt(Version version);

  // Validates and commits `tx` (which must come from this store and not be finished; it is
  // finished afterwards, whatever the outcome). kConflict when a read is stale.
  Result<CommitResult> Commit(Tx& tx);

  // Installs a write set produced by another replica's Commit() as version `version`, which must
  // be current_version() + 1 (kFailedPrecondition otherwise). Validates names and sizes.
  Status Apply(const WriteSet& write_set, Version version);

  // Discards every version above `version` (an uncommitted suffix the consensus rolled back).
  // Requires compacted_version() <= version <= current_version().
  void Rollback(Version version);

  // Merges history at or below `version` (<= current_version()) into one entry per live key;
  // afterwards reads below `version` fail. Returns how many history entries were freed.
  size_t Compact(Version version);

  // Calls `visit(map, key, value)` for every live key at `version`, maps and keys in order.
  // Fails with kOutOfRange for a version outside [compacted_version(), current_version()].
  Status ForEachAt(Version version,
                   const std::function<void(const std::string& map, const std::string& key,
                                            const std::string& value)>& visit) const;

  // Replaces the whole state by a loaded snapshot: every (map -> key -> value) at `version`.
  // Afterwards current_version() == compacted_version() == version.
  void Reset(Version version, std::map<std::string, std::map<std::string, std::string>> state);

  // Number of (version, value) history entries held, over all keys (for memory accounting).
  [[nodiscard]] size_t HistoryEntryCount() const;

 private:
  friend class Tx;
  friend class MapHandle;
  struct Entry {
    Version version;
    std::optional<std::string> value;  // nullopt = removed at `version`
  };
  using History = std::vector<Entry>;
  using MapState = std::map<std::string, History, std::less<>>;

  // The value of map/key at `version` (nullopt if absent or removed).
  std::optional<std::string> ReadAt(std::string_view map, std::string_view key,
                                    Version version) const;
  // Live (key, value) pairs of `map` at `version` in [from, to), at most `limit`.
  std::vector<std::pair<std::string, std::string>> ScanAt(std::string_view map,
                                                          std::string_view from,
                                                          const std::optional<std::string>& to,
                                                          Version version, size_t limit) const;
  Status Validate(const Tx& tx) const;
  // The newest version of any entry of map/key (0 if none).
  Version LatestVersion(std::string_view map, std::string_view key) const;
  void Install(const WriteSet& write_set, Version version);

  std::map<std::string, MapState, std::less<>> maps_;
  Version current_version_ = 0;
  Version compacted_version_ = 0;
};

}  // namespace cloister::kv
