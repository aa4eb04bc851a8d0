// The workbench's JSON API: each endpoint one thin layer over the policy
// library, taking a request body (one JSON object) and giving an answer.
// No HTTP and no I/O here (workbench_server.h does both); every endpoint
// compiles the source it is given, so a request depends on nothing but
// its body and the bundle in force given at start-up.
//
//   /api/check    {source}                 -> the compiler's diagnostics
//                                             (policyc check --format json)
//   /api/format   {source}                 -> {formatted} (comments kept)
//   /api/ask      {source, sender, recipient, type, classification,
//                  purpose, originator?, caveats?, role?, legal_basis?}
//                                          -> decision, rules, obligations,
//                                             explanation (nearest permit)
//   /api/compare  {source, against?}       -> newly permitted / denied /
//                                             obligations changed, with causes;
//                                             against the bundle in force if
//                                             "against" is left out
//   /api/test     {source, cases}          -> cases (failing first), coverage
//                                             (each change with "picture":
//                                             the labels of one of its flows,
//                                             for /api/flows to show it)
//   /api/flows    {source, classification?, record_type?, purpose?, caveats?,
//                  compare?, against?}
//                                          -> for each classification (or
//                                             the one given) and each pair
//                                             of distinct organisations, the
//                                             /api/ask decision; record type
//                                             and purpose default to the
//                                             first declared, caveats to none.
//                                             With compare: true, each cell
//                                             also has the other version's
//                                             decision ("before", against or
//                                             the bundle in force as for
//                                             /api/compare) and its "change"
//   /api/approve/compile {source, version?, valid_days?}
//                                          -> the draft as an unsigned bundle
//                                             needing m signatures, reviewed
//   /api/approve/add {bundle, signed}      -> bundle with the signatures of
//                                             `signed` (an officer's signed
//                                             copy) added, reviewed
//   /api/approve/sign {bundle, officer, passphrase, signed_as?}
//                                          -> bundle signed here for `officer`
//                                             with their sealed key (approval.h
//                                             SignHere), reviewed
//   /api/approve/review {bundle}           -> what is signed (version, digest,
//                                             rules), who has signed of the
//                                             officers, ready or why not
//   (bundles base64; approval.h says what a signature must be to count)
//   /api/observe {export, source?}         -> an audit export (auditctl export's
//                                             JSON lines) summed up: decisions
//                                             over time by rule and outcome,
//                                             most-denied flows, shadow
//                                             differences, and what the draft
//                                             would decide otherwise (observe.h)
//
// Thread-safe: const after Create.
//
// Example:
//   ASSIGN_OR_RETURN(Api api, Api::Create(bundle_bytes_or_empty));
//   ApiAnswer a = api.Handle("/api/check", R"({"source":"policy ..."})");
//   respond(a.http_status, a.json);
#ifndef GATEHOUSE_TOOLS_WORKBENCH_WORKBENCH_API_H_
#define GATEHOUSE_TOOLS_WORKBENCH_WORKBENCH_API_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "policy/model.h"
#include "tools/workbench/approval.h"
#include "tools/workbench/json_body.h"

namespace gatehouse::workbench {

struct ApiAnswer {
  int http_status = 200;
  std::string json;  // {"error": "..."} unless http_status is 200
};

// The HTTP status for a failed status (InvalidArgument 400, Unauthenticated
// and PermissionDenied 403, NotFound 404, AlreadyExists 409,
// ResourceExhausted 413, DeadlineExceeded 503, Unavailable 503, else 500)
// and {"error": message}.
ApiAnswer ErrorAnswer(const absl::Status& status);

class Api {
 public:
  // `bundle` is the bundle in force (its bytes), or empty if none was
  // given. InvalidArgument if it does not parse or its policy does not.
  // The bundle's signatures are not judged here: it is only compared with.
  // `officers` are those who may approve (m of n) on /api/approve/*.
  static absl::StatusOr<Api> Create(absl::string_view bundle, Officers officers = {});

  // Answers one request to `path` with `body` (REQUIRES: valid UTF-8).
  // An unknown path is a 404; a bad body a 400 saying what is wrong.
  ApiAnswer Handle(absl::string_view path, absl::string_view body) const;

  // The bundle's policy source (canonical, comments kept), "" if none.
  std::string BundleSource() const;

 private:
  absl::StatusOr<JsonValue> Check(absl::string_view body) const;
  absl::StatusOr<JsonValue> Format(absl::string_view body) const;
  absl::StatusOr<JsonValue> Ask(absl::string_view body) const;
  absl::StatusOr<JsonValue> Compare(absl::string_view body) const;
  absl::StatusOr<JsonValue> Test(absl::string_view body) const;
  absl::StatusOr<JsonValue> Flows(absl::string_view body) const;
  absl::StatusOr<JsonValue> ApproveCompile(absl::string_view body) const;
  absl::StatusOr<JsonValue> ApproveAdd(absl::string_view body) const;
  absl::StatusOr<JsonValue> ApproveSign(absl::string_view body) const;
  absl::StatusOr<JsonValue> ApproveReview(absl::string_view body) const;
  absl::StatusOr<JsonValue> Observe(absl::string_view body) const;

  // The version the draft is compared with: body's "against" compiled, or
  // the bundle in force. InvalidArgument if "against" has an error or
  // there is neither.
  absl::StatusOr<policy::Model> Baseline(const JsonBody& body) const;

  std::optional<policy::Model> bundle_model_;
  Officers officers_;
  // Shared by copies of this Api: one count of wrong passphrases a process.
  std::shared_ptr<PassphraseGuard> passphrases_ = std::make_shared<PassphraseGuard>();
};

}  // namespace gatehouse::workbench

#endif  // GATEHOUSE_TOOLS_WORKBENCH_WORKBENCH_API_H_
