// auditctl verify: checks a log from genesis, whatever holds it, and prints
// one line: "OK: <n> entries in <where>; <c> checkpoints (...); cosigners:
// ...; root <hex>" or "FAIL: <the first failure>".
//
//   auditctl verify (--dir DIR | --tiles DIR | --dsn DSN [--password-file FILE])
//                   [--key PUB]... [--cosigner PUB]...
//
// --dir: audit::VerifyLog; --tiles: VerifyTilesDirectory (tiles_command.h);
// --dsn: VerifyPostgresLog (postgres_verify.h). Exit statuses as
// tools/cli/cli.h: 0 verified, 1 not (or the log could not be read), 2
// usage. Also the keys --key and --cosigner name, which export --tiles
// takes too.
//
// Thread-safety: functions for one command-line run.
#ifndef GATEHOUSE_TOOLS_AUDITCTL_VERIFY_COMMAND_H_
#define GATEHOUSE_TOOLS_AUDITCTL_VERIFY_COMMAND_H_

#include <optional>
#include <string>
#include <vector>

#include "audit/log_verifier.h"
#include "audit/note.h"
#include "tools/cli/cli.h"

namespace gatehouse::auditctl {

// The keys --key (current first, then those from before rotations) and
// --cosigner name, held for `opts` to point into.
struct Keys {
  std::vector<audit::NoteVerifier> log;
  std::vector<audit::NoteVerifier> cosigners;
  audit::VerifyOptions opts;
};

// The keys `f` names; nullopt (a usage error, said on stderr for `cmd`) if
// one cannot be read.
std::optional<Keys> LoadKeys(const std::string& cmd, const cli::Values& f);

// Points `k.opts` at `k`'s keys (after `k` has its final address).
void Point(Keys& k);

int Verify(const cli::Values& f);

}  // namespace gatehouse::auditctl

#endif  // GATEHOUSE_TOOLS_AUDITCTL_VERIFY_COMMAND_H_
