// policyc's subcommands. Each takes the parsed arguments after the command
// name and returns an exit code (cli.h).
#ifndef GATEHOUSE_TOOLS_POLICYC_COMMANDS_H_
#define GATEHOUSE_TOOLS_POLICYC_COMMANDS_H_

#include "tools/policyc/cli.h"

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
