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
  int sector = 0;         // index into Domains::sectors
  int accreditation = 0;  // index into Domains::classifications
};

struct Domains {
  std::vector<std::string> classifications;  // lowest first
  std::vector<std::string> caveats;
  std::vector<std::string> sectors;
  std::vector<Organisation> organisations;
  std::vector<std::string> record_types;
  std::vector<std::string> purposes;

  Shape shape() const;
  // Cells where the recipient is accredited below the classification.
  Region WriteDownRegion() const;
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
  Region region;
  Obligations obligations;
  SourcePos pos;            // where the rule starts (zero if from a bundle)
  std::string source;       // "file:line:column"
  std::string layer;        // "baseline" or the local layer's policy name
  bool local = false;       // from a local layer
};

struct Model {
  std::string name;
  Domains domains;
  std::vector<Rule> rules;
  std::vector<std::string> canonical_source;
};

// CompiledPolicy.format_version: 1, or 2 when some rule requires a
// recipient system (so that a gateway that predates that obligation
// refuses the policy instead of ignoring it).
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr uint32_t kFormatVersionRecipientSystem = 2;

// Converts to the bundle message (the lowest format version that carries
// every obligation the rules use).
gatehouse::v1::CompiledPolicy ToProto(const Model& model);
// Converts from the bundle message, checking every index and size; returns
// InvalidArgument naming the first inconsistency.
absl::StatusOr<Model> FromProto(const gatehouse::v1::CompiledPolicy& proto);

}  // namespace gatehouse::policy

#endif  // GATEHOUSE_POLICY_MODEL_H_
