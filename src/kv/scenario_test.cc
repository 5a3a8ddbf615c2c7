// Runs the isolation scenarios in src/kv/testdata/*.txt (duckdb style: every step names its
// transaction) and proves each step's observed result equals the one the file expects.
//
// Scenario language, one step per line ('#' comments and blank lines are ignored):
//   NAME: begin [VERSION]            start transaction NAME (at VERSION if given)
//   NAME: get MAP KEY                value, or "(none)"
//   NAME: put MAP KEY VALUE | remove MAP KEY
//   NAME: scan MAP FROM TO LIMIT     "k=v k=v [| next=K]" or "(empty)"; FROM/TO "*" = open
//   NAME: commit                     "ok VERSION" or "conflict";  NAME: abort
//   store: version | compact V | rollback V | replicate (apply all new write sets to follower)
//   follower: get MAP KEY | version
// A step may end with "-> EXPECTED"; without it the step must simply succeed.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "cloister/kv/store.h"
#include "vectors.h"

namespace cloister::kv {
namespace {

std::vector<std::string> Split(const std::string& text) {
  std::istringstream stream(text);
  std::vector<std::string> words;
  for (std::string word; stream >> word;) words.push_back(word);
  return words;
}

std::string Open(const std::string& word) { return word == "*" ? "" : word; }

class ScenarioRunner {
 public:
  // Executes one step and returns its output, or "error: ..." for a malformed step.
  std::string Step(const std::string& actor, const std::vector<std::string>& args) {
    if (args.empty()) return "error: empty step";
    if (actor == "store") return StoreStep(args);
    if (actor == "follower") return FollowerStep(args);
    return TxStep(actor, args);
  }

 private:
  std::string StoreStep(const std::vector<std::string>& args) {
    if (args[0] == "version") return std::to_string(store_.current_version());
    if (args[0] == "compact" && args.size() == 2) {
      store_.Compact(std::stoull(args[1]));
      return "ok";
    }
    if (args[0] == "rollback" && args.size() == 2) {
      store_.Rollback(std::stoull(args[1]));
      return "ok";
    }
    if (args[0] == "replicate") {
      for (; replicated_ < log_.size(); ++replicated_) {
        const Status applied =
            follower_.Apply(log_[replicated_].write_set, log_[replicated_].version);
        if (!applied.ok()) return "error: " + applied.error().ToString();
      }
      return "ok";
    }
    return "error: unknown store step " + args[0];
  }

  std::string FollowerStep(const std::vector<std::string>& args) {
    if (args[0] == "version") return std::to_string(follower_.current_version());
    if (args[0] == "get" && args.size() == 3) {
      Tx tx = follower_.Begin();
      return tx.ro(args[1])->get(args[2]).value_or("(none)");
    }
    return "error: unknown follower step " + args[0];
  }

  std::string TxStep(const std::string& name, const std::vector<std::string>& args) {
    const std::string& op = args[0];
    if (op == "begin") return Begin(name, args);
    auto it = txs_.find(name);
    if (it == txs_.end()) return "error: no transaction " + name;
    Tx& tx = it->second;
    if (op == "get" && args.size() == 3) return tx.ro(args[1])->get(args[2]).value_or("(none)");
    if (op == "put" && args.size() == 4) return StatusText(tx.rw(args[1])->put(args[2], args[3]));
    if (op == "remove" && args.size() == 3) return StatusText(tx.rw(args[1])->remove(args[2]));
    if (op == "scan" && args.size() == 5) return Scan(tx, args);
    if (op == "abort") {
      tx.Abort();
      return "ok";
    }
    if (op == "commit") {
      Result<CommitResult> committed = store_.Commit(tx);
      if (!committed.ok()) {
        return committed.error().code == ErrorCode::kConflict ? "conflict"
                                                              : committed.error().ToString();
      }
      if (!committed->write_set.empty()) log_.push_back(*committed);
      return "ok " + std::to_string(committed->version);
    }
    return "error: unknown or malformed step " + op;
  }

  std::string Begin(const std::string& name, const std::vector<std::string>& args) {
    if (args.size() == 1) {
      txs_.insert_or_assign(name, store_.Begin());
      return "ok";
    }
    Result<Tx> tx = store_.BeginAt(std::stoull(args[1]));
    if (!tx.ok()) return std::string(ErrorCodeName(tx.error().code));
    txs_.insert_or_assign(name, std::move(tx).value());
    return "ok";
  }

  static std::string Scan(Tx& tx, const std::vector<std::string>& args) {
    std::optional<std::string> to;
    if (args[3] != "*") to = args[3];
    const Page<std::string, std::string> page =
        tx.ro(args[1])->range(Open(args[2]), to, std::stoull(args[4]));
    std::string out;
    for (const auto& [key, value] : page.items) {
      out += (out.empty() ? "" : " ") + key + "=" + value;
    }
    if (page.next_key) out += " | next=" + *page.next_key;
    return out.empty() ? "(empty)" : out;
  }

  static std::string StatusText(const Status& status) {
    return status.ok() ? "ok" : status.error().ToString();
  }

  Store store_;
  Store follower_;
  std::map<std::string, Tx> txs_;
  std::vector<CommitResult> log_;
  size_t replicated_ = 0;
};

std::vector<std::string> ScenarioFiles() {
  std::vector<std::string> files;
  const std::filesystem::path dir = std::filesystem::path(testing::SourceDir()) / "src/kv/testdata";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".txt") files.push_back(entry.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

class KvScenarioTest : public ::testing::TestWithParam<std::string> {};

// Every step of the scenario file produces exactly the output the file expects.
TEST_P(KvScenarioTest, MatchesExpectedOutput) {
  const std::string path = testing::SourceDir() + "/src/kv/testdata/" + GetParam();
  Result<std::string> text = testing::ReadFileText(path);
  ASSERT_TRUE(text.ok()) << text.error().ToString();
  ScenarioRunner runner;
  std::istringstream lines(*text);
  int line_number = 0;
  int steps = 0;
  for (std::string line; std::getline(lines, line);) {
    ++line_number;
    if (line.empty() || line[0] == '#') continue;
    const size_t colon = line.find(':');
    ASSERT_NE(colon, std::string::npos) << path << ":" << line_number << ": no actor";
    const size_t arrow = line.find("->");
    const std::string command =
        line.substr(colon + 1, arrow == std::string::npos ? std::string::npos : arrow - colon - 1);
    const std::string output = runner.Step(line.substr(0, colon), Split(command));
    ++steps;
    if (arrow != std::string::npos) {
      std::string expected = line.substr(arrow + 2);
      expected.erase(0, expected.find_first_not_of(' '));
      EXPECT_EQ(output, expected) << path << ":" << line_number << ": " << line;
    } else {
      const std::vector<std::string> words = Split(command);
      const bool is_read =
          !words.empty() && (words[0] == "get" || words[0] == "scan" || words[0] == "version");
      EXPECT_TRUE(is_read || output == "ok" || output.starts_with("ok "))
          << path << ":" << line_number << ": " << output;
    }
  }
  EXPECT_GT(steps, 10) << "scenario " << path << " is too short to prove anything";
}

INSTANTIATE_TEST_SUITE_P(Scenarios, KvScenarioTest, ::testing::ValuesIn(ScenarioFiles()),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           std::string name =
                               param_info.param.substr(0, param_info.param.find('.'));
                           return name;
                         });

}  // namespace
}  // namespace cloister::kv
