#include "sla/objectives.h"

#include <algorithm>

#include "absl/numeric/int128.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace gatehouse::sla {
namespace {

constexpr int64_t kMillion = 1000000;

// "99.9%" -> 999000. Integers only, so no target is off by a rounding.
absl::StatusOr<uint32_t> ParsePercentPpm(absl::string_view text) {
  absl::string_view t = absl::StripSuffix(text, "%");
  std::vector<absl::string_view> parts = absl::StrSplit(t, '.');
  uint64_t whole = 0, frac = 0;
  const bool ok = parts.size() <= 2 && !parts[0].empty() &&
                  std::all_of(t.begin(), t.end(), [](char c) { return absl::ascii_isdigit(c) || c == '.'; }) &&
                  absl::SimpleAtoi(parts[0], &whole) &&
                  (parts.size() == 1 || (parts[1].size() >= 1 && parts[1].size() <= 4 &&
                                         absl::SimpleAtoi(parts[1], &frac)));
  if (!ok) return absl::InvalidArgumentError(absl::StrCat("bad percentage '", text, "' (want e.g. 99.9%)"));
  if (parts.size() == 2) {
    for (size_t i = parts[1].size(); i < 4; ++i) frac *= 10;
  }
  const uint64_t ppm = whole * 10000 + frac;
  if (ppm == 0 || ppm > static_cast<uint64_t>(kMillion)) {
    return absl::InvalidArgumentError(absl::StrCat("percentage '", text, "' is not in (0, 100]"));
  }
  return static_cast<uint32_t>(ppm);
}

std::string PercentText(uint32_t ppm) {
  std::string s = absl::StrCat(ppm / 10000);
  if (ppm % 10000 != 0) {
    std::string frac = absl::StrCat(10000 + ppm % 10000).substr(1);
    while (frac.back() == '0') frac.pop_back();
    absl::StrAppend(&s, ".", frac);
  }
  return s + "%";
}

// eligible * (1 - target): the bad allowed, exactly as a double where it can be.
double Budget(int64_t eligible, uint32_t target_ppm) {
  const absl::int128 scaled = absl::int128(eligible) * (kMillion - target_ppm);
  return static_cast<double>(scaled / kMillion) +
         static_cast<double>(scaled % kMillion) / static_cast<double>(kMillion);
}

bool Met(int64_t bad, int64_t eligible, uint32_t target_ppm) {
  return absl::int128(bad) * kMillion <= absl::int128(eligible) * (kMillion - target_ppm);
}

}  // namespace

std::string Objective::Name() const {
  if (kind == Kind::kAvailability) return absl::StrCat("availability at ", PercentText(target_ppm));
  return absl::StrCat("delivery within ", absl::FormatDuration(within), " at ",
                      PercentText(target_ppm));
}

absl::StatusOr<Objective> ParseObjective(absl::string_view spec) {
  std::vector<absl::string_view> parts = absl::StrSplit(spec, ':');
  Objective o;
  if (parts[0] == "availability" && parts.size() == 2) {
    o.kind = Objective::Kind::kAvailability;
  } else if (parts[0] == "delivery" && parts.size() == 3) {
    if (!absl::ParseDuration(parts[1], &o.within) || o.within <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("objective '", spec, "': bad duration '", parts[1], "' (want e.g. 60s)"));
    }
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "objective '", spec, "': want delivery:DURATION:PERCENT or availability:PERCENT"));
  }
  absl::StatusOr<uint32_t> ppm = ParsePercentPpm(parts.back());
  if (!ppm.ok()) return absl::InvalidArgumentError(absl::StrCat("objective '", spec, "': ", ppm.status().message()));
  o.target_ppm = *ppm;
  return o;
}

std::vector<Objective> DefaultObjectives() {
  Objective delivery;
  Objective availability;
  availability.kind = Objective::Kind::kAvailability;
  availability.target_ppm = 999000;
  return {delivery, availability};
}

gatehouse::v1::SlaObjective Evaluate(const Objective& objective, const Outcomes& outcomes,
                                     const std::vector<int64_t>& bucket_ends) {
  gatehouse::v1::SlaObjective out;
  out.set_name(objective.Name());
  out.set_target_ppm(objective.target_ppm);
  // (time judged, bad amount): one per record for delivery; one per outage
  // piece for availability, spread over the buckets below.
  std::vector<std::pair<int64_t, int64_t>> bad_at;
  int64_t eligible = 0;
  if (objective.kind == Objective::Kind::kDelivery) {
    out.set_kind("delivery");
    const int64_t within = absl::ToInt64Nanoseconds(objective.within);
    out.set_threshold_ns(within);
    for (const Outcomes::Record& r : outcomes.records) {
      switch (r.state) {
        case Outcomes::State::kDelivered:
          ++eligible;
          if (r.latency_ns > within) bad_at.push_back({r.settled_ns, 1});
          break;
        case Outcomes::State::kExpired:
          ++eligible;
          bad_at.push_back({r.settled_ns, 1});
          break;
        case Outcomes::State::kWaiting:
          // Late already, whatever happens next; on time so far is not judged.
          if (r.latency_ns > within) {
            ++eligible;
            bad_at.push_back({std::max(outcomes.from_ns, r.submitted_ns + within), 1});
          }
          break;
      }
    }
  } else {
    out.set_kind("availability");
    eligible = outcomes.to_ns - outcomes.from_ns;
  }
  int64_t bad = 0;
  for (const auto& b : bad_at) bad += b.second;
  if (objective.kind == Objective::Kind::kAvailability) {
    bad = LengthWithin(outcomes.down, outcomes.from_ns, outcomes.to_ns);
  }
  const double budget = Budget(eligible, objective.target_ppm);
  out.set_eligible(eligible);
  out.set_bad(bad);
  out.set_budget(budget);
  out.set_remaining(budget - static_cast<double>(bad));
  out.set_met(Met(bad, eligible, objective.target_ppm));
  out.set_remaining_fraction(budget > 0 ? out.remaining() / budget : (out.met() ? 0 : -1));
  int64_t start = outcomes.from_ns;
  int64_t used = 0;
  for (int64_t end : bucket_ends) {
    if (objective.kind == Objective::Kind::kAvailability) {
      used += LengthWithin(outcomes.down, start, end);
    } else {
      for (const auto& b : bad_at) used += (b.first >= start && b.first < end) ? b.second : 0;
    }
    gatehouse::v1::SlaBurnPoint* p = out.add_burn();
    p->set_at_ns(end);
    p->set_used(budget > 0 ? static_cast<double>(used) / budget : (used > 0 ? 1 : 0));
    start = end;
  }
  return out;
}

}  // namespace gatehouse::sla
