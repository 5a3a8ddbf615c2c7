// Costs of the primitives on Cloister's hot paths: AEAD for ledger entries and channels, ECDSA
// verification for evidence and receipts, Ed25519 for ballots, X25519 for HPKE key agreement.
#include <benchmark/benchmark.h>

#include "cloister/crypto/aead.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/key.h"
#include "cloister/crypto/random.h"
#include "cloister/crypto/signature.h"

namespace cloister::crypto {
namespace {

void BM_AesGcmSeal(benchmark::State& state) {
  const auto algorithm = static_cast<AeadAlgorithm>(state.range(1));
  const Bytes key = SecureRandomBytes(AeadKeySize(algorithm));
  const Bytes nonce = SecureRandomBytes(12);
  const Bytes plaintext = SecureRandomBytes(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(AeadSeal(algorithm, key, nonce, {}, plaintext));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
  state.SetLabel(std::string(AeadName(algorithm)));
}
BENCHMARK(BM_AesGcmSeal)
    ->Args({1024, static_cast<int>(AeadAlgorithm::kAes256Gcm)})
    ->Args({16384, static_cast<int>(AeadAlgorithm::kAes256Gcm)})
    ->Args({1024, static_cast<int>(AeadAlgorithm::kChaCha20Poly1305)})
    ->Args({16384, static_cast<int>(AeadAlgorithm::kChaCha20Poly1305)});

void BM_AesGcmOpen(benchmark::State& state) {
  const Bytes key = SecureRandomBytes(32);
  const Bytes nonce = SecureRandomBytes(12);
  const Bytes sealed = *AeadSeal(AeadAlgorithm::kAes256Gcm, key, nonce, {},
                                 SecureRandomBytes(static_cast<size_t>(state.range(0))));
  for (auto _ : state) {
    benchmark::DoNotOptimize(AeadOpen(AeadAlgorithm::kAes256Gcm, key, nonce, {}, sealed));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_AesGcmOpen)->Arg(1024)->Arg(16384);

void BM_EcdsaVerify(benchmark::State& state) {
  const auto type = static_cast<KeyType>(state.range(0));
  const HashAlgorithm hash =
      type == KeyType::kP256 ? HashAlgorithm::kSha256 : HashAlgorithm::kSha384;
  const PrivateKey key = *PrivateKey::Generate(type);
  const PublicKey pub = key.Public();
  const Bytes message = SecureRandomBytes(256);
  const Bytes signature = *Sign(key, hash, message);
  for (auto _ : state) {
    benchmark::DoNotOptimize(Verify(pub, hash, message, signature));
  }
  state.SetLabel(std::string(KeyTypeName(type)));
}
BENCHMARK(BM_EcdsaVerify)
    ->Arg(static_cast<int>(KeyType::kP256))
    ->Arg(static_cast<int>(KeyType::kP384));

void BM_EcdsaSign(benchmark::State& state) {
  const auto type = static_cast<KeyType>(state.range(0));
  const HashAlgorithm hash =
      type == KeyType::kP256 ? HashAlgorithm::kSha256 : HashAlgorithm::kSha384;
  const PrivateKey key = *PrivateKey::Generate(type);
  const Bytes message = SecureRandomBytes(256);
  for (auto _ : state) {
    benchmark::DoNotOptimize(Sign(key, hash, message));
  }
  state.SetLabel(std::string(KeyTypeName(type)));
}
BENCHMARK(BM_EcdsaSign)
    ->Arg(static_cast<int>(KeyType::kP256))
    ->Arg(static_cast<int>(KeyType::kP384));

void BM_Ed25519Sign(benchmark::State& state) {
  const PrivateKey key = *PrivateKey::Generate(KeyType::kEd25519);
  const Bytes message = SecureRandomBytes(256);
  for (auto _ : state) {
    benchmark::DoNotOptimize(Sign(key, HashAlgorithm::kSha512, message));
  }
}
BENCHMARK(BM_Ed25519Sign);

void BM_Ed25519Verify(benchmark::State& state) {
  const PrivateKey key = *PrivateKey::Generate(KeyType::kEd25519);
  const PublicKey pub = key.Public();
  const Bytes message = SecureRandomBytes(256);
  const Bytes signature = *Sign(key, HashAlgorithm::kSha512, message);
  for (auto _ : state) {
    benchmark::DoNotOptimize(Verify(pub, HashAlgorithm::kSha512, message, signature));
  }
}
BENCHMARK(BM_Ed25519Verify);

void BM_X25519(benchmark::State& state) {
  const PrivateKey own = *PrivateKey::Generate(KeyType::kX25519);
  const PublicKey peer = PrivateKey::Generate(KeyType::kX25519)->Public();
  for (auto _ : state) {
    benchmark::DoNotOptimize(DiffieHellman(own, peer));
  }
}
BENCHMARK(BM_X25519);

// Deriving the public half of a private key (HPKE does it for every ephemeral key it makes).
void BM_PrivateKeyPublic(benchmark::State& state) {
  const PrivateKey key = *PrivateKey::Generate(static_cast<KeyType>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(key.Public());
  state.SetLabel(std::string(KeyTypeName(key.type())));
}
BENCHMARK(BM_PrivateKeyPublic)
    ->Arg(static_cast<int>(KeyType::kX25519))
    ->Arg(static_cast<int>(KeyType::kEd25519))
    ->Arg(static_cast<int>(KeyType::kP256))
    ->Arg(static_cast<int>(KeyType::kP384));

void BM_Sha256(benchmark::State& state) {
  const Bytes data = SecureRandomBytes(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(Sha256(data));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Sha256)->Arg(64)->Arg(16384);

}  // namespace
}  // namespace cloister::crypto
