// `cloister evidence ...`: verify attestation evidence of any supported TEE, make simulated
// evidence, print policies.
//
//   cloister evidence verify FILE [--endorsement CERT]... [--collateral FILE]... [--at RFC3339]
//                                 [--policy FILE|default|development] [--expect-report-data HEX]
//                                 [--policy-time RFC3339] [-w json|table]
//   cloister evidence attest --platform virtual --report-data HEX -o FILE [--measurement HEX]
//                            [--host-data HEX] [--debug]
//   cloister evidence attest --platform sev_snp|tdx|sgx|nitro --report-data HEX -o FILE
//   cloister evidence policy [--development]
//
// verify prints the claims (JSON keys platform, measurement, report_data, debug, ...) and exits 0
// when the evidence is genuine (and, with --policy, allowed); otherwise 1 with the precise reason
// on stderr; 2 for usage or I/O errors. --at sets when certificates must be valid (default: now;
// Nitro documents: their own timestamp). The policy judges expiry and freshness at --policy-time
// (default: now), so --at cannot make an expired VLEK acceptable. Without --policy the default
// production policy's objections are printed as warnings.
#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "cloister/base/clock.h"
#include "cloister/tee/attester.h"
#include "cloister/tee/evidence.h"
#include "cloister/tee/policy.h"
#include "cloister/tee/virtual_tee.h"
#include "command_registry.h"

namespace cloister::cli {
namespace {

using Json = nlohmann::json;

Result<Bytes> ReadWholeFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return IoError("cannot read ", path);
  return Bytes(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

Status WriteWholeFile(const std::string& path, ByteSpan data) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  if (!file) return IoError("cannot write ", path);
  return OkStatus();
}

int Fail(int code, const std::string& message) {
  std::cerr << "cloister: " << message << "\n";
  return code;
}

Result<tee::Policy> LoadPolicy(const std::string& name) {
  if (name == "default") return tee::Policy::DefaultProduction();
  if (name == "development") return tee::Policy::Development();
  ASSIGN_OR_RETURN(const Bytes text, ReadWholeFile(name));
  const bool toml = name.size() > 5 && name.substr(name.size() - 5) == ".toml";
  Result<tee::Policy> policy =
      toml ? tee::Policy::FromToml(AsString(text)) : tee::Policy::FromJson(AsString(text));
  if (!policy.ok()) return std::move(policy).error().WithContext(name);
  return policy;
}

Json ClaimsJson(const tee::Claims& claims) {
  Json json;
  json["platform"] = std::string(tee::PlatformName(claims.platform));
  json["measurement"] = ToHex(claims.measurement);
  json["report_data"] = ToHex(claims.report_data);
  json["debug"] = claims.debug;
  json["insecure"] = claims.insecure;
  json["product"] = claims.product;
  json["chip_id"] = ToHex(claims.chip_id);
  json["host_data"] = ToHex(claims.host_data);
  json["signer_id"] = ToHex(claims.signer_id);
  json["signing_key"] = claims.signing_key;
  json["root_fingerprint"] = ToHex(claims.root_fingerprint);
  json["tcb_status"] = claims.tcb_status;
  json["advisory_ids"] = claims.advisory_ids;
  Json versions = Json::object();
  for (const auto& [name, value] : claims.security_versions) versions[name] = value;
  json["security_versions"] = versions;
  if (claims.endorsement_not_after != 0) {
    json["endorsement_not_after"] = FormatRfc3339(claims.endorsement_not_after);
  }
  if (claims.collateral_next_update != 0) {
    json["collateral_next_update"] = FormatRfc3339(claims.collateral_next_update);
  }
  if (claims.timestamp_unix_millis != 0) json["timestamp_ms"] = claims.timestamp_unix_millis;
  Json fields = Json::object();
  for (const auto& [name, value] : claims.raw_fields) fields[name] = value;
  json["fields"] = fields;
  return json;
}

void PrintTable(const Json& json) {
  for (const auto& [key, value] : json.items()) {
    if (value.is_object()) {
      for (const auto& [inner, inner_value] : value.items()) {
        std::printf("%-28s %s\n", (key + "." + inner).c_str(),
                    inner_value.is_string() ? inner_value.get<std::string>().c_str()
                                            : inner_value.dump().c_str());
      }
      continue;
    }
    std::printf("%-28s %s\n", key.c_str(),
                value.is_string() ? value.get<std::string>().c_str() : value.dump().c_str());
  }
}

struct VerifyArgs {
  std::string file;
  std::vector<std::string> endorsements;
  std::vector<std::string> collateral;
  std::string at;
  std::string policy;
  std::string policy_time;
  std::string expect_report_data;
  std::string format = "json";
};

Result<tee::Evidence> LoadEvidence(const VerifyArgs& args) {
  tee::Evidence evidence;
  ASSIGN_OR_RETURN(evidence.raw, ReadWholeFile(args.file));
  ASSIGN_OR_RETURN(evidence.platform, tee::DetectPlatform(evidence.raw));
  for (const std::string& path : args.endorsements) {
    ASSIGN_OR_RETURN(Bytes data, ReadWholeFile(path));
    evidence.endorsements.push_back(std::move(data));
  }
  for (const std::string& path : args.collateral) {
    ASSIGN_OR_RETURN(Bytes data, ReadWholeFile(path));
    evidence.collateral.push_back(std::move(data));
  }
  return evidence;
}

Result<int64_t> TimeOrNow(const std::string& text) {
  if (text.empty()) return SystemClock().UnixMillis() / 1000;
  return ParseRfc3339(text);
}

int RunVerify(const VerifyArgs& args) {
  Result<tee::Evidence> evidence = LoadEvidence(args);
  if (!evidence.ok()) {
    const bool io = evidence.error().code == ErrorCode::kIo;
    return Fail(io ? kExitUsage : kExitRejected, evidence.error().ToString());
  }
  tee::VerifyOptions options;
  if (!args.at.empty() || evidence->platform != tee::Platform::kNitro) {
    Result<int64_t> at = TimeOrNow(args.at);
    if (!at.ok()) return Fail(kExitUsage, "--at: " + at.error().ToString());
    options.at_unix_seconds = *at;
  }
  Result<int64_t> policy_time = TimeOrNow(args.policy_time);
  if (!policy_time.ok())
    return Fail(kExitUsage, "--policy-time: " + policy_time.error().ToString());
  tee::EvaluationContext context{.now_unix_seconds = *policy_time};
  if (!args.expect_report_data.empty()) {
    Result<Bytes> expected = FromHex(args.expect_report_data);
    if (!expected.ok())
      return Fail(kExitUsage, "--expect-report-data: " + expected.error().message);
    context.expected_report_data = *expected;
  }
  const bool with_policy = !args.policy.empty();
  Result<tee::Policy> policy =
      with_policy ? LoadPolicy(args.policy) : Result<tee::Policy>(tee::Policy::DefaultProduction());
  if (!policy.ok()) return Fail(kExitUsage, "--policy: " + policy.error().ToString());

  const Result<tee::Claims> claims = tee::VerifyEvidence(*evidence, options);
  if (!claims.ok()) return Fail(kExitRejected, "evidence rejected: " + claims.error().ToString());
  const tee::Decision decision = policy->Evaluate(*claims, context);
  Json json = ClaimsJson(*claims);
  if (with_policy) {
    json["policy"] = {{"allowed", decision.allowed},
                      {"reasons", decision.reasons},
                      {"warnings", decision.warnings}};
  } else {
    // Genuineness only; what the production policy would object to is still worth knowing.
    std::vector<std::string> warnings = decision.reasons;
    warnings.insert(warnings.end(), decision.warnings.begin(), decision.warnings.end());
    json["warnings"] = warnings;
    for (const std::string& warning : warnings) std::cerr << "warning: " << warning << "\n";
  }
  if (args.format == "table") {
    PrintTable(json);
  } else {
    std::printf("%s\n", json.dump(2).c_str());
  }
  if (with_policy && !decision.allowed) {
    for (const std::string& reason : decision.reasons) std::cerr << "refused: " << reason << "\n";
    return kExitRejected;
  }
  return kExitOk;
}

struct AttestArgs {
  std::string platform;
  std::string report_data;
  std::string output;
  std::string measurement;
  std::string host_data;
  bool debug = false;
};

Result<std::unique_ptr<tee::Attester>> MakeAttester(tee::Platform platform,
                                                    const AttestArgs& args) {
  switch (platform) {
    case tee::Platform::kVirtual: {
      Bytes measurement;
      if (args.measurement.empty()) {
        ASSIGN_OR_RETURN(measurement, tee::MeasureExecutable());
      } else {
        ASSIGN_OR_RETURN(measurement, FromHex(args.measurement));
      }
      Bytes host_data(32, 0);
      if (!args.host_data.empty()) {
        ASSIGN_OR_RETURN(host_data, FromHex(args.host_data));
      }
      return std::unique_ptr<tee::Attester>(
          new tee::VirtualAttester(std::move(measurement), std::move(host_data), args.debug));
    }
    case tee::Platform::kSevSnp: {
      Result<std::unique_ptr<tee::TsmReportAttester>> tsm = tee::TsmReportAttester::Open();
      if (tsm.ok()) return std::unique_ptr<tee::Attester>(std::move(tsm).value());
      return std::unique_ptr<tee::Attester>(new tee::SevGuestAttester(tee::LinuxSevGuestDevice()));
    }
    case tee::Platform::kTdx: {
      ASSIGN_OR_RETURN(std::unique_ptr<tee::TsmReportAttester> tsm, tee::TsmReportAttester::Open());
      return std::unique_ptr<tee::Attester>(std::move(tsm));
    }
    case tee::Platform::kSgx:
      return std::unique_ptr<tee::Attester>(new tee::GramineAttester());
    case tee::Platform::kNitro:
      return std::unique_ptr<tee::Attester>(new tee::NsmAttester(tee::LinuxNsmDevice()));
  }
  return InternalError("platform");
}

int RunAttest(const AttestArgs& args) {
  Result<tee::Platform> platform = tee::ParsePlatform(args.platform);
  if (!platform.ok()) return Fail(kExitUsage, platform.error().message);
  Result<Bytes> report_data = FromHex(args.report_data);
  if (!report_data.ok()) return Fail(kExitUsage, "--report-data: " + report_data.error().message);
  Result<std::unique_ptr<tee::Attester>> attester = MakeAttester(*platform, args);
  if (!attester.ok()) return Fail(kExitUsage, attester.error().ToString());
  const Result<tee::Evidence> evidence = (*attester)->Attest(*report_data);
  if (!evidence.ok()) return Fail(kExitUsage, "attest: " + evidence.error().ToString());
  if (Status written = WriteWholeFile(args.output, evidence->raw); !written.ok()) {
    return Fail(kExitUsage, written.error().ToString());
  }
  for (size_t i = 0; i < evidence->endorsements.size(); ++i) {
    const std::string path = args.output + ".endorsement-" + std::to_string(i) + ".der";
    if (Status written = WriteWholeFile(path, evidence->endorsements[i]); !written.ok()) {
      return Fail(kExitUsage, written.error().ToString());
    }
    std::cerr << "endorsement written to " << path << "\n";
  }
  if (*platform == tee::Platform::kVirtual) {
    std::cerr << "warning: simulated TEE evidence is insecure by design; policies refuse it "
                 "unless they name simulated root "
              << ToHex(tee::SimulatedRootFingerprint()) << "\n";
  }
  return kExitOk;
}

void AddEvidence(CLI::App& app, int* exit_code) {
  CLI::App* evidence = app.add_subcommand("evidence", "Verify or produce TEE attestation evidence");
  evidence->require_subcommand(1);

  auto verify_args = std::make_shared<VerifyArgs>();
  CLI::App* verify = evidence->add_subcommand("verify", "Verify evidence and print its claims");
  verify->add_option("FILE", verify_args->file, "Report, quote or document")->required();
  verify->add_option("--endorsement", verify_args->endorsements,
                     "Endorsement certificate (SNP VCEK/VLEK), repeatable");
  verify->add_option("--collateral", verify_args->collateral,
                     "DCAP collateral (tcbInfo, QE identity, bundle, CRL), repeatable");
  verify->add_option("--at", verify_args->at, "Validate certificates at this RFC 3339 time");
  verify->add_option("--policy", verify_args->policy,
                     "Policy file (JSON or .toml), or 'default' / 'development'");
  verify->add_option("--policy-time", verify_args->policy_time,
                     "Judge expiry and freshness at this RFC 3339 time (default: now)");
  verify->add_option("--expect-report-data", verify_args->expect_report_data,
                     "Hex that report_data must start with (rest zero)");
  verify->add_option("-w,--format", verify_args->format, "Output format")
      ->check(CLI::IsMember({"json", "table"}));
  verify->callback([verify_args, exit_code] { *exit_code = RunVerify(*verify_args); });

  auto attest_args = std::make_shared<AttestArgs>();
  CLI::App* attest = evidence->add_subcommand("attest", "Produce evidence on this machine");
  attest->add_option("--platform", attest_args->platform, "virtual, sev_snp, tdx, sgx or nitro")
      ->required();
  attest->add_option("--report-data", attest_args->report_data, "Hex, at most 64 bytes")
      ->required();
  attest->add_option("-o,--output", attest_args->output, "Evidence file to write")->required();
  attest->add_option("--measurement", attest_args->measurement,
                     "virtual: 48-byte hex measurement (default: SHA-384 of this executable)");
  attest->add_option("--host-data", attest_args->host_data, "virtual: 32-byte hex host data");
  attest->add_flag("--debug", attest_args->debug, "virtual: mark the evidence as debug");
  attest->callback([attest_args, exit_code] { *exit_code = RunAttest(*attest_args); });

  auto development = std::make_shared<bool>(false);
  CLI::App* policy = evidence->add_subcommand("policy", "Print the default policy as JSON");
  policy->add_flag("--development", *development, "The development policy (allows virtual)");
  policy->callback([development, exit_code] {
    const tee::Policy value =
        *development ? tee::Policy::Development() : tee::Policy::DefaultProduction();
    std::printf("%s\n", value.ToJson().c_str());
    *exit_code = kExitOk;
  });
}

const bool kRegistered = RegisterCommands("evidence", AddEvidence);

}  // namespace
}  // namespace cloister::cli
