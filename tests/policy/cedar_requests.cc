#include "tests/policy/cedar_requests.h"

#include <cmath>
#include <fstream>
#include <sstream>
#include <utility>

namespace gatehouse::policy::testing {
namespace {

struct Org {
  const char* id;
  const char* sector;
};

const Org kOrgs[] = {
    {"trust-01", "health"},   {"trust-02", "health"},  {"trust-03", "health"},
    {"trust-13", "health"},   {"ukhsa-01", "health"},  {"force-01", "police"},
    {"force-02", "police"},   {"force-03", "police"},  {"force-09", "police"},
    {"nca-01", "police"},     {"council-01", "council"}, {"council-02", "council"},
    {"council-03", "council"}, {"council-07", "council"},
};
constexpr int kNumOrgs = sizeof(kOrgs) / sizeof(kOrgs[0]);

using Names = std::vector<absl::string_view>;

const Names kHealthTypes = {"patient_summary", "discharge_summary",
                            "clinical_referral", "mental_health_assessment",
                            "sexual_health_record", "test_result",
                            "research_extract", "incident_report"};
const Names kPoliceTypes = {"crime_report", "intelligence_report",
                            "custody_record", "missing_person_report",
                            "domestic_abuse_notification", "criminal_record"};
const Names kCouncilTypes = {"social_care_assessment", "housing_record",
                             "benefits_record", "asb_report",
                             "education_record"};
const Names kSharedTypes = {"safeguarding_referral", "marac_minutes",
                            "aggregate_statistics", "audit_log"};
const Names kPurposes = {"direct_care", "safeguarding", "crime_prevention",
                         "investigation", "public_protection", "vital_interests",
                         "legal_proceedings", "service_planning", "research",
                         "statistics", "audit"};

Names Concat(std::initializer_list<const Names*> parts) {
  Names out;
  for (const Names* p : parts) out.insert(out.end(), p->begin(), p->end());
  return out;
}

const Names& TypesFor(absl::string_view sector) {
  static const Names health = Concat({&kHealthTypes, &kSharedTypes});
  static const Names police = Concat({&kPoliceTypes, &kSharedTypes});
  static const Names council = Concat({&kCouncilTypes, &kSharedTypes});
  return sector == "health" ? health : sector == "police" ? police : council;
}

const Names& AllTypes() {
  static const Names all =
      Concat({&kHealthTypes, &kPoliceTypes, &kCouncilTypes, &kSharedTypes});
  return all;
}

const Names& Plausible(absl::string_view type) {
  static const std::vector<std::pair<absl::string_view, Names>> table = {
      {"patient_summary", {"direct_care", "vital_interests", "safeguarding"}},
      {"discharge_summary", {"direct_care"}},
      {"clinical_referral", {"direct_care", "safeguarding"}},
      {"mental_health_assessment", {"direct_care", "safeguarding", "legal_proceedings"}},
      {"sexual_health_record", {"direct_care"}},
      {"test_result", {"direct_care", "research"}},
      {"research_extract", {"research"}},
      {"incident_report", {"investigation", "crime_prevention"}},
      {"crime_report", {"investigation", "crime_prevention", "legal_proceedings"}},
      {"intelligence_report", {"investigation", "public_protection", "crime_prevention"}},
      {"custody_record", {"legal_proceedings", "vital_interests", "investigation"}},
      {"missing_person_report", {"safeguarding", "vital_interests", "public_protection"}},
      {"domestic_abuse_notification", {"safeguarding"}},
      {"criminal_record", {"public_protection", "legal_proceedings", "safeguarding"}},
      {"social_care_assessment", {"direct_care", "safeguarding"}},
      {"housing_record", {"service_planning", "direct_care", "crime_prevention"}},
      {"benefits_record", {"investigation", "service_planning"}},
      {"asb_report", {"crime_prevention"}},
      {"education_record", {"safeguarding", "direct_care"}},
      {"safeguarding_referral", {"safeguarding"}},
      {"marac_minutes", {"safeguarding"}},
      {"aggregate_statistics", {"statistics", "service_planning", "research"}},
      {"audit_log", {"audit"}},
  };
  for (const auto& [t, p] : table) {
    if (t == type) return p;
  }
  return kPurposes;
}

struct CaveatDraw {
  absl::string_view name;
  double base;
  Names boost_types;
  double boosted;
};

const std::vector<CaveatDraw>& Caveats() {
  static const std::vector<CaveatDraw> table = {
      {"PERSONAL", 0.35,
       {"patient_summary", "discharge_summary", "clinical_referral",
        "mental_health_assessment", "sexual_health_record",
        "social_care_assessment", "safeguarding_referral", "custody_record",
        "criminal_record"},
       0.85},
      {"MEDICAL", 0.05, kHealthTypes, 0.5},
      {"LOCSEN", 0.05, {}, 0},
      {"SOURCE_PROTECTED", 0.01, {"intelligence_report"}, 0.4},
      {"LEGAL_PRIVILEGE", 0.02, {"crime_report", "custody_record"}, 0.08},
      {"EMBARGO", 0.01, {}, 0},
      {"CHILD", 0.05,
       {"safeguarding_referral", "education_record", "social_care_assessment"},
       0.45},
      {"SEXUAL_HEALTH", 0.0, {"sexual_health_record"}, 0.9},
      {"MENTAL_HEALTH", 0.02, {"mental_health_assessment"}, 0.9},
      {"ORCON", 0.05, {"intelligence_report"}, 0.3},
  };
  return table;
}

const absl::string_view kLevels[] = {"OFFICIAL", "OFFICIAL-SENSITIVE", "SECRET",
                                     "TOP SECRET"};

absl::string_view Pick(Mulberry32& rnd, const Names& arr) {
  return arr[static_cast<size_t>(std::floor(rnd.Next() * arr.size()))];
}

bool Contains(const Names& arr, absl::string_view x) {
  for (absl::string_view a : arr) {
    if (a == x) return true;
  }
  return false;
}

}  // namespace

double Mulberry32::Next() {
  a_ += 0x6d2b79f5u;
  uint32_t t = a_;
  t = (t ^ (t >> 15)) * (t | 1u);
  t ^= t + (t ^ (t >> 7)) * (t | 61u);
  return static_cast<double>(t ^ (t >> 14)) / 4294967296.0;
}

Request PeerRequest::AsRequest() const {
  Request r;
  r.sender = sender;
  r.recipient = recipient;
  r.record_type = record_type;
  r.classification = kLevels[classification];
  r.purpose = purpose;
  r.originator = originator;
  r.caveats = caveats;
  return r;
}

std::vector<PeerRequest> GenerateRequests(int n, uint32_t seed) {
  Mulberry32 rnd(seed);
  std::vector<PeerRequest> out(n);
  const std::pair<int, double> mix[] = {{0, 0.55}, {1, 0.33}, {2, 0.10}, {3, 0.02}};
  for (int i = 0; i < n; ++i) {
    PeerRequest& r = out[i];
    const int si = static_cast<int>(std::floor(rnd.Next() * kNumOrgs));
    int ri = static_cast<int>(std::floor(rnd.Next() * (kNumOrgs - 1)));
    if (ri >= si) ++ri;
    r.sender = kOrgs[si].id;
    r.recipient = kOrgs[ri].id;
    r.record_type = rnd.Next() < 0.75 ? Pick(rnd, TypesFor(kOrgs[si].sector))
                                      : Pick(rnd, AllTypes());
    const double u = rnd.Next();
    double acc = 0;
    r.classification = mix[3].first;
    for (const auto& [v, w] : mix) {
      acc += w;
      if (u < acc) {
        r.classification = v;
        break;
      }
    }
    for (const CaveatDraw& c : Caveats()) {
      const double p = Contains(c.boost_types, r.record_type) ? c.boosted : c.base;
      if (rnd.Next() < p) r.caveats.push_back(c.name);
    }
    if (rnd.Next() < 0.8) {
      r.originator = r.sender;
    } else {
      r.originator = kOrgs[static_cast<int>(std::floor(rnd.Next() * kNumOrgs))].id;
    }
    r.purpose = rnd.Next() < 0.6 ? Pick(rnd, Plausible(r.record_type))
                                 : Pick(rnd, kPurposes);
  }
  return out;
}

uint32_t DecisionFingerprint(const std::vector<uint8_t>& decisions) {
  uint32_t h = 0x811c9dc5u;
  for (uint8_t d : decisions) {
    h ^= d;
    h *= 0x01000193u;
  }
  return h;
}

bool ReadFileToString(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

}  // namespace gatehouse::policy::testing
