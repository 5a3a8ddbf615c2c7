// Node: one cloisterd process. It owns the Replica and drives it from a single Boost.Asio
// io_context: a raft tick timer, node-to-node TLS channels carrying raft messages, the client
// HTTPS API, the periodic signature transaction, and the genesis and join protocols.
//
// Invariants:
//  1. Everything runs on the io_context's thread; the Replica is never touched elsewhere.
//  2. After every input (a message, a tick, a transaction) the replica is processed before the
//     loop waits again, so raft's persist -> send -> apply order (replica.h) holds; a Process()
//     error stops the node (a restarted process is a new member).
//  3. Node-to-node channels accept a peer only if its certificate's key belongs to a node of the
//     committed state (HOST_ATTACKS.md H4), and a raft message is accepted only when its `from`
//     is the node id that key was admitted as.
//  4. The identity key, the service keys and the ledger secrets live only in memory; logs,
//     metrics and public maps never carry private values.
//  5. A client's write is answered only once its transaction commits (or is known lost).
#pragma once

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "cloister/base/result.h"
#include "cloister/kv/store.h"
#include "cloister/node/config.h"
#include "cloister/node/http_server.h"
#include "cloister/node/recovery.h"
#include "cloister/tee/evidence.h"

namespace cloister::node {

// The application a node serves (the node layer may not include apps: they plug in here).
class Application {
 public:
  virtual ~Application() = default;
  // Runs one decrypted event inside `tx` on the leader. Returns the JSON body sent to the client
  // once the transaction commits. An error aborts the transaction and is sent instead.
  virtual Result<std::string> Execute(kv::Tx& tx, ByteSpan event) = 0;
  // Answers GET /app/<...> over the committed state.
  virtual Result<HttpResponse> Read(kv::Tx& tx, const HttpRequest& request) = 0;
};

struct NodeOptions {
  NodeConfig config;
  std::unique_ptr<tee::Attester> attester;
  Application* app = nullptr;  // must outlive the node
  // Set for `cloisterd recover` (the config then has neither [genesis] nor [join]).
  std::optional<RecoverSettings> recover;
  // Extra dependencies for tests: the clock used for certificates and attestation freshness is
  // the system clock.
};

class Node {
 public:
  // Genesis (config.genesis set), join (config.join set) or recovery (options.recover set):
  // creates the identity, attests, and founds the service, is admitted by the target, or starts
  // a new service from the old ledgers (docs/recovery.md). Blocking network calls of the join
  // happen here, before the node starts serving. Then binds the listeners and starts the loop's
  // timers; the caller runs `io`.
  static Result<std::unique_ptr<Node>> Start(boost::asio::io_context& io, NodeOptions options);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Stops listeners, channels and timers (the loop then runs out of work). Idempotent.
  void Stop();

  [[nodiscard]] uint16_t client_port() const;
  [[nodiscard]] uint16_t node_port() const;
  [[nodiscard]] uint64_t id() const;
  // Set when the node stopped because of a fatal error.
  [[nodiscard]] const std::optional<Error>& failure() const;

  struct Impl;

 private:
  explicit Node(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cloister::node
