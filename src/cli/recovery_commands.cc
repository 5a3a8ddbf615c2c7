// `cloister recovery ...`: a member's side of disaster recovery against a node started with
// `cloisterd recover` (docs/recovery.md).
//
//   cloister recovery status CONNECT
//       verifies the recovering service (attestation against --policy, pinned --service-cert),
//       prints its recovery state and checks every previous-service endorsement it records
//   cloister recovery submit CONNECT --encryption-key PEM --signing-key PEM --signing-cert PEM
//       verifies the service likewise, fetches this member's encrypted share from it, opens it
//       with the member's encryption key, signs it as a recovery_share request for that service
//       and submits it
//
// CONNECT is --server HOST:PORT --service-cert PEM (the NEW service certificate that
// `cloisterd recover` wrote) --policy FILE (the attestation policy the member expects). A share
// leaves the member's machine only after the service's evidence verified. Exit 0 on success,
// 1 when the service or a share is refused, 2 on usage, I/O or network errors.
#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <iostream>

#include "client_support.h"
#include "cloister/crypto/random.h"
#include "cloister/gov/recovery.h"
#include "cloister/gov/request.h"
#include "cloister/gov/tables.h"
#include "cloister/node/recovery.h"
#include "command_registry.h"

namespace cloister::cli {
namespace {

using json = nlohmann::json;

int Fail(std::string_view verb, const Error& error) {
  std::cerr << "cloister recovery " << verb << ": " << error.ToString() << "\n";
  const bool refused = error.code == ErrorCode::kPolicy || error.code == ErrorCode::kVerification ||
                       error.code == ErrorCode::kPermissionDenied;
  return refused ? kExitRejected : kExitUsage;
}

Error FromResponse(const client::Response& response, std::string_view what) {
  json body = json::parse(response.body, nullptr, false);
  std::string message = response.body.substr(0, 512);
  if (body.is_object() && body.contains("error") && body["error"].is_object()) {
    message = body["error"].value("message", message);
  }
  const ErrorCode code = response.status == 403 ? ErrorCode::kPolicy : ErrorCode::kUnavailable;
  return Error{code,
               std::string(what) + ": HTTP " + std::to_string(response.status) + ": " + message};
}

// The pinned service certificate (from --service-cert, or the sandbox's).
Result<crypto::Certificate> PinnedCertificate(const ConnectFlags& connect) {
  std::string path = connect.service_certificate;
  if (path.empty() && !connect.sandbox.empty()) {
    ASSIGN_OR_RETURN(SandboxLayout layout, SandboxLayout::Load(connect.sandbox));
    path = layout.service_certificate_path;
  }
  ASSIGN_OR_RETURN(std::string text, ReadTextFile(path, 1u << 20));
  return crypto::Certificate::FromDerOrPem(AsBytes(text));
}

int ShowStatus(const ConnectFlags& connect) {
  Result<Connected> connected = Connect(connect);
  if (!connected.ok()) return Fail("status", connected.error());
  Result<crypto::Certificate> service = PinnedCertificate(connect);
  if (!service.ok()) return Fail("status", service.error());
  Result<client::Response> answer =
      connected->transport->Request(connected->client->server(), "GET", "/gov/recovery", "");
  if (!answer.ok()) return Fail("status", answer.error());
  if (answer->status != 200) return Fail("status", FromResponse(*answer, "GET /gov/recovery"));
  json state = json::parse(answer->body, nullptr, false);
  if (!state.is_object()) return Fail("status", ParseError("GET /gov/recovery: not JSON"));
  for (const json& item : state.value("previous_services", json::array())) {
    Result<node::PreviousService> previous = node::PreviousService::FromJson(item.dump());
    Status verified =
        previous.ok() ? node::VerifyPreviousService(*previous, *service) : Status(previous.error());
    if (!verified.ok()) return Fail("status", verified.error());
    std::cerr << "endorsement of previous service " << previous->previous_ledger_id
              << " (recovered to entry " << previous->previous_last_signed_index << ") verified\n";
  }
  std::cout << state.dump(2) << "\n";
  return kExitOk;
}

struct MemberFiles {
  std::string encryption_key;
  std::string signing_key;
  std::string signing_certificate;
};

int Submit(const ConnectFlags& connect, const MemberFiles& member) {
  Result<crypto::Certificate> service = PinnedCertificate(connect);
  if (!service.ok()) return Fail("submit", service.error());
  Result<std::string> certificate_text = ReadTextFile(member.signing_certificate, 1u << 20);
  Result<std::string> signing_text = ReadTextFile(member.signing_key, 1u << 20);
  Result<std::string> encryption_text = ReadTextFile(member.encryption_key, 1u << 20);
  for (const Result<std::string>* read : {&certificate_text, &signing_text, &encryption_text}) {
    if (!read->ok()) return Fail("submit", read->error());
  }
  Result<crypto::Certificate> certificate =
      crypto::Certificate::FromDerOrPem(AsBytes(*certificate_text));
  Result<crypto::PrivateKey> signing_key = crypto::PrivateKey::FromPem(*signing_text);
  Result<crypto::PrivateKey> encryption_key = crypto::PrivateKey::FromPem(*encryption_text);
  if (!certificate.ok()) return Fail("submit", certificate.error());
  if (!signing_key.ok()) return Fail("submit", signing_key.error());
  if (!encryption_key.ok()) return Fail("submit", encryption_key.error());

  // Nothing leaves this machine before the service's evidence verified.
  Result<Connected> connected = Connect(connect);
  if (!connected.ok()) return Fail("submit", connected.error());
  const std::string member_id = gov::MemberIdOf(*certificate);
  Result<client::Response> fetched = connected->transport->Request(
      connected->client->server(), "GET", "/gov/recovery/share/" + member_id, "");
  if (!fetched.ok()) return Fail("submit", fetched.error());
  if (fetched->status != 200) {
    return Fail("submit", FromResponse(*fetched, "GET the encrypted share of " + member_id));
  }
  Result<gov::EncryptedShare> encrypted = gov::EncryptedShare::FromJson(fetched->body);
  if (!encrypted.ok()) return Fail("submit", encrypted.error());
  if (encrypted->member_id != member_id) {
    return Fail("submit", VerificationError("the service sent the share of member ",
                                            encrypted->member_id, ", not ", member_id));
  }
  Result<gov::shamir::Share> share = gov::DecryptShare(*encrypted, *encryption_key);
  if (!share.ok()) return Fail("submit", share.error());
  gov::RequestHeaders headers;
  headers.type = gov::RequestType::kRecoveryShare;
  headers.created_at_unix_seconds = std::chrono::duration_cast<std::chrono::seconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count();
  headers.nonce = crypto::SecureRandomBytes(16);
  headers.service_id = gov::ServiceIdOf(*service);
  const std::string payload = gov::RecoverySharePayload(*share);
  Result<Bytes> request = gov::SignRequest(*signing_key, *certificate, headers, AsBytes(payload));
  if (!request.ok()) return Fail("submit", request.error());
  Result<client::Response> answer = connected->transport->Request(
      connected->client->server(), "POST", "/gov/recovery/shares", std::string(AsString(*request)));
  if (!answer.ok()) return Fail("submit", answer.error());
  if (answer->status != 200 && answer->status != 202) {
    return Fail("submit", FromResponse(*answer, "POST /gov/recovery/shares"));
  }
  std::cout << answer->body << "\n";
  return kExitOk;
}

void AddRecoveryCommands(CLI::App& app, int* exit_code) {
  CLI::App* recovery =
      app.add_subcommand("recovery", "A member's side of disaster recovery (docs/recovery.md)");
  recovery->require_subcommand(1);

  CLI::App* status = recovery->add_subcommand(
      "status", "Verify a recovering service and print its recovery state");
  auto status_connect = std::make_shared<ConnectFlags>();
  status_connect->AddTo(status);
  status->callback([=] { *exit_code = ShowStatus(*status_connect); });

  CLI::App* submit = recovery->add_subcommand(
      "submit", "Fetch, open, sign and submit your recovery share to a verified service");
  auto submit_connect = std::make_shared<ConnectFlags>();
  auto member = std::make_shared<MemberFiles>();
  submit_connect->AddTo(submit);
  submit->add_option("--encryption-key", member->encryption_key, "Member encryption key (PEM)")
      ->required();
  submit->add_option("--signing-key", member->signing_key, "Member signing key (PEM)")->required();
  submit->add_option("--signing-cert", member->signing_certificate, "Member certificate (PEM)")
      ->required();
  submit->callback([=] { *exit_code = Submit(*submit_connect, *member); });
}

const bool kRegistered = RegisterCommands("recovery", &AddRecoveryCommands);

}  // namespace
}  // namespace cloister::cli
