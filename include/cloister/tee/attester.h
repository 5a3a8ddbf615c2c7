// Attesters for real hardware through the Linux kernel's interfaces, and platform detection.
//
// Attesting IS talking to a device, so this is the one part of tee/ that touches files. Each
// interface lives in one small file that does all of its file access (tsm_attester.cc,
// sev_guest_attester.cc, gramine_attester.cc, nsm_attester.cc, platform_info.cc), and every path
// is injectable so tests run against fake trees in a temporary directory:
//
//  - configfs-tsm (Linux 6.7+, SEV-SNP and TDX): mkdir <root>/<entry>, write 64 bytes to inblob,
//    read outblob (report or quote), auxblob (SNP certificate table), provider and generation;
//    generation is read before and after, and a change means another writer raced us.
//  - /dev/sev-guest: the SNP_GET_EXT_REPORT ioctl, behind SevGuestDevice so tests use a fake.
//  - Gramine's /dev/attestation (SGX): write user_report_data, read quote.
//  - /dev/nsm (AWS Nitro): CBOR request/response through NsmDevice (the ioctl is behind it).
//
// Attesters are not thread-safe; use one per thread (the kernel serialises the device anyway).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"
#include "cloister/tee/evidence.h"

namespace cloister::tee {

inline constexpr std::string_view kTsmReportRoot = "/sys/kernel/config/tsm/report";

// SHA-384 of a file's contents; the simulated TEE measures its own executable with
// MeasureExecutable("/proc/self/exe").
Result<Bytes> MeasureExecutable(const std::string& path = "/proc/self/exe");

// The certificate table of an SNP extended report (GHCB spec: GUID, offset, length entries ended
// by an all-zero entry) as endorsements: VCEK or VLEK first, then ASK/ASVK and ARK if present.
Result<std::vector<Bytes>> ParseSnpCertificateTable(ByteSpan table);

class TsmReportAttester final : public Attester {
 public:
  // `root` is the configfs report directory; `entry_name` the entry used for requests (created
  // when absent; an existing entry is shared, and the generation check detects interleaving).
  // The platform comes from the entry's provider file ("sev_guest" or "tdx_guest").
  static Result<std::unique_ptr<TsmReportAttester>> Open(
      std::string root = std::string(kTsmReportRoot), std::string entry_name = "cloister");
  [[nodiscard]] Platform platform() const override { return platform_; }
  [[nodiscard]] Result<Evidence> Attest(ByteSpan report_data) override;

 private:
  TsmReportAttester(std::string root, std::string entry_name, Platform platform)
      : root_(std::move(root)), entry_name_(std::move(entry_name)), platform_(platform) {}
  std::string root_;
  std::string entry_name_;
  Platform platform_;
};

// The SNP guest device. Implementations: LinuxSevGuestDevice (/dev/sev-guest) and test fakes.
class SevGuestDevice {
 public:
  virtual ~SevGuestDevice() = default;
  struct ExtendedReport {
    Bytes report;             // 0x4A0 bytes
    Bytes certificate_table;  // may be empty when the host provides no certificates
  };
  virtual Result<ExtendedReport> GetExtendedReport(ByteSpan report_data, uint32_t vmpl) = 0;
};

// Opens `path` for each request and issues SNP_GET_EXT_REPORT (retrying once with the buffer size
// the host asks for).
std::unique_ptr<SevGuestDevice> LinuxSevGuestDevice(std::string path = "/dev/sev-guest");

class SevGuestAttester final : public Attester {
 public:
  explicit SevGuestAttester(std::unique_ptr<SevGuestDevice> device, uint32_t vmpl = 0)
      : device_(std::move(device)), vmpl_(vmpl) {}
  [[nodiscard]] Platform platform() const override { return Platform::kSevSnp; }
  [[nodiscard]] Result<Evidence> Attest(ByteSpan report_data) override;

 private:
  std::unique_ptr<SevGuestDevice> device_;
  uint32_t vmpl_;
};

// Gramine's pseudo-filesystem: <root>/user_report_data (write 64 bytes), <root>/quote (read).
class GramineAttester final : public Attester {
 public:
  explicit GramineAttester(std::string root = "/dev/attestation") : root_(std::move(root)) {}
  [[nodiscard]] Platform platform() const override { return Platform::kSgx; }
  [[nodiscard]] Result<Evidence> Attest(ByteSpan report_data) override;

 private:
  std::string root_;
};

// The Nitro Secure Module: one CBOR request in, one CBOR response out.
class NsmDevice {
 public:
  virtual ~NsmDevice() = default;
  virtual Result<Bytes> Call(ByteSpan request) = 0;
};
std::unique_ptr<NsmDevice> LinuxNsmDevice(std::string path = "/dev/nsm");

// Asks the NSM for an attestation document with user_data = report_data (and optional nonce and
// public key).
class NsmAttester final : public Attester {
 public:
  explicit NsmAttester(std::unique_ptr<NsmDevice> device, Bytes public_key = {})
      : device_(std::move(device)), public_key_(std::move(public_key)) {}
  [[nodiscard]] Platform platform() const override { return Platform::kNitro; }
  [[nodiscard]] Result<Evidence> Attest(ByteSpan report_data) override;

 private:
  std::unique_ptr<NsmDevice> device_;
  Bytes public_key_;
};

// What this machine offers. `root` prefixes every probed path ("" on a real system, a temp dir in
// tests).
struct PlatformProbe {
  struct Interface {
    std::string name;  // "configfs-tsm", "/dev/sev-guest", ...
    std::string path;
    bool present = false;
    std::string detail;  // provider, or what is missing and how to get it
  };
  std::vector<Interface> interfaces;
  // The first platform with a usable interface, or nullopt (then only `virtual` is available).
  std::optional<Platform> available;
  std::vector<std::string> missing;  // human-readable hints
};
PlatformProbe ProbePlatform(const std::string& root = "");

}  // namespace cloister::tee
