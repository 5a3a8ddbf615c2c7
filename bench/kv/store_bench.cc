// kv store: single-writer commit throughput, read-modify-write with validation, range scans and
// write set encoding.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <optional>
#include <string>

#include "cloister/kv/store.h"

namespace cloister::kv {
namespace {

// Blind puts of one value of state.range(0) bytes per transaction.
void BM_CommitPut(benchmark::State& state) {
  Store store;
  const std::string value(static_cast<size_t>(state.range(0)), 'v');
  uint64_t i = 0;
  for (auto _ : state) {
    Tx tx = store.Begin();
    benchmark::DoNotOptimize(tx.rw("m")->put("key" + std::to_string(i++ % 100000), value));
    benchmark::DoNotOptimize(store.Commit(tx));
    if (store.current_version() % 10000 == 0) store.Compact(store.current_version());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_CommitPut)->Arg(100)->Arg(1024);

// Read-modify-write of 4 keys (validation of the read set at commit).
void BM_CommitReadModifyWrite(benchmark::State& state) {
  Store store;
  uint64_t i = 0;
  for (auto _ : state) {
    Tx tx = store.Begin();
    for (int k = 0; k < 4; ++k) {
      const std::string key = "key" + std::to_string((i * 4 + static_cast<uint64_t>(k)) % 10000);
      const std::string value = tx.rw("m")->get(key).value_or("0");
      benchmark::DoNotOptimize(tx.rw("m")->put(key, value + "1"));
    }
    ++i;
    benchmark::DoNotOptimize(store.Commit(tx));
    if (store.current_version() % 10000 == 0) store.Compact(store.current_version());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_CommitReadModifyWrite);

// Pages of 100 keys from a map of 100,000.
void BM_RangePage(benchmark::State& state) {
  Store store;
  Tx fill = store.Begin();
  char key[16];
  for (int i = 0; i < 100000; ++i) {
    std::snprintf(key, sizeof(key), "k%08d", i);
    benchmark::DoNotOptimize(fill.rw("m")->put(key, "value"));
  }
  benchmark::DoNotOptimize(store.Commit(fill));
  int start = 0;
  for (auto _ : state) {
    Tx tx = store.Begin();
    std::snprintf(key, sizeof(key), "k%08d", start);
    benchmark::DoNotOptimize(tx.ro("m")->range(key, std::nullopt, 100));
    start = (start + 997) % 99000;
    tx.Abort();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 100);
}
BENCHMARK(BM_RangePage);

}  // namespace
}  // namespace cloister::kv
