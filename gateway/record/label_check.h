// Which submitted label the policy does not declare, said so the caller can
// fix it: the field, the value given, and the values the policy declares.
// A label the policy does not know is a bad request (InvalidArgument), not
// a denial: the policy never decided on it.
//
// Example:
//   if (IsLabelFault(decision))
//     if (std::optional<absl::Status> bad = SubmittedLabelFault(engine.model(), request))
//       return Refusal::Check(*bad, "labels");
//
// Thread-safe: pure functions.
#ifndef GATEHOUSE_GATEWAY_RECORD_LABEL_CHECK_H_
#define GATEHOUSE_GATEWAY_RECORD_LABEL_CHECK_H_

#include <optional>

#include "absl/status/status.h"
#include "policy/engine.h"
#include "policy/model.h"

namespace gatehouse {

// True if `d` denied because a label is missing or not declared by the
// policy (policy::Outcome kMissingLabel or kUnknownLabel).
bool IsLabelFault(const policy::Decision& d);

// InvalidArgument naming the first missing or undeclared label a system
// submitted in `r`, in the order the engine resolves them
// (policy::Engine::Resolve), e.g. "labels.classification 'CONFIDENTIAL' is
// not declared by the policy (declared: OFFICIAL, OFFICIAL-SENSITIVE,
// SECRET)". nullopt if every submitted label is declared: the fault is then
// not the caller's (the sending organisation itself is not in the policy)
// and the policy's denial stands.
std::optional<absl::Status> SubmittedLabelFault(const policy::Model& model,
                                                const policy::Request& r);

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_RECORD_LABEL_CHECK_H_
