// Ledger throughput on the real disk: kv commit + AES-256-GCM sealing + append with group-commit
// fdatasync, at 100 B and 1 KiB values and several batch sizes; snapshot write and read MB/s; and
// (run once) the time and size of a snapshot of 1 GiB of state.
//
//   build/<release dir>/bench/ledger/ledger_bench --benchmark_repetitions=5
//       --benchmark_filter='Append|Snapshot64'   (one command line)
//   build/<release dir>/bench/ledger/ledger_bench --benchmark_filter=Snapshot1GiB
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "cloister/base/assert.h"
#include "cloister/crypto/key.h"
#include "cloister/kv/store.h"
#include "cloister/ledger/ledger.h"
#include "cloister/ledger/snapshot.h"
#include "cloister/node/posix_storage.h"

namespace cloister::ledger {
namespace {

std::string FreshDirectory() {
  const char* base_env = std::getenv("CLOISTER_BENCH_DIR");
  const std::filesystem::path base = base_env != nullptr ? base_env : CLOISTER_BENCH_DIR_DEFAULT;
  std::filesystem::create_directories(base);
  std::string pattern = (base / "run-XXXXXX").string();
  ASSERT(::mkdtemp(pattern.data()) != nullptr, "mkdtemp in ", base.string());
  return pattern;
}

const crypto::PrivateKey& ServiceKey() {
  static const crypto::PrivateKey key =
      crypto::PrivateKey::Generate(crypto::KeyType::kP256).value();
  return key;
}

// One transaction = one private put of state.range(0) bytes and one small public put; a sync
// every state.range(1) transactions; a signature every 1000.
void BM_CommitEncryptAppend(benchmark::State& state) {
  const std::string directory = FreshDirectory();
  {
    auto storage = node::PosixStorage::Open(directory, false).value();
    LedgerSecrets secrets;
    ASSERT(secrets.AddRandom(1).ok(), "secret");
    kv::Store store;
    auto ledger = Ledger::Create(storage.get(), NewLedgerId(), &secrets,
                                 {.group_commit_entries = static_cast<uint64_t>(state.range(1))})
                      .value();
    const std::string value(static_cast<size_t>(state.range(0)), 'x');
    uint64_t i = 0;
    for (auto _ : state) {
      kv::Tx tx = store.Begin();
      ASSERT(tx.rw("records")->put("k" + std::to_string(i % 100000), value).ok(), "put");
      ASSERT(tx.rw("public:index")->put("k" + std::to_string(i % 100000), "1").ok(), "put");
      kv::CommitResult committed = store.Commit(tx).value();
      ASSERT(ledger->AppendTransaction(1, committed.version, committed.write_set).ok(), "append");
      if (++i % 1000 == 0) {
        kv::WriteSet signature = ledger->AppendSignature(1, ServiceKey()).value();
        ASSERT(store.Apply(signature, ledger->last_index()).ok(), "apply");
        store.Compact(store.current_version());
      }
    }
    ASSERT(ledger->Sync().ok(), "final sync");
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    state.counters["syncs_per_tx"] = 1.0 / static_cast<double>(state.range(1));
  }
  std::filesystem::remove_all(directory);
}
BENCHMARK(BM_CommitEncryptAppend)
    ->ArgNames({"value_bytes", "batch"})
    ->Args({100, 1})
    ->Args({100, 64})
    ->Args({100, 256})
    ->Args({1024, 1})
    ->Args({1024, 64})
    ->Args({1024, 256})
    ->UseRealTime()
    ->MinTime(2.0);

// A store of `state_bytes` (1 KiB private values, 1 in 16 public) and a tree of `entries` leaves.
struct SnapshotInput {
  kv::Store store;
  MerkleTree tree;
  LedgerSecrets secrets;
  uint64_t state_bytes = 0;
};

std::unique_ptr<SnapshotInput> MakeState(uint64_t state_bytes) {
  auto input = std::make_unique<SnapshotInput>();
  ASSERT(input->secrets.AddRandom(1).ok(), "secret");
  const std::string value(1024, 's');
  const uint64_t keys = state_bytes / value.size();
  kv::Tx tx = input->store.Begin();
  for (uint64_t k = 0; k < keys; ++k) {
    const std::string map = k % 16 == 0 ? "public:p" : "private";
    ASSERT(tx.rw(map)->put("key" + std::to_string(k), value).ok(), "put");
    input->state_bytes += value.size();
  }
  ASSERT(input->store.Commit(tx).ok(), "commit");
  input->tree.AppendLeafHash(Bytes(32, 1));
  return input;
}

void SnapshotRoundTrip(benchmark::State& state, uint64_t state_bytes) {
  auto input = MakeState(state_bytes);
  const std::string directory = FreshDirectory();
  auto storage = node::PosixStorage::Open(directory, false).value();
  const Bytes ledger_id(kLedgerIdSize, 7);
  double write_seconds = 0;
  double read_seconds = 0;
  uint64_t file_bytes = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    const std::string name = WriteSnapshot(storage.get(),
                                           {.store = &input->store,
                                            .index = 1,
                                            .term = 1,
                                            .tree = &input->tree,
                                            .ledger_id = ledger_id},
                                           input->secrets, ServiceKey())
                                 .value();
    const auto written = std::chrono::steady_clock::now();
    Snapshot snapshot =
        ReadSnapshot(storage.get(), name, ServiceKey().Public(), {.secrets = &input->secrets})
            .value();
    const auto read = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(snapshot.state.size());
    write_seconds += std::chrono::duration<double>(written - start).count();
    read_seconds += std::chrono::duration<double>(read - written).count();
    file_bytes = storage->Size(name).value();
    state.SetIterationTime(std::chrono::duration<double>(read - start).count());
  }
  const double iterations = static_cast<double>(state.iterations());
  const double mb = static_cast<double>(input->state_bytes) / 1e6;
  state.counters["write_MB_per_s"] = mb / (write_seconds / iterations);
  state.counters["read_MB_per_s"] = mb / (read_seconds / iterations);
  state.counters["write_s"] = write_seconds / iterations;
  state.counters["read_s"] = read_seconds / iterations;
  state.counters["state_MB"] = mb;
  state.counters["file_MB"] = static_cast<double>(file_bytes) / 1e6;
  std::filesystem::remove_all(directory);
}

void BM_Snapshot64MiB(benchmark::State& state) { SnapshotRoundTrip(state, 64ull << 20); }
BENCHMARK(BM_Snapshot64MiB)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_Snapshot1GiB(benchmark::State& state) { SnapshotRoundTrip(state, 1ull << 30); }
BENCHMARK(BM_Snapshot1GiB)->UseManualTime()->Unit(benchmark::kSecond)->Iterations(1);

}  // namespace
}  // namespace cloister::ledger
