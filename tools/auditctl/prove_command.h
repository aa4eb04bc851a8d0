// auditctl prove: an inclusion proof (--index or --record-id) or a
// consistency proof (--from, --to) as JSON, from a log directory (--dir, the
// tree rebuilt from the segments), a C2SP tlog-tiles export (--tiles, the
// tiles checked first) or a log in PostgreSQL (--dsn, the tree rebuilt from
// the entries: postgres_command.h). All go through one ProofSource
// (log_access.h), so they print the same proofs; an export holds only its
// latest checkpoint, so a proof for another size carries no checkpoint note
// from it.
//
//   auditctl prove SOURCE (--index N | --record-id ID) [--size S]
//   auditctl prove SOURCE --from S1 [--to S2]
//   SOURCE: --dir DIR | --tiles DIR | --dsn DSN [--password-file FILE]
//
// Exit statuses as tools/cli/cli.h. Thread-safety: one command-line run.
#ifndef GATEHOUSE_TOOLS_AUDITCTL_PROVE_COMMAND_H_
#define GATEHOUSE_TOOLS_AUDITCTL_PROVE_COMMAND_H_

#include <string>

#include "tools/cli/cli.h"

namespace gatehouse::auditctl {

// True if `f` has exactly one of --dir, --tiles and --dsn, --password-file
// only with --dsn, and a DSN without a password (DsnOptions); else says
// why on stderr, for `cmd`, and returns false (a usage error: exit 2).
bool HasSource(const std::string& cmd, const cli::Values& f);

// True if --dsn names a DSN without a password (DsnOptions); else says why
// on stderr, for `cmd`, and returns false (a usage error: exit 2).
bool DsnUsable(const std::string& cmd, const cli::Values& f);

int Prove(const cli::Values& f);

}  // namespace gatehouse::auditctl

#endif  // GATEHOUSE_TOOLS_AUDITCTL_PROVE_COMMAND_H_
