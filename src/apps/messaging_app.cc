#include "cloister/apps/messaging_app.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cstdio>

namespace cloister::apps {
namespace {

using nlohmann::json;

struct Maps {
  std::string kv;
  std::string messages;
  std::string channels;
};

Maps MapsFor(bool is_public) {
  const std::string prefix = is_public ? "public:" : "";
  return {prefix + "app.kv", prefix + "app.messages", prefix + "app.channels"};
}

Status CheckName(const std::string& value, const char* field) {
  if (value.empty() || value.size() > kMaxKeyBytes) {
    return InvalidArgumentError("event: '", field, "' must be 1 to ", kMaxKeyBytes, " bytes");
  }
  for (char c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return InvalidArgumentError("event: '", field, "' holds a control character");
    }
  }
  return OkStatus();
}

Result<std::string> StringField(const json& event, const char* field, bool is_name) {
  auto it = event.find(field);
  if (it == event.end() || !it->is_string()) {
    return InvalidArgumentError("event: field '", field, "' missing or not a string");
  }
  std::string value = it->get<std::string>();
  if (is_name) {
    RETURN_IF_ERROR(CheckName(value, field));
  } else if (value.size() > kMaxValueBytes) {
    return InvalidArgumentError("event: '", field, "' exceeds ", kMaxValueBytes, " bytes");
  }
  return value;
}

std::string MessageKey(const std::string& channel, uint64_t seq) {
  char number[24];
  std::snprintf(number, sizeof(number), "%020llu", static_cast<unsigned long long>(seq));
  return channel + '\x1f' + number;
}

Result<uint64_t> ChannelLength(kv::Tx& tx, const Maps& maps, const std::string& channel) {
  std::optional<std::string> stored = tx.ro(maps.channels)->get(channel);
  if (!stored) return uint64_t{0};
  uint64_t length = 0;
  const auto [end, error] =
      std::from_chars(stored->data(), stored->data() + stored->size(), length);
  if (error != std::errc() || end != stored->data() + stored->size()) {
    return CorruptError("channel length of '", channel, "' is not a number");
  }
  return length;
}

Result<uint64_t> UnsignedQuery(const node::HttpRequest& request, const char* name,
                               uint64_t fallback) {
  auto it = request.query.find(name);
  if (it == request.query.end()) return fallback;
  uint64_t value = 0;
  const std::string& text = it->second;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return InvalidArgumentError("query parameter '", name, "' is not an unsigned integer");
  }
  return value;
}

Result<bool> PublicQuery(const node::HttpRequest& request) {
  auto it = request.query.find("public");
  if (it == request.query.end() || it->second == "false") return false;
  if (it->second == "true") return true;
  return InvalidArgumentError("query parameter 'public' must be true or false");
}

Result<node::HttpResponse> ReadKey(kv::Tx& tx, const node::HttpRequest& request, const Maps& maps) {
  ASSIGN_OR_RETURN(std::string key, request.Query("key"));
  RETURN_IF_ERROR(CheckName(key, "key"));
  std::optional<std::string> value = tx.ro(maps.kv)->get(key);
  if (!value) return NotFoundError("no value for key '", key, "'");
  json out;
  out["key"] = key;
  out["value"] = *value;
  return node::HttpResponse::Json(200, out.dump());
}

Result<node::HttpResponse> ReadMessages(kv::Tx& tx, const node::HttpRequest& request,
                                        const Maps& maps) {
  ASSIGN_OR_RETURN(std::string channel, request.Query("channel"));
  RETURN_IF_ERROR(CheckName(channel, "channel"));
  ASSIGN_OR_RETURN(uint64_t from, UnsignedQuery(request, "from", 0));
  ASSIGN_OR_RETURN(uint64_t limit, UnsignedQuery(request, "limit", 100));
  if (limit == 0 || limit > kMaxMessagesPerRead) {
    return InvalidArgumentError("query parameter 'limit' must be 1 to ", kMaxMessagesPerRead);
  }
  ASSIGN_OR_RETURN(uint64_t length, ChannelLength(tx, maps, channel));
  json messages = json::array();
  uint64_t next = std::min(from, length);
  if (from < length) {
    kv::Page<std::string, std::string> page =
        tx.ro(maps.messages)->range(MessageKey(channel, from), MessageKey(channel, length), limit);
    for (auto& [key, message] : page.items) {
      messages.push_back({{"seq", next}, {"message", std::move(message)}});
      ++next;
    }
  }
  json out;
  out["channel"] = channel;
  out["messages"] = std::move(messages);
  out["next"] = next;
  return node::HttpResponse::Json(200, out.dump());
}

}  // namespace

Result<std::string> MessagingApp::Execute(kv::Tx& tx, ByteSpan event_bytes) {
  json event = json::parse(AsString(event_bytes), nullptr, /*allow_exceptions=*/false);
  if (event.is_discarded() || !event.is_object()) {
    return InvalidArgumentError("event: not a JSON object");
  }
  bool is_public = false;
  if (auto flag = event.find("public"); flag != event.end()) {
    if (!flag->is_boolean()) return InvalidArgumentError("event: 'public' must be true or false");
    is_public = flag->get<bool>();
  }
  const Maps maps = MapsFor(is_public);
  ASSIGN_OR_RETURN(std::string op, StringField(event, "op", false));
  json result;
  if (op == "put") {
    ASSIGN_OR_RETURN(std::string key, StringField(event, "key", true));
    ASSIGN_OR_RETURN(std::string value, StringField(event, "value", false));
    RETURN_IF_ERROR(tx.rw(maps.kv)->put(key, value));
    result["key"] = key;
  } else if (op == "append") {
    ASSIGN_OR_RETURN(std::string channel, StringField(event, "channel", true));
    ASSIGN_OR_RETURN(std::string message, StringField(event, "message", false));
    ASSIGN_OR_RETURN(uint64_t length, ChannelLength(tx, maps, channel));
    RETURN_IF_ERROR(tx.rw(maps.messages)->put(MessageKey(channel, length), message));
    RETURN_IF_ERROR(tx.rw(maps.channels)->put(channel, std::to_string(length + 1)));
    result["channel"] = channel;
    result["seq"] = length;
  } else {
    return InvalidArgumentError("event: 'op' must be \"put\" or \"append\", not \"",
                                op.substr(0, 32), "\"");
  }
  return result.dump();
}

Result<node::HttpResponse> MessagingApp::Read(kv::Tx& tx, const node::HttpRequest& request) {
  ASSIGN_OR_RETURN(bool is_public, PublicQuery(request));
  const Maps maps = MapsFor(is_public);
  if (request.path == "/app/kv") return ReadKey(tx, request, maps);
  if (request.path == "/app/messages") return ReadMessages(tx, request, maps);
  return NotFoundError("no such endpoint: ", request.path);
}

}  // namespace cloister::apps
