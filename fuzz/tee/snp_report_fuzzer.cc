// libFuzzer target: SEV-SNP report parsing (bare and Azure HCL-wrapped) and platform detection.
// The parser must never read out of bounds, crash or assert on any input; whatever it accepts
// must decode consistently.
#include <cstddef>
#include <cstdint>

#include "cloister/base/assert.h"
#include "cloister/tee/evidence.h"
#include "cloister/tee/sev_snp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const cloister::ByteSpan input(data, size);
  (void)cloister::tee::DetectPlatform(input);
  const cloister::Result<cloister::tee::SnpReport> report = cloister::tee::ParseSnpReport(input);
  if (report.ok()) {
    ASSERT(report->signed_bytes.size() == cloister::tee::kSnpSignedSize, "signed size");
    ASSERT(report->measurement.size() == 48 && report->report_data.size() == 64, "field sizes");
    ASSERT(report->version >= 2 && report->version <= 5, "accepted version");
    for (auto product : {cloister::tee::AmdProduct::kMilan, cloister::tee::AmdProduct::kTurin}) {
      (void)cloister::tee::DecodeSnpTcb(report->reported_tcb, product);
    }
    (void)report->CpuidProduct();
  }
  return 0;
}
