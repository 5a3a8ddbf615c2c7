// Verification time per platform (SEV-SNP Milan/Genoa/Turin, TDX, SGX, Nitro, virtual), with the
// chain cache warm ("cached": the ASK/ARK or PCK CA/root path is verified once, the leaf every
// time) and without it ("uncached": the whole chain every time). Goal: < 2 ms per SNP report
// with a cached chain.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "cloister/base/clock.h"
#include "cloister/tee/chain_cache.h"
#include "cloister/tee/evidence.h"
#include "cloister/tee/sev_snp.h"
#include "cloister/tee/virtual_tee.h"

namespace cloister::tee {
namespace {

Bytes Vector(const std::string& relative) {
  const char* dir = std::getenv("CLOISTER_VECTORS");
  const std::string path =
      std::string(dir != nullptr ? dir : CLOISTER_VECTORS_DIR_DEFAULT) + "/" + relative;
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    std::fprintf(stderr, "tee_bench: cannot read %s\n", path.c_str());
    std::abort();
  }
  return Bytes(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

struct Case {
  Evidence evidence;
  VerifyOptions options;
};

Case SnpCase(const std::string& folder) {
  const std::string vcek = folder == "trustee_milan_v2" ? "vcek.der" : "vcek.pem";
  return {{.platform = Platform::kSevSnp,
           .raw = Vector("sev-snp/" + folder + "/report.bin"),
           .endorsements = {Vector("sev-snp/" + folder + "/" + vcek)}},
          {.at_unix_seconds = ParseRfc3339("2026-11-25T00:00:00Z").value()}};
}

Case DcapCase(Platform platform, const std::string& path) {
  return {{.platform = platform, .raw = Vector(path)},
          {.at_unix_seconds = ParseRfc3339("2026-11-25T00:00:00Z").value()}};
}

void Run(benchmark::State& state, Case c, bool cached) {
  ChainCache cache;
  if (cached) c.options.chain_cache = &cache;
  if (!VerifyEvidence(c.evidence, c.options).ok()) {
    state.SkipWithError("evidence does not verify");
    return;
  }
  for (auto _ : state) {
    Result<Claims> claims = VerifyEvidence(c.evidence, c.options);
    benchmark::DoNotOptimize(claims);
  }
}

void BM_SnpMilan(benchmark::State& state) { Run(state, SnpCase("yaxi_milan_v3"), state.range(0)); }
void BM_SnpGenoa(benchmark::State& state) { Run(state, SnpCase("yaxi_genoa_v5"), state.range(0)); }
void BM_SnpTurin(benchmark::State& state) { Run(state, SnpCase("yaxi_turin_v5"), state.range(0)); }
void BM_Tdx(benchmark::State& state) {
  Run(state, DcapCase(Platform::kTdx, "tdx/trustee_v4_azure.dat"), state.range(0));
}
void BM_Sgx(benchmark::State& state) {
  Run(state, DcapCase(Platform::kSgx, "sgx/phala_v3.dat"), state.range(0));
}
void BM_Nitro(benchmark::State& state) {
  Run(state,
      {{.platform = Platform::kNitro, .raw = Vector("nitro/evervault_valid_nonce.cbor")}, {}},
      state.range(0));
}
void BM_Virtual(benchmark::State& state) {
  VirtualAttester attester(Bytes(48, 1));
  Run(state, {attester.Attest(Bytes{1}).value(), {}}, false);
}
void BM_SnpParseOnly(benchmark::State& state) {
  const Bytes report = Vector("sev-snp/yaxi_milan_v3/report.bin");
  for (auto _ : state) benchmark::DoNotOptimize(ParseSnpReport(report));
}

// Argument: 1 = chain cached, 0 = uncached.
BENCHMARK(BM_SnpMilan)->Arg(1)->Arg(0)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SnpGenoa)->Arg(1)->Arg(0)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SnpTurin)->Arg(1)->Arg(0)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Tdx)->Arg(1)->Arg(0)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Sgx)->Arg(1)->Arg(0)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Nitro)->Arg(1)->Arg(0)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Virtual)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SnpParseOnly)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace cloister::tee
