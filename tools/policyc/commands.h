// policyc's subcommands. Each takes what the parser accepted for it (its
// flags and files, helpers.h) and returns an exit status (tools/cli/cli.h):
// 0 done, 1 refused or failed, 2 a usage error the parser cannot see.
#ifndef GATEHOUSE_TOOLS_POLICYC_COMMANDS_H_
#define GATEHOUSE_TOOLS_POLICYC_COMMANDS_H_

#include "tools/policyc/helpers.h"

namespace gatehouse::policyc {

int Check(const Args& args);
int Compile(const Args& args);
int Fmt(const Args& args);
int Explain(const Args& args);
int Test(const Args& args);
int Diff(const Args& args);
int Coverage(const Args& args);
int Keygen(const Args& args);
int Sign(const Args& args);
int Verify(const Args& args);
int Show(const Args& args);

}  // namespace gatehouse::policyc

#endif  // GATEHOUSE_TOOLS_POLICYC_COMMANDS_H_
