// Scenario tests: protocol situations written as text files (src/raft/testdata/*.txt) in the
// style of etcd-io/raft's datadriven tests. Each block is a command, a line "----", the
// expected output, and a blank line. REWRITE=1 regenerates the expected outputs (which must then
// be reviewed by hand: they are the specification).
//
// Commands (node ids are numbers):
//   options prevote=B checkquorum=B   before `found`
//   found ID...                       founding voters
//   join ID                           a new member with an empty configuration
//   campaign ID | tick ID [N] | tick-all N
//   propose ID TEXT | conf ID add-learner|promote|remove TARGET | transfer ID TARGET
//   read ID CONTEXT | compact ID
//   isolate ID | cut FROM TO | heal | down ID | up ID
//   stabilize [quiet]                 deliver until quiet; prints messages (or their count)
//   status | log ID | applied ID | reads ID
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cloister/raft/raft.h"
#include "raft/test_cluster.h"
#include "vectors.h"

namespace cloister::raft {
namespace {

using testing::TestCluster;

struct Block {
  std::string comments;  // "# ..." lines before the command, kept on rewrite
  std::string command;
  std::string expected;
};

std::vector<std::string> Split(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string word; in >> word;) out.push_back(word);
  return out;
}

std::vector<Block> Parse(const std::string& text, std::string* preamble) {
  std::vector<Block> blocks;
  std::istringstream in(text);
  std::string line;
  Block current;
  enum { kCommand, kExpected } state = kCommand;
  while (std::getline(in, line)) {
    if (state == kCommand) {
      if (line.empty() || line[0] == '#') {
        if (blocks.empty() && current.command.empty() && current.comments.empty() &&
            !line.empty()) {
          *preamble += line + "\n";
        } else if (!line.empty()) {
          current.comments += line + "\n";
        }
        continue;
      }
      if (line == "----") {
        state = kExpected;
        continue;
      }
      current.command += line;
      continue;
    }
    if (line.empty()) {
      blocks.push_back(current);
      current = Block{};
      state = kCommand;
      continue;
    }
    current.expected += line + "\n";
  }
  if (state == kExpected) blocks.push_back(current);
  return blocks;
}

class Interpreter {
 public:
  std::string Run(const std::string& command) {
    const std::vector<std::string> w = Split(command);
    if (w.empty()) return "error: empty command\n";
    const std::string& verb = w[0];
    out_.str("");
    if (verb == "options") {
      for (size_t i = 1; i < w.size(); ++i) {
        if (w[i] == "prevote=false") c_.pre_vote = false;
        if (w[i] == "checkquorum=false") c_.check_quorum = false;
      }
      out_ << "ok\n";
    } else if (verb == "found") {
      std::set<NodeId> ids;
      for (size_t i = 1; i < w.size(); ++i) ids.insert(Id(w[i]));
      c_.Found(ids);
      out_ << "ok\n";
    } else if (verb == "join") {
      c_.Join(Id(w.at(1)));
      out_ << "ok\n";
    } else if (verb == "campaign") {
      c_[Id(w.at(1))].Campaign();
      out_ << "ok\n";
    } else if (verb == "tick") {
      const size_t n = w.size() > 2 ? std::stoul(w[2]) : 1;
      for (size_t i = 0; i < n; ++i) c_[Id(w.at(1))].Tick();
      out_ << "ok\n";
    } else if (verb == "tick-all") {
      c_.TickAll(std::stoul(w.at(1)));
      out_ << "ok\n";
    } else if (verb == "propose") {
      Report(c_[Id(w.at(1))].Propose(ToBytes(w.at(2))));
    } else if (verb == "conf") {
      Conf(w);
    } else if (verb == "transfer") {
      Report(c_[Id(w.at(1))].TransferLeadership(Id(w.at(2))));
    } else if (verb == "read") {
      Report(c_[Id(w.at(1))].ReadIndex(std::stoull(w.at(2))));
    } else if (verb == "compact") {
      Raft& r = c_[Id(w.at(1))];
      const uint64_t index = r.log().applied();
      Report(r.Compact(index, ToBytes("image@" + std::to_string(index))));
    } else {
      Network(w);
    }
    return out_.str();
  }

 private:
  static NodeId Id(const std::string& s) { return std::stoull(s); }

  template <typename T>
  void Report(const Result<T>& r) {
    if (!r.ok()) {
      out_ << "error: " << r.error().ToString() << "\n";
    } else if constexpr (std::is_same_v<T, void>) {
      out_ << "ok\n";
    } else {
      out_ << "index " << *r << "\n";
    }
  }

  void Conf(const std::vector<std::string>& w) {
    ConfChange change{.node_id = Id(w.at(3))};
    if (w.at(2) == "add-learner") change.type = ConfChangeType::kAddLearner;
    if (w.at(2) == "promote") change.type = ConfChangeType::kPromoteLearner;
    if (w.at(2) == "remove") change.type = ConfChangeType::kRemoveNode;
    Report(c_[Id(w.at(1))].ProposeConfChange(change));
  }

  void Network(const std::vector<std::string>& w) {
    const std::string& verb = w[0];
    if (verb == "isolate") {
      c_.Isolate(Id(w.at(1)));
      out_ << "ok\n";
    } else if (verb == "cut") {
      c_.Cut(Id(w.at(1)), Id(w.at(2)));
      out_ << "ok\n";
    } else if (verb == "heal") {
      c_.Heal();
      out_ << "ok\n";
    } else if (verb == "down") {
      c_.down.insert(Id(w.at(1)));
      out_ << "ok\n";
    } else if (verb == "up") {
      c_.down.erase(Id(w.at(1)));
      out_ << "ok\n";
    } else if (verb == "stabilize") {
      const std::vector<std::string> trace = c_.Stabilize();
      if (w.size() > 1 && w[1] == "quiet") {
        out_ << trace.size() << " messages\n";
      } else {
        for (const std::string& line : trace) out_ << line << "\n";
        if (trace.empty()) out_ << "(none)\n";
      }
    } else {
      Inspect(w);
    }
  }

  void Inspect(const std::vector<std::string>& w) {
    const std::string& verb = w[0];
    if (verb == "status") {
      for (auto& [id, node] : c_.nodes) {
        const Raft& r = *node.raft;
        out_ << id << ": " << RoleName(r.role()) << " term=" << r.term() << " lead=" << r.leader()
             << " commit=" << r.log().committed() << " last=" << r.log().LastIndex() << " "
             << r.config().ToString() << (c_.down.count(id) ? " (down)" : "") << "\n";
      }
    } else if (verb == "log") {
      const RaftLog& log = c_[Id(w.at(1))].log();
      out_ << "snapshot " << log.snapshot().index << "/" << log.snapshot().term << "\n";
      for (uint64_t i = log.FirstIndex(); i <= log.LastIndex(); ++i) {
        out_ << DescribeEntry(log.At(i)) << "\n";
      }
    } else if (verb == "applied") {
      const auto& node = c_.nodes.at(Id(w.at(1)));
      if (node.installed) out_ << "snapshot " << AsString(node.installed->data) << "\n";
      for (const Entry& e : node.applied) out_ << DescribeEntry(e) << "\n";
    } else if (verb == "reads") {
      for (const ReadState& r : c_.nodes.at(Id(w.at(1))).reads) {
        out_ << "index=" << r.index << " context=" << r.context << "\n";
      }
      if (c_.nodes.at(Id(w.at(1))).reads.empty()) out_ << "(none)\n";
    } else {
      out_ << "error: unknown command " << verb << "\n";
    }
  }

  TestCluster c_;
  std::ostringstream out_;
};

class ScenarioTest : public ::testing::TestWithParam<std::string> {};

// Each scenario file's commands produce exactly its recorded outputs.
TEST_P(ScenarioTest, MatchesRecordedOutput) {
  const std::string path = cloister::testing::SourceDir() + "/src/raft/testdata/" + GetParam();
  auto text = cloister::testing::ReadFileText(path);
  ASSERT_TRUE(text.ok()) << text.error().ToString();
  std::string preamble;
  const std::vector<Block> blocks = Parse(*text, &preamble);
  ASSERT_FALSE(blocks.empty()) << path << " has no blocks";
  Interpreter interpreter;
  std::string rewritten = preamble + "\n";
  for (const Block& block : blocks) {
    const std::string actual = interpreter.Run(block.command);
    rewritten += block.comments + block.command + "\n----\n" + actual + "\n";
    if (std::getenv("REWRITE") == nullptr) {
      EXPECT_EQ(actual, block.expected) << path << ": " << block.command;
    }
  }
  if (std::getenv("REWRITE") != nullptr) {
    std::ofstream(path) << rewritten;
  }
}

INSTANTIATE_TEST_SUITE_P(Files, ScenarioTest,
                         ::testing::Values("elections.txt", "prevote.txt", "checkquorum.txt",
                                           "log_repair.txt", "learner_promotion.txt",
                                           "conf_change_partition.txt", "leader_transfer.txt",
                                           "snapshot.txt", "read_index.txt"),
                         [](const auto& param_info) {
                           return param_info.param.substr(0, param_info.param.size() - 4);
                         });

}  // namespace
}  // namespace cloister::raft
