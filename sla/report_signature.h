// Detached signatures over a service-level report's exact file bytes, as
// C2SP signed notes (audit/note.h) by a gateway's audit log key: the key
// that signs its checkpoints and that the directory lists as its auditKey,
// so anyone who can check a gateway's checkpoints can check its reports.
//
//   report signature (by the gateway whose log it is):
//     gatehouse.sla-report/v1
//     report sha256 <64 hex digits of SHA-256(report bytes)>
//   countersignature (by the peer, after recomputing from its own log):
//     gatehouse.sla-countersignature/v1
//     report sha256 <64 hex digits>
//     <the countersigner's checkpoint text: origin, size, root>
//
// The second line is never a decimal tree size, so neither text can be
// taken for a signed checkpoint (whose second line is one), and the first
// line keeps the two kinds apart.
//
// Thread-safety: pure functions.
//
// Example:
//   std::string sig = SignReport(json, log_key);                 // report.json.sig
//   RETURN_IF_ERROR(VerifyReportSignature(json, sig, sender_key));
#ifndef GATEHOUSE_SLA_REPORT_SIGNATURE_H_
#define GATEHOUSE_SLA_REPORT_SIGNATURE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "audit/checkpoint.h"
#include "audit/note.h"

namespace gatehouse::sla {

// The signed note over `report`. REQUIRES: log_key.type() == kSigTypeEd25519.
std::string SignReport(absl::string_view report, const audit::NoteSigner& log_key);

// OK iff `note` is a report signature by `key` over exactly `report`.
// Unauthenticated if `key` did not sign it (another gateway's), DataLoss if
// its signature or digest does not match (a changed report or note),
// InvalidArgument if it is not a report signature at all.
absl::Status VerifyReportSignature(absl::string_view report, absl::string_view note,
                                   const audit::NoteVerifier& key);

// The countersignature over `report`, naming the countersigner's signed
// checkpoint `own_checkpoint_text` (the log state it checked against).
std::string CountersignReport(absl::string_view report, absl::string_view own_checkpoint_text,
                              const audit::NoteSigner& log_key);

// Checks a countersignature as VerifyReportSignature does; returns the
// countersigner's checkpoint it names.
absl::StatusOr<audit::Checkpoint> VerifyCountersignature(absl::string_view report,
                                                         absl::string_view note,
                                                         const audit::NoteVerifier& key);

}  // namespace gatehouse::sla

#endif  // GATEHOUSE_SLA_REPORT_SIGNATURE_H_
