#include "gateway/record/label_check.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "proto/error_details.h"

namespace gatehouse {
namespace {

// The fault of one label against the values declared for it; nullopt if
// the value is declared.
std::optional<absl::Status> Check(absl::string_view field, absl::string_view value,
                                  const std::vector<std::string>& declared, bool required = true) {
  const std::string path = absl::StrCat("labels.", field);
  const std::string allowed = absl::StrJoin(declared, ", ");
  absl::Status fault;
  if (value.empty()) {
    if (!required) return std::nullopt;
    fault = InvalidFieldError(path, absl::StrCat("is required (declared: ", allowed, ")"));
  } else if (absl::c_linear_search(declared, value)) {
    return std::nullopt;
  } else {
    fault = WithReason(InvalidFieldError(path, absl::StrCat("'", value,
                                                            "' is not declared by the policy "
                                                            "(declared: ",
                                                            allowed, ")")),
                       "LABEL_NOT_DECLARED");
  }
  return WithMetadata(std::move(fault), "allowedValues", allowed);
}

}  // namespace

bool IsLabelFault(const policy::Decision& d) {
  return d.outcome == policy::Outcome::kUnknownLabel || d.outcome == policy::Outcome::kMissingLabel;
}

std::optional<absl::Status> SubmittedLabelFault(const policy::Model& model,
                                                const policy::Request& r) {
  const policy::Domains& domains = model.domains;
  std::vector<std::string> orgs;
  for (const policy::Organisation& o : domains.organisations) orgs.push_back(o.id);
  const std::optional<absl::Status> faults[] = {
      Check("recipient_org", r.recipient, orgs),
      Check("record_type", r.record_type, domains.record_types),
      Check("classification", r.classification, domains.classifications),
      Check("purpose", r.purpose, domains.purposes),
      Check("originator", r.originator, orgs, /*required=*/false),
  };
  for (const std::optional<absl::Status>& f : faults) {
    if (f.has_value()) return *f;
  }
  for (absl::string_view c : r.caveats) {
    if (std::optional<absl::Status> f = Check("caveats", c, domains.caveats); f.has_value()) {
      return *f;
    }
  }
  return std::nullopt;
}

}  // namespace gatehouse
