// Matching two versions of a policy by name, for DiffPolicies (diff.h):
// both versions' names merged into one set of domains, each version's cubes
// mapped into it, and the declarations that changed, in words.
// Stateless; thread-safe.
//
// Example:
//   Domains merged;
//   RETURN_IF_ERROR(MergeDomains(old.domains, now.domains, &merged));
//   const DomainRemap from_old(old.domains, merged);
//   Region where = from_old.Map(old.rules[0].region);
#ifndef GATEHOUSE_POLICY_DIFF_DOMAINS_H_
#define GATEHOUSE_POLICY_DIFF_DOMAINS_H_

#include <array>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "policy/cube.h"
#include "policy/model.h"

namespace gatehouse::policy {

// Both versions' names into *merged (empty before): each kind of name as
// `b` declares it, then those only `a` has (a level only `a` has goes
// right after the level that precedes it there); organisations as `b`
// declares them (sector and accreditation), then those only `a` has.
// InvalidArgument if together they name more of one kind than a policy may
// (kMaxValues; kMaxCaveats caveats); *merged is then incomplete.
absl::Status MergeDomains(const Domains& a, const Domains& b, Domains* merged);

// Appends to *declarations what `b` declares differently from `a`, in
// words ("caveat X added", "organisation o: accreditation lowered to
// OFFICIAL (was SECRET)"...). Returns the organisation changes among them,
// each starting "organisation <id>".
std::vector<std::string> DeclarationChanges(const Domains& a, const Domains& b,
                                            std::vector<std::string>* declarations);

// Maps one version's cubes into the merged domains: each value to the
// value of the same name; a caveat the version does not declare may only be
// absent; a version that declares no roles (legal bases) ignores the label,
// so every value of it is the same to that version.
class DomainRemap {
 public:
  DomainRemap(const Domains& from, const Domains& to);  // to: the merged domains
  Cube Map(const Cube& c) const;
  Region Map(const Region& r) const;
  // The requests this version can resolve (every label declared);
  // `from` is the version's own shape.
  Cube Known(const Shape& from) const;

 private:
  Shape to_;
  std::array<std::vector<int>, kNumValueDims> dims_;
  std::array<bool, kNumValueDims> ignored_{};
  std::vector<int> caveats_;
};

}  // namespace gatehouse::policy

#endif  // GATEHOUSE_POLICY_DIFF_DOMAINS_H_
