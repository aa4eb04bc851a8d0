// Api's Approve endpoints (approval.h): compile the draft to a bundle,
// add the signatures an officer's signed copy carries, sign here with an
// officer's sealed key, review a bundle.
// Bundles travel base64-encoded in "bundle" and "signed"; every answer is
// the review of the resulting bundle, the bundle included, so the page
// keeps the state and the server none.
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "policy/compiler.h"
#include "policy/describe.h"
#include "tools/workbench/approval.h"
#include "tools/workbench/draft.h"
#include "tools/workbench/workbench_api.h"

namespace gatehouse::workbench {
namespace {

constexpr int kMaxValidDays = 3650;

absl::StatusOr<std::string> BundleField(const JsonBody& body, absl::string_view key) {
  auto text = body.String(key);
  if (!text.ok()) return text.status();
  std::string bytes;
  if (!absl::Base64Unescape(*text, &bytes) || bytes.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", key, "\" must be a bundle in base64"));
  }
  return bytes;
}

// The expiry `valid_days` after `issued`; "" means none.
absl::StatusOr<absl::Time> NotAfter(const std::string& valid_days, absl::Time issued) {
  if (valid_days.empty()) return absl::InfiniteFuture();
  int days = 0;
  if (!absl::SimpleAtoi(valid_days, &days) || days < 1 || days > kMaxValidDays) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"valid_days\" must be a whole number of days from 1 to ", kMaxValidDays,
        ", or empty for a bundle that does not expire"));
  }
  return issued + absl::Hours(24) * days;
}

JsonValue RulesOf(const gatehouse::v1::CompiledPolicy& compiled) {
  std::vector<JsonValue> rules;
  auto model = policy::FromProto(compiled);
  if (!model.ok()) return List({});
  policy::AttachRuleTexts(&*model);
  for (const policy::Rule& r : model->rules) {
    rules.push_back(Object({{"id", Str(r.id)},
                            {"kind", Str(policy::DescribeRuleKind(r))},
                            {"description", Str(r.description)},
                            {"obligations", Str(r.forbid ? "" : policy::DescribeModelObligations(
                                                                    r.obligations))}}));
  }
  return List(std::move(rules));
}

JsonValue ReviewJson(const std::string& bundle, const ApprovalReview& r) {
  const auto& p = r.contents.payload;
  std::vector<JsonValue> officers, signatures;
  for (const OfficerStatus& o : r.officers) {
    officers.push_back(Object({{"name", Str(o.name)}, {"fingerprint", Str(o.fingerprint)},
                               {"signed", Bool(o.is_signed)}, {"signed_as", Str(o.signed_as)},
                               {"sign_here", Bool(o.sign_here)}}));
  }
  for (const policy::BundleSigner& s : r.contents.signers) {
    signatures.push_back(Object({{"name", Str(s.name)}, {"fingerprint", Str(s.fingerprint)},
                                 {"verifies", Bool(s.verifies)}, {"trusted", Bool(s.trusted)}}));
  }
  return Object({
      {"bundle", Str(absl::Base64Escape(bundle))},
      {"policy", Str(r.contents.compiled.name())},
      {"version", Str(p.version())},
      {"digest", Str(r.contents.digest)},
      {"issued", Str(policy::FormatBundleTime(absl::FromUnixMillis(p.issued_unix_ms())))},
      {"expires", Str(policy::FormatBundleTime(policy::BundleNotAfter(p)))},
      {"required", Num(r.required)},
      {"signed", Num(r.signed_count)},
      {"ready", Bool(r.ready)},
      {"not_ready", Str(r.not_ready)},
      {"officers", List(std::move(officers))},
      {"signatures", List(std::move(signatures))},
      {"rules", RulesOf(r.contents.compiled)},
  });
}

absl::StatusOr<JsonValue> Review(const std::string& bundle, const Officers& officers) {
  auto review = ReviewApproval(bundle, officers);
  if (!review.ok()) return review.status();
  return ReviewJson(bundle, *review);
}

}  // namespace

absl::StatusOr<JsonValue> Api::ApproveCompile(absl::string_view text) const {
  auto body = JsonBody::Parse(text, {"source", "version", "valid_days"});
  if (!body.ok()) return body.status();
  auto source = body->String("source");
  if (!source.ok()) return source.status();
  auto version = body->OptionalString("version");
  if (!version.ok()) return version.status();
  auto valid_days = body->OptionalString("valid_days");
  if (!valid_days.ok()) return valid_days.status();
  const Draft draft = CompileDraft(*source);
  // As policyc compile: a draft with an error, or whose engine cannot be
  // built, is not offered for signing.
  if (auto engine = EngineOf(draft); !engine.ok()) return engine.status();
  const absl::Time issued = absl::Now();
  auto not_after = NotAfter(*valid_days, issued);
  if (!not_after.ok()) return not_after.status();
  auto bundle = CompileForApproval(draft.model, officers_, *version, issued, *not_after);
  if (!bundle.ok()) return bundle.status();
  return Review(*bundle, officers_);
}

absl::StatusOr<JsonValue> Api::ApproveAdd(absl::string_view text) const {
  auto body = JsonBody::Parse(text, {"bundle", "signed"});
  if (!body.ok()) return body.status();
  auto collected = BundleField(*body, "bundle");
  if (!collected.ok()) return collected.status();
  auto upload = BundleField(*body, "signed");
  if (!upload.ok()) return upload.status();
  auto merged = AddSignatures(*collected, *upload, officers_);
  if (!merged.ok()) return merged.status();
  return Review(*merged, officers_);
}

absl::StatusOr<JsonValue> Api::ApproveSign(absl::string_view text) const {
  auto body = JsonBody::Parse(text, {"bundle", "officer", "passphrase", "signed_as"});
  if (!body.ok()) return body.status();
  auto collected = BundleField(*body, "bundle");
  if (!collected.ok()) return collected.status();
  auto officer = body->String("officer");
  if (!officer.ok()) return officer.status();
  auto passphrase = body->String("passphrase");
  if (!passphrase.ok()) return passphrase.status();
  auto signed_as = body->OptionalString("signed_as");
  if (!signed_as.ok()) return signed_as.status();
  auto merged = SignHere(*collected, officers_, *officer, *passphrase, *signed_as, *passphrases_);
  if (!merged.ok()) return merged.status();
  return Review(*merged, officers_);
}

absl::StatusOr<JsonValue> Api::ApproveReview(absl::string_view text) const {
  auto body = JsonBody::Parse(text, {"bundle"});
  if (!body.ok()) return body.status();
  auto bundle = BundleField(*body, "bundle");
  if (!bundle.ok()) return bundle.status();
  return Review(*bundle, officers_);
}

}  // namespace gatehouse::workbench
