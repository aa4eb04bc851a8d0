#include "sla/html_report.h"

#include <algorithm>
#include <functional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"

namespace gatehouse::sla {
namespace {

using gatehouse::v1::SlaBucket;
using gatehouse::v1::SlaPeer;

// Chart geometry (SVG user units): plot area inside the margins.
constexpr double kWidth = 760, kHeight = 220, kLeft = 70, kRight = 60, kTop = 20, kBottom = 40;
constexpr const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"};

std::string Escape(absl::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Time(int64_t ns) {
  if (ns == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%E3S", absl::FromUnixNanos(ns), absl::UTCTimeZone());
}

std::string Dur(int64_t ns) { return absl::FormatDuration(absl::Nanoseconds(ns)); }

std::string Ppm(int64_t ppm) { return absl::StrFormat("%.4f%%", static_cast<double>(ppm) / 10000); }

// Rows of a two-column table.
std::string Table(const std::vector<std::pair<std::string, std::string>>& rows) {
  std::string out = "<table border=\"1\" cellpadding=\"3\">\n";
  for (const auto& [k, v] : rows) absl::StrAppend(&out, "<tr><th align=\"left\">", Escape(k), "</th><td>", Escape(v), "</td></tr>\n");
  return out + "</table>\n";
}

// A chart frame over [x0, x1] x [0, ymax]; `body` draws with the scales.
class Chart {
 public:
  Chart(std::string title, int64_t x0, int64_t x1, double ymax, std::string ylabel)
      : title_(std::move(title)), x0_(x0), x1_(x1), ymax_(ymax > 0 ? ymax : 1), ylabel_(std::move(ylabel)) {}
  double X(int64_t t) const {
    return kLeft + (kWidth - kLeft - kRight) * static_cast<double>(t - x0_) / static_cast<double>(x1_ - x0_);
  }
  double Y(double v) const { return kHeight - kBottom - (kHeight - kTop - kBottom) * std::min(v, ymax_) / ymax_; }
  void Line(const std::vector<std::pair<int64_t, double>>& points, int colour, const std::string& name) {
    std::vector<std::string> p;
    for (const auto& [t, v] : points) p.push_back(absl::StrFormat("%.1f,%.1f", X(t), Y(v)));
    absl::StrAppend(&body_, "<polyline fill=\"none\" stroke-width=\"1.5\" stroke=\"", kColours[colour],
                    "\" points=\"", absl::StrJoin(p, " "), "\"><title>", Escape(name), "</title></polyline>\n");
    // A line of one point draws nothing: mark it (a period of one slice).
    if (points.size() == 1) {
      absl::StrAppendFormat(&body_, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>%s</title></circle>\n",
                            X(points[0].first), Y(points[0].second), kColours[colour], Escape(name));
    }
    Legend(colour, name);
  }
  void Rect(int64_t t0, int64_t t1, double v0, double v1, int colour, const std::string& tip) {
    absl::StrAppendFormat(&body_,
                          "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>%s</title></rect>\n",
                          X(t0), Y(v1), std::max(0.5, X(t1) - X(t0)), std::max(0.0, Y(v0) - Y(v1)),
                          kColours[colour], Escape(tip));
  }
  void HLine(double v, const std::string& name) {
    absl::StrAppendFormat(&body_, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#555\" stroke-dasharray=\"4 3\"/>"
                          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\">%s</text>\n",
                          kLeft, kWidth - kRight, Y(v), Y(v), kLeft + 4, Y(v) - 3, Escape(name));
  }
  void Legend(int colour, const std::string& name) {
    absl::StrAppendFormat(&body_, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"%s\">%s</text>\n",
                          kLeft + 8 + 150.0 * legends_++, kTop - 6, kColours[colour], Escape(name));
  }
  std::string Svg(const std::function<std::string(double)>& ytick) const {
    std::string out = absl::StrFormat(
        "<h4>%s</h4>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
        "viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"%s\">\n"
        "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"#fafafa\" stroke=\"#999\"/>\n",
        Escape(title_), kWidth, kHeight, kWidth, kHeight, Escape(title_), kLeft, kTop,
        kWidth - kLeft - kRight, kHeight - kTop - kBottom);
    for (int i = 0; i <= 4; ++i) {
      const double v = ymax_ * i / 4;
      absl::StrAppendFormat(&out, "<text x=\"%.0f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%s</text>\n",
                            kLeft - 4, Y(v) + 3, Escape(ytick(v)));
    }
    absl::StrAppendFormat(&out, "<text x=\"12\" y=\"%.0f\" font-size=\"10\" transform=\"rotate(-90 12 %.0f)\">%s</text>\n",
                          kHeight / 2, kHeight / 2, Escape(ylabel_));
    for (int i = 0; i <= 4; ++i) {
      const int64_t t = x0_ + (x1_ - x0_) / 4 * i;
      absl::StrAppendFormat(&out, "<text x=\"%.1f\" y=\"%.0f\" font-size=\"10\" text-anchor=\"middle\">%s</text>\n",
                            X(t), kHeight - kBottom + 14, Escape(Time(t).substr(0, 16)));
    }
    return out + body_ + "</svg>\n";
  }

 private:
  std::string title_;
  int64_t x0_, x1_;
  double ymax_;
  std::string ylabel_;
  std::string body_;
  int legends_ = 0;
};

std::string Seconds(double ns) { return absl::StrFormat("%.3gs", ns / 1e9); }

std::string LatencyChart(const gatehouse::v1::ServiceLevelReport& r, const SlaPeer& p) {
  double ymax = 0;
  std::vector<std::pair<int64_t, double>> p50, p99, max;
  for (const SlaBucket& b : p.buckets()) {
    if (b.delivery_latency().count() == 0) continue;
    const int64_t mid = b.start_ns() + (b.end_ns() - b.start_ns()) / 2;
    p50.push_back({mid, static_cast<double>(b.delivery_latency().p50_ns())});
    p99.push_back({mid, static_cast<double>(b.delivery_latency().p99_ns())});
    max.push_back({mid, static_cast<double>(b.delivery_latency().max_ns())});
    ymax = std::max(ymax, static_cast<double>(b.delivery_latency().max_ns()));
  }
  Chart c("Delivery latency over time (p50, p99, max of each slice)", r.from_ns(), r.to_ns(), ymax, "latency");
  c.Line(p50, 0, "p50");
  c.Line(p99, 4, "p99");
  c.Line(max, 1, "max");
  return c.Svg(Seconds);
}

std::string VolumeChart(const gatehouse::v1::ServiceLevelReport& r, const SlaPeer& p) {
  double ymax = 0;
  for (const SlaBucket& d : p.days()) {
    ymax = std::max<double>(ymax, std::max({d.submitted(), d.delivered(), d.denied() + d.rejected(), d.received()}));
  }
  Chart c("Daily volumes (records)", r.from_ns(), r.to_ns(), ymax, "records");
  const std::vector<std::pair<const char*, std::function<uint64_t(const SlaBucket&)>>> series = {
      {"submitted", [](const SlaBucket& b) { return b.submitted(); }},
      {"delivered", [](const SlaBucket& b) { return b.delivered(); }},
      {"refused", [](const SlaBucket& b) { return b.denied() + b.rejected(); }},
      {"received", [](const SlaBucket& b) { return b.received(); }}};
  for (size_t s = 0; s < series.size(); ++s) {
    c.Legend(static_cast<int>(s), series[s].first);
    for (const SlaBucket& d : p.days()) {
      const int64_t w = (d.end_ns() - d.start_ns()) / static_cast<int64_t>(series.size() + 1);
      const int64_t t0 = d.start_ns() + w * static_cast<int64_t>(s);
      const uint64_t n = series[s].second(d);
      c.Rect(t0, t0 + w, 0, static_cast<double>(n), static_cast<int>(s),
             absl::StrCat(Time(d.start_ns()).substr(0, 10), " ", series[s].first, ": ", n));
    }
  }
  return c.Svg([](double v) { return absl::StrFormat("%.3g", v); });
}

std::string BurnChart(const gatehouse::v1::ServiceLevelReport& r, const SlaPeer& p) {
  double ymax = 1;
  for (const auto& o : p.objectives()) {
    for (const auto& b : o.burn()) ymax = std::max(ymax, b.used());
  }
  Chart c("Error budget burn (share of the period's budget used)", r.from_ns(), r.to_ns(), ymax * 1.05, "budget used");
  c.HLine(1, "whole budget");
  int colour = 0;
  for (const auto& o : p.objectives()) {
    std::vector<std::pair<int64_t, double>> pts = {{r.from_ns(), 0}};
    for (const auto& b : o.burn()) pts.push_back({b.at_ns(), b.used()});
    c.Line(pts, colour++ % 5, o.name());
  }
  return c.Svg([](double v) { return absl::StrFormat("%.0f%%", v * 100); });
}

std::string OutageChart(const gatehouse::v1::ServiceLevelReport& r, const SlaPeer& p) {
  Chart c("Outages of the link (red: down)", r.from_ns(), r.to_ns(), 1, "");
  c.Rect(r.from_ns(), r.to_ns(), 0.3, 0.7, 2, "up");
  for (const auto& o : p.outbound().outages()) {
    c.Rect(o.start_ns(), o.end_ns(), 0.3, 0.7, 1,
           absl::StrCat("down ", Time(o.start_ns()), " to ", Time(o.end_ns()), " (", Dur(o.end_ns() - o.start_ns()), ")"));
  }
  return c.Svg([](double) { return std::string(); });
}

std::string Latency(const gatehouse::v1::SlaLatency& l) {
  if (l.count() == 0) return "none";
  return absl::StrCat("p50 ", Dur(l.p50_ns()), ", p90 ", Dur(l.p90_ns()), ", p99 ", Dur(l.p99_ns()),
                      ", max ", Dur(l.max_ns()), " (", l.count(), " records)");
}

std::string Peer(const gatehouse::v1::ServiceLevelReport& r, const SlaPeer& p) {
  const auto& out = p.outbound();
  const auto& in = p.inbound();
  std::string html = absl::StrCat("<h2>", Escape(r.org()), " and ", Escape(p.peer()), "</h2>\n");
  absl::StrAppend(&html, "<h3>Objectives</h3>\n<table border=\"1\" cellpadding=\"3\">\n"
                         "<tr><th>objective</th><th>result</th><th>judged</th><th>bad</th>"
                         "<th>budget</th><th>remaining</th></tr>\n");
  for (const auto& o : p.objectives()) {
    const bool ns = o.kind() == "availability";
    auto amount = [&](double v) { return ns ? Dur(static_cast<int64_t>(v)) : absl::StrFormat("%g", v); };
    absl::StrAppend(&html, "<tr><td>", Escape(o.name()), "</td><td>", o.met() ? "met" : "<b>missed</b>",
                    "</td><td>", ns ? Dur(o.eligible()) : absl::StrCat(o.eligible()), "</td><td>",
                    amount(static_cast<double>(o.bad())), "</td><td>", amount(o.budget()), "</td><td>",
                    amount(o.remaining()), absl::StrFormat(" (%.1f%%)", o.remaining_fraction() * 100),
                    "</td></tr>\n");
  }
  absl::StrAppend(&html, "</table>\n<h3>Records ", Escape(r.org()), " sent</h3>\n",
                  Table({{"submitted", absl::StrCat(out.submitted())},
                         {"delivered", absl::StrCat(out.delivered(), " (", out.delivered_submitted_before(),
                                                    " submitted before the period)")},
                         {"payload bytes submitted / delivered",
                          absl::StrCat(out.submitted_bytes(), " / ", out.delivered_bytes())},
                         {"denied", absl::StrCat(out.denied())},
                         {"expired", absl::StrCat(out.expired())},
                         {"waiting at start / end", absl::StrCat(out.pending_at_start(), " / ", out.pending_at_end())},
                         {"delivery latency", Latency(out.delivery_latency())},
                         {"clock steps (delivered before submitted)", absl::StrCat(out.clock_steps())},
                         {"most waiting in the outbox", absl::StrCat(out.max_outbox_depth(), " at ", Time(out.max_outbox_depth_at_ns()))},
                         {"availability", Ppm(out.availability_ppm())},
                         {"time down", Dur(out.down_ns())},
                         {"longest outage", out.longest_outage().end_ns() == 0 ? "none"
                              : absl::StrCat(Time(out.longest_outage().start_ns()), " to ", Time(out.longest_outage().end_ns()),
                                             " (", Dur(out.longest_outage().end_ns() - out.longest_outage().start_ns()), ")")}}),
                  "<h3>Records ", Escape(p.peer()), " sent</h3>\n",
                  Table({{"received", absl::StrCat(in.received())},
                         {"payload bytes received", absl::StrCat(in.received_bytes())},
                         {"rejected", absl::StrCat(in.rejected())},
                         {"fetched / acknowledged", absl::StrCat(in.fetched(), " / ", in.acked())},
                         {"fetch latency", Latency(in.fetch_latency())},
                         {"clock steps (fetched before received)", absl::StrCat(in.clock_steps())}}));
  absl::StrAppend(&html, LatencyChart(r, p), VolumeChart(r, p), BurnChart(r, p), OutageChart(r, p));
  absl::StrAppend(&html, "<h3>Refusals</h3>\n<table border=\"1\" cellpadding=\"3\">\n"
                         "<tr><th>direction</th><th>status</th><th>rule</th><th>reason</th><th>count</th></tr>\n");
  for (const auto* list : {&out.refusals(), &in.refusals()}) {
    for (const auto& g : *list) {
      absl::StrAppend(&html, "<tr><td>", list == &out.refusals() ? "denied (outbound)" : "rejected (inbound)",
                      "</td><td>", Escape(g.status_code()), "</td><td>", Escape(g.rule()), "</td><td>",
                      Escape(g.reason()), "</td><td>", g.count(), "</td></tr>\n");
    }
  }
  absl::StrAppend(&html, "</table>\n<h3>Outages</h3>\n<table border=\"1\" cellpadding=\"3\">\n"
                         "<tr><th>start</th><th>end</th><th>length</th></tr>\n");
  for (const auto& o : out.outages()) {
    absl::StrAppend(&html, "<tr><td>", Time(o.start_ns()), o.clipped_start() ? " (began before the period)" : "",
                    "</td><td>", Time(o.end_ns()), o.clipped_end() ? " (went on after the period)" : "",
                    "</td><td>", Dur(o.end_ns() - o.start_ns()), "</td></tr>\n");
  }
  return html + "</table>\n";
}

}  // namespace

std::string RenderHtml(const gatehouse::v1::ServiceLevelReport& r) {
  std::string html = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Service levels of ",
      Escape(r.org()), "</title>\n</head>\n<body>\n<h1>Service levels of ", Escape(r.org()), "</h1>\n",
      Table({{"period", absl::StrCat(r.from(), " to ", r.to(), " (end excluded)")},
             {"log", r.log_origin()},
             {"checkpoint", absl::StrCat("tree size ", r.binding().tree_size())},
             {"entries used", absl::StrCat(r.binding().entries_used(), " between index ", r.binding().first_index(),
                                           " and ", r.binding().last_index())},
             {"availability grace", Dur(r.grace_ns())},
             {"restarts", absl::StrCat(r.restarts_size())},
             {"generated by", r.generator()}}),
      "<p>The figures are recomputable from the log; report.json carries the signed checkpoint and the "
      "inclusion proofs (docs/service-levels.md).</p>\n");
  for (const auto& restart : r.restarts()) {
    absl::StrAppend(&html, "<p>Restart at ", Time(restart.at_ns()), " (entry ", restart.leaf_index(), ")</p>\n");
  }
  for (const SlaPeer& p : r.peers()) absl::StrAppend(&html, Peer(r, p));
  return html + "</body>\n</html>\n";
}

}  // namespace gatehouse::sla
