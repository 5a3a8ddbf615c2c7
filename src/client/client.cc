#include "cloister/client/client.h"

#include <charconv>
#include <nlohmann/json.hpp>
#include <thread>

namespace cloister::client {
namespace {

Result<uint64_t> ParseDecimal(std::string_view text) {
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || ptr != end) {
    return ParseError("'", text, "' is not a decimal number");
  }
  return value;
}

// "https://host:port/anything" -> "host:port".
std::optional<std::string> RedirectAuthority(const std::string& location) {
  constexpr std::string_view kScheme = "https://";
  if (location.compare(0, kScheme.size(), kScheme) != 0) return std::nullopt;
  const size_t end = location.find('/', kScheme.size());
  std::string authority = location.substr(
      kScheme.size(), end == std::string::npos ? std::string::npos : end - kScheme.size());
  if (authority.empty()) return std::nullopt;
  return authority;
}

int64_t SystemUnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool Retryable(const Result<Response>& response) {
  if (!response.ok()) {
    return response.error().code == ErrorCode::kIo ||
           response.error().code == ErrorCode::kTimeout ||
           response.error().code == ErrorCode::kUnavailable;
  }
  return response->status == 503;
}

// A node's 400 {"error": {"code": "stale_hpke_key"}}: the envelope is sealed to a service HPKE
// key that governance has rotated.
bool IsStaleKeyRefusal(const Response& response) {
  if (response.status != 400) return false;
  const nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return false;
  auto error = body.find("error");
  if (error == body.end() || !error->is_object()) return false;
  auto code = error->find("code");
  return code != error->end() && code->is_string() && *code == kStaleHpkeKeyCode;
}

}  // namespace

std::string TxId::ToString() const { return std::to_string(term) + "." + std::to_string(index); }

Result<TxId> TxId::Parse(std::string_view text) {
  const size_t dot = text.find('.');
  if (dot == std::string_view::npos) {
    return ParseError("transaction id '", text, "' is not term.index");
  }
  Result<uint64_t> term = ParseDecimal(text.substr(0, dot));
  Result<uint64_t> index = ParseDecimal(text.substr(dot + 1));
  if (!term.ok() || !index.ok()) {
    return ParseError("transaction id '", text, "' is not term.index (two decimal numbers)");
  }
  return TxId{*term, *index};
}

std::string_view TxStateName(TxState state) {
  switch (state) {
    case TxState::kUnknown:
      return "Unknown";
    case TxState::kPending:
      return "Pending";
    case TxState::kCommitted:
      return "Committed";
    case TxState::kInvalid:
      return "Invalid";
  }
  return "Unknown";
}

Result<TxState> ParseTxState(std::string_view name) {
  for (TxState state :
       {TxState::kUnknown, TxState::kPending, TxState::kCommitted, TxState::kInvalid}) {
    if (TxStateName(state) == name) return state;
  }
  return ParseError("transaction status '", name, "' is none of Unknown, Pending, Committed, ",
                    "Invalid");
}

Client::Client(Transport* transport, std::string server, tee::Policy expected_policy,
               crypto::Certificate service_certificate, ClientOptions options)
    : transport_(transport),
      server_(std::move(server)),
      policy_(std::move(expected_policy)),
      service_certificate_(std::move(service_certificate)),
      options_(std::move(options)) {
  if (!options_.unix_now) options_.unix_now = SystemUnixNow;
  if (!options_.sleep) {
    options_.sleep = [](std::chrono::milliseconds duration) {
      std::this_thread::sleep_for(duration);
    };
  }
}

bool Client::IsVerifiedAddress(const std::string& address) const {
  if (!service_) return false;
  for (const VerifiedNode& node : service_->nodes) {
    if (node.client_address == address) return true;
  }
  return false;
}

Result<Response> Client::Exchange(const std::string& method, const std::string& target,
                                  const std::string& body) {
  for (int redirects = 0; redirects <= options_.max_redirects; ++redirects) {
    ASSIGN_OR_RETURN(Response response, transport_->Request(server_, method, target, body));
    if (response.status != 307 && response.status != 308) return response;
    const std::optional<std::string> location = response.Header("location");
    const std::optional<std::string> authority =
        location ? RedirectAuthority(*location) : std::nullopt;
    if (!authority) {
      return ParseError("redirect from ", server_, " without a usable https location");
    }
    if (!IsVerifiedAddress(*authority)) {
      return VerificationError("redirect from ", server_, " to ", *authority,
                               ", which is not the client address of a verified node");
    }
    server_ = *authority;
  }
  return UnavailableError("more than ", options_.max_redirects, " redirects for ", target);
}

Result<Response> Client::ExchangeWithRetries(const std::string& method, const std::string& target,
                                             const std::string& body, int* attempts) {
  Result<Response> response = UnavailableError("no attempt made");
  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    if (attempt > 0) options_.sleep(options_.retry_interval);
    if (attempts != nullptr) *attempts = attempt + 1;
    response = Exchange(method, target, body);
    if (!Retryable(response)) return response;
  }
  if (!response.ok()) return response.error();
  return ErrorFromResponse(*response);
}

Result<VerifiedService> Client::Attest() {
  ASSIGN_OR_RETURN(Response response, ExchangeWithRetries("GET", "/node/attestation", ""));
  if (response.status != 200) return ErrorFromResponse(response);
  ASSIGN_OR_RETURN(ServiceView view, ParseServiceView(response.body));
  ASSIGN_OR_RETURN(VerifiedService verified,
                   VerifyService(view, policy_, service_certificate_, options_.unix_now()));
  ASSIGN_OR_RETURN(EventSealer sealer, EventSealer::Create(verified.hpke_public_key));
  service_ = std::move(verified);
  sealer_ = std::move(sealer);
  return *service_;
}

Result<Submitted> Client::Submit(ByteSpan event) {
  if (!sealer_) {
    return FailedPreconditionError("the service's attestation has not been verified: nothing is ",
                                   "sent before Attest() succeeds");
  }
  ASSIGN_OR_RETURN(SealedEvent sealed, sealer_->Seal(event));
  bool stale = false;
  Result<Submitted> submitted = PostSealed(sealed, &stale);
  if (!stale) return submitted;
  // The service rotated its HPKE key since this client verified it. The new key is taken only
  // from an attestation verified exactly as at first contact (invariant 1).
  const Bytes stale_key = service_->hpke_public_key.ToRaw();
  Result<VerifiedService> verified = Attest();
  if (!verified.ok()) {
    return Error{verified.error().code,
                 "the service refused the event as sealed to a rotated HPKE key, and its "
                 "attestation fetched again does not verify: " +
                     verified.error().message};
  }
  if (verified->hpke_public_key.ToRaw() == stale_key) {
    return FailedPreconditionError("the service refused the event as sealed to a rotated HPKE ",
                                   "key, but its verified attestation still presents that key");
  }
  ASSIGN_OR_RETURN(SealedEvent resealed, sealer_->Seal(event));
  stale = false;
  submitted = PostSealed(resealed, &stale);
  if (stale) {
    return FailedPreconditionError(
        "the service refused the event as sealed to a rotated HPKE ",
        "key twice, the second time after it was resealed to the key of ",
        "a freshly verified attestation: ", submitted.error().message);
  }
  if (submitted.ok()) submitted->resealed = true;
  return submitted;
}

Result<Submitted> Client::SubmitSealed(const SealedEvent& sealed) {
  return PostSealed(sealed, nullptr);
}

Result<Submitted> Client::PostSealed(const SealedEvent& sealed, bool* stale_first_attempt) {
  if (!service_) {
    return FailedPreconditionError("the service's attestation has not been verified: nothing is ",
                                   "sent before Attest() succeeds");
  }
  for (int round = 0; round < options_.max_attempts; ++round) {
    if (round > 0) options_.sleep(options_.retry_interval);
    int attempts = 0;
    ASSIGN_OR_RETURN(Response response,
                     ExchangeWithRetries("POST", "/app/events", sealed.envelope_json, &attempts));
    if (response.status == 200) {
      const std::optional<std::string> header = response.Header(std::string(kTxIdHeader));
      if (!header) return ParseError("committed event answered without header ", kTxIdHeader);
      ASSIGN_OR_RETURN(TxId id, TxId::Parse(*header));
      return Submitted{id, std::move(response.body), sealed.context_id, sealed.seq};
    }
    // A replay refusal of an envelope this client sent before (an attempt that timed out or
    // whose transaction was still pending) may mean the earlier attempt committed: the node
    // names the transaction that carried the event, and its outcome decides.
    const bool sent_before = attempts > 1 || round > 0;
    if (IsStaleKeyRefusal(response)) {
      if (!sent_before) {
        if (stale_first_attempt != nullptr) *stale_first_attempt = true;
        return ErrorFromResponse(response);
      }
      if (stale_first_attempt != nullptr) {
        return FailedPreconditionError(
            "event ", sealed.context_id, ":", sealed.seq,
            " was refused as sealed to a rotated service HPKE key after an earlier attempt got ",
            "no answer; that attempt may have committed under the old key, so the event is not ",
            "resealed (a resealed copy would be a new event): check the application's state");
      }
      return ErrorFromResponse(response);
    }
    const std::optional<TxId> earlier =
        sent_before && response.status == 409 ? ReplayedTransaction(response.body) : std::nullopt;
    if (!earlier) return ErrorFromResponse(response);
    ASSIGN_OR_RETURN(const TxState state, AwaitOutcome(*earlier));
    if (state == TxState::kCommitted) {
      return Submitted{*earlier, "", sealed.context_id, sealed.seq, /*answer_lost=*/true};
    }
    // kInvalid: the earlier transaction was rolled back, and the event's replay mark with it;
    // the same envelope is submitted again.
  }
  return UnavailableError("event ", sealed.context_id, ":", sealed.seq, " not committed after ",
                          options_.max_attempts, " submissions");
}

std::optional<TxId> Client::ReplayedTransaction(const std::string& body) {
  const nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object() || !json.contains("transaction_id") ||
      !json["transaction_id"].is_string()) {
    return std::nullopt;
  }
  Result<TxId> id = TxId::Parse(json["transaction_id"].get<std::string>());
  if (!id.ok()) return std::nullopt;
  return *id;
}

Result<TxState> Client::AwaitOutcome(const TxId& id) {
  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    if (attempt > 0) options_.sleep(options_.retry_interval);
    ASSIGN_OR_RETURN(const TxState state, TxStatusOf(id));
    if (state == TxState::kCommitted || state == TxState::kInvalid) return state;
  }
  return TimeoutError("transaction ", id.ToString(), " neither committed nor invalid after ",
                      options_.max_attempts, " status queries");
}

Result<TxState> Client::TxStatusOf(const TxId& id) {
  ASSIGN_OR_RETURN(Response response,
                   ExchangeWithRetries("GET", "/tx/status?id=" + id.ToString(), ""));
  if (response.status != 200) return ErrorFromResponse(response);
  const nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.contains("status") ||
      !body["status"].is_string()) {
    return ParseError("/tx/status: field 'status' missing or not a string");
  }
  return ParseTxState(body["status"].get<std::string>());
}

Result<Bytes> Client::GetReceipt(const TxId& id) {
  const std::string target = "/receipt?id=" + id.ToString();
  Result<Response> response = UnavailableError("no attempt made");
  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    if (attempt > 0) options_.sleep(options_.retry_interval);
    response = ExchangeWithRetries("GET", target, "");
    if (!response.ok()) return response.error();
    // 409: committed but not yet covered by a signature transaction.
    if (response->status != 409) break;
  }
  if (response->status != 200) return ErrorFromResponse(*response);
  const nlohmann::json body = nlohmann::json::parse(response->body, nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.contains("receipt") ||
      !body["receipt"].is_string()) {
    return ParseError("/receipt: field 'receipt' missing or not a string");
  }
  Result<Bytes> receipt = Base64Decode(body["receipt"].get<std::string>());
  if (!receipt.ok()) return ParseError("/receipt: field 'receipt' is not valid base64");
  return receipt;
}

Result<ledger::ReceiptClaims> Client::VerifyReceipt(ByteSpan receipt, const TxId& id) const {
  ASSIGN_OR_RETURN(crypto::PublicKey key, service_certificate_.SubjectPublicKey());
  ASSIGN_OR_RETURN(ledger::ReceiptClaims claims, ledger::VerifyReceipt(receipt, key));
  if (claims.header.index != id.index || claims.header.term != id.term) {
    return VerificationError("the receipt is for transaction ", claims.header.term, ".",
                             claims.header.index, ", not ", id.ToString());
  }
  return claims;
}

Result<Response> Client::Get(const std::string& target) {
  ASSIGN_OR_RETURN(Response response, ExchangeWithRetries("GET", target, ""));
  if (response.status >= 300) return ErrorFromResponse(response);
  return response;
}

Result<Response> Client::Post(const std::string& target, const std::string& body) {
  ASSIGN_OR_RETURN(Response response, ExchangeWithRetries("POST", target, body));
  if (response.status >= 300) return ErrorFromResponse(response);
  return response;
}

}  // namespace cloister::client
