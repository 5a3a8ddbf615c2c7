#include "linearizability.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_set>

namespace cloister::sim {
namespace {

// One node of the doubly linked event list of WGL: a call or a return of operation `op`.
struct Event {
  size_t op = 0;
  bool is_call = true;
  size_t match = 0;  // for a call: index of its return event
  size_t prev = 0;
  size_t next = 0;
};

struct StateKey {
  std::vector<uint64_t> linearized;
  uint64_t value;
  bool operator==(const StateKey&) const = default;
};

struct StateKeyHash {
  size_t operator()(const StateKey& k) const {
    uint64_t h = k.value * 0x9e3779b97f4a7c15ULL;
    for (uint64_t w : k.linearized) h = (h ^ w) * 0x100000001b3ULL;
    return static_cast<size_t>(h);
  }
};

// Applies `op` to register value `state`; false if the op's observed result contradicts it.
bool StepModel(const KvOp& op, uint64_t state, uint64_t* next) {
  const bool responded = op.response_time != KvOp::kNoResponse;
  switch (op.kind) {
    case OpKind::kPut:
      *next = op.value;
      return true;
    case OpKind::kGet:
      *next = state;
      return !responded || op.value == state;
    case OpKind::kCas:
      if (!responded) {
        *next = state == op.expected ? op.value : state;
        return true;
      }
      *next = op.cas_ok ? op.value : state;
      return op.cas_ok == (state == op.expected);
  }
  return false;
}

class KeyChecker {
 public:
  explicit KeyChecker(std::vector<KvOp> ops) : ops_(std::move(ops)) { BuildEvents(); }

  LinearizabilityResult Run(uint64_t max_states) {
    const size_t words = (ops_.size() + 63) / 64;
    std::vector<uint64_t> linearized(words, 0);
    std::unordered_set<StateKey, StateKeyHash> cache;
    std::vector<std::pair<size_t, uint64_t>> stack;  // (call event, state before it)
    uint64_t state = 0;
    size_t entry = events_[kHead].next;
    while (events_[kHead].next != kTail) {
      if (cache.size() > max_states) return {false, "search exceeded its state budget"};
      const Event& e = events_[entry];
      if (e.is_call) {
        uint64_t next = 0;
        if (StepModel(ops_[e.op], state, &next)) {
          std::vector<uint64_t> bits = linearized;
          bits[e.op / 64] |= uint64_t{1} << (e.op % 64);
          if (cache.insert(StateKey{bits, next}).second) {
            stack.emplace_back(entry, state);
            state = next;
            linearized = std::move(bits);
            Lift(entry);
            entry = events_[kHead].next;
            continue;
          }
        }
        entry = e.next;
        continue;
      }
      // A return reached before its call was linearized: undo the last choice.
      if (stack.empty()) return {false, Explain()};
      auto [call, before] = stack.back();
      stack.pop_back();
      state = before;
      linearized[events_[call].op / 64] &= ~(uint64_t{1} << (events_[call].op % 64));
      Unlift(call);
      entry = events_[call].next;
    }
    return {true, ""};
  }

 private:
  static constexpr size_t kHead = 0;
  static constexpr size_t kTail = 1;

  void BuildEvents() {
    struct Stamp {
      uint64_t time;
      int order;  // calls before returns at equal times: equal stamps are concurrent
      size_t op;
      bool is_call;
    };
    std::vector<Stamp> stamps;
    for (size_t i = 0; i < ops_.size(); ++i) {
      stamps.push_back({ops_[i].invoke_time, 0, i, true});
      stamps.push_back({ops_[i].response_time, 1, i, false});
    }
    std::sort(stamps.begin(), stamps.end(), [](const Stamp& a, const Stamp& b) {
      return std::tie(a.time, a.order, a.op) < std::tie(b.time, b.order, b.op);
    });
    events_.resize(2);
    events_[kHead] = Event{.next = 2};
    std::vector<size_t> call_of(ops_.size());
    for (const Stamp& s : stamps) {
      const size_t index = events_.size();
      events_.push_back(Event{.op = s.op,
                              .is_call = s.is_call,
                              .prev = index == 2 ? kHead : index - 1,
                              .next = index + 1});
      if (s.is_call) {
        call_of[s.op] = index;
      } else {
        events_[call_of[s.op]].match = index;
      }
    }
    events_.back().next = kTail;
    events_[kTail] = Event{.prev = events_.size() - 1};
    if (stamps.empty()) events_[kHead].next = kTail;
  }

  void Remove(size_t i) {
    events_[events_[i].prev].next = events_[i].next;
    events_[events_[i].next].prev = events_[i].prev;
  }
  void Restore(size_t i) {
    events_[events_[i].prev].next = i;
    events_[events_[i].next].prev = i;
  }
  void Lift(size_t call) {
    Remove(call);
    Remove(events_[call].match);
  }
  void Unlift(size_t call) {
    Restore(events_[call].match);
    Restore(call);
  }

  std::string Explain() const {
    std::string out = "no linearization of key " + std::to_string(ops_.front().key) + ":";
    for (const KvOp& op : ops_) out += "\n    " + DescribeOp(op);
    return out;
  }

  std::vector<KvOp> ops_;
  std::vector<Event> events_;
};

}  // namespace

std::string DescribeOp(const KvOp& op) {
  std::string out = "client " + std::to_string(op.client) + " ";
  switch (op.kind) {
    case OpKind::kPut:
      out += "put(" + std::to_string(op.key) + ", " + std::to_string(op.value) + ")";
      break;
    case OpKind::kGet:
      out += "get(" + std::to_string(op.key) + ") = " + std::to_string(op.value);
      break;
    case OpKind::kCas:
      out += "cas(" + std::to_string(op.key) + ", " + std::to_string(op.expected) + " -> " +
             std::to_string(op.value) + ")";
      if (op.response_time != KvOp::kNoResponse) out += op.cas_ok ? " ok" : " failed";
      break;
  }
  out += " [" + std::to_string(op.invoke_time) + ", ";
  out +=
      op.response_time == KvOp::kNoResponse ? std::string("?") : std::to_string(op.response_time);
  return out + "]";
}

LinearizabilityResult CheckLinearizable(const std::vector<KvOp>& history, uint64_t max_states) {
  std::map<uint64_t, std::vector<KvOp>> by_key;
  for (const KvOp& op : history) by_key[op.key].push_back(op);
  for (auto& [key, ops] : by_key) {
    LinearizabilityResult r = KeyChecker(std::move(ops)).Run(max_states);
    if (!r.ok) return r;
  }
  return {true, ""};
}

}  // namespace cloister::sim
