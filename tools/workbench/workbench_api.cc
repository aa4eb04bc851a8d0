// Api: dispatch, errors, and the editing endpoints (check, format).
#include "tools/workbench/workbench_api.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "policy/bundle.h"
#include "policy/compiler.h"
#include "policy/diagnostic_report.h"
#include "policy/formatter.h"
#include "policy/parser.h"
#include "tools/workbench/draft.h"

namespace gatehouse::workbench {

ApiAnswer ErrorAnswer(const absl::Status& status) {
  int code = 500;
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument: code = 400; break;
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied: code = 403; break;
    case absl::StatusCode::kNotFound: code = 404; break;
    case absl::StatusCode::kAlreadyExists: code = 409; break;
    case absl::StatusCode::kResourceExhausted: code = 413; break;
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kUnavailable: code = 503; break;
    default: break;
  }
  return ApiAnswer{code, ToJson(Object({{"error", Str(status.message())}}))};
}

absl::StatusOr<Api> Api::Create(absl::string_view bundle, Officers officers) {
  Api api;
  api.officers_ = std::move(officers);
  if (bundle.empty()) return api;
  auto contents = policy::InspectBundle(bundle);
  if (!contents.ok()) return contents.status();
  auto model = policy::FromProto(contents->compiled);
  if (!model.ok()) return model.status();
  policy::AttachRuleTexts(&*model);
  api.bundle_model_ = *std::move(model);
  return api;
}

std::string Api::BundleSource() const {
  return bundle_model_ ? absl::StrJoin(bundle_model_->canonical_source, "\n") : "";
}

ApiAnswer Api::Handle(absl::string_view path, absl::string_view body) const {
  absl::StatusOr<JsonValue> answer;
  if (path == "/api/check") {
    answer = Check(body);
  } else if (path == "/api/format") {
    answer = Format(body);
  } else if (path == "/api/ask") {
    answer = Ask(body);
  } else if (path == "/api/compare") {
    answer = Compare(body);
  } else if (path == "/api/test") {
    answer = Test(body);
  } else if (path == "/api/flows") {
    answer = Flows(body);
  } else if (path == "/api/approve/compile") {
    answer = ApproveCompile(body);
  } else if (path == "/api/approve/add") {
    answer = ApproveAdd(body);
  } else if (path == "/api/approve/sign") {
    answer = ApproveSign(body);
  } else if (path == "/api/approve/review") {
    answer = ApproveReview(body);
  } else if (path == "/api/observe") {
    answer = Observe(body);
  } else {
    return ErrorAnswer(absl::NotFoundError(absl::StrCat("no endpoint ", path)));
  }
  if (!answer.ok()) return ErrorAnswer(answer.status());
  return ApiAnswer{200, ToJson(*answer)};
}

absl::StatusOr<JsonValue> Api::Check(absl::string_view text) const {
  auto body = JsonBody::Parse(text, {"source"});
  if (!body.ok()) return body.status();
  auto source = body->String("source");
  if (!source.ok()) return source.status();
  const Draft draft = CompileDraft(*source);
  // Exactly what `policyc check --format json` prints.
  auto report = FromJson(policy::DiagnosticsToJson(draft.sources, draft.diagnostics));
  if (!report.ok()) return report.status();
  (*report->mutable_struct_value()->mutable_fields())["rules"] =
      Num(static_cast<double>(draft.model.rules.size()));
  return report;
}

absl::StatusOr<JsonValue> Api::Format(absl::string_view text) const {
  auto body = JsonBody::Parse(text, {"source"});
  if (!body.ok()) return body.status();
  auto source = body->String("source");
  if (!source.ok()) return source.status();
  std::vector<policy::Diagnostic> diags;
  const policy::PolicyFileAst ast = policy::ParsePolicy(0, *source, &diags);
  if (policy::HasErrors(diags)) {
    const policy::SourceSet sources{{kDraftName, *source}};
    policy::DiagnosticPrinter printer(sources);
    for (const policy::Diagnostic& d : diags) {
      if (d.severity != policy::Severity::kError) continue;
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot format a policy that does not parse; fix this first: ",
          printer.Where(d.pos), ": ", d.message));
    }
  }
  return Object({{"formatted", Str(policy::FormatPolicy(ast))}});
}

}  // namespace gatehouse::workbench
