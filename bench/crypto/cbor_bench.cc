// Costs of CBOR on Cloister's hot path: encoding and strictly decoding a ledger-entry-sized map
// (a transaction with ten writes, about 2.8 KB), and COSE_Sign1 verification of a receipt-sized
// message.
#include <benchmark/benchmark.h>

#include "cloister/crypto/cbor.h"
#include "cloister/crypto/cose.h"
#include "cloister/crypto/key.h"
#include "cloister/crypto/random.h"

namespace cloister::crypto {
namespace {

using cbor::Value;

Value LedgerEntry() {
  Value writes = Value::Array();
  for (uint64_t i = 0; i < 10; ++i) {
    writes.Append(Value::Map({{Value::Text("map"), Value::Text("public:cloister.messages")},
                              {Value::Text("key"), Value::ByteString(SecureRandomBytes(32))},
                              {Value::Text("value"), Value::ByteString(SecureRandomBytes(200))},
                              {Value::Text("version"), Value::Unsigned(1000 + 7 * i)}}));
  }
  return Value::Map({{Value::Text("term"), Value::Unsigned(12)},
                     {Value::Text("index"), Value::Unsigned(4'000'123)},
                     {Value::Text("txid"), Value::Text("12.4000123")},
                     {Value::Text("writes"), std::move(writes)},
                     {Value::Text("claims_digest"), Value::ByteString(SecureRandomBytes(32))},
                     {Value::Text("committed"), Value::Bool(true)}});
}

void BM_CborEncodeLedgerEntry(benchmark::State& state) {
  const Value entry = LedgerEntry();
  size_t size = 0;
  for (auto _ : state) {
    Bytes encoded = cbor::Encode(entry);
    size = encoded.size();
    benchmark::DoNotOptimize(encoded);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(size));
  state.counters["bytes"] = static_cast<double>(size);
}
BENCHMARK(BM_CborEncodeLedgerEntry);

void BM_CborDecodeLedgerEntry(benchmark::State& state) {
  const Bytes encoded = cbor::Encode(LedgerEntry());
  const cbor::DecodeOptions options = cbor::DeterministicOptions();
  for (auto _ : state) benchmark::DoNotOptimize(cbor::Decode(encoded, options));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(encoded.size()));
}
BENCHMARK(BM_CborDecodeLedgerEntry);

void BM_CoseSign1Verify(benchmark::State& state) {
  const auto type = static_cast<KeyType>(state.range(0));
  const PrivateKey key = *PrivateKey::Generate(type);
  const Bytes message = *cose::Sign1(key, SecureRandomBytes(256));
  const PublicKey public_key = key.Public();
  for (auto _ : state) benchmark::DoNotOptimize(cose::DecodeAndVerifySign1(message, public_key));
  state.SetLabel(std::string(cose::AlgorithmName(*cose::AlgorithmForKey(type))));
}
BENCHMARK(BM_CoseSign1Verify)
    ->Arg(static_cast<int>(KeyType::kP256))
    ->Arg(static_cast<int>(KeyType::kP384))
    ->Arg(static_cast<int>(KeyType::kEd25519));

}  // namespace
}  // namespace cloister::crypto
