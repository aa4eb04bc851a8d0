// auditctl over C2SP tlog-tiles exports (audit/tiles.h, docs/audit-log.md
// "Exporting as C2SP tiles"):
//
//   auditctl export (--dir DIR | --dsn DSN) --tiles OUT [--key PUB]...
//     verifies the log (a directory, or the database: postgres_command.h)
//     as `verify` does, then writes the tiles of its latest signed
//     checkpoint into a new directory beside OUT and renames it to OUT (OUT
//     must not exist or be an empty directory): OUT appears whole or not at
//     all. One piece of code writes the tiles, whatever holds the log.
//   auditctl verify --tiles DIR [--key PUB]... [--cosigner PUB]...
//   auditctl prove --tiles DIR ...
//     the same checks and output as with --dir, from the tiles alone.
//
// Thread-safety: functions for one command-line run; not for concurrent use.
#ifndef GATEHOUSE_TOOLS_AUDITCTL_TILES_COMMAND_H_
#define GATEHOUSE_TOOLS_AUDITCTL_TILES_COMMAND_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "audit/log_verifier.h"
#include "tools/auditctl/log_access.h"
#include "tools/cli/cli.h"

namespace gatehouse::auditctl {

// A log `export --tiles` writes, once it has been verified.
struct ExportableLog {
  std::string name;      // for messages: "the log in DIR"
  std::string note;      // its latest signed checkpoint note; "" if none yet
  EntrySource entries;   // its entries, from index 0
};

// `export --tiles` of --dir or --dsn: exit status 0 written, 1 refused or
// failed (the reason on stderr; OUT unchanged).
int ExportTiles(const cli::Values& f, const audit::VerifyOptions& options);

// `verify --tiles DIR` as audit::VerifyLog: the checkpoint file must verify
// under options.log_key (or a previous key) when one is given, every tile
// must match (audit::VerifyTiles) and every entry parse as an AuditEntry.
// The report counts entry bundles as `segments` and the one checkpoint;
// cosignatures are those in the checkpoint file. DataLoss naming the first
// bad tile, entry or signature; NotFound if DIR holds no checkpoint file.
absl::StatusOr<audit::VerifyReport> VerifyTilesDirectory(const std::string& dir,
                                                         const audit::VerifyOptions& options);

// A ProofSource over the tiles in `dir` at its checkpoint, after checking
// the tiles as VerifyTilesDirectory does without keys. Errors as that.
absl::StatusOr<ProofSource> LoadTilesSource(const std::string& dir, const EntryWanted& wanted);

}  // namespace gatehouse::auditctl

#endif  // GATEHOUSE_TOOLS_AUDITCTL_TILES_COMMAND_H_
