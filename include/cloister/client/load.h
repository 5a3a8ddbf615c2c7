// Load generation helpers shared by `cloister bench` and its tests: the latency summary a
// benchmark reports, and the request bodies of the two targets it drives with one workload.
//
// Targets:
//  - Cloister: each put is one sealed private write event of the example application
//    ({"op":"put","key","value"}, sealed by the caller's EventSealer); a read is GET /app/kv,
//    linearizable (the node's default: a ReadIndex round on the leader, docs/api.md) unless
//    serializable is asked for (the node's local committed state).
//  - etcd 3.4's JSON gateway (grpc-gateway over the v3 API): POST /v3/kv/put with
//    {"key": base64, "value": base64}; POST /v3/kv/range with {"key": base64}, which is a
//    linearizable read (the gateway's default serializable=false). Responses carry a "header"
//    object; a range that found the key carries "kvs" with the base64 value.
// Pure functions, no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "cloister/base/result.h"

namespace cloister::client {

struct LatencySummary {
  size_t count = 0;
  double mean = 0;
  double p50 = 0;
  double p90 = 0;
  double p99 = 0;
  double max = 0;
};

// The value at `fraction` (0..1] of `sorted` (ascending) by the nearest-rank method: the smallest
// sample with at least fraction*n samples at or below it. 0 for no samples.
double Percentile(const std::vector<double>& sorted, double fraction);
// Sorts `samples` and summarises them.
LatencySummary Summarize(std::vector<double> samples);

// The example application's put event (the plaintext a Cloister put seals).
std::string CloisterPutEvent(std::string_view key, std::string_view value, bool is_public);
// GET target of the example application's key read: linearizable, or with
// `consistency=serializable` when `serializable`.
std::string CloisterReadTarget(std::string_view key, bool serializable = false);

// etcd JSON gateway bodies.
std::string EtcdPutBody(std::string_view key, std::string_view value);
// A range is linearizable unless `serializable` (etcd's serializable=true: the member's local
// state, like Cloister's consistency=serializable).
std::string EtcdRangeBody(std::string_view key, bool serializable = false);
// Checks an etcd gateway answer: HTTP 200 and a JSON object with a "header". For a range,
// `expect_value` (when non-empty) must be the value of the first kv. Errors carry etcd's message.
Status CheckEtcdResponse(unsigned status, std::string_view body, std::string_view expect_value);

}  // namespace cloister::client
