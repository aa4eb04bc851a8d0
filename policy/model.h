// A compiled policy in memory: the finite domains and each rule's condition
// as a Region (cube.h). The compiler produces it, the analyser and `policyc`
// inspect it, and it converts to and from the CompiledPolicy protobuf that a
// bundle carries. Plain values; thread-compatible.
#ifndef GATEHOUSE_POLICY_MODEL_H_
#define GATEHOUSE_POLICY_MODEL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gatehouse/v1/policy.pb.h"
#include "policy/cube.h"
#include "policy/diagnostic.h"

namespace gatehouse::policy {

struct Organisation {
  std::string id;
  int sector = 0;         // index into Domains::sectors; -1 if in error
  int accreditation = 0;  // index into Domains::classifications
};

struct Domains {
  std::vector<std::string> classifications;  // lowest first
  std::vector<std::string> caveats;
  std::vector<std::string> sectors;
  std::vector<Organisation> organisations;
  std::vector<std::string> record_types;
  std::vector<std::string> purposes;
  // Requester attributes (labels end_user_role and legal_basis). Their
  // dimensions have one value more than the names: value 0 is "none
  // given", value i + 1 is roles[i] (legal_bases[i]). Empty: not used (the
  // label is ignored, every request is "none given").
  std::vector<std::string> roles;
  bool roles_ordered = false;  // declared with '<': ranks, lowest first
  std::vector<std::string> legal_bases;

  Shape shape() const;
  // The name of each value of a dimension: organisation ids, type names,
  // ...; for role and legal basis "(none)" first, then the names.
  std::vector<std::string> ValueNames(int dim) const;
  // Cells where the recipient is accredited below the classification.
  Region WriteDownRegion() const;
  // True if a value dimension has more than 64 values.
  bool Wide() const;
  // True if bundles must carry all eight dimensions (format version 3).
  bool NeedsFormat3() const { return Wide() || !roles.empty() || !legal_bases.empty(); }
};

struct Obligations {
  bool encrypt = false;
  std::vector<std::string> redact_fields;
  uint32_t retain_days = 0;
  bool notify_originator = false;
  // The record must name one recipient system (see DecisionObligations).
  bool require_recipient_system = false;
};

struct Rule {
  std::string id;
  std::string description;
  bool forbid = false;
  bool defensive = false;   // "defensive forbid" (bundles: see AttachRuleTexts)
  Region region;
  Obligations obligations;
  SourcePos pos;            // where the rule starts (zero if from a bundle)
  // For diagnostics that blame a part of the rule (zero if from a bundle):
  SourcePos id_pos;                  // its id
  SourcePos classification_pos;      // its first classification condition
  std::string classification_text;   //   as written, e.g. "classification at least SECRET"
  SourcePos recipient_pos;           // its first recipient condition
  std::string recipient_text;
  // If it can match nothing: the fewest conditions that cannot hold
  // together (or its 'unless', if that covers everything it matches).
  struct Condition {
    SourcePos pos;
    std::string text;
  };
  std::vector<Condition> conflict;
  std::string source;       // "file:line:column"
  std::string layer;        // "baseline" or the local layer's policy name
  bool local = false;       // from a local layer
  std::string text;         // canonical source of the rule (empty if from a bundle)
};

struct Model {
  std::string name;
  Domains domains;
  std::vector<Rule> rules;
  std::vector<std::string> canonical_source;
};

// CompiledPolicy.format_version: the lowest that carries every feature the
// policy uses, so that a gateway that predates a feature refuses the policy
// instead of ignoring it: 1; 2 when some rule requires a recipient system;
// 3 when a domain has more than 64 values (a cube's masks then take
// several words for that dimension) or roles or legal bases are declared
// (cubes then carry all eight dimensions).
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr uint32_t kFormatVersionRecipientSystem = 2;
inline constexpr uint32_t kFormatVersionWide = 3;

// Converts to the bundle message (the lowest format version that carries
// every obligation the rules use).
gatehouse::v1::CompiledPolicy ToProto(const Model& model);
// Converts from the bundle message, checking every index and size; returns
// InvalidArgument naming the first inconsistency.
absl::StatusOr<Model> FromProto(const gatehouse::v1::CompiledPolicy& proto);

}  // namespace gatehouse::policy

#endif  // GATEHOUSE_POLICY_MODEL_H_
