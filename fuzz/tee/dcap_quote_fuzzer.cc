// libFuzzer target: Intel DCAP quote parsing (SGX v3, TDX v4/v5), the PCK chain and its SGX
// extension, and DCAP collateral when the input is JSON. No input may crash, assert or read out of
// bounds.
#include <cstddef>
#include <cstdint>

#include "cloister/base/assert.h"
#include "cloister/crypto/x509.h"
#include "cloister/tee/dcap.h"
#include "cloister/tee/evidence.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const cloister::ByteSpan input(data, size);
  (void)cloister::tee::DetectPlatform(input);
  if (size > 0 && data[0] == '{') {
    (void)cloister::tee::ReadDcapCollateral({cloister::Bytes(input.begin(), input.end())});
    return 0;
  }
  const cloister::Result<cloister::tee::DcapQuote> quote = cloister::tee::ParseDcapQuote(input);
  if (!quote.ok()) return 0;
  ASSERT(quote->sgx.has_value() != quote->td.has_value(), "exactly one body");
  ASSERT(quote->qe_report.size() == cloister::tee::kSgxReportBodySize, "QE report size");
  const auto chain = cloister::crypto::Certificate::FromPemBundle(quote->pck_chain_pem);
  if (chain.ok() && !chain->empty()) (void)cloister::tee::ParsePckExtension(chain->front());
  return 0;
}
