// auditctl's service-level commands (docs/service-levels.md):
//
//   auditctl sla --log DIR --from T --to T --key LOGKEY --out REPORT.json
//                [--peer ORG] [--org ORG] [--objective SPEC]... [--grace D] [--html PAGE.html]
//     verifies the log with the key's public half, computes the figures over
//     [from, to) under the smallest signed checkpoint that covers the period,
//     and writes REPORT.json, REPORT.json.sig (signed by LOGKEY) and the page.
//
//   auditctl sla-countersign --report REPORT.json --report-key PUB --log DIR
//                            --key LOGKEY --out REPORT.json.countersig [--org ORG] [--tolerance D]
//     checks the report's signature and proofs against the sender's key,
//     recomputes from its own (verified) log and countersigns if they agree;
//     else prints each differing record id and exits 1.
//
// On any error nothing is written: every output is built in memory first.
// Exit statuses as tools/cli/cli.h.
#ifndef GATEHOUSE_TOOLS_AUDITCTL_SLA_COMMAND_H_
#define GATEHOUSE_TOOLS_AUDITCTL_SLA_COMMAND_H_

#include <CLI/CLI.hpp>

#include "tools/cli/cli.h"

namespace gatehouse::auditctl {

// Adds the "sla" and "sla-countersign" commands to `app`.
void AddSlaCommands(CLI::App& app);

int Sla(const cli::Values& f);
int SlaCountersign(const cli::Values& f);

}  // namespace gatehouse::auditctl

#endif  // GATEHOUSE_TOOLS_AUDITCTL_SLA_COMMAND_H_
