#include "gateway/metrics.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace gatehouse {

std::string Escape(absl::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string Labels(
    std::initializer_list<std::pair<absl::string_view, absl::string_view>> labels) {
  std::string out;
  for (const auto& [name, value] : labels) {
    absl::StrAppend(&out, out.empty() ? "" : ",", name, "=\"", Escape(value), "\"");
  }
  return out;
}

void Histogram::Observe(double seconds) {
  size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  total_micros_.fetch_add(static_cast<uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

void Histogram::Render(absl::string_view name, absl::string_view help, std::string* out) const {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " histogram\n");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kBounds.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    absl::StrAppend(out, name, "_bucket{le=\"", absl::StrFormat("%g", kBounds[i]), "\"} ",
                    cumulative, "\n");
  }
  cumulative += counts_[kBounds.size()].load(std::memory_order_relaxed);
  absl::StrAppend(out, name, "_bucket{le=\"+Inf\"} ", cumulative, "\n");
  absl::StrAppend(out, name, "_sum ",
                  absl::StrFormat("%.6f", total_micros_.load(std::memory_order_relaxed) / 1e6),
                  "\n", name, "_count ", cumulative, "\n");
}

void Metrics::CountRecord(absl::string_view direction, absl::string_view outcome,
                          absl::string_view reason) {
  std::lock_guard<std::mutex> lock(mu_);
  ++records_[Key(std::string(direction), std::string(outcome), std::string(reason))];
}

void Metrics::CountRefusal(absl::string_view api, absl::string_view code) {
  std::lock_guard<std::mutex> lock(mu_);
  ++refusals_[{std::string(api), std::string(code)}];
}

void Metrics::CountPeerCheckpoint(absl::string_view peer, absl::string_view result) {
  std::lock_guard<std::mutex> lock(mu_);
  ++peer_checkpoints_[{std::string(peer), std::string(result)}];
}

void Metrics::CountReload(absl::string_view what, bool ok) {
  std::lock_guard<std::mutex> lock(mu_);
  ++reloads_[{std::string(what), ok}];
}

uint64_t Metrics::RecordCount(absl::string_view direction, absl::string_view outcome,
                              absl::string_view reason) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = records_.find(Key(std::string(direction), std::string(outcome), std::string(reason)));
  return it == records_.end() ? 0 : it->second;
}

std::string Metrics::Render(const std::vector<Gauge>& gauges) const {
  std::string out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    absl::StrAppend(&out,
                    "# HELP gatehouse_records_total Records by direction, outcome and reason.\n"
                    "# TYPE gatehouse_records_total counter\n");
    for (const auto& [key, n] : records_) {
      absl::StrAppend(&out, "gatehouse_records_total{",
                      Labels({{"direction", std::get<0>(key)},
                              {"outcome", std::get<1>(key)},
                              {"reason", std::get<2>(key)}}),
                      "} ", n, "\n");
    }
    absl::StrAppend(&out,
                    "# HELP gatehouse_refusals_total Calls refused, by API and gRPC code.\n"
                    "# TYPE gatehouse_refusals_total counter\n");
    for (const auto& [key, n] : refusals_) {
      absl::StrAppend(&out, "gatehouse_refusals_total{",
                      Labels({{"api", key.first}, {"code", key.second}}), "} ", n, "\n");
    }
    absl::StrAppend(&out,
                    "# HELP gatehouse_reloads_total Reloads of directory, policy and the like.\n"
                    "# TYPE gatehouse_reloads_total counter\n");
    for (const auto& [key, n] : reloads_) {
      absl::StrAppend(&out, "gatehouse_reloads_total{",
                      Labels({{"what", key.first}, {"result", key.second ? "ok" : "refused"}}),
                      "} ", n, "\n");
    }
    absl::StrAppend(&out,
                    "# HELP gatehouse_peer_checkpoints_total Peers' audit checkpoints checked, "
                    "by result (cosigned, inconsistent, unavailable).\n"
                    "# TYPE gatehouse_peer_checkpoints_total counter\n");
    for (const auto& [key, n] : peer_checkpoints_) {
      absl::StrAppend(&out, "gatehouse_peer_checkpoints_total{",
                      Labels({{"peer", key.first}, {"result", key.second}}), "} ", n, "\n");
    }
  }
  absl::StrAppend(&out,
                  "# HELP gatehouse_deliver_batches_total DeliverBatch calls the outbox sent.\n"
                  "# TYPE gatehouse_deliver_batches_total counter\n"
                  "gatehouse_deliver_batches_total ", deliver_batches_.load(), "\n",
                  "# HELP gatehouse_deliver_batch_records_total Envelopes those calls "
                  "carried.\n"
                  "# TYPE gatehouse_deliver_batch_records_total counter\n"
                  "gatehouse_deliver_batch_records_total ", deliver_batch_records_.load(), "\n");
  audit_append_seconds_.Render("gatehouse_audit_append_seconds",
                               "Time from handing an audit entry over to it being durable "
                               "(the audit lag), seconds.", &out);
  submit_seconds_.Render("gatehouse_submit_seconds",
                         "Submit latency as seen by the gateway, seconds.", &out);
  deliver_seconds_.Render("gatehouse_deliver_seconds",
                          "Peer Deliver call latency from the sender, seconds.", &out);
  std::string last;
  for (const Gauge& g : gauges) {
    if (g.name != last) {
      absl::StrAppend(&out, "# HELP ", g.name, " ", g.help, "\n# TYPE ", g.name,
                      g.counter ? " counter\n" : " gauge\n");
      last = g.name;
    }
    absl::StrAppend(&out, g.name, g.labels.empty() ? "" : absl::StrCat("{", g.labels, "}"), " ",
                    absl::StrFormat("%.17g", g.value), "\n");
  }
  return out;
}

}  // namespace gatehouse
