#include "cloister/client/load.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>

#include "cloister/base/bytes.h"

namespace cloister::client {

using json = nlohmann::json;

double Percentile(const std::vector<double>& sorted, double fraction) {
  if (sorted.empty()) return 0;
  const double rank = std::ceil(fraction * static_cast<double>(sorted.size()));
  const size_t index = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return sorted[std::min(index, sorted.size() - 1)];
}

LatencySummary Summarize(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  LatencySummary summary;
  summary.count = samples.size();
  if (samples.empty()) return summary;
  summary.mean =
      std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(samples.size());
  summary.p50 = Percentile(samples, 0.50);
  summary.p90 = Percentile(samples, 0.90);
  summary.p99 = Percentile(samples, 0.99);
  summary.max = samples.back();
  return summary;
}

std::string CloisterPutEvent(std::string_view key, std::string_view value, bool is_public) {
  json event;
  event["op"] = "put";
  event["key"] = key;
  event["value"] = value;
  if (is_public) event["public"] = true;
  return event.dump();
}

std::string CloisterReadTarget(std::string_view key, bool serializable) {
  return "/app/kv?key=" + std::string(key) + (serializable ? "&consistency=serializable" : "");
}

std::string EtcdPutBody(std::string_view key, std::string_view value) {
  json body;
  body["key"] = Base64Encode(AsBytes(key));
  body["value"] = Base64Encode(AsBytes(value));
  return body.dump();
}

std::string EtcdRangeBody(std::string_view key, bool serializable) {
  json body;
  body["key"] = Base64Encode(AsBytes(key));
  if (serializable) body["serializable"] = true;
  return body.dump();
}

Status CheckEtcdResponse(unsigned status, std::string_view body, std::string_view expect_value) {
  const json answer = json::parse(body, nullptr, false);
  if (status != 200) {
    std::string message = "etcd answered HTTP " + std::to_string(status);
    if (answer.is_object() && answer.contains("error") && answer["error"].is_string()) {
      message += ": " + answer["error"].get<std::string>();
    }
    return UnavailableError(message);
  }
  if (answer.is_discarded() || !answer.is_object() || !answer.contains("header") ||
      !answer["header"].is_object()) {
    return ParseError("etcd answer is not a JSON object with a header");
  }
  if (expect_value.empty()) return OkStatus();
  auto kvs = answer.find("kvs");
  if (kvs == answer.end() || !kvs->is_array() || kvs->empty() || !(*kvs)[0].is_object() ||
      !(*kvs)[0].contains("value") || !(*kvs)[0]["value"].is_string()) {
    return NotFoundError("etcd range found no value");
  }
  Result<Bytes> value = Base64Decode((*kvs)[0]["value"].get<std::string>());
  if (!value.ok()) return ParseError("etcd range value is not base64");
  if (AsString(*value) != expect_value) {
    return ConflictError("etcd range returned another value than the one written");
  }
  return OkStatus();
}

}  // namespace cloister::client
