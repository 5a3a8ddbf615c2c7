// Fuzzes the raft message decoder and what a node does with whatever it accepts.
//
// Every input is decoded; a refusal must say why, an acceptance must re-encode to a message that
// decodes to the same value. An accepted message is then stepped (readdressed to a member, so it
// is not refused as misaddressed) into one node of a small cluster that has a leader and a few
// entries, and the cluster is run to quiescence: no input may reach an ASSERT of the core or
// undefined behaviour. (Safety is not checked here: raft tolerates crashes, not lies, and a
// forged message from a member, e.g. a snapshot naming a different configuration, can break it.
// Members are genuine nodes on authenticated channels; the simulator checks safety.)
#include <cstddef>
#include <cstdint>

#include "cloister/base/assert.h"
#include "cloister/raft/codec.h"
#include "raft/test_cluster.h"

namespace {

using cloister::raft::Message;
using cloister::raft::NodeId;
using cloister::raft::testing::TestCluster;

void StepIntoCluster(Message m) {
  TestCluster cluster;
  cluster.Found({1, 2, 3});
  cluster[1].Campaign();
  cluster.Stabilize();
  for (const char* text : {"a", "b", "c"}) {
    ASSERT(cluster[1].Propose(cloister::ToBytes(text)).ok(), "propose");
  }
  cluster.Stabilize();
  m.to = 1 + m.to % 3;
  if (m.from == m.to) m.from = 1 + m.from % 4;  // 4 is not a member
  if (m.from == m.to) m.from = 4;
  (void)cluster[m.to].Step(m);
  cluster.Stabilize();
  cluster.TickAll(30);
  cluster.Stabilize();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const cloister::ByteSpan input(data, size);
  cloister::Result<Message> decoded = cloister::raft::DecodeMessage(input);
  if (!decoded.ok()) {
    ASSERT(!decoded.error().message.empty(), "refusal without a reason");
    return 0;
  }
  const cloister::Bytes again = cloister::raft::EncodeMessage(*decoded);
  cloister::Result<Message> round_trip = cloister::raft::DecodeMessage(again);
  ASSERT(round_trip.ok() && *round_trip == *decoded, "re-encoding changed the message");
  StepIntoCluster(std::move(decoded).value());
  return 0;
}
