#include "cloister/raft/types.h"

#include <string>

namespace cloister::raft {
namespace {

std::string JoinIds(const std::set<NodeId>& ids) {
  std::string out;
  for (NodeId id : ids) {
    if (!out.empty()) out += ' ';
    out += std::to_string(id);
  }
  return out;
}

}  // namespace

std::string Configuration::ToString() const {
  std::string out = "voters=[" + JoinIds(voters) + "]";
  if (!learners.empty()) out += " learners=[" + JoinIds(learners) + "]";
  return out;
}

std::string_view MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kPreVote:
      return "PreVote";
    case MessageType::kPreVoteResponse:
      return "PreVoteResp";
    case MessageType::kVote:
      return "Vote";
    case MessageType::kVoteResponse:
      return "VoteResp";
    case MessageType::kAppend:
      return "Append";
    case MessageType::kAppendResponse:
      return "AppendResp";
    case MessageType::kHeartbeat:
      return "Heartbeat";
    case MessageType::kHeartbeatResponse:
      return "HeartbeatResp";
    case MessageType::kSnapshot:
      return "Snapshot";
    case MessageType::kTimeoutNow:
      return "TimeoutNow";
  }
  return "Unknown";
}

std::string DescribeEntry(const Entry& entry) {
  std::string out = std::to_string(entry.index) + "/" + std::to_string(entry.term);
  if (entry.type == EntryType::kConfChange) {
    out += " conf";
  } else if (!entry.data.empty()) {
    out += " " + std::string(AsString(entry.data));
  }
  return out;
}

std::string DescribeMessage(const Message& m) {
  std::string out = std::to_string(m.from) + "->" + std::to_string(m.to) + " " +
                    std::string(MessageTypeName(m.type)) + " t" + std::to_string(m.term);
  switch (m.type) {
    case MessageType::kPreVote:
    case MessageType::kVote:
      out += " last=" + std::to_string(m.index) + "/" + std::to_string(m.log_term);
      if (m.force) out += " force";
      break;
    case MessageType::kAppend:
      out += " prev=" + std::to_string(m.index) + "/" + std::to_string(m.log_term) +
             " commit=" + std::to_string(m.commit);
      if (!m.entries.empty()) {
        out += " [";
        for (size_t i = 0; i < m.entries.size(); ++i) {
          if (i > 0) out += ", ";
          out += DescribeEntry(m.entries[i]);
        }
        out += "]";
      }
      break;
    case MessageType::kAppendResponse:
      out += " index=" + std::to_string(m.index);
      if (m.reject) out += " hint=" + std::to_string(m.reject_hint);
      break;
    case MessageType::kHeartbeat:
      out += " commit=" + std::to_string(m.commit);
      [[fallthrough]];
    case MessageType::kHeartbeatResponse:
      if (m.context != 0) out += " ctx=" + std::to_string(m.context);
      break;
    case MessageType::kSnapshot:
      if (m.snapshot) {
        out += " snap=" + std::to_string(m.snapshot->index) + "/" +
               std::to_string(m.snapshot->term) + " " + m.snapshot->config.ToString();
      }
      break;
    default:
      break;
  }
  if (m.reject) out += " reject";
  return out;
}

}  // namespace cloister::raft
