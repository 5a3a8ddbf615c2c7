// /dev/sev-guest attester (attester.h). ALL access to the device is in LinuxSevGuestDevice below:
// open(path), ioctl(SNP_GET_EXT_REPORT), close. The request and response layouts are the kernel
// UAPI's (linux/sev-guest.h) and the SEV-SNP firmware ABI's MSG_REPORT_RSP.
#include <fcntl.h>
#include <linux/sev-guest.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cloister/tee/attester.h"
#include "cloister/tee/sev_snp.h"

namespace cloister::tee {
namespace {

constexpr uint32_t kPageSize = 4096;
constexpr uint32_t kMaxCertificatePages = 16;
// MSG_REPORT_RSP: status u32, report_size u32, 24 reserved bytes, then the report.
constexpr size_t kReportResponseHeaderSize = 32;

class LinuxDevice final : public SevGuestDevice {
 public:
  explicit LinuxDevice(std::string path) : path_(std::move(path)) {}

  Result<ExtendedReport> GetExtendedReport(ByteSpan report_data, uint32_t vmpl) override {
    const int fd = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return IoError("cannot open ", path_, ": ", std::strerror(errno));
    Result<ExtendedReport> result = Request(fd, report_data, vmpl);
    ::close(fd);
    return result;
  }

 private:
  Result<ExtendedReport> Request(int fd, ByteSpan report_data, uint32_t vmpl) {
    Bytes certificates(kPageSize * 4, 0);
    for (int attempt = 0; attempt < 2; ++attempt) {
      snp_ext_report_req request{};
      std::memcpy(request.data.user_data, report_data.data(), report_data.size());
      request.data.vmpl = vmpl;
      request.certs_address = reinterpret_cast<uint64_t>(certificates.data());
      request.certs_len = static_cast<uint32_t>(certificates.size());
      snp_report_resp response{};
      snp_guest_request_ioctl guest_request{};
      guest_request.msg_version = 1;
      guest_request.req_data = reinterpret_cast<uint64_t>(&request);
      guest_request.resp_data = reinterpret_cast<uint64_t>(&response);
      if (::ioctl(fd, SNP_GET_EXT_REPORT, &guest_request) != 0) {
        const uint64_t vmm_error = guest_request.exitinfo2 >> 32;
        // The host needs a larger certificate buffer and told us how large (in certs_len).
        if (vmm_error == SNP_GUEST_VMM_ERR_INVALID_LEN && attempt == 0 &&
            request.certs_len <= kPageSize * kMaxCertificatePages) {
          certificates.assign(request.certs_len, 0);
          continue;
        }
        return IoError("SNP_GET_EXT_REPORT on ", path_, " failed: ", std::strerror(errno),
                       " (firmware error ", guest_request.exitinfo2 & 0xFFFFFFFF, ", VMM error ",
                       vmm_error, ")");
      }
      return Decode(ByteSpan(response.data, sizeof(response.data)), certificates);
    }
    return IoError("SNP_GET_EXT_REPORT: certificate buffer size negotiation failed");
  }

  static Result<ExtendedReport> Decode(ByteSpan response, const Bytes& certificates) {
    ByteReader reader(response, "MSG_REPORT_RSP");
    ASSIGN_OR_RETURN(const uint32_t status, reader.U32Le("status"));
    ASSIGN_OR_RETURN(const uint32_t size, reader.U32Le("report_size"));
    if (status != 0) return IoError("SNP firmware refused the report request, status ", status);
    if (size != kSnpReportSize) return ParseError("SNP report size ", size, ", expected 1184");
    const ByteSpan report = response.subspan(kReportResponseHeaderSize, size);
    return ExtendedReport{Bytes(report.begin(), report.end()), certificates};
  }

  std::string path_;
};

}  // namespace

std::unique_ptr<SevGuestDevice> LinuxSevGuestDevice(std::string path) {
  return std::make_unique<LinuxDevice>(std::move(path));
}

Result<Evidence> SevGuestAttester::Attest(ByteSpan report_data) {
  if (report_data.size() > 64) {
    return InvalidArgumentError("report_data is ", report_data.size(), " bytes, at most 64");
  }
  Bytes padded(report_data.begin(), report_data.end());
  padded.resize(64, 0);
  ASSIGN_OR_RETURN(SevGuestDevice::ExtendedReport extended,
                   device_->GetExtendedReport(padded, vmpl_));
  Evidence evidence{.platform = Platform::kSevSnp, .raw = std::move(extended.report)};
  if (!IsAllZero(extended.certificate_table)) {
    ASSIGN_OR_RETURN(evidence.endorsements, ParseSnpCertificateTable(extended.certificate_table));
  }
  return evidence;
}

}  // namespace cloister::tee
