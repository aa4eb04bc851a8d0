#include "tools/auditctl/postgres_command.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"
#include "tools/auditctl/postgres_log.h"

namespace gatehouse::auditctl {

absl::StatusOr<postgres::ConnectOptions> DsnOptions(const cli::Values& f) {
  postgres::ConnectOptions options;
  options.dsn = f.Get("dsn");
  options.password_file = f.Get("password-file");
  absl::Status st = postgres::CheckConnectOptions(options);
  if (st.ok()) return options;
  if (absl::StrContains(st.message(), "holds a password")) {
    return absl::InvalidArgumentError(
        "--dsn refused: the DSN holds a password, and a password is never given on a command "
        "line (nor in a configuration): give --password-file FILE (libpq's passfile), or a "
        "client certificate in the DSN (sslcert=, sslkey=)");
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--dsn refused: ", absl::StripPrefix(st.message(), "store: ")));
}

namespace {

absl::StatusOr<std::unique_ptr<PostgresLog>> OpenLog(const cli::Values& f) {
  ASSIGN_OR_RETURN(postgres::ConnectOptions options, DsnOptions(f));
  return PostgresLog::Open(options);
}

}  // namespace

absl::StatusOr<PostgresVerifyReport> VerifyDsn(const cli::Values& f,
                                               const audit::VerifyOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<PostgresLog> log, OpenLog(f));
  return VerifyPostgresLog(*log, options);
}

absl::StatusOr<ProofSource> LoadDsnSource(const cli::Values& f, const EntryWanted& wanted) {
  ASSIGN_OR_RETURN(std::unique_ptr<PostgresLog> log, OpenLog(f));
  std::map<uint64_t, std::string> checkpoints;
  absl::StatusOr<StoredCheckpoint> newest = log->Newest();
  if (newest.ok()) {
    checkpoints[newest->size] = newest->Served();
  } else if (!absl::IsNotFound(newest.status())) {
    return newest.status();
  }
  for (const char* flag : {"size", "from", "to"}) {
    uint64_t size = 0;
    if (!f.Has(flag) || !absl::SimpleAtoi(f.Get(flag), &size) || checkpoints.count(size) > 0) {
      continue;
    }
    ASSIGN_OR_RETURN(std::optional<StoredCheckpoint> cp, log->CheckpointAt(size));
    if (cp) checkpoints[size] = cp->Served();
  }
  return LoadSource(log->Entries(), std::move(checkpoints), wanted);
}

absl::StatusOr<ExportableLog> OpenDsnForExport(const cli::Values& f,
                                               const audit::VerifyOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<PostgresLog> opened, OpenLog(f));
  std::shared_ptr<PostgresLog> log = std::move(opened);
  absl::StatusOr<PostgresVerifyReport> verified = VerifyPostgresLog(*log, options);
  if (!verified.ok()) {
    return absl::DataLossError(absl::StrCat("the log in the database does not verify (",
                                            verified.status().message(), "): nothing exported"));
  }
  ExportableLog out;
  out.name = "the log in the database";
  absl::StatusOr<StoredCheckpoint> newest = log->Newest();
  if (newest.ok()) {
    out.note = newest->Served();
  } else if (!absl::IsNotFound(newest.status())) {
    return newest.status();
  }
  out.entries = [log](const EntryFn& fn) { return log->Entries()(fn); };
  return out;
}

}  // namespace gatehouse::auditctl
