// A linearizability checker for key-value histories (Wing & Gong's search with Lowe's
// memoisation, "WGL"), used on the client histories the simulator records.
//
// A history is a set of operations, each with its invocation and response times. An operation
// whose outcome the client never learned (a write that timed out) has no response: it may have
// taken effect at any point after its invocation, or not at all. Reads that timed out are not
// recorded (they have no effect). Keys are independent registers, so the check runs per key
// (linearizability is local: Herlihy & Wing, Theorem 1).
//
// Model per key: a register holding a value, 0 meaning "absent". Put(v) sets it; Get returns it;
// Cas(expected, v) sets it to v if it holds `expected` and reports whether it did.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace cloister::sim {

enum class OpKind : uint8_t { kPut = 1, kGet = 2, kCas = 3 };

struct KvOp {
  static constexpr uint64_t kNoResponse = std::numeric_limits<uint64_t>::max();

  uint64_t client = 0;
  OpKind kind = OpKind::kGet;
  uint64_t key = 0;
  uint64_t value = 0;     // Put/Cas: the value written; Get: the value read (if responded)
  uint64_t expected = 0;  // Cas only
  bool cas_ok = false;    // Cas only, if responded
  uint64_t invoke_time = 0;
  uint64_t response_time = kNoResponse;  // kNoResponse: outcome unknown
};

struct LinearizabilityResult {
  bool ok = true;
  std::string explanation;  // for a failure: the key and the operations that cannot be ordered
};

// Bounded: gives up (ok=false, explanation says so) beyond `max_states` search states per key.
LinearizabilityResult CheckLinearizable(const std::vector<KvOp>& history,
                                        uint64_t max_states = 2'000'000);

std::string DescribeOp(const KvOp& op);

}  // namespace cloister::sim
