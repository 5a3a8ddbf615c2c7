// Costs of HPKE (RFC 9180) as clients and the service use it: single-shot seal/open of a 256-byte
// event (one key agreement per message), and per-message seal/open inside a context after setup
// (one key agreement per stream), for both KEMs with AES-128-GCM; plus the setups alone.
#include <benchmark/benchmark.h>

#include <vector>

#include "cloister/base/assert.h"
#include "cloister/crypto/hpke.h"
#include "cloister/crypto/random.h"

namespace cloister::crypto::hpke {
namespace {

constexpr size_t kMessageSize = 256;

Suite SuiteFor(const benchmark::State& state) {
  return Suite{static_cast<Kem>(state.range(0)), Kdf::kHkdfSha256, Aead::kAes128Gcm};
}

struct Fixture {
  Suite suite;
  KeyPair recipient;
  Bytes info = ToBytes("cloister bench");
  Bytes aad = ToBytes("event aad");
  Bytes plaintext = SecureRandomBytes(kMessageSize);
};

Fixture MakeFixture(benchmark::State& state) {
  const Suite suite = SuiteFor(state);
  Result<KeyPair> recipient = GenerateKeyPair(suite.kem);
  ASSERT(recipient.ok(), "key generation failed");
  state.SetLabel(SuiteName(suite));
  return Fixture{suite, std::move(recipient).value()};
}

void SetBytes(benchmark::State& state) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(kMessageSize));
}

void BM_HpkeSingleShotSeal(benchmark::State& state) {
  const Fixture f = MakeFixture(state);
  for (auto _ : state) {
    Result<Sealed> sealed =
        Seal(f.suite, f.recipient.public_key, {.info = f.info}, f.aad, f.plaintext);
    ASSERT(sealed.ok(), "seal failed");
    benchmark::DoNotOptimize(sealed);
  }
  SetBytes(state);
}

// Open given only the private key (the RFC's API: the public key is derived each time).
void BM_HpkeSingleShotOpen(benchmark::State& state) {
  const Fixture f = MakeFixture(state);
  const Result<Sealed> sealed =
      Seal(f.suite, f.recipient.public_key, {.info = f.info}, f.aad, f.plaintext);
  ASSERT(sealed.ok(), "seal failed");
  for (auto _ : state) {
    Result<Bytes> opened = Open(f.suite, sealed->enc, f.recipient.private_key, {.info = f.info},
                                f.aad, sealed->ciphertext);
    ASSERT(opened.ok(), "open failed");
    benchmark::DoNotOptimize(opened);
  }
  SetBytes(state);
}

// Open by a recipient that holds its KeyPair, as the service does.
void BM_HpkeSingleShotOpenKeyPair(benchmark::State& state) {
  const Fixture f = MakeFixture(state);
  const Result<Sealed> sealed =
      Seal(f.suite, f.recipient.public_key, {.info = f.info}, f.aad, f.plaintext);
  ASSERT(sealed.ok(), "seal failed");
  for (auto _ : state) {
    Result<Bytes> opened =
        Open(f.suite, sealed->enc, f.recipient, {.info = f.info}, f.aad, sealed->ciphertext);
    ASSERT(opened.ok(), "open failed");
    benchmark::DoNotOptimize(opened);
  }
  SetBytes(state);
}

// Per message after setup: the sequence number advances each iteration, as in a real stream.
void BM_HpkeContextSeal(benchmark::State& state) {
  const Fixture f = MakeFixture(state);
  Result<SenderContext> context = SetupBaseS(f.suite, f.recipient.public_key, f.info);
  ASSERT(context.ok(), "setup failed");
  for (auto _ : state) {
    Result<Bytes> ciphertext = context->Seal(f.aad, f.plaintext);
    ASSERT(ciphertext.ok(), "seal failed");
    benchmark::DoNotOptimize(ciphertext);
  }
  SetBytes(state);
}

// Per message after setup. Opening needs the sender's ciphertext for each sequence number, so a
// batch is sealed in advance; when the recipient has opened all of it, a new recipient context is
// set up from the same enc (outside the timing), which starts again at message 0.
void BM_HpkeContextOpen(benchmark::State& state) {
  constexpr size_t kBatchSize = 4096;
  const Fixture f = MakeFixture(state);
  Result<SenderContext> sender = SetupBaseS(f.suite, f.recipient.public_key, f.info);
  ASSERT(sender.ok(), "setup failed");
  std::vector<Bytes> ciphertexts;
  for (size_t i = 0; i < kBatchSize; ++i) {
    Result<Bytes> ciphertext = sender->Seal(f.aad, f.plaintext);
    ASSERT(ciphertext.ok(), "seal failed");
    ciphertexts.push_back(std::move(ciphertext).value());
  }
  auto setup = [&] {
    Result<RecipientContext> context =
        SetupRecipient(f.suite, sender->enc(), f.recipient, {.info = f.info});
    ASSERT(context.ok(), "setup failed");
    return std::move(context).value();
  };
  RecipientContext context = setup();
  size_t next = 0;
  for (auto _ : state) {
    if (next == kBatchSize) {
      state.PauseTiming();
      context = setup();
      next = 0;
      state.ResumeTiming();
    }
    Result<Bytes> opened = context.Open(f.aad, ciphertexts[next++]);
    ASSERT(opened.ok(), "open failed");
    benchmark::DoNotOptimize(opened);
  }
  SetBytes(state);
}

void BM_HpkeSetupSender(benchmark::State& state) {
  const Fixture f = MakeFixture(state);
  for (auto _ : state) {
    Result<SenderContext> context = SetupBaseS(f.suite, f.recipient.public_key, f.info);
    ASSERT(context.ok(), "setup failed");
    benchmark::DoNotOptimize(context);
  }
}

void BM_HpkeSetupRecipient(benchmark::State& state) {
  const Fixture f = MakeFixture(state);
  Result<SenderContext> sender = SetupBaseS(f.suite, f.recipient.public_key, f.info);
  ASSERT(sender.ok(), "setup failed");
  for (auto _ : state) {
    Result<RecipientContext> context =
        SetupBaseR(f.suite, sender->enc(), f.recipient.private_key, f.info);
    ASSERT(context.ok(), "setup failed");
    benchmark::DoNotOptimize(context);
  }
}

void BM_HpkeSetupRecipientKeyPair(benchmark::State& state) {
  const Fixture f = MakeFixture(state);
  Result<SenderContext> sender = SetupBaseS(f.suite, f.recipient.public_key, f.info);
  ASSERT(sender.ok(), "setup failed");
  for (auto _ : state) {
    Result<RecipientContext> context =
        SetupRecipient(f.suite, sender->enc(), f.recipient, {.info = f.info});
    ASSERT(context.ok(), "setup failed");
    benchmark::DoNotOptimize(context);
  }
}

constexpr int64_t kX25519 = static_cast<int64_t>(Kem::kX25519HkdfSha256);
constexpr int64_t kP256 = static_cast<int64_t>(Kem::kP256HkdfSha256);

BENCHMARK(BM_HpkeSingleShotSeal)->Arg(kX25519)->Arg(kP256);
BENCHMARK(BM_HpkeSingleShotOpen)->Arg(kX25519)->Arg(kP256);
BENCHMARK(BM_HpkeSingleShotOpenKeyPair)->Arg(kX25519)->Arg(kP256);
BENCHMARK(BM_HpkeContextSeal)->Arg(kX25519)->Arg(kP256);
BENCHMARK(BM_HpkeContextOpen)->Arg(kX25519)->Arg(kP256);
BENCHMARK(BM_HpkeSetupSender)->Arg(kX25519)->Arg(kP256);
BENCHMARK(BM_HpkeSetupRecipient)->Arg(kX25519)->Arg(kP256);
BENCHMARK(BM_HpkeSetupRecipientKeyPair)->Arg(kX25519)->Arg(kP256);

}  // namespace
}  // namespace cloister::crypto::hpke
