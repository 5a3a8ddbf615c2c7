// cose_interop_tool: drives our CBOR codec and COSE_Sign1 for interop_cose.py, which checks them
// against python3-cbor2 and python3-cryptography.
//
//   cose_interop_tool cbor-encode                  JSON value descriptions (one per stdin line)
//                                                  -> hex of our deterministic encoding per line
//   cose_interop_tool cbor-decode [--deterministic] [--indefinite]
//                                                  hex per stdin line -> JSON description per
//                                                  line, or {"error": "..."}
//   cose_interop_tool cose-sign --key PKCS8_DER_FILE --payload HEX [--kid HEX] [--aad HEX]
//                               [--untagged] [--detached]      -> hex of the COSE_Sign1
//   cose_interop_tool cose-verify --key SPKI_DER_FILE --message HEX [--aad HEX]
//                                 [--detached-payload HEX]     -> exit 0 verified, 1 rejected
//
// A value description is JSON with exactly one of: {"uint": "decimal"}, {"nint": "decimal n"}
// (the integer -1 - n), {"bytes": "hex"}, {"text": "utf-8"}, {"array": [..]},
// {"map": [[key, value], ..]} (in encoded order), {"tag": "decimal", "value": ..},
// {"simple": n}, {"float": "16 hex digits of the IEEE double" or "nan"}.
// Exit status: 0 success, 1 a rejected input (verification failure), 2 usage or I/O error.
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cloister/crypto/cbor.h"
#include "cloister/crypto/cose.h"
#include "cloister/crypto/key.h"

namespace {

using cloister::Bytes;
using cloister::Error;
using cloister::Result;
using cloister::crypto::cbor::MapEntry;
using cloister::crypto::cbor::Type;
using cloister::crypto::cbor::Value;
using Json = nlohmann::json;
namespace cbor = cloister::crypto::cbor;
namespace cose = cloister::crypto::cose;

constexpr size_t kMaxDescriptionDepth = 100;

Result<uint64_t> ParseU64(const Json& json) {
  if (!json.is_string()) return cloister::ParseError("expected a decimal string");
  const std::string& text = json.get_ref<const std::string&>();
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    return cloister::ParseError("bad decimal \"", text, "\"");
  }
  return value;
}

Result<Value> FromDescription(const Json& json, size_t depth);

Result<Value> FromContainer(const Json& json, size_t depth) {
  if (json.contains("array")) {
    if (!json["array"].is_array()) return cloister::ParseError("array must be a JSON array");
    Value array = Value::Array();
    for (const Json& item : json["array"]) {
      ASSIGN_OR_RETURN(Value value, FromDescription(item, depth + 1));
      array.Append(std::move(value));
    }
    return array;
  }
  if (!json["map"].is_array()) return cloister::ParseError("map must be a JSON array");
  Value map = Value::Map();
  for (const Json& entry : json["map"]) {
    if (!entry.is_array() || entry.size() != 2) return cloister::ParseError("map entry not a pair");
    ASSIGN_OR_RETURN(Value key, FromDescription(entry[0], depth + 1));
    ASSIGN_OR_RETURN(Value value, FromDescription(entry[1], depth + 1));
    if (map.Find(key) != nullptr) return cloister::ParseError("duplicate map key");
    map.Insert(std::move(key), std::move(value));
  }
  return map;
}

Result<Value> FromDescription(const Json& json, size_t depth) {
  if (depth > kMaxDescriptionDepth || !json.is_object() || json.empty()) {
    return cloister::ParseError("a value description is a non-empty object (depth <= 100)");
  }
  if (json.contains("uint")) {
    ASSIGN_OR_RETURN(uint64_t value, ParseU64(json["uint"]));
    return Value::Unsigned(value);
  }
  if (json.contains("nint")) {
    ASSIGN_OR_RETURN(uint64_t value, ParseU64(json["nint"]));
    return Value::Negative(value);
  }
  if (json.contains("bytes") && json["bytes"].is_string()) {
    ASSIGN_OR_RETURN(Bytes bytes, cloister::FromHex(json["bytes"].get<std::string>()));
    return Value::ByteString(std::move(bytes));
  }
  if (json.contains("text") && json["text"].is_string()) {
    return Value::TextChecked(json["text"].get<std::string>());
  }
  if (json.contains("array") || json.contains("map")) return FromContainer(json, depth);
  if (json.contains("tag") && json.contains("value")) {
    ASSIGN_OR_RETURN(uint64_t tag, ParseU64(json["tag"]));
    ASSIGN_OR_RETURN(Value content, FromDescription(json["value"], depth + 1));
    return Value::Tag(tag, std::move(content));
  }
  if (json.contains("simple") && json["simple"].is_number_unsigned()) {
    const auto simple = json["simple"].get<uint64_t>();
    if (simple > 255 || (simple >= 24 && simple < 32)) {
      return cloister::ParseError("simple value ", simple, " out of range");
    }
    return Value::Simple(static_cast<uint8_t>(simple));
  }
  if (json.contains("float") && json["float"].is_string()) {
    const std::string bits = json["float"].get<std::string>();
    if (bits == "nan") return Value::Float(std::numeric_limits<double>::quiet_NaN());
    ASSIGN_OR_RETURN(Bytes raw, cloister::FromHex(bits));
    if (raw.size() != 8) return cloister::ParseError("float needs 16 hex digits");
    uint64_t word = 0;
    for (uint8_t byte : raw) word = (word << 8) | byte;
    return Value::Float(std::bit_cast<double>(word));
  }
  return cloister::ParseError("unknown value description ", json.dump());
}

Json ToDescription(const Value& value) {
  switch (value.type()) {
    case Type::kUnsigned:
      return Json{{"uint", std::to_string(value.argument())}};
    case Type::kNegative:
      return Json{{"nint", std::to_string(value.argument())}};
    case Type::kBytes:
      return Json{{"bytes", cloister::ToHex(value.data())}};
    case Type::kText:
      return Json{{"text", std::string(cloister::AsString(value.data()))}};
    case Type::kArray: {
      Json items = Json::array();
      for (const Value& item : value.items()) items.push_back(ToDescription(item));
      return Json{{"array", items}};
    }
    case Type::kMap: {
      Json entries = Json::array();
      for (const MapEntry& entry : value.entries()) {
        entries.push_back(Json::array({ToDescription(entry.key), ToDescription(entry.value)}));
      }
      return Json{{"map", entries}};
    }
    case Type::kTag:
      return Json{{"tag", std::to_string(value.argument())},
                  {"value", ToDescription(value.items().front())}};
    case Type::kSimple:
      return Json{{"simple", value.argument()}};
    case Type::kFloat: {
      if (std::isnan(value.float_value())) return Json{{"float", "nan"}};
      const Bytes bits = cloister::EncodeBigEndian(std::bit_cast<uint64_t>(value.float_value()), 8);
      return Json{{"float", cloister::ToHex(bits)}};
    }
  }
  return Json();
}

int CborEncode() {
  std::string line;
  while (std::getline(std::cin, line)) {
    const Json json = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    Result<Value> value = FromDescription(json, 0);
    if (!value.ok()) {
      std::cerr << "cbor-encode: " << value.error().message << "\n";
      return 2;
    }
    std::cout << cloister::ToHex(cbor::Encode(*value)) << "\n";
  }
  return 0;
}

int CborDecode(const cbor::DecodeOptions& options) {
  std::string line;
  while (std::getline(std::cin, line)) {
    Result<Bytes> bytes = cloister::FromHex(line);
    if (!bytes.ok()) {
      std::cerr << "cbor-decode: " << bytes.error().message << "\n";
      return 2;
    }
    Result<Value> value = cbor::Decode(*bytes, options);
    const Json out = value.ok() ? ToDescription(*value) : Json{{"error", value.error().message}};
    std::cout << out.dump() << "\n";
  }
  return 0;
}

Result<Bytes> ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return cloister::IoError("cannot read ", path);
  return Bytes(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

struct Arguments {
  std::map<std::string, std::string> values;
  std::map<std::string, bool> flags;
};

Result<Arguments> ParseArguments(int argc, char** argv) {
  Arguments arguments;
  for (int i = 2; i < argc; ++i) {
    const std::string argument = argv[i];
    if (argument == "--untagged" || argument == "--detached" || argument == "--deterministic" ||
        argument == "--indefinite") {
      arguments.flags[argument] = true;
    } else if (argument.rfind("--", 0) == 0 && i + 1 < argc) {
      arguments.values[argument] = argv[++i];
    } else {
      return cloister::InvalidArgumentError("unexpected argument ", argument);
    }
  }
  return arguments;
}

Result<Bytes> HexArgument(const Arguments& arguments, const std::string& name) {
  auto found = arguments.values.find(name);
  if (found == arguments.values.end()) return Bytes{};
  return cloister::FromHex(found->second);
}

Result<std::string> CoseSign(const Arguments& arguments) {
  ASSIGN_OR_RETURN(Bytes key_der,
                   ReadFile(arguments.values.count("--key") != 0 ? arguments.values.at("--key")
                                                                 : std::string()));
  ASSIGN_OR_RETURN(auto key, cloister::crypto::PrivateKey::FromPkcs8Der(key_der));
  ASSIGN_OR_RETURN(Bytes payload, HexArgument(arguments, "--payload"));
  cose::SignOptions options;
  ASSIGN_OR_RETURN(options.external_aad, HexArgument(arguments, "--aad"));
  if (arguments.values.count("--kid") != 0) {
    ASSIGN_OR_RETURN(options.kid, HexArgument(arguments, "--kid"));
  }
  options.extra_protected = {{Value::Text("cloister.test"), Value::Text("interop")}};
  options.unprotected = {{Value::Int(-70000), Value::Bool(true)}};
  options.tagged = arguments.flags.count("--untagged") == 0;
  options.detached = arguments.flags.count("--detached") != 0;
  ASSIGN_OR_RETURN(Bytes message, cose::Sign1(key, payload, options));
  return cloister::ToHex(message);
}

cloister::Status CoseVerify(const Arguments& arguments) {
  ASSIGN_OR_RETURN(Bytes key_der,
                   ReadFile(arguments.values.count("--key") != 0 ? arguments.values.at("--key")
                                                                 : std::string()));
  ASSIGN_OR_RETURN(auto key, cloister::crypto::PublicKey::FromSpkiDer(key_der));
  ASSIGN_OR_RETURN(Bytes message, HexArgument(arguments, "--message"));
  cose::VerifyOptions options;
  ASSIGN_OR_RETURN(options.external_aad, HexArgument(arguments, "--aad"));
  if (arguments.values.count("--detached-payload") != 0) {
    ASSIGN_OR_RETURN(options.detached_payload, HexArgument(arguments, "--detached-payload"));
  }
  options.understood_critical = {Value::Text("cloister.test")};
  Result<cose::Sign1Message> verified = cose::DecodeAndVerifySign1(message, key, options);
  if (!verified.ok()) return verified.error();
  return cloister::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: cose_interop_tool cbor-encode|cbor-decode|cose-sign|cose-verify ...\n";
    return 2;
  }
  const std::string command = argv[1];
  Result<Arguments> arguments = ParseArguments(argc, argv);
  if (!arguments.ok()) {
    std::cerr << arguments.error().message << "\n";
    return 2;
  }
  if (command == "cbor-encode") return CborEncode();
  if (command == "cbor-decode") {
    cbor::DecodeOptions options;
    options.require_deterministic = arguments->flags.count("--deterministic") != 0;
    options.allow_indefinite = arguments->flags.count("--indefinite") != 0;
    return CborDecode(options);
  }
  if (command == "cose-sign") {
    Result<std::string> message = CoseSign(*arguments);
    if (!message.ok()) {
      std::cerr << "cose-sign: " << message.error().ToString() << "\n";
      return 2;
    }
    std::cout << *message << "\n";
    return 0;
  }
  if (command == "cose-verify") {
    cloister::Status verified = CoseVerify(*arguments);
    if (!verified.ok()) {
      std::cout << "rejected: " << verified.error().ToString() << "\n";
      return verified.error().code == cloister::ErrorCode::kIo ? 2 : 1;
    }
    std::cout << "verified\n";
    return 0;
  }
  std::cerr << "unknown command " << command << "\n";
  return 2;
}
