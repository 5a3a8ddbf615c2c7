// Gramine /dev/attestation attester (attester.h). ALL file access of this interface is here:
//   <root>/user_report_data   write: 64 bytes of report_data
//   <root>/quote              read: the DCAP quote Gramine obtained from the quoting enclave
// (Gramine documentation, "Attestation and Secret Provisioning", /dev/attestation interface.)
#include <fstream>

#include "cloister/tee/attester.h"

namespace cloister::tee {
namespace {

constexpr size_t kMaxQuoteSize = 64 * 1024;

}  // namespace

Result<Evidence> GramineAttester::Attest(ByteSpan report_data) {
  if (report_data.size() > 64) {
    return InvalidArgumentError("report_data is ", report_data.size(), " bytes, at most 64");
  }
  Bytes padded(report_data.begin(), report_data.end());
  padded.resize(64, 0);
  {
    std::ofstream user_report_data(root_ + "/user_report_data", std::ios::binary);
    user_report_data.write(reinterpret_cast<const char*>(padded.data()), 64);
    user_report_data.flush();
    if (!user_report_data) return IoError("cannot write ", root_, "/user_report_data");
  }
  std::ifstream quote_file(root_ + "/quote", std::ios::binary);
  if (!quote_file) return IoError("cannot read ", root_, "/quote");
  Bytes quote;
  char buffer[4096];
  while (quote_file.read(buffer, sizeof(buffer)) || quote_file.gcount() > 0) {
    quote.insert(quote.end(), buffer, buffer + quote_file.gcount());
    if (quote.size() > kMaxQuoteSize) return IoError(root_, "/quote exceeds ", kMaxQuoteSize);
  }
  if (quote.empty()) return IoError(root_, "/quote is empty");
  return Evidence{.platform = Platform::kSgx, .raw = std::move(quote)};
}

}  // namespace cloister::tee
