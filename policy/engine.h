// The policy decision engine a gateway holds: decides whether one record
// may go from a sender to a recipient, and with which obligations.
//
// Build it once from a compiled policy (usually out of a signed bundle,
// see bundle.h), then call Evaluate per record. Evaluate never allocates,
// never fails and never throws: anything it cannot decide is a denial with
// a reason (fail closed). An Engine is immutable after construction, so it
// is thread-safe: any number of threads may call its const methods.
//
// Decision order (first that applies wins):
//   1. a missing label (empty sender, recipient, record type,
//      classification or purpose)            -> deny, kMissingLabel
//   2. a label the policy does not declare    -> deny, kUnknownLabel
//      (a requester role or legal basis too, if the policy declares any)
//   3. recipient accredited below the record's classification
//                                             -> deny, kWriteDown (built in)
//   4. any forbid rule matches                -> deny, kForbidden
//   5. any permit rule matches                -> allow, kPermitted
//   6. otherwise                              -> deny, kNoPermit
//
// Example:
//   ASSIGN_OR_RETURN(Engine engine,
//                    Engine::FromBundle(bundle_bytes, officer_trust));
//   const absl::string_view caveats[] = {"PERSONAL", "MEDICAL"};
//   Request req;
//   req.sender = "trust-01";          // from the client certificate
//   req.recipient = "council-02";
//   req.record_type = "discharge_summary";
//   req.classification = "OFFICIAL-SENSITIVE";
//   req.purpose = "direct_care";
//   req.caveats = caveats;            // originator empty: the sender
//   Decision d = engine.Evaluate(req);
//   if (!d.allowed) return absl::PermissionDeniedError(d.reason);
#ifndef GATEHOUSE_POLICY_ENGINE_H_
#define GATEHOUSE_POLICY_ENGINE_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "gatehouse/v1/policy.pb.h"
#include "policy/bundle.h"
#include "policy/label_index.h"
#include "policy/model.h"

namespace gatehouse::policy {

// One record's labels as strings (the views must outlive the call only).
struct Request {
  absl::string_view sender;          // organisation id, from the certificate
  absl::string_view recipient;       // organisation id
  absl::string_view record_type;
  absl::string_view classification;  // e.g. "OFFICIAL-SENSITIVE"
  absl::string_view purpose;
  absl::string_view originator;      // organisation id; empty means sender
  absl::Span<const absl::string_view> caveats;
  // The end user's role or rank and the legal basis claimed (labels
  // end_user_role and legal_basis); empty: none given. Ignored by a policy
  // that declares no roles (no legal bases).
  absl::string_view requester_role = {};
  absl::string_view legal_basis = {};
};

// The same request with every label replaced by its index in the policy's
// domains (see Engine::Resolve). Valid only for the engine that made it.
struct ResolvedRequest {
  uint16_t sender = 0;
  uint16_t recipient = 0;
  uint16_t record_type = 0;
  uint16_t classification = 0;
  uint16_t purpose = 0;
  uint16_t originator = 0;
  uint64_t caveats = 0;  // bit i set: caveat i present
  uint16_t requester_role = 0;  // 0: none given; i + 1: roles[i]
  uint16_t legal_basis = 0;     // 0: none given; i + 1: legal_bases[i]
};

enum class Outcome {
  kPermitted,
  kForbidden,
  kNoPermit,
  kWriteDown,
  kUnknownLabel,
  kMissingLabel,
};

// "permitted", "forbidden", "no-permit", "write-down", "unknown-label",
// "missing-label": stable names for audit entries and metrics.
absl::string_view OutcomeName(Outcome outcome);

// Obligations of all matching permits, merged (union; longest retention):
// a flag is set if any matching permit sets it.
struct DecisionObligations {
  bool encrypt = false;
  bool notify_originator = false;
  // "require recipient system": the record must name one system of the
  // recipient organisation (labels.recipient_system). A gateway refuses a
  // record without one, so it is never fetched by every system there.
  bool require_recipient_system = false;
  uint32_t retain_days = 0;   // 0: not stated
  uint64_t redact = 0;        // bit i: Engine::RedactFieldName(i)
};

inline constexpr int kMaxDecidingRules = 8;

struct Decision {
  bool allowed = false;
  Outcome outcome = Outcome::kNoPermit;
  // Number of deciding rules: every matching forbid on kForbidden, every
  // matching permit on kPermitted, zero otherwise. Only the first
  // kMaxDecidingRules are recorded; see rule_id().
  int num_rules = 0;
  // A sentence a person can act on, owned by the engine, e.g.
  // "denied: forbidden by rule F06-medical-caveat: MEDICAL records go ...".
  absl::string_view reason;
  DecisionObligations obligations;  // set only when allowed

  // Number of recorded deciding rules: min(num_rules, kMaxDecidingRules).
  int recorded_rules() const {
    return num_rules < kMaxDecidingRules ? num_rules : kMaxDecidingRules;
  }
  // Id of deciding rule i, a view into the engine (valid while the engine
  // that made this decision lives and is not assigned to).
  // REQUIRES: 0 <= i < recorded_rules().
  absl::string_view rule_id(int i) const { return rule_ids_[rule_index_[i]]; }

 private:
  friend class Engine;
  const std::string* rule_ids_ = nullptr;  // the engine's rule id table
  std::array<uint16_t, kMaxDecidingRules> rule_index_{};
};

class Engine {
 public:
  // Verifies a signed bundle (see bundle.h for every failure) and builds the
  // engine from the policy it carries.
  static absl::StatusOr<Engine> FromBundle(absl::string_view bundle_bytes,
                                           const BundleTrust& trust);
  // Builds the engine from a compiled policy. InvalidArgument if the policy
  // is inconsistent (bad index, duplicate name, domain over kMaxValues
  // values or kMaxCaveats caveats).
  static absl::StatusOr<Engine> FromCompiled(
      const gatehouse::v1::CompiledPolicy& compiled);
  static absl::StatusOr<Engine> FromModel(Model model);

  Engine(Engine&&) = default;
  Engine& operator=(Engine&&) = default;

  // Resolves labels and decides. Never allocates.
  Decision Evaluate(const Request& request) const;

  // Resolves labels to indices. On success returns true and fills *out; on
  // a missing or unknown label returns false, leaves *out unspecified and
  // sets *denial to the denial Evaluate would return.
  bool Resolve(const Request& request, ResolvedRequest* out,
               Decision* denial) const;

  // Decides a resolved request (steps 3-6 above). Never allocates.
  Decision EvaluateResolved(const ResolvedRequest& request) const;

  // The name of redact field `i` of DecisionObligations::redact.
  absl::string_view RedactFieldName(int i) const { return redact_fields_[i]; }
  // Every field named in `obligations.redact`.
  std::vector<std::string> RedactFields(const DecisionObligations& o) const;

  const Model& model() const { return model_; }

 private:
  Engine() = default;
  void Build();
  Decision Deny(Outcome outcome, absl::string_view reason) const;

  Model model_;
  Shape shape_;
  int words_ = 0;                 // 64-bit words per cube bitset
  std::vector<uint64_t> value_bits_[kNumValueDims];  // [value * words_ + w]
  std::vector<uint64_t> caveat_table_;  // [caveat mask * words_ + w], small
  std::vector<uint64_t> caveat_present_, caveat_absent_;  // [i * words_ + w]
  std::vector<uint64_t> forbid_words_;
  std::vector<uint16_t> cube_rule_;
  std::vector<DecisionObligations> rule_obligations_;
  std::vector<std::string> rule_reason_;
  std::vector<std::string> rule_ids_;
  std::vector<std::string> redact_fields_;
  std::vector<uint16_t> accreditation_;
  LabelIndex orgs_, types_, levels_, purposes_, caveats_, roles_, bases_;
};

}  // namespace gatehouse::policy

#endif  // GATEHOUSE_POLICY_ENGINE_H_
