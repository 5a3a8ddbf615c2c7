// The actions a proposal may take on the service's tables (private to gov; proposals.cc runs
// them, docs/governance.md lists their arguments).
//
// Each action has two halves: CheckArgs validates the arguments alone (at submission, so a
// malformed proposal is refused before anyone votes), and Apply re-checks its preconditions
// against the state and writes its effect (when the deciding ballot arrives). Apply returns an
// error instead of writing anything partial within one action; the caller aborts the whole
// transaction on any error.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "cloister/base/result.h"
#include "cloister/kv/store.h"

namespace cloister::gov {

struct ActionContext {
  kv::Tx* tx;
  std::string proposal_id;
};

struct ActionSpec {
  std::string_view name;
  Status (*check_args)(const nlohmann::json& args);
  Status (*apply)(const ActionContext& context, const nlohmann::json& args);
};

// Every action, in documentation order.
const std::vector<ActionSpec>& ActionSpecs();
// The spec named `name`, or nullptr.
const ActionSpec* FindAction(std::string_view name);

}  // namespace cloister::gov
