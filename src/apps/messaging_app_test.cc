// Proves that the example application validates events, writes private maps unless an event asks
// for the public ones, numbers channel messages without gaps and reads them back in pages.
#include "cloister/apps/messaging_app.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cloister/kv/store.h"

namespace cloister::apps {
namespace {

using nlohmann::json;

class MessagingAppTest : public ::testing::Test {
 protected:
  Result<std::string> Run(const std::string& event) {
    kv::Tx tx = store_.Begin();
    Result<std::string> result = app_.Execute(tx, AsBytes(event));
    if (result.ok()) {
      EXPECT_TRUE(store_.Commit(tx).ok());
    } else {
      tx.Abort();
    }
    return result;
  }

  Result<node::HttpResponse> Get(const std::string& path,
                                 std::map<std::string, std::string> query) {
    node::HttpRequest request;
    request.method = "GET";
    request.path = path;
    request.query = std::move(query);
    kv::Tx tx = store_.Begin();
    Result<node::HttpResponse> response = app_.Read(tx, request);
    tx.Abort();
    return response;
  }

  kv::Store store_;
  MessagingApp app_;
};

// A private put lands in the private map only; a public one in the public map only.
TEST_F(MessagingAppTest, PutWritesPrivateOrPublicMap) {
  ASSERT_TRUE(Run(R"({"op":"put","key":"k","value":"secret"})").ok());
  ASSERT_TRUE(Run(R"({"op":"put","key":"k","value":"open","public":true})").ok());
  kv::Tx tx = store_.Begin();
  EXPECT_EQ(tx.ro("app.kv")->get("k"), "secret");
  EXPECT_EQ(tx.ro("public:app.kv")->get("k"), "open");
  tx.Abort();
  Result<node::HttpResponse> read = Get("/app/kv", {{"key", "k"}});
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(json::parse(read->body)["value"], "secret");
  read = Get("/app/kv", {{"key", "k"}, {"public", "true"}});
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(json::parse(read->body)["value"], "open");
  EXPECT_EQ(Get("/app/kv", {{"key", "absent"}}).error().code, ErrorCode::kNotFound);
}

// Appends are numbered 0, 1, 2, ... per channel and read back in pages with `next`.
TEST_F(MessagingAppTest, AppendNumbersMessagesAndPages) {
  for (int i = 0; i < 5; ++i) {
    Result<std::string> result =
        Run(R"({"op":"append","channel":"c","message":"m)" + std::to_string(i) + R"("})");
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_EQ(json::parse(*result)["seq"], i);
  }
  ASSERT_TRUE(Run(R"({"op":"append","channel":"cc","message":"other"})").ok());
  Result<node::HttpResponse> page =
      Get("/app/messages", {{"channel", "c"}, {"from", "1"}, {"limit", "3"}});
  ASSERT_TRUE(page.ok()) << page.error().message;
  json body = json::parse(page->body);
  ASSERT_EQ(body["messages"].size(), 3u);
  EXPECT_EQ(body["messages"][0]["seq"], 1);
  EXPECT_EQ(body["messages"][2]["message"], "m3");
  EXPECT_EQ(body["next"], 4);
  body = json::parse(Get("/app/messages", {{"channel", "c"}, {"from", "4"}})->body);
  ASSERT_EQ(body["messages"].size(), 1u);
  EXPECT_EQ(body["next"], 5);
  body = json::parse(Get("/app/messages", {{"channel", "nobody"}})->body);
  EXPECT_TRUE(body["messages"].empty());
  EXPECT_EQ(body["next"], 0);
}

// Malformed events are refused with the field named, and write nothing.
TEST_F(MessagingAppTest, RefusesMalformedEvents) {
  const std::pair<std::string, std::string> cases[] = {
      {"not json", "not a JSON object"},
      {R"({"op":"delete","key":"k"})", "'op' must be"},
      {R"({"op":"put","value":"v"})", "'key' missing"},
      {R"({"op":"put","key":"","value":"v"})", "'key' must be 1 to"},
      {R"({"op":"put","key":"a\u0001b","value":"v"})", "control character"},
      {R"({"op":"put","key":"k","value":7})", "'value' missing or not a string"},
      {R"({"op":"append","channel":"c","message":"m","public":"yes"})", "'public' must be"},
      {R"({"op":"append","channel":"c","message":")" + std::string(kMaxValueBytes + 1, 'x') +
           R"("})",
       "exceeds"},
  };
  for (const auto& [event, expected] : cases) {
    Result<std::string> result = Run(event);
    ASSERT_FALSE(result.ok()) << event;
    EXPECT_NE(result.error().message.find(expected), std::string::npos) << result.error().message;
  }
  kv::Tx tx = store_.Begin();
  EXPECT_FALSE(tx.ro("app.kv")->has("k"));
  EXPECT_FALSE(tx.ro("app.channels")->has("c"));
  tx.Abort();
  EXPECT_EQ(Get("/app/messages", {{"channel", "c"}, {"limit", "0"}}).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(Get("/app/other", {}).error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace cloister::apps
