// auditctl over an organisation's audit log in PostgreSQL (issue 19; the
// log of audit/postgres/postgres_audit_log.h, read through postgres_log.h
// in one read-only snapshot):
//
//   auditctl verify --dsn DSN [--password-file FILE] [--key PUB]... [--cosigner PUB]...
//     the checks of `verify --dir` and those of the stored tree
//     (postgres_verify.h);
//   auditctl prove --dsn DSN [--password-file FILE] (--index N | --record-id ID) [--size S]
//   auditctl prove --dsn DSN [--password-file FILE] --from S1 [--to S2]
//     the proofs `prove --dir` prints, the tree rebuilt from the entries
//     (audit_tree is not trusted), each checkpoint note as the log serves
//     it (with its cosignature lines);
//   auditctl export --dsn DSN [--password-file FILE] --tiles OUT [--key PUB]...
//     verifies the log as `verify --dsn` does, then writes the C2SP tiles
//     of its newest checkpoint as `export --dir` does (tiles_command.h).
//
// DSN is a libpq conninfo string or postgresql:// URI; it must not hold a
// password (the rule of every Gatehouse configuration): a password file
// (--password-file, libpq's passfile) or a client certificate in the DSN
// (sslcert=, sslkey=, sslrootcert=) authenticates.
//
// Thread-safety: functions for one command-line run.
#ifndef GATEHOUSE_TOOLS_AUDITCTL_POSTGRES_COMMAND_H_
#define GATEHOUSE_TOOLS_AUDITCTL_POSTGRES_COMMAND_H_

#include "absl/status/statusor.h"
#include "audit/log_verifier.h"
#include "pg/pg_connection.h"
#include "tools/auditctl/log_access.h"
#include "tools/auditctl/postgres_verify.h"
#include "tools/auditctl/tiles_command.h"
#include "tools/cli/cli.h"

namespace gatehouse::auditctl {

// The connection --dsn and --password-file name. InvalidArgument if the DSN
// does not parse or holds a password: a usage error, nothing tried.
absl::StatusOr<postgres::ConnectOptions> DsnOptions(const cli::Values& f);

// `verify --dsn`: the report, or the first failure (errors as
// PostgresLog::Open and VerifyPostgresLog).
absl::StatusOr<PostgresVerifyReport> VerifyDsn(const cli::Values& f,
                                               const audit::VerifyOptions& options);

// `prove --dsn`: a ProofSource over every entry of the log, with the newest
// checkpoint and those at --size, --from and --to if stored. Errors as
// PostgresLog::Open and its Entries.
absl::StatusOr<ProofSource> LoadDsnSource(const cli::Values& f, const EntryWanted& wanted);

// `export --dsn --tiles`: the log, verified (DataLoss, nothing exported, if
// it does not verify), with its newest checkpoint as served.
absl::StatusOr<ExportableLog> OpenDsnForExport(const cli::Values& f,
                                               const audit::VerifyOptions& options);

}  // namespace gatehouse::auditctl

#endif  // GATEHOUSE_TOOLS_AUDITCTL_POSTGRES_COMMAND_H_
