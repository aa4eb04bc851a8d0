// Diagnostics as machine-readable reports, for editors, CI and code-scanning
// tools: JSON (our own small schema) and SARIF 2.1.0 (OASIS Static Analysis
// Results Interchange Format). Stateless; thread-safe.
//
// JSON, one object:
//   {"tool":"policyc","errors":1,"warnings":0,"infos":0,
//    "diagnostics":[{"file":"p.ghp","line":12,"column":9,"severity":"error",
//      "code":"unknown-name","message":"unknown sector 'helth'; did you mean health?",
//      "suggestion":"health","notes":[{"file":..,"line":..,"column":..,"message":..}]}]}
//
// SARIF: one run whose tool.driver.rules lists each code used; each result
// has ruleId (the code), level (error, warning or note), message.text and a
// physicalLocation (artifactLocation.uri, region.startLine/startColumn);
// notes become relatedLocations and a suggestion properties.suggestion.
#ifndef GATEHOUSE_POLICY_DIAGNOSTIC_REPORT_H_
#define GATEHOUSE_POLICY_DIAGNOSTIC_REPORT_H_

#include <string>
#include <vector>

#include "policy/diagnostic.h"

namespace gatehouse::policy {

std::string DiagnosticsToJson(const SourceSet& sources,
                              const std::vector<Diagnostic>& diagnostics);

std::string DiagnosticsToSarif(const SourceSet& sources,
                               const std::vector<Diagnostic>& diagnostics);

}  // namespace gatehouse::policy

#endif  // GATEHOUSE_POLICY_DIAGNOSTIC_REPORT_H_
