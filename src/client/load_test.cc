// Proves the load generator's arithmetic and encodings: nearest-rank percentiles, the etcd JSON
// gateway bodies (base64 key and value, exactly the fields etcd's v3 API names) and the checks of
// etcd's answers, and the example application's put event.
#include "cloister/client/load.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace cloister::client {
namespace {

using json = nlohmann::json;

TEST(LoadTest, PercentilesByNearestRank) {
  std::vector<double> samples;
  for (int i = 100; i >= 1; --i) samples.push_back(i);  // unsorted on purpose
  const LatencySummary summary = Summarize(samples);
  EXPECT_EQ(summary.count, 100u);
  EXPECT_DOUBLE_EQ(summary.p50, 50);
  EXPECT_DOUBLE_EQ(summary.p90, 90);
  EXPECT_DOUBLE_EQ(summary.p99, 99);
  EXPECT_DOUBLE_EQ(summary.max, 100);
  EXPECT_DOUBLE_EQ(summary.mean, 50.5);

  // Few samples: p99 of 10 samples is the largest, p50 the 5th.
  const LatencySummary few = Summarize({7, 1, 3, 9, 5, 2, 8, 4, 6, 10});
  EXPECT_DOUBLE_EQ(few.p50, 5);
  EXPECT_DOUBLE_EQ(few.p99, 10);
  EXPECT_DOUBLE_EQ(Percentile({4.5}, 0.5), 4.5);
  EXPECT_DOUBLE_EQ(Percentile({}, 0.99), 0);
  EXPECT_EQ(Summarize({}).count, 0u);
}

TEST(LoadTest, EtcdGatewayBodies) {
  EXPECT_EQ(EtcdPutBody("foo", "bar"), R"({"key":"Zm9v","value":"YmFy"})");
  EXPECT_EQ(EtcdRangeBody("foo"), R"({"key":"Zm9v"})");
  EXPECT_EQ(EtcdRangeBody("foo", true), R"({"key":"Zm9v","serializable":true})");
  // Binary and 100-byte values round-trip through base64 with padding.
  const std::string value(100, '\xff');
  const json put = json::parse(EtcdPutBody("k", value));
  EXPECT_EQ(put["key"], "aw==");
  EXPECT_EQ(put["value"].get<std::string>().size(), 136u);
}

TEST(LoadTest, EtcdAnswersChecked) {
  const std::string header = R"("header":{"cluster_id":"1","member_id":"2","revision":"5"})";
  EXPECT_TRUE(CheckEtcdResponse(200, "{" + header + "}", "").ok());
  EXPECT_TRUE(
      CheckEtcdResponse(
          200, "{" + header + R"(,"kvs":[{"key":"Zm9v","value":"YmFy"}],"count":"1"})", "bar")
          .ok());
  EXPECT_EQ(
      CheckEtcdResponse(200, "{" + header + R"(,"kvs":[{"value":"YmF6"}]})", "bar").error().code,
      ErrorCode::kConflict);
  EXPECT_EQ(CheckEtcdResponse(200, "{" + header + "}", "bar").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(CheckEtcdResponse(200, "not json", "").error().code, ErrorCode::kParse);
  const Status refused =
      CheckEtcdResponse(503, R"({"error":"etcdserver: request timed out","code":14})", "");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("request timed out"), std::string::npos);
}

TEST(LoadTest, CloisterPutEvent) {
  const json event = json::parse(CloisterPutEvent("k1", "vvv", false));
  EXPECT_EQ(event, json({{"op", "put"}, {"key", "k1"}, {"value", "vvv"}}));
  EXPECT_TRUE(json::parse(CloisterPutEvent("k1", "v", true))["public"].get<bool>());
  EXPECT_EQ(CloisterReadTarget("bench-1"), "/app/kv?key=bench-1");
  EXPECT_EQ(CloisterReadTarget("bench-1", true), "/app/kv?key=bench-1&consistency=serializable");
}

}  // namespace
}  // namespace cloister::client
