#include "sla/report_signature.h"

#include <sodium.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"

namespace gatehouse::sla {
namespace {

constexpr absl::string_view kReportTag = "gatehouse.sla-report/v1\n";
constexpr absl::string_view kCountersignTag = "gatehouse.sla-countersignature/v1\n";

std::string DigestLine(absl::string_view report) {
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, reinterpret_cast<const unsigned char*>(report.data()), report.size());
  return absl::StrCat("report sha256 ",
                      absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(h), sizeof(h))),
                      "\n");
}

// Opens `note` with `key` and returns what follows `tag` and the digest
// line, once both are checked against `report`.
absl::StatusOr<std::string> Open(absl::string_view report, absl::string_view note,
                                 const audit::NoteVerifier& key, absl::string_view tag) {
  ASSIGN_OR_RETURN(audit::Note opened, audit::OpenNote(note, {&key}));
  absl::string_view text = opened.text;
  if (!absl::ConsumePrefix(&text, tag)) {
    return absl::InvalidArgumentError(absl::StrCat("not a ", absl::StripSuffix(tag, "\n"), " signature"));
  }
  if (!absl::ConsumePrefix(&text, DigestLine(report))) {
    return absl::DataLossError("the signature is over other report bytes: the report was changed");
  }
  return std::string(text);
}

}  // namespace

std::string SignReport(absl::string_view report, const audit::NoteSigner& log_key) {
  return audit::SignNote(absl::StrCat(kReportTag, DigestLine(report)), {&log_key});
}

absl::Status VerifyReportSignature(absl::string_view report, absl::string_view note,
                                   const audit::NoteVerifier& key) {
  ASSIGN_OR_RETURN(std::string rest, Open(report, note, key, kReportTag));
  if (!rest.empty()) return absl::InvalidArgumentError("a report signature with extra lines");
  return absl::OkStatus();
}

std::string CountersignReport(absl::string_view report, absl::string_view own_checkpoint_text,
                              const audit::NoteSigner& log_key) {
  return audit::SignNote(absl::StrCat(kCountersignTag, DigestLine(report), own_checkpoint_text),
                         {&log_key});
}

absl::StatusOr<audit::Checkpoint> VerifyCountersignature(absl::string_view report,
                                                         absl::string_view note,
                                                         const audit::NoteVerifier& key) {
  ASSIGN_OR_RETURN(std::string rest, Open(report, note, key, kCountersignTag));
  return audit::ParseCheckpoint(rest);
}

}  // namespace gatehouse::sla
