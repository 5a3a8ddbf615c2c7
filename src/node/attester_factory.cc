#include "cloister/node/attester_factory.h"

#include <string>

#include "cloister/tee/virtual_tee.h"

namespace cloister::node {

Result<std::unique_ptr<tee::Attester>> MakeAttester(const NodeConfig& config) {
  std::string platform = config.node.platform;
  if (platform == "auto") {
    const tee::PlatformProbe probe = tee::ProbePlatform();
    if (!probe.available) {
      return UnsupportedError(
          "platform auto: no TEE interface found on this machine; set platform = \"virtual\" "
          "for a development node");
    }
    platform = std::string(tee::PlatformName(*probe.available));
  }
  if (platform == "virtual") {
    Bytes measurement = config.node.virtual_measurement;
    if (measurement.empty()) {
      ASSIGN_OR_RETURN(measurement, tee::MeasureExecutable());
    }
    return std::unique_ptr<tee::Attester>(std::make_unique<tee::VirtualAttester>(
        measurement, Bytes(32, 0), config.node.virtual_debug));
  }
  if (platform == "sev-snp" || platform == "sev_snp" || platform == "tdx") {
    ASSIGN_OR_RETURN(std::unique_ptr<tee::TsmReportAttester> attester,
                     tee::TsmReportAttester::Open());
    return std::unique_ptr<tee::Attester>(std::move(attester));
  }
  if (platform == "sgx") {
    return std::unique_ptr<tee::Attester>(std::make_unique<tee::GramineAttester>());
  }
  if (platform == "nitro") {
    return std::unique_ptr<tee::Attester>(
        std::make_unique<tee::NsmAttester>(tee::LinuxNsmDevice()));
  }
  return UnsupportedError("platform '", platform, "' has no attester");
}

}  // namespace cloister::node
