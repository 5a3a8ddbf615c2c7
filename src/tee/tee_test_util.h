// Test support for tee/ tests: loading MANIFEST.json items into Evidence with the verification
// time each needs, and small byte-tampering helpers. Header-only so that it stays out of the
// cloister_tee library (which globs every non-test *.cc).
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cloister/base/clock.h"
#include "cloister/tee/evidence.h"
#include "vectors.h"

namespace cloister::tee {

inline int64_t At(std::string_view rfc3339) { return ParseRfc3339(rfc3339).value(); }

inline Bytes ReadVector(std::string_view relative) {
  Result<Bytes> data = testing::ReadFileBytes(testing::VectorPath(relative));
  EXPECT_TRUE(data.ok()) << relative;
  return data.value_or(Bytes{});
}

// The manifest's review time: certificates in the vectors were checked valid then.
inline constexpr std::string_view kReviewTime = "2026-11-25T00:00:00Z";

struct ManifestItem {
  std::string path;
  Evidence evidence;
  VerifyOptions options;
  std::string expected_measurement;
  std::string expected_report_data;
  bool expected_debug = false;
  std::vector<std::pair<std::string, std::string>> expected_raw_fields;
  std::string notes;
  std::string load_error;  // set when the manifest entry could not be turned into evidence
};

inline void PrintTo(const ManifestItem& item, std::ostream* out) { *out << item.path; }

namespace test_detail {

using Json = nlohmann::json;

inline std::string Text(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "1" : "0";
  if (value.is_number_integer()) return std::to_string(value.get<int64_t>());
  if (value.is_null()) return "";
  return value.dump();
}

// Latest issueDate of the JSON collateral (bundle or PCS bodies), so that CRLs and collateral
// signing certificates are valid at the verification time.
inline std::optional<int64_t> CollateralTime(const std::vector<Bytes>& items) {
  std::optional<int64_t> latest;
  for (const Bytes& item : items) {
    if (item.empty() || item.front() != '{') continue;
    Json json = Json::parse(AsString(item));
    std::vector<Json> objects;
    if (json.contains("tcb_info")) {
      objects.push_back(Json::parse(json["tcb_info"].get<std::string>()));
      objects.push_back(Json::parse(json["qe_identity"].get<std::string>()));
    }
    if (json.contains("tcbInfo")) objects.push_back(json["tcbInfo"]);
    if (json.contains("enclaveIdentity")) objects.push_back(json["enclaveIdentity"]);
    for (const Json& object : objects) {
      const int64_t issued = At(object["issueDate"].get<std::string>());
      latest = std::max(latest.value_or(issued), issued);
    }
  }
  if (latest) *latest += 3600;
  return latest;
}

inline void SnpExpectations(const Json& file, const Json& asserted, ManifestItem* item) {
  item->evidence.platform = Platform::kSevSnp;
  item->evidence.endorsements.push_back(ReadVector(file["endorsement"].get<std::string>()));
  item->options.at_unix_seconds = At(kReviewTime);
  const Json& checks = file["checks"];
  if (checks.contains("vcek_chain_openssl_at")) {
    item->options.at_unix_seconds =
        At(checks["vcek_chain_openssl_at"]["attime_utc"].get<std::string>());
  }
  item->expected_measurement = asserted["measurement"];
  item->expected_report_data = asserted["report_data"];
  item->expected_debug = asserted["policy_debug_allowed"];
  for (const char* key : {"report_version",
                          "guest_svn",
                          "policy",
                          "vmpl",
                          "signing_key",
                          "platform_info",
                          "family_id",
                          "image_id",
                          "host_data",
                          "id_key_digest",
                          "author_key_digest",
                          "report_id",
                          "report_id_ma",
                          "chip_id",
                          "author_key_en",
                          "mask_chip_key",
                          "cpuid_fam_mod_step_hex",
                          "current_firmware",
                          "committed_firmware",
                          "launch_mit_vector",
                          "current_mit_vector"}) {
    if (asserted.contains(key)) item->expected_raw_fields.emplace_back(key, Text(asserted[key]));
  }
  for (const char* key : {"current_tcb", "reported_tcb", "committed_tcb", "launch_tcb"}) {
    item->expected_raw_fields.emplace_back(key, asserted[key]["raw"].get<std::string>());
  }
}

inline void DcapExpectations(const Json& file, const Json& asserted, ManifestItem* item) {
  const bool tdx = file["platform"] == "tdx";
  item->evidence.platform = tdx ? Platform::kTdx : Platform::kSgx;
  if (file.contains("collateral")) {
    for (const Json& path : file["collateral"]) {
      item->evidence.collateral.push_back(ReadVector(path.get<std::string>()));
    }
  }
  item->options.at_unix_seconds =
      CollateralTime(item->evidence.collateral).value_or(At(kReviewTime));
  const Json& body = asserted["body"];
  item->expected_measurement = body[tdx ? "mr_td" : "mr_enclave"];
  item->expected_report_data = body["report_data"];
  item->expected_debug = body[tdx ? "td_debug" : "debug"];
  for (const char* key : {"quote_version", "qe_vendor_id", "user_data", "pck_fmspc", "pck_pceid"}) {
    item->expected_raw_fields.emplace_back(key, Text(asserted[key]));
  }
  item->expected_raw_fields.emplace_back("trailing_bytes",
                                         Text(asserted["trailing_bytes_after_signature_data"]));
  item->expected_raw_fields.emplace_back("qe_mr_enclave",
                                         Text(asserted["qe_report"]["mr_enclave"]));
  item->expected_raw_fields.emplace_back("qe_mr_signer", Text(asserted["qe_report"]["mr_signer"]));
  for (const auto& [key, value] : body.items()) {
    if (value.is_string()) item->expected_raw_fields.emplace_back(key, value.get<std::string>());
  }
  if (asserted.contains("tcb_evaluation_informational") && !item->evidence.collateral.empty()) {
    const Json& level = asserted["tcb_evaluation_informational"]["platform_tcb_level"];
    item->expected_raw_fields.emplace_back(
        "tcb_status", level.is_object() ? level["tcbStatus"].get<std::string>() : "NotSupported");
  }
}

inline void NitroExpectations(const Json& asserted, ManifestItem* item) {
  item->evidence.platform = Platform::kNitro;
  item->expected_measurement = asserted["pcrs"]["0"];
  item->expected_report_data = Text(asserted["user_data"]);
  item->expected_debug = asserted["debug_mode_all_zero_pcr0_1_2"];
  for (const char* key : {"module_id", "digest", "timestamp_ms", "nonce", "public_key"}) {
    item->expected_raw_fields.emplace_back(key, Text(asserted[key]));
  }
  for (const auto& [index, value] : asserted["pcrs"].items()) {
    item->expected_raw_fields.emplace_back("pcr" + index, value.get<std::string>());
  }
}

}  // namespace test_detail

// Reports, quotes and documents of the manifest: the genuine ones or the rejected ones.
inline std::vector<ManifestItem> LoadManifestItems(bool genuine) {
  using test_detail::Json;
  std::vector<ManifestItem> items;
  const Result<std::string> text = testing::ReadFileText(testing::VectorPath("MANIFEST.json"));
  if (!text.ok()) {
    items.push_back({.path = "MANIFEST.json", .load_error = text.error().ToString()});
    return items;
  }
  const Json manifest = Json::parse(*text);
  for (const Json& file : manifest["files"]) {
    const std::string kind = file["kind"];
    if (kind != "report" && kind != "quote" && kind != "attestation-document") continue;
    const bool is_genuine = file["expected"].get<std::string>().rfind("genuine", 0) == 0;
    if (is_genuine != genuine) continue;
    ManifestItem item;
    item.path = file["path"];
    item.notes = file.value("notes", "");
    item.evidence.raw = ReadVector(item.path);
    const Json& asserted = file["asserted"];
    if (kind == "report") {
      test_detail::SnpExpectations(file, asserted, &item);
    } else if (kind == "quote") {
      test_detail::DcapExpectations(file, asserted, &item);
    } else {
      test_detail::NitroExpectations(asserted, &item);
    }
    items.push_back(std::move(item));
  }
  return items;
}

inline Bytes FlipBit(Bytes data, size_t offset, int bit = 0) {
  data.at(offset) = static_cast<uint8_t>(data.at(offset) ^ (1u << bit));
  return data;
}

}  // namespace cloister::tee
