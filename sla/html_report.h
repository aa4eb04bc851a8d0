// A service-level report as one self-contained HTML page: tables of the
// figures and charts drawn as inline SVG (latency over time, daily volumes,
// error-budget burn, outages). No script, no stylesheet, no style attribute
// and nothing fetched, so it renders under the strictest Content-Security-
// Policy (default-src 'none'); colours are SVG presentation attributes.
// Every string from the report is HTML-escaped.
//
// Thread-safety: pure function.
//
// Example:
//   std::string page = RenderHtml(report);
#ifndef GATEHOUSE_SLA_HTML_REPORT_H_
#define GATEHOUSE_SLA_HTML_REPORT_H_

#include <string>

#include "gatehouse/v1/sla_report.pb.h"

namespace gatehouse::sla {

std::string RenderHtml(const gatehouse::v1::ServiceLevelReport& report);

}  // namespace gatehouse::sla

#endif  // GATEHOUSE_SLA_HTML_REPORT_H_
