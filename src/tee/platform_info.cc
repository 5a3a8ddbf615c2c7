// ProbePlatform (attester.h): which TEE interface this machine offers. ALL of its file access is
// here, and only existence checks plus reading /proc/cpuinfo's flags; it never opens a device.
// Every path is prefixed with `root` so tests probe fake trees.
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "cloister/tee/attester.h"

namespace cloister::tee {
namespace {

bool Exists(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0;
}

// The "flags" line of /proc/cpuinfo as a space-padded string, or "" when unreadable.
std::string CpuFlags(const std::string& root) {
  std::ifstream cpuinfo(root + "/proc/cpuinfo");
  std::string line;
  for (int lines = 0; lines < 4096 && std::getline(cpuinfo, line); ++lines) {
    if (line.rfind("flags", 0) == 0) return " " + line.substr(line.find(':') + 1) + " ";
  }
  return "";
}

bool HasFlag(const std::string& flags, const std::string& flag) {
  return flags.find(" " + flag + " ") != std::string::npos;
}

}  // namespace

PlatformProbe ProbePlatform(const std::string& root) {
  PlatformProbe probe;
  const std::string flags = CpuFlags(root);
  auto add = [&](std::string name, std::string path, std::string missing_hint) {
    const bool present = Exists(root + path);
    probe.interfaces.push_back({name, path, present, present ? "present" : missing_hint});
    return present;
  };
  const bool configfs = add("configfs", "/sys/kernel/config",
                            "configfs not mounted (mount -t configfs none /sys/kernel/config)");
  const bool tsm = add("configfs-tsm", std::string(kTsmReportRoot),
                       "no configfs-tsm report interface (Linux 6.7+ guest with tsm support)");
  const bool sev_guest = add("sev-guest", "/dev/sev-guest",
                             "no /dev/sev-guest (not an SNP guest, "
                             "or the sev-guest module is not loaded)");
  const bool tdx_guest = add("tdx-guest", "/dev/tdx_guest",
                             "no /dev/tdx_guest (not a TDX guest, or tdx-guest not loaded)");
  const bool gramine = add("gramine", "/dev/attestation/quote",
                           "no /dev/attestation (not running inside Gramine-SGX)");
  const bool nsm = add("nsm", "/dev/nsm", "no /dev/nsm (not inside an AWS Nitro Enclave)");
  const bool snp_cpu = HasFlag(flags, "sev_snp");
  const bool tdx_cpu = HasFlag(flags, "tdx_guest");
  if (snp_cpu && !sev_guest && !tsm)
    probe.missing.push_back(
        "CPU reports sev_snp but no guest "
        "device: load the sev-guest module");
  if (tdx_cpu && !tdx_guest && !tsm)
    probe.missing.push_back(
        "CPU reports tdx_guest but no guest "
        "device: load the tdx-guest module");
  if (!configfs && (sev_guest || tdx_guest)) {
    probe.missing.push_back("configfs is not mounted: configfs-tsm reports are unavailable");
  }
  if (sev_guest || (tsm && snp_cpu)) {
    probe.available = Platform::kSevSnp;
  } else if (tdx_guest || (tsm && tdx_cpu)) {
    probe.available = Platform::kTdx;
  } else if (gramine) {
    probe.available = Platform::kSgx;
  } else if (nsm) {
    probe.available = Platform::kNitro;
  } else {
    probe.missing.push_back(
        "no TEE interface found: only the simulated TEE (virtual, insecure) "
        "is available");
  }
  return probe;
}

}  // namespace cloister::tee
