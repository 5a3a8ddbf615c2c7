// MessagingApp: the example confidential application of cloisterd (docs/api.md, "Example
// application events"): a key-value store and append-only message channels over private maps.
//
// Events arrive sealed to the service and are opened inside the node; the app only ever sees
// plaintext inside a transaction. Private data lives in private maps (`app.kv`,
// `app.messages`, `app.channels`), which the ledger stores encrypted; an event may ask for the
// public variant (`public:app.*`), stored in clear. Reads (GET /app/kv, GET /app/messages)
// return plaintext only over the node's TLS API.
//
// Invariants: every field of an event is validated (type, size, no control characters in keys)
// before anything is written; a channel's messages are numbered 0, 1, 2, ... without gaps, its
// length is stored with it, and keys sort by number (20-digit zero padding).
#pragma once

#include <string>

#include "cloister/node/node.h"

namespace cloister::apps {

inline constexpr size_t kMaxKeyBytes = 256;
inline constexpr size_t kMaxValueBytes = 64 * 1024;
inline constexpr size_t kMaxMessagesPerRead = 1000;

class MessagingApp final : public node::Application {
 public:
  // Applies one event (JSON, see the header comment). Returns the result JSON.
  Result<std::string> Execute(kv::Tx& tx, ByteSpan event) override;
  // GET /app/kv?key=K[&public=true] and GET /app/messages?channel=C[&public=true][&from][&limit].
  Result<node::HttpResponse> Read(kv::Tx& tx, const node::HttpRequest& request) override;
};

}  // namespace cloister::apps
