// Proves that replicas keep raft index, ledger index and kv version in lockstep: transactions
// and signatures executed on the leader commit everywhere with byte-identical ledgers; an
// isolated leader's uncommitted suffix is truncated and rolled back when it rejoins, and its
// transactions become Invalid; followers refuse forged signature entries; a ledger secret
// rotation seals later entries under the new secret everywhere and is undone with its entry;
// ReadIndex read states come out of Process() only once a quorum confirmed the leadership.
#include "cloister/node/replica.h"

#include <gtest/gtest.h>

#include <set>

#include "cloister/crypto/random.h"
#include "cloister/ledger/memory_storage.h"
#include "cloister/ledger/reader.h"
#include "cloister/ledger/receipt.h"

namespace cloister::node {
namespace {

struct Member {
  raft::NodeId id = 0;
  ledger::MemoryStorage storage;
  ledger::LedgerSecrets secrets;  // each replica tracks its own (rotations)
  std::unique_ptr<Replica> replica;
};

// Three founding replicas connected by a synchronous in-memory network that can isolate nodes.
class Cluster {
 public:
  explicit Cluster(size_t size) : rng_(42) {
    ledger_id_ = ledger::NewLedgerId();
    genesis_secret_ = crypto::SecureRandomBytes(ledger::kSecretSize);
    raft::Configuration config;
    for (size_t i = 1; i <= size; ++i) config.voters.insert(i);
    kv::WriteSet genesis;
    genesis.maps["public:cloister.service"]["name"] = "test";
    for (size_t i = 1; i <= size; ++i) {
      auto member = std::make_unique<Member>();
      member->id = i;
      ReplicaOptions options;
      options.raft.id = i;
      options.raft.bootstrap = config;
      options.raft.election_ticks = 10;
      options.raft.heartbeat_ticks = 1;
      EXPECT_TRUE(member->secrets.Add(1, genesis_secret_).ok());
      Result<std::unique_ptr<Replica>> replica = Replica::Found(
          options, rng_, &member->storage, ledger_id_, &member->secrets, service_key_, genesis);
      EXPECT_TRUE(replica.ok()) << replica.error().message;
      member->replica = std::move(replica).value();
      members_.push_back(std::move(member));
    }
  }

  // A new member `id` (the next free one) that joins with an empty configuration, holding the
  // ledger secrets of member `sealed_by` (what a leader seals to a joiner), or only the genesis
  // secret when `sealed_by` is 0.
  raft::NodeId AddJoiner(raft::NodeId sealed_by = 1) {
    auto member = std::make_unique<Member>();
    member->id = members_.size() + 1;
    if (sealed_by == 0) {
      EXPECT_TRUE(member->secrets.Add(1, genesis_secret_).ok());
    } else {
      member->secrets = secrets(sealed_by);
    }
    ReplicaOptions options;
    options.raft.id = member->id;
    options.raft.election_ticks = 10;
    options.raft.heartbeat_ticks = 1;
    Result<std::unique_ptr<Replica>> replica =
        Replica::Join(options, rng_, &member->storage, ledger_id_, &member->secrets, service_key_);
    EXPECT_TRUE(replica.ok()) << replica.error().message;
    member->replica = std::move(replica).value();
    members_.push_back(std::move(member));
    return members_.back()->id;
  }

  Replica& operator[](raft::NodeId id) { return *members_[id - 1]->replica; }
  ledger::MemoryStorage& storage(raft::NodeId id) { return members_[id - 1]->storage; }
  ledger::LedgerSecrets& secrets(raft::NodeId id) { return members_[id - 1]->secrets; }
  const Bytes& genesis_secret() const { return genesis_secret_; }
  const crypto::PrivateKey& service_key() const { return service_key_; }
  void Isolate(raft::NodeId id) { isolated_.insert(id); }
  void Heal() { isolated_.clear(); }

  // Processes every replica and delivers messages until the network is quiet.
  void Settle() {
    for (int round = 0; round < 1000; ++round) {
      std::vector<raft::Message> in_flight;
      for (auto& member : members_) {
        Result<std::vector<raft::Message>> out = member->replica->Process();
        ASSERT_TRUE(out.ok()) << "node " << member->id << ": " << out.error().message;
        for (raft::Message& m : *out) in_flight.push_back(std::move(m));
      }
      if (in_flight.empty()) return;
      for (const raft::Message& m : in_flight) {
        if (isolated_.contains(m.from) || isolated_.contains(m.to)) continue;
        ASSERT_TRUE((*this)[m.to].Step(m).ok());
      }
    }
    FAIL() << "the network did not settle";
  }

  void Elect(raft::NodeId id) {
    (*this)[id].Campaign();
    Settle();
    ASSERT_TRUE((*this)[id].is_leader());
  }

 private:
  DeterministicRng rng_;
  crypto::PrivateKey service_key_ = *crypto::PrivateKey::Generate(crypto::KeyType::kP256);
  Bytes ledger_id_;
  Bytes genesis_secret_;
  std::vector<std::unique_ptr<Member>> members_;
  std::set<raft::NodeId> isolated_;
};

Status Put(kv::Tx& tx, const std::string& key, const std::string& value) {
  return tx.rw("messages")->put(key, value);
}

Bytes LedgerBytes(ledger::MemoryStorage& storage) {
  Bytes all;
  Result<std::vector<std::string>> names = storage.List();
  EXPECT_TRUE(names.ok());
  if (!names.ok()) return all;
  for (const std::string& name : names.value()) {
    if (!name.starts_with("ledger_")) continue;
    const Bytes file = *storage.Read(name);
    all.insert(all.end(), file.begin(), file.end());
  }
  return all;
}

std::optional<std::string> CommittedValue(Replica& replica, const std::string& key) {
  kv::Tx tx = *replica.BeginCommittedRead();
  return tx.ro("messages")->get(key);
}

// Transactions and a signature from the leader commit on every replica, the three ledgers are
// byte-identical, and a follower's receipt verifies with the service key alone.
// Ticks nodes 2 and 3 (node 1 cut off or silent) until one of them leads; its id, or 0.
raft::NodeId ElectTwoOrThree(Cluster& cluster) {
  for (int tick = 0; tick < 100; ++tick) {
    cluster[2].Tick();
    cluster[3].Tick();
    cluster.Settle();
    if (cluster[2].is_leader()) return 2;
    if (cluster[3].is_leader()) return 3;
  }
  return 0;
}

TEST(ReplicaTest, LeaderTransactionsCommitEverywhereWithIdenticalLedgers) {
  Cluster cluster(3);
  cluster.Elect(1);
  std::vector<TxId> ids;
  for (int i = 0; i < 20; ++i) {
    Result<TxId> id = cluster[1].Execute(
        [&](kv::Tx& tx) { return Put(tx, "k" + std::to_string(i), "v" + std::to_string(i)); });
    ASSERT_TRUE(id.ok()) << id.error().message;
    EXPECT_EQ(cluster[1].StatusOf(*id), TxStatus::kPending);
    ids.push_back(*id);
  }
  ASSERT_TRUE(cluster[1].EmitSignature().ok());
  cluster.Settle();
  for (raft::NodeId n = 1; n <= 3; ++n) {
    EXPECT_EQ(cluster[n].commit_index(), cluster[1].raft().log().LastIndex()) << n;
    EXPECT_EQ(CommittedValue(cluster[n], "k7"), "v7") << n;
    EXPECT_EQ(cluster[n].store().current_version(), cluster[n].ledger().last_index());
    for (const TxId& id : ids) EXPECT_EQ(cluster[n].StatusOf(id), TxStatus::kCommitted);
  }
  EXPECT_EQ(LedgerBytes(cluster.storage(1)), LedgerBytes(cluster.storage(2)));
  EXPECT_EQ(LedgerBytes(cluster.storage(1)), LedgerBytes(cluster.storage(3)));
  Result<Bytes> receipt = cluster[3].ledger().Receipt(ids[5].index);
  ASSERT_TRUE(receipt.ok()) << receipt.error().message;
  Result<ledger::ReceiptClaims> claims =
      ledger::VerifyReceipt(*receipt, cluster.service_key().Public());
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->header.index, ids[5].index);
  EXPECT_EQ(claims->header.term, ids[5].term);
}

// Process() collects the read states raft releases: a ReadIndex on the leader comes back with
// the committed index once the followers confirm the leadership, a follower refuses ReadIndex,
// and an isolated leader gets no read state at all.
TEST(ReplicaTest, ReadIndexReleasesReadStatesOnlyWithAQuorum) {
  Cluster cluster(3);
  cluster.Elect(1);
  ASSERT_TRUE(cluster[1].Execute([](kv::Tx& tx) { return Put(tx, "k", "v"); }).ok());
  cluster.Settle();
  const uint64_t committed = cluster[1].commit_index();
  ASSERT_TRUE(cluster[1].ReadIndex(7).ok());
  cluster.Settle();
  const std::vector<raft::ReadState> states = cluster[1].TakeReadStates();
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0].context, 7u);
  EXPECT_EQ(states[0].index, committed);
  EXPECT_TRUE(cluster[1].TakeReadStates().empty());
  EXPECT_FALSE(cluster[2].ReadIndex(8).ok());

  cluster.Isolate(1);
  ASSERT_TRUE(cluster[1].ReadIndex(9).ok());
  cluster.Settle();
  EXPECT_TRUE(cluster[1].TakeReadStates().empty());
  cluster.Heal();
  ASSERT_TRUE(cluster[1].ReadIndex(10).ok());
  cluster.Settle();
  const std::vector<raft::ReadState> healed = cluster[1].TakeReadStates();
  ASSERT_FALSE(healed.empty());
  EXPECT_EQ(healed.back().context, 10u);
}

// A leader cut off from the others keeps its writes pending; the majority elects a new leader
// and commits; when the old leader rejoins, its suffix is discarded (ledger truncated, store
// rolled back), its transactions are Invalid, and all ledgers agree again.
TEST(ReplicaTest, IsolatedLeaderSuffixIsRolledBack) {
  Cluster cluster(3);
  cluster.Elect(1);
  ASSERT_TRUE(cluster[1].Execute([](kv::Tx& tx) { return Put(tx, "a", "1"); }).ok());
  cluster.Settle();

  cluster.Isolate(1);
  std::vector<TxId> lost;
  for (int i = 0; i < 5; ++i) {
    Result<TxId> id = cluster[1].Execute([](kv::Tx& tx) { return Put(tx, "lost", "x"); });
    ASSERT_TRUE(id.ok()) << id.error().message;
    lost.push_back(*id);
  }
  cluster.Settle();
  EXPECT_EQ(cluster[1].StatusOf(lost[0]), TxStatus::kPending);
  EXPECT_EQ(cluster[1].store().current_version(), lost.back().index);

  // Nodes 2 and 3 stop hearing the leader; once their election timeouts pass, one is elected.
  const raft::NodeId leader = ElectTwoOrThree(cluster);
  ASSERT_NE(leader, 0u);
  const raft::NodeId follower = leader == 2 ? 3 : 2;
  Result<TxId> kept = cluster[leader].Execute([](kv::Tx& tx) { return Put(tx, "kept", "y"); });
  ASSERT_TRUE(kept.ok());
  cluster.Settle();
  EXPECT_EQ(cluster[follower].StatusOf(*kept), TxStatus::kCommitted);

  cluster.Heal();
  for (int i = 0; i < 3; ++i) {
    cluster[leader].Tick();  // heartbeats reach the old leader, which steps down and catches up
    cluster.Settle();
  }
  EXPECT_FALSE(cluster[1].is_leader());
  EXPECT_EQ(cluster[1].StatusOf(*kept), TxStatus::kCommitted);
  for (const TxId& id : lost) EXPECT_EQ(cluster[1].StatusOf(id), TxStatus::kInvalid);
  EXPECT_EQ(CommittedValue(cluster[1], "lost"), std::nullopt);
  EXPECT_EQ(CommittedValue(cluster[1], "kept"), "y");
  EXPECT_EQ(cluster[1].store().current_version(), cluster[leader].store().current_version());
  EXPECT_EQ(LedgerBytes(cluster.storage(1)), LedgerBytes(cluster.storage(leader)));
}

// A member joining with an empty configuration installs the leader's snapshot (the genesis base,
// or a later one), catches up as a learner, is promoted, and then holds the same state and the
// same Merkle root as the leader; its own ledger continues after the snapshot.
TEST(ReplicaTest, JoinerInstallsSnapshotAndCatchesUp) {
  Cluster cluster(3);
  cluster.Elect(1);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(cluster[1]
                    .Execute([&](kv::Tx& tx) { return Put(tx, "early" + std::to_string(i), "e"); })
                    .ok());
  }
  cluster.Settle();

  // Joins against the genesis base snapshot, then the log.
  const raft::NodeId first = cluster.AddJoiner();
  EXPECT_FALSE(cluster[first].has_ledger());
  ASSERT_TRUE(cluster[1].ProposeConfChange({raft::ConfChangeType::kAddLearner, first}).ok());
  for (int i = 0; i < 3; ++i) {
    cluster[1].Tick();
    cluster.Settle();
  }
  ASSERT_TRUE(cluster[first].has_ledger());
  EXPECT_EQ(cluster[first].ledger().base_index(), 1u);
  EXPECT_EQ(CommittedValue(cluster[first], "early3"), "e");

  // A later snapshot compacts the leader; the next joiner starts from it.
  ASSERT_TRUE(cluster[1].Execute([](kv::Tx& tx) { return Put(tx, "secret", "s3cr3t"); }).ok());
  ASSERT_TRUE(cluster[1].EmitSignature().ok());
  cluster.Settle();
  Result<uint64_t> snapshot = cluster[1].MakeSnapshot();
  ASSERT_TRUE(snapshot.ok()) << snapshot.error().message;
  EXPECT_GT(*snapshot, 10u);
  const raft::NodeId second = cluster.AddJoiner();
  ASSERT_TRUE(cluster[1].ProposeConfChange({raft::ConfChangeType::kAddLearner, second}).ok());
  for (int i = 0; i < 3; ++i) {
    cluster[1].Tick();
    cluster.Settle();
  }
  ASSERT_TRUE(cluster[second].has_ledger());
  EXPECT_EQ(cluster[second].ledger().base_index(), *snapshot);
  EXPECT_EQ(CommittedValue(cluster[second], "secret"), "s3cr3t");

  ASSERT_TRUE(cluster[1].ProposeConfChange({raft::ConfChangeType::kPromoteLearner, first}).ok());
  cluster.Settle();
  ASSERT_TRUE(cluster[1].Execute([](kv::Tx& tx) { return Put(tx, "late", "l"); }).ok());
  ASSERT_TRUE(cluster[1].EmitSignature().ok());
  for (int i = 0; i < 3; ++i) {
    cluster[1].Tick();
    cluster.Settle();
  }
  EXPECT_TRUE(cluster[1].raft().config().IsVoter(first));
  for (raft::NodeId n : {first, second}) {
    EXPECT_EQ(CommittedValue(cluster[n], "late"), "l") << n;
    EXPECT_EQ(cluster[n].ledger().last_index(), cluster[1].ledger().last_index()) << n;
    EXPECT_EQ(cluster[n].ledger().tree().Root(), cluster[1].ledger().tree().Root()) << n;
    EXPECT_EQ(cluster[n].store().current_version(), cluster[1].store().current_version()) << n;
  }
  // The joiner's receipts for entries after its snapshot verify; earlier ones are not local.
  const uint64_t last = cluster[second].ledger().last_index();
  Result<Bytes> receipt = cluster[second].ledger().Receipt(last - 1);
  ASSERT_TRUE(receipt.ok()) << receipt.error().message;
  EXPECT_TRUE(ledger::VerifyReceipt(*receipt, cluster.service_key().Public()).ok());
  EXPECT_EQ(cluster[second].ledger().Receipt(2).error().code, ErrorCode::kNotFound);
}

// The leader's rotation transaction at index i: a fresh secret under LedgerSecretKey(i + 1).
Result<TxId> Rotate(Replica& leader, const Bytes& secret) {
  return leader.Execute([&](kv::Tx& tx) {
    return tx.rw(kSecretsMap)->put(LedgerSecretKey(tx.read_version() + 2), Base64Encode(secret));
  });
}

// Reads a ledger directory with exactly `secrets` and returns the private value of `key` in
// the map "messages" (the last write), or the reader's error.
Result<std::optional<std::string>> ReadPrivate(ledger::MemoryStorage& storage,
                                               const ledger::LedgerSecrets& secrets,
                                               const std::string& key) {
  std::optional<std::string> value;
  ledger::ReaderOptions options;
  options.secrets = &secrets;
  options.on_entry = [&](const ledger::ReadEntry& entry) -> Status {
    const auto map = entry.private_writes.maps.find("messages");
    if (map == entry.private_writes.maps.end()) return OkStatus();
    const auto item = map->second.find(key);
    if (item != map->second.end()) value = item->second;
    return OkStatus();
  };
  ledger::LedgerReader reader(&storage, std::move(options));
  ASSIGN_OR_RETURN(ledger::ReadReport report, reader.ReadAll());
  (void)report;
  return value;
}

// A rotation at index i seals entries from i + 1 under the new secret on every replica (the
// leader at once, followers as they append entry i), so the ledgers stay byte-identical: the
// old secret alone no longer reads them, old and new together read everything. Private values
// from before and after are read on every node, also on two joiners that had only the genesis
// secret: one found the rotation in the log, the other starts from a later snapshot and gets
// the new secret with it.
TEST(ReplicaTest, LedgerSecretRotationSealsLaterEntriesUnderTheNewSecret) {
  Cluster cluster(3);
  cluster.Elect(1);
  ASSERT_TRUE(cluster[1].Execute([](kv::Tx& tx) { return Put(tx, "before", "b"); }).ok());
  const Bytes fresh = crypto::SecureRandomBytes(ledger::kSecretSize);
  Result<TxId> rotation = Rotate(cluster[1], fresh);
  ASSERT_TRUE(rotation.ok()) << rotation.error().message;
  const uint64_t start = rotation->index + 1;
  EXPECT_EQ(cluster.secrets(1).StartFor(start), start);  // the leader, before any Process()
  ASSERT_TRUE(cluster[1].Execute([](kv::Tx& tx) { return Put(tx, "after", "a"); }).ok());
  ASSERT_TRUE(cluster[1].EmitSignature().ok());
  cluster.Settle();

  const raft::NodeId early = cluster.AddJoiner(/*sealed_by=*/0);
  ASSERT_TRUE(cluster[1].ProposeConfChange({raft::ConfChangeType::kAddLearner, early}).ok());
  for (int i = 0; i < 3; ++i) {
    cluster[1].Tick();
    cluster.Settle();
  }
  ASSERT_TRUE(cluster[early].has_ledger());
  EXPECT_EQ(cluster[early].ledger().base_index(), 1u);
  Result<uint64_t> snapshot = cluster[1].MakeSnapshot();
  ASSERT_TRUE(snapshot.ok()) << snapshot.error().message;
  EXPECT_GT(*snapshot, start);
  const raft::NodeId late = cluster.AddJoiner(/*sealed_by=*/0);
  ASSERT_TRUE(cluster[1].ProposeConfChange({raft::ConfChangeType::kAddLearner, late}).ok());
  for (int i = 0; i < 3; ++i) {
    cluster[1].Tick();
    cluster.Settle();
  }
  ASSERT_TRUE(cluster[late].has_ledger());
  EXPECT_EQ(cluster[late].ledger().base_index(), *snapshot);
  ASSERT_TRUE(cluster[1].Execute([](kv::Tx& tx) { return Put(tx, "last", "l"); }).ok());
  ASSERT_TRUE(cluster[1].EmitSignature().ok());
  for (int i = 0; i < 3; ++i) {
    cluster[1].Tick();
    cluster.Settle();
  }

  for (raft::NodeId n : std::vector<raft::NodeId>{1, 2, 3, early, late}) {
    EXPECT_EQ(cluster.secrets(n).size(), 2u) << n;
    ASSERT_NE(cluster.secrets(n).SecretStartingAt(start), nullptr) << n;
    EXPECT_EQ(*cluster.secrets(n).SecretStartingAt(start), fresh) << n;
    EXPECT_EQ(CommittedValue(cluster[n], "before"), "b") << n;
    EXPECT_EQ(CommittedValue(cluster[n], "after"), "a") << n;
    EXPECT_EQ(CommittedValue(cluster[n], "last"), "l") << n;
    EXPECT_EQ(cluster[n].ledger().tree().Root(), cluster[1].ledger().tree().Root()) << n;
  }
  EXPECT_EQ(LedgerBytes(cluster.storage(1)), LedgerBytes(cluster.storage(2)));

  ledger::LedgerSecrets old_only;
  ASSERT_TRUE(old_only.Add(1, cluster.genesis_secret()).ok());
  Result<std::optional<std::string>> with_old = ReadPrivate(cluster.storage(2), old_only, "after");
  ASSERT_FALSE(with_old.ok());
  EXPECT_NE(with_old.error().message.find("claims the secret from index " + std::to_string(start)),
            std::string::npos)
      << with_old.error().message;
  ledger::LedgerSecrets both = old_only;
  ASSERT_TRUE(both.Add(start, fresh).ok());
  for (const char* key : {"before", "after", "last"}) {
    Result<std::optional<std::string>> read = ReadPrivate(cluster.storage(2), both, key);
    ASSERT_TRUE(read.ok()) << read.error().message;
    EXPECT_TRUE(read->has_value()) << key;
  }
  EXPECT_EQ(*ReadPrivate(cluster.storage(3), both, "after"), "a");
}

// A rotation whose entry a new leader replaces is undone on the node that made it: the secret
// is forgotten with the entry, the entries that replace it are sealed under the old secret
// (the ledgers agree again and the old secret alone reads them), and a later rotation works.
TEST(ReplicaTest, DiscardedRotationForgetsItsSecret) {
  Cluster cluster(3);
  cluster.Elect(1);
  ASSERT_TRUE(cluster[1].Execute([](kv::Tx& tx) { return Put(tx, "a", "1"); }).ok());
  cluster.Settle();

  cluster.Isolate(1);
  Result<TxId> lost = Rotate(cluster[1], crypto::SecureRandomBytes(ledger::kSecretSize));
  ASSERT_TRUE(lost.ok()) << lost.error().message;
  ASSERT_TRUE(cluster[1].Execute([](kv::Tx& tx) { return Put(tx, "lost", "x"); }).ok());
  cluster.Settle();
  EXPECT_EQ(cluster.secrets(1).size(), 2u);

  const raft::NodeId leader = ElectTwoOrThree(cluster);
  ASSERT_NE(leader, 0u);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(cluster[leader].Execute([](kv::Tx& tx) { return Put(tx, "kept", "y"); }).ok());
  }
  ASSERT_TRUE(cluster[leader].EmitSignature().ok());
  cluster.Settle();
  cluster.Heal();
  for (int i = 0; i < 3; ++i) {
    cluster[leader].Tick();
    cluster.Settle();
  }
  EXPECT_FALSE(cluster[1].is_leader());
  EXPECT_EQ(cluster[1].StatusOf(*lost), TxStatus::kInvalid);
  EXPECT_EQ(cluster.secrets(1).size(), 1u);
  EXPECT_EQ(cluster.secrets(1).SecretStartingAt(lost->index + 1), nullptr);
  EXPECT_EQ(CommittedValue(cluster[1], "kept"), "y");
  EXPECT_EQ(LedgerBytes(cluster.storage(1)), LedgerBytes(cluster.storage(leader)));
  ledger::LedgerSecrets old_only;
  ASSERT_TRUE(old_only.Add(1, cluster.genesis_secret()).ok());
  EXPECT_EQ(*ReadPrivate(cluster.storage(1), old_only, "kept"), "y");

  const Bytes next = crypto::SecureRandomBytes(ledger::kSecretSize);
  Result<TxId> rotated = Rotate(cluster[leader], next);
  ASSERT_TRUE(rotated.ok()) << rotated.error().message;
  ASSERT_TRUE(cluster[leader].Execute([](kv::Tx& tx) { return Put(tx, "new", "n"); }).ok());
  ASSERT_TRUE(cluster[leader].EmitSignature().ok());
  for (int i = 0; i < 3; ++i) {
    cluster[leader].Tick();
    cluster.Settle();
  }
  for (raft::NodeId n = 1; n <= 3; ++n) {
    ASSERT_NE(cluster.secrets(n).SecretStartingAt(rotated->index + 1), nullptr) << n;
    EXPECT_EQ(*cluster.secrets(n).SecretStartingAt(rotated->index + 1), next) << n;
    EXPECT_EQ(CommittedValue(cluster[n], "new"), "n") << n;
  }
  EXPECT_EQ(LedgerBytes(cluster.storage(1)), LedgerBytes(cluster.storage(leader)));
}

// Only the leader executes; a failing body, an empty write and the reserved raft map change
// nothing.
TEST(ReplicaTest, RefusedExecutionsChangeNothing) {
  Cluster cluster(3);
  cluster.Elect(1);
  Result<TxId> on_follower = cluster[2].Execute([](kv::Tx& tx) { return Put(tx, "a", "1"); });
  ASSERT_FALSE(on_follower.ok());
  EXPECT_EQ(on_follower.error().code, ErrorCode::kUnavailable);

  const uint64_t before = cluster[1].ledger().last_index();
  Result<TxId> failed = cluster[1].Execute([](kv::Tx& tx) -> Status {
    RETURN_IF_ERROR(Put(tx, "a", "1"));
    return InvalidArgumentError("application refused");
  });
  EXPECT_FALSE(failed.ok());
  EXPECT_FALSE(cluster[1].Execute([](kv::Tx&) { return OkStatus(); }).ok());
  Result<TxId> reserved =
      cluster[1].Execute([](kv::Tx& tx) { return tx.rw(kRaftMap)->put("x", "y"); });
  ASSERT_FALSE(reserved.ok());
  EXPECT_EQ(reserved.error().code, ErrorCode::kPermissionDenied);
  // A ledger secret may only start right after the transaction that writes it, and must be the
  // base64 of 32 bytes.
  const std::string good = Base64Encode(Bytes(ledger::kSecretSize, 7));
  for (const auto& [offset, value] : std::vector<std::pair<uint64_t, std::string>>{
           {1, good}, {3, good}, {2, Base64Encode(Bytes(16, 7))}, {2, "not base64!"}}) {
    Result<TxId> bad = cluster[1].Execute([&](kv::Tx& tx) {
      return tx.rw(kSecretsMap)->put(LedgerSecretKey(tx.read_version() + offset), value);
    });
    ASSERT_FALSE(bad.ok()) << offset << " " << value;
    EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_EQ(cluster.secrets(1).size(), 1u);
  EXPECT_EQ(cluster[1].ledger().last_index(), before);
  EXPECT_EQ(cluster[1].store().current_version(), before);
}

// A signature entry whose COSE_Sign1 was made with another key is refused by the follower's
// ledger, and a transaction payload may not write the reserved raft map.
TEST(ReplicaTest, FollowersRefuseForgedEntries) {
  Cluster cluster(3);
  cluster.Elect(1);
  cluster.Settle();
  ledger::MemoryStorage scratch;
  ledger::LedgerSecrets secrets;
  ASSERT_TRUE(secrets.AddRandom(1).ok());
  crypto::PrivateKey other = *crypto::PrivateKey::Generate(crypto::KeyType::kP256);
  const uint64_t tree_size = cluster[2].ledger().last_index();
  Bytes forged_cose = *ledger::SignRoot(other, cluster[2].ledger().ledger_id(), tree_size,
                                        cluster[2].ledger().tree().Root());
  kv::WriteSet forged;
  forged.maps[std::string(ledger::kSignaturesMap)][std::string(ledger::kSignatureKey)] =
      std::string(AsString(forged_cose));
  forged.maps[std::string(ledger::kSignaturesMap)][std::string(ledger::kServiceKeyKey)] =
      std::string(AsString(cluster.service_key().Public().ToSpkiDer()));
  Status refused =
      cluster[2].ledger().AppendSignatureEntry(1, forged, cluster.service_key().Public());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kVerification);
  EXPECT_EQ(cluster[2].ledger().last_index(), tree_size);

  raft::Entry entry;
  entry.term = 2;
  entry.index = 9;
  kv::WriteSet sneaky;
  sneaky.maps[std::string(kRaftMap)]["leader_term"] = "99";
  entry.data = EncodePayload(PayloadKind::kTransaction, sneaky);
  EXPECT_FALSE(PayloadOfEntry(entry).ok());
  entry.data = {7, 0, 0, 0, 0};
  EXPECT_FALSE(PayloadOfEntry(entry).ok());
}

// Transaction ids print and parse as term.index; malformed ones are refused.
// Ordering around the sync (Raft thesis §10.2.1; raft.h rule 1): the leader hands its appends
// over once the entry is written and before its sync; a follower's acknowledgement is never
// handed over early, and is returned only once the follower synced what it acknowledges; the
// entry commits only when the leader steps that acknowledgement, after its own sync.
TEST(ReplicaTest, LeaderAppendsLeaveBeforeItsSyncAcknowledgementsOnlyAfterSyncs) {
  Cluster cluster(3);
  cluster.Elect(1);
  Result<TxId> id = cluster[1].Execute([](kv::Tx& tx) { return Put(tx, "k", "v"); });
  ASSERT_TRUE(id.ok()) << id.error().message;
  ASSERT_LT(cluster[1].ledger().durable_index(), id->index);

  std::vector<raft::Message> early;
  std::vector<uint64_t> durable_when_handed_over;
  Result<std::vector<raft::Message>> after = cluster[1].Process([&](auto&& messages) {
    durable_when_handed_over.push_back(cluster[1].ledger().durable_index());
    for (raft::Message& message : messages) early.push_back(std::move(message));
  });
  ASSERT_TRUE(after.ok()) << after.error().message;
  ASSERT_EQ(durable_when_handed_over.size(), 1u);
  EXPECT_LT(durable_when_handed_over[0], id->index);          // handed over before the sync
  EXPECT_EQ(cluster[1].ledger().durable_index(), id->index);  // synced before returning
  EXPECT_TRUE(after->empty());
  std::set<raft::NodeId> carried_to;
  for (const raft::Message& message : early) {
    EXPECT_TRUE(Replica::MayPrecedeSync(message));
    EXPECT_EQ(message.from, 1u);
    if (message.type == raft::MessageType::kAppend && !message.entries.empty() &&
        message.entries.back().index == id->index) {
      carried_to.insert(message.to);
    }
  }
  EXPECT_EQ(carried_to, (std::set<raft::NodeId>{2, 3}));

  std::vector<raft::Message> acknowledgements;
  for (raft::NodeId follower : {raft::NodeId{2}, raft::NodeId{3}}) {
    for (const raft::Message& message : early) {
      if (message.to != follower) continue;
      ASSERT_TRUE(cluster[follower].Step(message).ok());
    }
    ASSERT_LT(cluster[follower].ledger().durable_index(), id->index);
    bool handed_over_early = false;
    Result<std::vector<raft::Message>> out =
        cluster[follower].Process([&](auto&&) { handed_over_early = true; });
    ASSERT_TRUE(out.ok()) << out.error().message;
    EXPECT_FALSE(handed_over_early) << "node " << follower;
    bool acknowledged = false;
    for (raft::Message& message : *out) {
      EXPECT_FALSE(Replica::MayPrecedeSync(message));
      if (message.type == raft::MessageType::kAppendResponse && !message.reject &&
          message.index >= id->index) {
        acknowledged = true;
        EXPECT_GE(cluster[follower].ledger().durable_index(), message.index);
      }
      acknowledgements.push_back(std::move(message));
    }
    EXPECT_TRUE(acknowledged) << "node " << follower;
  }

  EXPECT_EQ(cluster[1].StatusOf(*id), TxStatus::kPending);
  ASSERT_TRUE(cluster[1].Step(acknowledgements.front()).ok());
  ASSERT_TRUE(cluster[1].Process().ok());
  EXPECT_EQ(cluster[1].StatusOf(*id), TxStatus::kCommitted);
}

// Votes and vote answers are never handed over before the sync.
TEST(ReplicaTest, VotesFollowTheSync) {
  raft::Message vote{.type = raft::MessageType::kVote, .from = 2, .to = 1};
  EXPECT_FALSE(Replica::MayPrecedeSync(vote));
  vote.type = raft::MessageType::kVoteResponse;
  EXPECT_FALSE(Replica::MayPrecedeSync(vote));
  vote.type = raft::MessageType::kPreVoteResponse;
  EXPECT_FALSE(Replica::MayPrecedeSync(vote));
  vote.type = raft::MessageType::kAppendResponse;
  EXPECT_FALSE(Replica::MayPrecedeSync(vote));
}

TEST(TxIdTest, ParseAndPrint) {
  EXPECT_EQ(TxId::Parse("2.14")->index, 14u);
  EXPECT_EQ((TxId{3, 9}).ToString(), "3.9");
  for (const char* bad : {"", "2", "2.", ".3", "a.b", "0.1", "1.0", "1.2.3", "-1.2"}) {
    EXPECT_FALSE(TxId::Parse(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace cloister::node
