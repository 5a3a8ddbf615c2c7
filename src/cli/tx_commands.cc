// `cloister tx submit`, `cloister tx status ID`, `cloister tx get KEY`: sealed events to a
// Cloister service and what became of them (docs/client.md).
//
// submit verifies the service's attestation against the expected policy first (every node, see
// client/service.h), then seals one event of the example application with HPKE and waits until
// it commits: it prints the transaction id and exits 0 once committed, 1 when the service is
// refused or refuses the event, 2 for usage, I/O or an unreachable service.
#include <CLI/CLI.hpp>

#include <cctype>
#include <iostream>
#include <nlohmann/json.hpp>

#include "client_support.h"
#include "cloister/crypto/random.h"
#include "command_registry.h"

namespace cloister::cli {
namespace {

// Verification and refusal errors are "rejected" (1); everything else is usage/I/O (2).
int ExitCodeFor(const Error& error) {
  switch (error.code) {
    case ErrorCode::kVerification:
    case ErrorCode::kPolicy:
    case ErrorCode::kConflict:
    case ErrorCode::kPermissionDenied:
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kParse:
      return kExitRejected;
    default:
      return kExitUsage;
  }
}

struct SubmitFlags {
  ConnectFlags connect;
  std::string private_text;
  std::string public_text;
  std::string key;
  bool json = false;
};

// The example application's event (apps/messaging_app.h, docs/api.md): a put into its private
// map `app.kv`, or into `public:app.kv` with "public": true.
std::string MakeEvent(bool is_public, const std::string& key, const std::string& value) {
  nlohmann::json event;
  event["op"] = "put";
  event["key"] = key;
  event["value"] = value;
  if (is_public) event["public"] = true;
  return event.dump();
}

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string UrlEncode(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    }
  }
  return out;
}

int Submit(const SubmitFlags& flags) {
  const bool is_private = !flags.private_text.empty();
  if (is_private == !flags.public_text.empty()) {
    std::cerr << "cloister tx submit: give exactly one of --private TEXT and --public TEXT\n";
    return kExitUsage;
  }
  Result<Connected> connected = Connect(flags.connect);
  if (!connected.ok()) {
    std::cerr << "cloister tx submit: " << connected.error().ToString() << "\n";
    return ExitCodeFor(connected.error());
  }
  const std::string key =
      flags.key.empty() ? "msg-" + ToHex(crypto::SecureRandomBytes(8)) : flags.key;
  const std::string event =
      MakeEvent(!is_private, key, is_private ? flags.private_text : flags.public_text);
  Result<client::Submitted> submitted = connected->client->Submit(AsBytes(event));
  if (!submitted.ok()) {
    std::cerr << "cloister tx submit: " << submitted.error().ToString() << "\n";
    return ExitCodeFor(submitted.error());
  }
  if (flags.json) {
    nlohmann::json out;
    out["transaction_id"] = submitted->id.ToString();
    out["status"] = "Committed";
    out["key"] = key;
    out["visibility"] = is_private ? "private" : "public";
    out["context_id"] = submitted->context_id;
    out["seq"] = submitted->seq;
    out["answer"] = nlohmann::json::parse(submitted->body, nullptr, false);
    std::cout << out.dump() << "\n";
  } else {
    std::cout << submitted->id.ToString() << "\n";
    std::cerr << "committed " << (is_private ? "private" : "public") << " key " << key << "\n";
  }
  return kExitOk;
}

int Status(const ConnectFlags& connect, const std::string& id_text) {
  Result<client::TxId> id = client::TxId::Parse(id_text);
  if (!id.ok()) {
    std::cerr << "cloister tx status: " << id.error().ToString() << "\n";
    return kExitUsage;
  }
  Result<Connected> connected = Connect(connect, /*attest=*/false);
  Result<client::TxState> state = connected.ok() ? connected->client->TxStatusOf(*id)
                                                 : Result<client::TxState>(connected.error());
  if (!state.ok()) {
    std::cerr << "cloister tx status: " << state.error().ToString() << "\n";
    return ExitCodeFor(state.error());
  }
  std::cout << client::TxStateName(*state) << "\n";
  return *state == client::TxState::kInvalid ? kExitRejected : kExitOk;
}

int Get(const ConnectFlags& connect, const std::string& key, bool is_public) {
  const std::string target = "/app/kv?key=" + UrlEncode(key) + (is_public ? "&public=true" : "");
  // Reads return application data: verify the service before asking.
  Result<Connected> connected = Connect(connect);
  Result<client::Response> response =
      connected.ok() ? connected->client->Get(target) : Result<client::Response>(connected.error());
  if (!response.ok()) {
    std::cerr << "cloister tx get: " << response.error().ToString() << "\n";
    return response.error().code == ErrorCode::kNotFound ? kExitRejected
                                                         : ExitCodeFor(response.error());
  }
  std::cout << response->body << "\n";
  return kExitOk;
}

void AddTxCommands(CLI::App& app, int* exit_code) {
  CLI::App* tx = app.add_subcommand("tx", "Submit sealed events and follow transactions");
  tx->require_subcommand(1);

  auto submit_flags = std::make_shared<SubmitFlags>();
  CLI::App* submit = tx->add_subcommand(
      "submit", "Verify the service, seal one event (HPKE) and wait until it commits");
  submit_flags->connect.AddTo(submit);
  submit->add_option("--private", submit_flags->private_text, "Value for the private map");
  submit->add_option("--public", submit_flags->public_text, "Value for the public map");
  submit->add_option("--key", submit_flags->key, "Key to write (default: a random msg-<hex>)");
  submit->add_flag("--json", submit_flags->json, "Print a JSON object instead of the id");
  submit->callback([=] { *exit_code = Submit(*submit_flags); });

  auto status_connect = std::make_shared<ConnectFlags>();
  auto status_id = std::make_shared<std::string>();
  CLI::App* status = tx->add_subcommand("status", "Print Unknown, Pending, Committed or Invalid");
  status->add_option("ID", *status_id, "Transaction id term.index")->required();
  status_connect->AddTo(status);
  status->callback([=] { *exit_code = Status(*status_connect, *status_id); });

  auto get_connect = std::make_shared<ConnectFlags>();
  auto get_key = std::make_shared<std::string>();
  auto get_public = std::make_shared<bool>(false);
  CLI::App* get = tx->add_subcommand(
      "get", "Verify the service, then read a key of the example app (GET /app/kv)");
  get->add_option("KEY", *get_key, "Key written by tx submit")->required();
  get->add_flag("--public", *get_public, "Read the public map instead of the private one");
  get_connect->AddTo(get);
  get->callback([=] { *exit_code = Get(*get_connect, *get_key, *get_public); });
}

const bool kRegistered = RegisterCommands("tx", &AddTxCommands);

}  // namespace
}  // namespace cloister::cli
