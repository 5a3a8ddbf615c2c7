// A recording TCP relay for the host-view test: what a host (or anyone on its network) captures.
//
// Relay listens on 127.0.0.1 (a free port), forwards every accepted connection to 127.0.0.1:target
// and records every byte in both directions without root. Nothing is kept in memory but counters:
// each direction of each connection is scanned as a stream for the given needles (matches that
// span reads are found), and parsed as a sequence of TLS records (RFC 8446 §5.1: type 20..23,
// legacy version 0x0301 or 0x0303, length <= 2^14 + 256), so that a test can require the capture
// to be both free of secrets and non-trivial (many bytes, real TLS, application data records).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cloister/base/result.h"

namespace cloister::e2e {

struct RelayStats {
  uint64_t connections = 0;
  uint64_t bytes = 0;                    // both directions
  uint64_t streams = 0;                  // directions that carried at least one byte
  uint64_t tls_streams = 0;              // ... of which every byte so far parsed as TLS records
  uint64_t handshake_streams = 0;        // ... that began with a TLS handshake record
  uint64_t application_records = 0;      // TLS application_data records seen
  std::map<std::string, uint64_t> hits;  // needle -> occurrences in the captured bytes

  RelayStats& operator+=(const RelayStats& other);
};

class Relay {
 public:
  // Listens on a free port of 127.0.0.1 and forwards to 127.0.0.1:`target_port`.
  static Result<std::unique_ptr<Relay>> Start(uint16_t target_port,
                                              std::vector<std::string> needles);
  ~Relay();  // stops accepting, closes every connection and joins its threads
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  [[nodiscard]] uint16_t port() const;
  [[nodiscard]] RelayStats stats() const;

  struct State;

 private:
  explicit Relay(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// A port of 127.0.0.1 that was free a moment ago (bound to port 0, then closed).
Result<uint16_t> FreeLocalPort();

}  // namespace cloister::e2e
