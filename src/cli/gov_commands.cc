// `cloister gov ...`: governance requests made offline, as files a member then submits to the
// network (docs/governance.md).
//
//   cloister gov propose --action NAME [--args JSON] | --proposal FILE   SIGNING OUT
//   cloister gov vote --proposal-id ID (--for | --against)              SIGNING OUT
//   cloister gov withdraw --proposal-id ID                              SIGNING OUT
//   cloister gov recovery-share --encrypted-share FILE --encryption-key PEM  SIGNING OUT
//   cloister gov finish --prepared FILE --signature FILE --signing-cert PEM --out FILE
//   cloister gov submit FILE  CONNECT       submit a signed request; prints the proposal's state
//   cloister gov list CONNECT               every proposal: id, state, votes, actions
//   cloister gov show ID CONNECT            one proposal as JSON (with its threshold)
//
// CONNECT is --sandbox D, or --server HOST:PORT --service-cert PEM --policy FILE: the service
// is verified (attestation against the policy) before anything is sent.
//
// SIGNING is --service-cert PEM (the service the request is for: its SHA-256 goes into the
// signed header, so the request is refused by any other service) and --signing-cert PEM plus
// either --signing-key PEM (sign here) or --prepare-only
// (write OUT as a prepared request and OUT.tbs, the exact bytes an HSM must sign; then run
// `gov finish` with the signature, raw r||s or DER). Every request gets created_at = now (or
// --created-at) and a random 16-byte nonce. Exit 0 on success, 1 when an input is refused
// (a proposal that does not validate, a share that does not open, a signature that does not
// verify), 2 on usage or I/O errors.
#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>

#include "client_support.h"
#include "cloister/crypto/key.h"
#include "cloister/crypto/random.h"
#include "cloister/crypto/x509.h"
#include "cloister/gov/proposals.h"
#include "cloister/gov/recovery.h"
#include "cloister/gov/request.h"
#include "command_registry.h"

namespace cloister::cli {
namespace {

struct SigningOptions {
  std::string service_certificate_path;
  std::string key_path;
  std::string certificate_path;
  std::string out_path;
  int64_t created_at = 0;
  bool prepare_only = false;
};

Result<Bytes> ReadFileBytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return IoError("cannot read '", path, "'");
  return Bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

Status WriteFileBytes(const std::string& path, ByteSpan bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) return IoError("cannot create '", path, "'");
  file.write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
  file.close();
  if (!file) return IoError("cannot write '", path, "'");
  return OkStatus();
}

Result<crypto::Certificate> ReadCertificate(const std::string& path) {
  ASSIGN_OR_RETURN(Bytes bytes, ReadFileBytes(path));
  return crypto::Certificate::FromDerOrPem(bytes);
}

int64_t NowUnixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Prepares the request and either signs and finishes it, or writes the prepared form and the
// bytes to sign.
Status MakeRequest(const SigningOptions& signing, gov::RequestType type,
                   const std::string& proposal_id, ByteSpan payload) {
  ASSIGN_OR_RETURN(crypto::Certificate certificate, ReadCertificate(signing.certificate_path));
  ASSIGN_OR_RETURN(crypto::Certificate service, ReadCertificate(signing.service_certificate_path));
  gov::RequestHeaders headers{type, signing.created_at > 0 ? signing.created_at : NowUnixSeconds(),
                              proposal_id, crypto::SecureRandomBytes(16),
                              gov::ServiceIdOf(service)};
  ASSIGN_OR_RETURN(gov::PreparedRequest prepared,
                   gov::PreparedRequest::Prepare(certificate, headers, payload));
  if (signing.prepare_only) {
    RETURN_IF_ERROR(WriteFileBytes(signing.out_path, prepared.Encode()));
    RETURN_IF_ERROR(WriteFileBytes(signing.out_path + ".tbs", prepared.ToBeSigned()));
    std::cout << "prepared " << signing.out_path << "; sign the bytes of " << signing.out_path
              << ".tbs with " << crypto::cose::AlgorithmName(prepared.algorithm())
              << ", then run `cloister gov finish`\n";
    return OkStatus();
  }
  if (signing.key_path.empty()) {
    return InvalidArgumentError("give --signing-key, or --prepare-only to sign elsewhere");
  }
  ASSIGN_OR_RETURN(Bytes key_pem, ReadFileBytes(signing.key_path));
  ASSIGN_OR_RETURN(crypto::PrivateKey key, crypto::PrivateKey::FromPem(AsString(key_pem)));
  ASSIGN_OR_RETURN(Bytes signature, gov::SignToBeSigned(key, prepared.ToBeSigned()));
  ASSIGN_OR_RETURN(Bytes message, prepared.Finish(certificate, signature));
  RETURN_IF_ERROR(WriteFileBytes(signing.out_path, message));
  std::cout << "wrote " << gov::RequestTypeName(type) << " " << signing.out_path << "\n";
  return OkStatus();
}

Status Propose(const SigningOptions& signing, const std::string& action, const std::string& args,
               const std::string& proposal_path) {
  std::string payload;
  if (!proposal_path.empty()) {
    ASSIGN_OR_RETURN(Bytes document, ReadFileBytes(proposal_path));
    payload = ToString(document);
    Status valid = gov::ValidateProposal(document);
    if (!valid.ok()) return PolicyError(valid.error().message);
  } else {
    Result<std::string> made = gov::MakeProposal(action, args);
    if (!made.ok()) return PolicyError(made.error().message);
    payload = *made;
  }
  return MakeRequest(signing, gov::RequestType::kProposal, "", AsBytes(payload));
}

Status RecoveryShare(const SigningOptions& signing, const std::string& share_path,
                     const std::string& encryption_key_path) {
  ASSIGN_OR_RETURN(Bytes share_json, ReadFileBytes(share_path));
  ASSIGN_OR_RETURN(gov::EncryptedShare encrypted,
                   gov::EncryptedShare::FromJson(AsString(share_json)));
  ASSIGN_OR_RETURN(Bytes key_pem, ReadFileBytes(encryption_key_path));
  ASSIGN_OR_RETURN(crypto::PrivateKey key, crypto::PrivateKey::FromPem(AsString(key_pem)));
  Result<gov::shamir::Share> share = gov::DecryptShare(encrypted, key);
  if (!share.ok()) return PolicyError(share.error().message);
  const std::string payload = gov::RecoverySharePayload(*share);
  return MakeRequest(signing, gov::RequestType::kRecoveryShare, "", AsBytes(payload));
}

Status Finish(const std::string& prepared_path, const std::string& signature_path,
              const std::string& certificate_path, const std::string& out_path) {
  ASSIGN_OR_RETURN(Bytes encoded, ReadFileBytes(prepared_path));
  ASSIGN_OR_RETURN(gov::PreparedRequest prepared, gov::PreparedRequest::Decode(encoded));
  ASSIGN_OR_RETURN(Bytes signature, ReadFileBytes(signature_path));
  ASSIGN_OR_RETURN(crypto::Certificate certificate, ReadCertificate(certificate_path));
  Result<Bytes> message = prepared.Finish(certificate, signature);
  if (!message.ok()) return PolicyError(message.error().message);
  RETURN_IF_ERROR(WriteFileBytes(out_path, *message));
  std::cout << "wrote " << out_path << "\n";
  return OkStatus();
}

// The node's answer to a request or a read: refusals by the node are exit 1 (the error names the
// reason), transport and usage errors exit 2.
Status Submit(const ConnectFlags& connect, const std::string& path) {
  ASSIGN_OR_RETURN(Bytes request, ReadFileBytes(path));
  ASSIGN_OR_RETURN(Connected connected, Connect(connect));
  ASSIGN_OR_RETURN(client::Response answer,
                   connected.client->Post("/gov/requests", ToString(request)));
  nlohmann::json body = nlohmann::json::parse(answer.body, nullptr, false);
  if (!body.is_object()) return ParseError("the node's answer is not JSON");
  std::cout << body.value("type", std::string("request")) << " executed in transaction "
            << body.value("transaction_id", std::string("?")) << ": proposal "
            << body.value("proposal_id", std::string("?")) << " is "
            << body.value("state", std::string("?")) << " (" << body.value("votes_for", uint64_t{0})
            << " for, " << body.value("votes_against", uint64_t{0}) << " against, "
            << body.value("threshold", uint64_t{0}) << " needed)\n";
  return OkStatus();
}

Status List(const ConnectFlags& connect) {
  ASSIGN_OR_RETURN(Connected connected, Connect(connect, /*attest=*/false));
  ASSIGN_OR_RETURN(client::Response answer, connected.client->Get("/gov/proposals"));
  nlohmann::json body = nlohmann::json::parse(answer.body, nullptr, false);
  if (!body.is_object() || !body.contains("proposals") || !body["proposals"].is_array()) {
    return ParseError("the node's answer has no proposals list");
  }
  std::cout << "proposal id                                                        state      "
               "for against  actions\n";
  for (const nlohmann::json& proposal : body["proposals"]) {
    size_t in_favour = 0;
    size_t against = 0;
    const nlohmann::json votes = proposal.value("votes", nlohmann::json::object());
    for (const auto& [member, vote] : votes.items()) {
      (void)member;
      ++(vote == "for" ? in_favour : against);
    }
    std::string actions;
    const nlohmann::json listed = proposal.value("actions", nlohmann::json::array());
    for (const nlohmann::json& action : listed) {
      actions += (actions.empty() ? "" : ",") + action.value("name", std::string("?"));
    }
    std::string state = proposal.value("state", std::string("?"));
    state.resize(std::max<size_t>(state.size(), 10), ' ');
    std::cout << proposal.value("id", std::string("?")) << " " << state << " " << in_favour << "   "
              << against << "        " << actions << "\n";
  }
  return OkStatus();
}

Status Show(const ConnectFlags& connect, const std::string& id) {
  if (id.empty() || id.size() > 64 ||
      id.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return InvalidArgumentError("a proposal id is up to 64 lower-case hex digits");
  }
  ASSIGN_OR_RETURN(Connected connected, Connect(connect, /*attest=*/false));
  ASSIGN_OR_RETURN(client::Response answer, connected.client->Get("/gov/proposals/" + id));
  nlohmann::json body = nlohmann::json::parse(answer.body, nullptr, false);
  if (!body.is_object()) return ParseError("the node's answer is not JSON");
  std::cout << body.dump(2) << "\n";
  return OkStatus();
}

int Report(std::string_view verb, const Status& status) {
  if (status.ok()) return kExitOk;
  std::cerr << "cloister gov " << verb << ": " << status.error().ToString() << "\n";
  const ErrorCode code = status.error().code;
  const bool refused = code == ErrorCode::kPolicy || code == ErrorCode::kVerification ||
                       code == ErrorCode::kPermissionDenied || code == ErrorCode::kAlreadyExists ||
                       code == ErrorCode::kOutOfRange || code == ErrorCode::kFailedPrecondition ||
                       code == ErrorCode::kNotFound;
  return refused ? kExitRejected : kExitUsage;
}

void AddSigningOptions(CLI::App* command, const std::shared_ptr<SigningOptions>& signing) {
  command
      ->add_option("--service-cert", signing->service_certificate_path,
                   "Certificate of the service the request is for (PEM)")
      ->required();
  command->add_option("--signing-cert", signing->certificate_path, "Member certificate (PEM)")
      ->required();
  command->add_option("--signing-key", signing->key_path, "Member signing key (PEM)");
  command->add_flag("--prepare-only", signing->prepare_only,
                    "Write a prepared request and OUT.tbs to sign elsewhere");
  command->add_option("--created-at", signing->created_at, "Unix seconds (default: now)");
  command->add_option("--out", signing->out_path, "Output file")->required();
}

void AddGovCommands(CLI::App& app, int* exit_code) {
  CLI::App* gov = app.add_subcommand("gov", "Governance requests (signed offline)");
  gov->require_subcommand(1);

  CLI::App* propose = gov->add_subcommand("propose", "Sign a proposal");
  auto propose_signing = std::make_shared<SigningOptions>();
  auto action = std::make_shared<std::string>();
  auto args = std::make_shared<std::string>("{}");
  auto proposal_path = std::make_shared<std::string>();
  CLI::Option* action_option = propose->add_option("--action", *action, "Action name");
  propose->add_option("--args", *args, "Action arguments (JSON object)")->needs(action_option);
  propose->add_option("--proposal", *proposal_path, "Proposal document (JSON), several actions")
      ->excludes(action_option);
  AddSigningOptions(propose, propose_signing);
  propose->callback([=] {
    if (action->empty() && proposal_path->empty()) {
      *exit_code = Report("propose", InvalidArgumentError("give --action or --proposal"));
      return;
    }
    *exit_code = Report("propose", Propose(*propose_signing, *action, *args, *proposal_path));
  });

  CLI::App* vote = gov->add_subcommand("vote", "Sign a ballot");
  auto vote_signing = std::make_shared<SigningOptions>();
  auto vote_id = std::make_shared<std::string>();
  auto in_favour = std::make_shared<bool>(false);
  auto against = std::make_shared<bool>(false);
  vote->add_option("--proposal-id", *vote_id, "Proposal id (hex)")->required();
  CLI::Option* for_flag = vote->add_flag("--for", *in_favour, "Vote for");
  vote->add_flag("--against", *against, "Vote against")->excludes(for_flag);
  AddSigningOptions(vote, vote_signing);
  vote->callback([=] {
    if (*in_favour == *against) {
      *exit_code = Report("vote", InvalidArgumentError("give exactly one of --for, --against"));
      return;
    }
    const std::string ballot = *in_favour ? R"({"vote":"for"})" : R"({"vote":"against"})";
    *exit_code = Report(
        "vote", MakeRequest(*vote_signing, gov::RequestType::kBallot, *vote_id, AsBytes(ballot)));
  });

  CLI::App* withdraw = gov->add_subcommand("withdraw", "Sign a withdrawal of your proposal");
  auto withdraw_signing = std::make_shared<SigningOptions>();
  auto withdraw_id = std::make_shared<std::string>();
  withdraw->add_option("--proposal-id", *withdraw_id, "Proposal id (hex)")->required();
  AddSigningOptions(withdraw, withdraw_signing);
  withdraw->callback([=] {
    *exit_code = Report("withdraw", MakeRequest(*withdraw_signing, gov::RequestType::kWithdrawal,
                                                *withdraw_id, {}));
  });

  CLI::App* share = gov->add_subcommand("recovery-share", "Open your recovery share and sign it");
  auto share_signing = std::make_shared<SigningOptions>();
  auto share_path = std::make_shared<std::string>();
  auto encryption_key = std::make_shared<std::string>();
  share->add_option("--encrypted-share", *share_path, "Encrypted share (JSON)")->required();
  share->add_option("--encryption-key", *encryption_key, "Member encryption key (PEM)")->required();
  AddSigningOptions(share, share_signing);
  share->callback([=] {
    *exit_code =
        Report("recovery-share", RecoveryShare(*share_signing, *share_path, *encryption_key));
  });

  CLI::App* finish = gov->add_subcommand("finish", "Assemble a prepared request and signature");
  auto prepared = std::make_shared<std::string>();
  auto signature = std::make_shared<std::string>();
  auto certificate = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  finish->add_option("--prepared", *prepared, "Prepared request")->required();
  finish->add_option("--signature", *signature, "Signature (raw r||s, DER or Ed25519)")->required();
  finish->add_option("--signing-cert", *certificate, "Member certificate (PEM)")->required();
  finish->add_option("--out", *out, "Output file")->required();
  finish->callback(
      [=] { *exit_code = Report("finish", Finish(*prepared, *signature, *certificate, *out)); });

  CLI::App* submit = gov->add_subcommand("submit", "Submit a signed request to the network");
  auto submit_connect = std::make_shared<ConnectFlags>();
  auto submit_path = std::make_shared<std::string>();
  submit->add_option("request", *submit_path, "Signed request (COSE_Sign1 file)")->required();
  submit_connect->AddTo(submit);
  submit->callback([=] { *exit_code = Report("submit", Submit(*submit_connect, *submit_path)); });

  CLI::App* list = gov->add_subcommand("list", "List the network's proposals");
  auto list_connect = std::make_shared<ConnectFlags>();
  list_connect->AddTo(list);
  list->callback([=] { *exit_code = Report("list", List(*list_connect)); });

  CLI::App* show = gov->add_subcommand("show", "Show one proposal");
  auto show_connect = std::make_shared<ConnectFlags>();
  auto show_id = std::make_shared<std::string>();
  show->add_option("id", *show_id, "Proposal id (hex)")->required();
  show_connect->AddTo(show);
  show->callback([=] { *exit_code = Report("show", Show(*show_connect, *show_id)); });
}

const bool kRegistered = RegisterCommands("gov", &AddGovCommands);

}  // namespace
}  // namespace cloister::cli
