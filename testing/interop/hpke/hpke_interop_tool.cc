// The C++ side of the HPKE interop test: a small driver over cloister::crypto::hpke that the
// Node script (hpke_interop.mjs) runs against @hpke/core. Test-only.
//
//   hpke_interop_tool keygen 16|32       -> {"private_key": hex, "public_key": hex}
//   hpke_interop_tool seal < request     -> {"enc": hex, "ciphertexts": [hex...], "exported": hex}
//   hpke_interop_tool open < request     -> {"plaintexts": [hex...], "exported": hex}
//
// Requests are JSON objects on stdin with hex strings: "kem", "aead", "mode" (numbers), "info",
// "psk", "psk_id", "export_context", "export_length", and "messages" (seal: [{"aad", "pt"}],
// open: [{"aad", "ct"}]); seal takes "recipient_public_key" and, in the auth modes,
// "sender_private_key"; open takes "recipient_private_key", "enc" and "sender_public_key".
// All messages of one request go through one context, in order. Exit status: 0 done, 1 a
// message did not open (or another HPKE refusal), 2 a malformed request or usage error.
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"
#include "cloister/crypto/hpke.h"
#include "cloister/crypto/key.h"

namespace cloister::interop {
namespace {

namespace hpke = crypto::hpke;
using nlohmann::json;

constexpr int kExitRejected = 1;
constexpr int kExitUsage = 2;

Result<Bytes> HexField(const json& object, const char* name, bool required) {
  if (!object.contains(name)) {
    if (required) return ParseError("request has no \"", name, "\"");
    return Bytes{};
  }
  if (!object[name].is_string()) return ParseError("\"", name, "\" is not a hex string");
  Result<Bytes> bytes = FromHex(object[name].get<std::string>());
  if (!bytes.ok()) return bytes.error().WithContext(name);
  return bytes;
}

Result<uint64_t> NumberField(const json& object, const char* name) {
  if (!object.contains(name) || !object[name].is_number_unsigned()) {
    return ParseError("request has no unsigned number \"", name, "\"");
  }
  return object[name].get<uint64_t>();
}

Result<uint16_t> IdField(const json& object, const char* name) {
  ASSIGN_OR_RETURN(const uint64_t value, NumberField(object, name));
  if (value > 0xffff) return ParseError("\"", name, "\" is ", value, ", not a 16-bit identifier");
  return static_cast<uint16_t>(value);
}

// The parts of a request that seal and open share.
struct Common {
  hpke::Suite suite;
  hpke::Mode mode = hpke::Mode::kBase;
  Bytes info, psk, psk_id, export_context;
  size_t export_length = 0;
};

Result<Common> ParseCommon(const json& request) {
  Common common;
  ASSIGN_OR_RETURN(const uint16_t kem, IdField(request, "kem"));
  ASSIGN_OR_RETURN(const uint16_t aead, IdField(request, "aead"));
  ASSIGN_OR_RETURN(common.suite, hpke::SuiteFromIds(kem, 0x0001, aead));
  ASSIGN_OR_RETURN(const uint64_t mode, NumberField(request, "mode"));
  if (mode > 3) return ParseError("\"mode\" is ", mode, ", expected 0 to 3");
  common.mode = static_cast<hpke::Mode>(mode);
  ASSIGN_OR_RETURN(common.info, HexField(request, "info", false));
  ASSIGN_OR_RETURN(common.psk, HexField(request, "psk", false));
  ASSIGN_OR_RETURN(common.psk_id, HexField(request, "psk_id", false));
  ASSIGN_OR_RETURN(common.export_context, HexField(request, "export_context", false));
  ASSIGN_OR_RETURN(const uint64_t length, NumberField(request, "export_length"));
  common.export_length = static_cast<size_t>(length);
  if (!request.contains("messages") || !request["messages"].is_array()) {
    return ParseError("request has no \"messages\" array");
  }
  return common;
}

bool IsAuth(hpke::Mode mode) { return mode == hpke::Mode::kAuth || mode == hpke::Mode::kAuthPsk; }

int Report(const Error& error, int exit_code) {
  std::cerr << "hpke_interop_tool: " << error.ToString() << "\n";
  return exit_code;
}

int Keygen(uint16_t kem_id) {
  Result<hpke::Suite> suite = hpke::SuiteFromIds(kem_id, 0x0001, 0x0001);
  if (!suite.ok()) return Report(suite.error(), kExitUsage);
  Result<hpke::KeyPair> pair = hpke::GenerateKeyPair(suite->kem);
  if (!pair.ok()) return Report(pair.error(), kExitRejected);
  const json out = {
      {"private_key", ToHex(*hpke::SerializePrivateKey(suite->kem, pair->private_key))},
      {"public_key", ToHex(*hpke::SerializePublicKey(suite->kem, pair->public_key))}};
  std::cout << out.dump() << "\n";
  return 0;
}

int Seal(const json& request) {
  Result<Common> common = ParseCommon(request);
  if (!common.ok()) return Report(common.error(), kExitUsage);
  const hpke::Kem kem = common->suite.kem;
  Result<Bytes> pk_bytes = HexField(request, "recipient_public_key", true);
  if (!pk_bytes.ok()) return Report(pk_bytes.error(), kExitUsage);
  Result<crypto::PublicKey> recipient = hpke::DeserializePublicKey(kem, *pk_bytes);
  if (!recipient.ok()) return Report(recipient.error(), kExitRejected);
  std::optional<crypto::PrivateKey> sender;
  if (IsAuth(common->mode)) {
    Result<Bytes> sk_bytes = HexField(request, "sender_private_key", true);
    if (!sk_bytes.ok()) return Report(sk_bytes.error(), kExitUsage);
    Result<crypto::PrivateKey> key = hpke::DeserializePrivateKey(kem, *sk_bytes);
    if (!key.ok()) return Report(key.error(), kExitRejected);
    sender.emplace(std::move(key).value());
  }
  Result<hpke::SenderContext> context =
      hpke::SetupSender(common->suite, *recipient,
                        {.mode = common->mode,
                         .info = common->info,
                         .psk = common->psk,
                         .psk_id = common->psk_id,
                         .sender_key = sender ? &*sender : nullptr});
  if (!context.ok()) return Report(context.error(), kExitRejected);
  json ciphertexts = json::array();
  for (const json& message : request["messages"]) {
    Result<Bytes> aad = HexField(message, "aad", false);
    Result<Bytes> pt = HexField(message, "pt", true);
    if (!aad.ok() || !pt.ok()) return Report(aad.ok() ? pt.error() : aad.error(), kExitUsage);
    Result<Bytes> ct = context->Seal(*aad, *pt);
    if (!ct.ok()) return Report(ct.error(), kExitRejected);
    ciphertexts.push_back(ToHex(*ct));
  }
  Result<Bytes> exported = context->Export(common->export_context, common->export_length);
  if (!exported.ok()) return Report(exported.error(), kExitRejected);
  const json out = {
      {"enc", ToHex(context->enc())}, {"ciphertexts", ciphertexts}, {"exported", ToHex(*exported)}};
  std::cout << out.dump() << "\n";
  return 0;
}

int Open(const json& request) {
  Result<Common> common = ParseCommon(request);
  if (!common.ok()) return Report(common.error(), kExitUsage);
  const hpke::Kem kem = common->suite.kem;
  Result<Bytes> sk_bytes = HexField(request, "recipient_private_key", true);
  Result<Bytes> enc = HexField(request, "enc", true);
  if (!sk_bytes.ok() || !enc.ok()) {
    return Report(sk_bytes.ok() ? enc.error() : sk_bytes.error(), kExitUsage);
  }
  Result<crypto::PrivateKey> recipient = hpke::DeserializePrivateKey(kem, *sk_bytes);
  if (!recipient.ok()) return Report(recipient.error(), kExitRejected);
  std::optional<crypto::PublicKey> sender;
  if (IsAuth(common->mode)) {
    Result<Bytes> pk_bytes = HexField(request, "sender_public_key", true);
    if (!pk_bytes.ok()) return Report(pk_bytes.error(), kExitUsage);
    Result<crypto::PublicKey> key = hpke::DeserializePublicKey(kem, *pk_bytes);
    if (!key.ok()) return Report(key.error(), kExitRejected);
    sender.emplace(std::move(key).value());
  }
  Result<hpke::RecipientContext> context =
      hpke::SetupRecipient(common->suite, *enc, *recipient,
                           {.mode = common->mode,
                            .info = common->info,
                            .psk = common->psk,
                            .psk_id = common->psk_id,
                            .sender_public_key = sender ? &*sender : nullptr});
  if (!context.ok()) return Report(context.error(), kExitRejected);
  json plaintexts = json::array();
  for (const json& message : request["messages"]) {
    Result<Bytes> aad = HexField(message, "aad", false);
    Result<Bytes> ct = HexField(message, "ct", true);
    if (!aad.ok() || !ct.ok()) return Report(aad.ok() ? ct.error() : aad.error(), kExitUsage);
    Result<Bytes> pt = context->Open(*aad, *ct);
    if (!pt.ok()) return Report(pt.error(), kExitRejected);
    plaintexts.push_back(ToHex(*pt));
  }
  Result<Bytes> exported = context->Export(common->export_context, common->export_length);
  if (!exported.ok()) return Report(exported.error(), kExitRejected);
  const json out = {{"plaintexts", plaintexts}, {"exported", ToHex(*exported)}};
  std::cout << out.dump() << "\n";
  return 0;
}

int Usage() {
  std::cerr << "usage: hpke_interop_tool keygen 16|32 | seal < request.json | open < "
               "request.json\n";
  return kExitUsage;
}

int Main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 2 && args[0] == "keygen") {
    if (args[1] == "16") return Keygen(0x0010);
    if (args[1] == "32") return Keygen(0x0020);
    return Usage();
  }
  if (args.size() != 1 || (args[0] != "seal" && args[0] != "open")) return Usage();
  const std::string input((std::istreambuf_iterator<char>(std::cin)),
                          std::istreambuf_iterator<char>());
  const json request = json::parse(input, nullptr, /*allow_exceptions=*/false);
  if (!request.is_object()) return Report(ParseError("stdin is not a JSON object"), kExitUsage);
  return args[0] == "seal" ? Seal(request) : Open(request);
}

}  // namespace
}  // namespace cloister::interop

int main(int argc, char** argv) { return cloister::interop::Main(argc, argv); }
