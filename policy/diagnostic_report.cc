#include "policy/diagnostic_report.h"

#include <cstdio>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace gatehouse::policy {
namespace {

std::string FileName(const SourceSet& sources, const SourcePos& pos) {
  return pos.file >= 0 && pos.file < static_cast<int>(sources.size()) ? sources[pos.file].name
                                                                       : "<policy>";
}

std::string JsonPos(const SourceSet& sources, const SourcePos& pos) {
  return absl::StrCat("\"file\":", JsonQuote(FileName(sources, pos)), ",\"line\":", pos.line,
                      ",\"column\":", pos.column);
}

std::string SarifLocation(const SourceSet& sources, const SourcePos& pos) {
  return absl::StrCat("{\"physicalLocation\":{\"artifactLocation\":{\"uri\":",
                      JsonQuote(FileName(sources, pos)), "},\"region\":{\"startLine\":",
                      pos.line > 0 ? pos.line : 1, ",\"startColumn\":",
                      pos.column > 0 ? pos.column : 1, "}}}");
}

const char* SarifLevel(Severity s) {
  switch (s) {
    case Severity::kError: return "error";
    case Severity::kWarning: return "warning";
    case Severity::kInfo: return "note";
  }
  return "error";
}

}  // namespace

std::string DiagnosticsToJson(const SourceSet& sources,
                              const std::vector<Diagnostic>& diagnostics) {
  int counts[3] = {0, 0, 0};
  std::string items;
  for (const Diagnostic& d : diagnostics) {
    ++counts[static_cast<int>(d.severity)];
    if (!items.empty()) items += ",\n  ";
    absl::StrAppend(&items, "{", JsonPos(sources, d.pos), ",\"severity\":\"",
                    SeverityName(d.severity), "\",\"code\":", JsonQuote(d.code),
                    ",\"message\":", JsonQuote(d.message));
    if (!d.suggestion.empty()) absl::StrAppend(&items, ",\"suggestion\":", JsonQuote(d.suggestion));
    if (!d.notes.empty()) {
      items += ",\"notes\":[";
      for (size_t i = 0; i < d.notes.size(); ++i) {
        absl::StrAppend(&items, i ? "," : "", "{", JsonPos(sources, d.notes[i].pos),
                        ",\"message\":", JsonQuote(d.notes[i].message), "}");
      }
      items += "]";
    }
    items += "}";
  }
  return absl::StrCat("{\"tool\":\"policyc\",\"errors\":",
                      counts[static_cast<int>(Severity::kError)], ",\"warnings\":",
                      counts[static_cast<int>(Severity::kWarning)], ",\"infos\":",
                      counts[static_cast<int>(Severity::kInfo)], ",\"diagnostics\":[\n  ",
                      items, "]}\n");
}

std::string DiagnosticsToSarif(const SourceSet& sources,
                               const std::vector<Diagnostic>& diagnostics) {
  std::map<std::string, int> rule_index;
  for (const Diagnostic& d : diagnostics) rule_index.emplace(d.code, 0);
  std::string rules;
  int i = 0;
  for (auto& [code, index] : rule_index) {
    index = i++;
    absl::StrAppend(&rules, index ? "," : "", "{\"id\":", JsonQuote(code), "}");
  }
  std::string results;
  for (const Diagnostic& d : diagnostics) {
    if (!results.empty()) results += ",\n";
    absl::StrAppend(&results, "{\"ruleId\":", JsonQuote(d.code),
                    ",\"ruleIndex\":", rule_index[d.code], ",\"level\":\"",
                    SarifLevel(d.severity), "\",\"message\":{\"text\":", JsonQuote(d.message),
                    "},\"locations\":[", SarifLocation(sources, d.pos), "]");
    if (!d.notes.empty()) {
      results += ",\"relatedLocations\":[";
      for (size_t n = 0; n < d.notes.size(); ++n) {
        std::string loc = SarifLocation(sources, d.notes[n].pos);
        loc.pop_back();  // add an id and a message to the location object
        absl::StrAppend(&results, n ? "," : "", loc, ",\"id\":", n,
                        ",\"message\":{\"text\":", JsonQuote(d.notes[n].message), "}}");
      }
      results += "]";
    }
    if (!d.suggestion.empty()) {
      absl::StrAppend(&results, ",\"properties\":{\"suggestion\":", JsonQuote(d.suggestion),
                      "}");
    }
    results += "}";
  }
  return absl::StrCat(
      "{\"$schema\":\"https://json.schemastore.org/sarif-2.1.0.json\",\"version\":\"2.1.0\",",
      "\"runs\":[{\"tool\":{\"driver\":{\"name\":\"policyc\",\"informationUri\":",
      "\"https://github.com/gatehouse/gatehouse/blob/main/docs/policy-language.md\",",
      "\"rules\":[", rules, "]}},\"results\":[\n", results, "]}]}\n");
}

}  // namespace gatehouse::policy
