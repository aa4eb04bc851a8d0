// The engine decides as documented in engine.h and fails closed: unknown or
// missing labels, and write-down, are denials no rule can turn into allows.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "gtest/gtest.h"
#include "policy/describe.h"
#include "tests/policy/cedar_requests.h"
#include "tests/policy/test_util.h"

// Counts heap allocations so a test can prove Evaluate makes none. GCC
// cannot see that the replaced new and delete match.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
static std::atomic<long> g_allocations{0};
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  std::abort();
}
// Every form the library may allocate with is replaced, so that each block
// is freed by the allocator that made it (std::stable_sort's temporary
// buffer uses the nothrow form; ASan checks the pairing).
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace gatehouse::policy::testing {
namespace {

Engine Interorg() {
  std::string text;
  EXPECT_TRUE(ReadFileToString(SourcePath("policy/examples/interorg.ghp"), &text));
  Compiled c = CompileText(text);
  EXPECT_FALSE(HasErrors(c.diagnostics)) << c.Dump();
  return *Engine::FromModel(c.model);
}

struct Spot {
  const char* sender;
  const char* recipient;
  const char* type;
  const char* classification;
  std::vector<absl::string_view> caveats;
  const char* purpose;
  const char* originator;
  bool allow;
  std::vector<std::string> rules;
};

std::vector<std::string> Rules(const Decision& d) {
  std::vector<std::string> out;
  for (int i = 0; i < d.recorded_rules(); ++i) {
    out.emplace_back(d.rule_id(i));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The 18 spot checks of the Cedar peer (bench.mjs), with the exact set of
// determining rules Cedar reports. F01 is built in here (no write-down), so
// that one check reports the built-in instead of a rule.
TEST(PolicyEngine, CedarSpotChecksWithDecidingRules) {
  const Engine e = Interorg();
  const std::vector<Spot> spots = {
      {"trust-01", "trust-02", "patient_summary", "OFFICIAL-SENSITIVE", {"PERSONAL", "MEDICAL"}, "direct_care", "", true, {"P01-health-health-direct-care"}},
      {"trust-01", "council-02", "discharge_summary", "OFFICIAL-SENSITIVE", {"PERSONAL", "MEDICAL"}, "direct_care", "", false, {"F06-medical-caveat"}},
      {"trust-01", "council-02", "discharge_summary", "OFFICIAL-SENSITIVE", {"PERSONAL"}, "direct_care", "", true, {"P04-health-council-care"}},
      {"force-01", "force-02", "intelligence_report", "SECRET", {"SOURCE_PROTECTED"}, "investigation", "", true, {"P08-police-police-operational", "P29-police-police-intelligence"}},
      {"force-01", "council-01", "intelligence_report", "OFFICIAL-SENSITIVE", {}, "crime_prevention", "", false, {"F17-intelligence-police-only"}},
      {"force-01", "trust-01", "safeguarding_referral", "SECRET", {}, "safeguarding", "", false, {}},  // built-in write-down
      {"force-03", "nca-01", "intelligence_report", "TOP SECRET", {}, "investigation", "", false, {"F03-no-top-secret-over-gateway"}},
      {"council-07", "council-01", "housing_record", "OFFICIAL", {}, "service_planning", "", false, {"F20-suspended-sender"}},
      {"council-01", "trust-13", "aggregate_statistics", "OFFICIAL", {}, "statistics", "", false, {"F21-suspended-recipient"}},
      {"council-01", "trust-02", "aggregate_statistics", "OFFICIAL", {}, "statistics", "", true, {"P20-aggregate-statistics"}},
      {"force-02", "force-01", "intelligence_report", "OFFICIAL-SENSITIVE", {"ORCON"}, "investigation", "nca-01", false, {"F05-orcon-originator-only"}},
      {"force-02", "force-01", "intelligence_report", "OFFICIAL-SENSITIVE", {"ORCON"}, "investigation", "", true, {"P08-police-police-operational", "P29-police-police-intelligence"}},
      {"council-01", "force-01", "housing_record", "OFFICIAL", {}, "research", "", false, {}},
      {"force-01", "council-01", "crime_report", "OFFICIAL-SENSITIVE", {"LEGAL_PRIVILEGE"}, "legal_proceedings", "", true, {"P13-police-legal-proceedings"}},
      {"force-02", "trust-01", "custody_record", "OFFICIAL-SENSITIVE", {"PERSONAL"}, "vital_interests", "", true, {"P10-police-health-detainee-care"}},
      {"trust-01", "trust-02", "research_extract", "OFFICIAL", {"PERSONAL"}, "research", "", false, {"F13-personal-not-for-secondary-use"}},
      {"council-01", "trust-02", "aggregate_statistics", "OFFICIAL", {"LOCSEN", "CHILD"}, "statistics", "", false, {"F11-locsen-same-sector", "F12-child-purpose-limit"}},
      {"force-01", "trust-02", "domestic_abuse_notification", "OFFICIAL-SENSITIVE", {"PERSONAL"}, "safeguarding", "", true, {"P09-police-health-safeguarding", "P24-domestic-abuse-notification"}},
  };
  for (const Spot& s : spots) {
    Request r{s.sender, s.recipient, s.type, s.classification, s.purpose, s.originator, s.caveats};
    const Decision d = e.Evaluate(r);
    EXPECT_EQ(d.allowed, s.allow) << s.sender << "->" << s.recipient << " " << s.type << ": " << d.reason;
    std::vector<std::string> want = s.rules;
    std::sort(want.begin(), want.end());
    EXPECT_EQ(Rules(d), want) << s.sender << "->" << s.recipient << " " << s.type;
  }
}

TEST(PolicyEngine, SecretToOfficialSensitiveTrustIsWriteDownEvenWithoutF01) {
  Compiled c = CompileText(R"(policy "p"
classifications OFFICIAL < SECRET
sectors police, health
record types referral
purposes safeguarding
organisation force-a sector police accredited SECRET
organisation trust-a sector health accredited OFFICIAL
permit P1 when purpose is safeguarding
)");
  ASSERT_FALSE(HasErrors(c.diagnostics)) << c.Dump();
  const Engine e = *Engine::FromModel(c.model);
  Request r{"force-a", "trust-a", "referral", "SECRET", "safeguarding", "", {}};
  const Decision d = e.Evaluate(r);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.outcome, Outcome::kWriteDown);
  EXPECT_EQ(OutcomeName(d.outcome), "write-down");
  r.classification = "OFFICIAL";
  EXPECT_TRUE(e.Evaluate(r).allowed);
}

TEST(PolicyEngine, UnknownCaveatIsDeniedUnlikeCedarSkipOnError) {
  const Engine e = Interorg();
  const absl::string_view caveats[] = {"PERSONAL", "NOT-A-CAVEAT"};
  Request r{"trust-01", "trust-02", "patient_summary", "OFFICIAL", "direct_care", "", caveats};
  const Decision d = e.Evaluate(r);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.outcome, Outcome::kUnknownLabel);
  EXPECT_NE(d.reason.find("caveat"), absl::string_view::npos);
}

TEST(PolicyEngine, UnknownOrMissingLabelsAreDenied) {
  const Engine e = Interorg();
  const Request ok{"trust-01", "trust-02", "patient_summary", "OFFICIAL", "direct_care", "", {}};
  ASSERT_TRUE(e.Evaluate(ok).allowed);
  Request r = ok;
  r.classification = "official";  // labels are exact
  EXPECT_EQ(e.Evaluate(r).outcome, Outcome::kUnknownLabel);
  r = ok;
  r.recipient = "trust-99";
  EXPECT_EQ(e.Evaluate(r).outcome, Outcome::kUnknownLabel);
  r = ok;
  r.originator = "nobody";
  EXPECT_EQ(e.Evaluate(r).outcome, Outcome::kUnknownLabel);
  r = ok;
  r.purpose = "";
  EXPECT_EQ(e.Evaluate(r).outcome, Outcome::kMissingLabel);
  r = ok;
  r.sender = "";
  EXPECT_EQ(e.Evaluate(r).outcome, Outcome::kMissingLabel);
}

TEST(PolicyEngine, OutOfRangeResolvedRequestIsDenied) {
  const Engine e = Interorg();
  ResolvedRequest r;
  r.sender = 200;
  EXPECT_EQ(e.EvaluateResolved(r).outcome, Outcome::kUnknownLabel);
  r.sender = 0;
  r.caveats = 1ULL << 40;
  EXPECT_FALSE(e.EvaluateResolved(r).allowed);
}

TEST(PolicyEngine, EvaluateDoesNotAllocate) {
  const Engine e = Interorg();
  const std::vector<PeerRequest> reqs = GenerateRequests(2000, 7);
  std::vector<Request> requests;
  for (const PeerRequest& p : reqs) requests.push_back(p.AsRequest());
  const long before = g_allocations.load();
  int allows = 0;
  for (const Request& r : requests) allows += e.Evaluate(r).allowed;
  EXPECT_EQ(g_allocations.load() - before, 0);
  EXPECT_GT(allows, 0);
}

TEST(PolicyEngine, ObligationsOfAllMatchingPermitsAreMerged) {
  Compiled c = CompileText(R"(policy "p"
classifications OFFICIAL
sectors health, council
record types summary
purposes care
organisation trust-a sector health accredited OFFICIAL
organisation council-a sector council accredited OFFICIAL
permit P1 when purpose is care then encrypt and redact (nhs_number) and retain 30 days
permit P2 when recipient sector is council then redact (gp_notes, nhs_number) and retain 1 years and notify originator
)");
  ASSERT_FALSE(HasErrors(c.diagnostics)) << c.Dump();
  const Engine e = *Engine::FromModel(c.model);
  const Decision d = e.Evaluate({"trust-a", "council-a", "summary", "OFFICIAL", "care", "", {}});
  ASSERT_TRUE(d.allowed);
  EXPECT_EQ(d.num_rules, 2);
  EXPECT_TRUE(d.obligations.encrypt);
  EXPECT_TRUE(d.obligations.notify_originator);
  EXPECT_EQ(d.obligations.retain_days, 365u);
  EXPECT_EQ(e.RedactFields(d.obligations),
            (std::vector<std::string>{"nhs_number", "gp_notes"}));
  const Decision d2 = e.Evaluate({"council-a", "trust-a", "summary", "OFFICIAL", "care", "", {}});
  ASSERT_TRUE(d2.allowed);
  EXPECT_EQ(d2.obligations.retain_days, 30u);
  EXPECT_FALSE(d2.obligations.notify_originator);
}

// Finding 4: a record addressed to an organisation with no recipient system
// is fetched by every system there. A permit can require a system; the flag
// is set if any matching permit sets it, and survives the compiled bundle.
TEST(PolicyEngine, RecordAddressedOnlyToAnOrganisationIsFlaggedForRefusal) {
  Compiled c = CompileText(R"(policy "p"
classifications OFFICIAL
caveats PERSONAL
sectors health, council
record types summary
purposes care
organisation trust-a sector health accredited OFFICIAL
organisation council-a sector council accredited OFFICIAL
permit P1 when purpose is care then encrypt
permit P2 when sender sector is health and caveats include PERSONAL
  then retain 30 days and require recipient system
)");
  ASSERT_FALSE(HasErrors(c.diagnostics)) << c.Dump();
  ASSERT_EQ(c.model.rules.size(), 2u);
  EXPECT_FALSE(c.model.rules[0].obligations.require_recipient_system);
  EXPECT_TRUE(c.model.rules[1].obligations.require_recipient_system);
  gatehouse::v1::CompiledPolicy proto = ToProto(c.model);
  // Older gateways accept only format 1: they refuse this policy rather
  // than silently drop the obligation.
  EXPECT_EQ(proto.format_version(), kFormatVersionRecipientSystem);
  EXPECT_TRUE(proto.rules(1).obligations().require_recipient_system());
  auto via_bundle = Engine::FromCompiled(proto);
  ASSERT_TRUE(via_bundle.ok()) << via_bundle.status();
  const absl::string_view personal[] = {"PERSONAL"};
  const Engine& e = *via_bundle;
  const Decision d = e.Evaluate({"trust-a", "council-a", "summary", "OFFICIAL", "care", "", personal});
  ASSERT_TRUE(d.allowed);
  EXPECT_TRUE(d.obligations.require_recipient_system);  // from P2 alone
  EXPECT_TRUE(d.obligations.encrypt);                   // from P1
  // Not personal, or not from health: P1 only, no system required.
  EXPECT_FALSE(e.Evaluate({"trust-a", "council-a", "summary", "OFFICIAL", "care", "", {}})
                   .obligations.require_recipient_system);
  const Decision council =
      e.Evaluate({"council-a", "trust-a", "summary", "OFFICIAL", "care", "", personal});
  ASSERT_TRUE(council.allowed);
  EXPECT_FALSE(council.obligations.require_recipient_system);
}

TEST(PolicyEngine, PolicyWithoutTheNewObligationKeepsFormatVersionOne) {
  std::string text;
  ASSERT_TRUE(ReadFileToString(SourcePath("policy/examples/interorg.ghp"), &text));
  EXPECT_EQ(ToProto(CompileText(text).model).format_version(), kFormatVersion);
}

// The demo's policy: what the trust and the force send about a person must
// name a recipient system; the council's care plans need not.
TEST(PolicyEngine, NorthshireHealthAndPoliceFlowsRequireARecipientSystem) {
  std::string text;
  ASSERT_TRUE(ReadFileToString(SourcePath("policy/examples/northshire.ghp"), &text));
  Compiled c = CompileText(text);
  ASSERT_FALSE(HasErrors(c.diagnostics)) << c.Dump();
  const Engine e = *Engine::FromModel(c.model);
  const absl::string_view personal[] = {"PERSONAL"};
  const absl::string_view child[] = {"CHILD"};
  struct Flow {
    Request request;
    bool requires_system;
  };
  const Flow flows[] = {
      {{"nhs-trust-a", "council-a", "discharge_summary", "OFFICIAL-SENSITIVE", "direct_care", "", personal}, true},
      {{"police-a", "council-a", "safeguarding_referral", "OFFICIAL-SENSITIVE", "safeguarding", "", child}, true},
      {{"police-a", "nhs-trust-a", "safeguarding_referral", "OFFICIAL-SENSITIVE", "safeguarding", "", {}}, true},
      {{"nhs-trust-a", "police-a", "safeguarding_referral", "OFFICIAL-SENSITIVE", "safeguarding", "", {}}, true},
      {{"police-a", "police-a", "intelligence_report", "SECRET", "investigation", "", {}}, true},
      {{"council-a", "nhs-trust-a", "care_plan", "OFFICIAL-SENSITIVE", "direct_care", "", personal}, false},
  };
  for (const Flow& f : flows) {
    const Decision d = e.Evaluate(f.request);
    ASSERT_TRUE(d.allowed) << f.request.sender << " -> " << f.request.recipient << ": " << d.reason;
    EXPECT_EQ(d.obligations.require_recipient_system, f.requires_system)
        << f.request.sender << " -> " << f.request.recipient << " " << f.request.record_type;
  }
}

TEST(PolicyEngine, ExplainListsTheRecipientSystemObligation) {
  Compiled c = CompileText(R"(policy "p"
classifications OFFICIAL
sectors health
record types summary
purposes care
organisation trust-a sector health accredited OFFICIAL
organisation trust-b sector health accredited OFFICIAL
permit P1 when purpose is care then encrypt and require recipient system
)");
  ASSERT_FALSE(HasErrors(c.diagnostics)) << c.Dump();
  const Engine e = *Engine::FromModel(c.model);
  ResolvedRequest r;
  Decision d;
  ASSERT_TRUE(e.Resolve({"trust-a", "trust-b", "summary", "OFFICIAL", "care", "", {}}, &r, &d));
  d = e.EvaluateResolved(r);
  EXPECT_EQ(DescribeObligations(e, d.obligations), "encrypt; require recipient system");
  const std::string explained = ExplainDecision(e, r, d);
  EXPECT_NE(explained.find("obligations: encrypt; require recipient system;"), std::string::npos)
      << explained;
}

// Issue 20, point 7: explain described one request as "any health -> any
// police" (a sector of one organisation), and retention in days.
TEST(PolicyEngine, ExplainDescribesTheRequestExactlyAndRetentionInYears) {
  std::string text;
  ASSERT_TRUE(ReadFileToString(SourcePath("policy/examples/northshire.ghp"), &text));
  Compiled c = CompileText(text);
  ASSERT_FALSE(HasErrors(c.diagnostics)) << c.Dump();
  const Engine e = *Engine::FromModel(c.model);
  const absl::string_view personal[] = {"PERSONAL"};
  ResolvedRequest r;
  Decision d;
  ASSERT_TRUE(e.Resolve({"nhs-trust-a", "council-a", "discharge_summary", "OFFICIAL-SENSITIVE",
                         "direct_care", "", personal},
                        &r, &d));
  d = e.EvaluateResolved(r);
  ASSERT_TRUE(d.allowed) << d.reason;
  const std::string explained = ExplainDecision(e, r, d);
  EXPECT_EQ(explained.find("any "), std::string::npos) << explained;
  EXPECT_NE(explained.find("ALLOW: nhs-trust-a (health, OFFICIAL-SENSITIVE) \u2192 council-a "
                           "(council, OFFICIAL-SENSITIVE): discharge_summary, OFFICIAL-SENSITIVE, "
                           "for direct_care, with PERSONAL"),
            std::string::npos)
      << explained;
  EXPECT_EQ(explained.find(" days"), std::string::npos) << explained;
  EXPECT_EQ(DescribeRetention(2190), "6 years");
  EXPECT_EQ(DescribeRetention(365), "1 year");
  EXPECT_EQ(DescribeRetention(540), "18 months");
  EXPECT_EQ(DescribeRetention(45), "45 days");
}

TEST(PolicyEngine, LabelIndexFindsEveryNameAndNothingElse) {
  std::vector<std::string> names;
  for (int i = 0; i < 64; ++i) names.push_back("label-" + std::to_string(i * 7919));
  names[3] = "";  // never matched by Evaluate, which checks for empty first
  names[5] = "TOP SECRET";
  LabelIndex index;
  index.Build(names);
  for (size_t i = 0; i < names.size(); ++i) EXPECT_EQ(index.Find(names[i]), static_cast<int>(i));
  EXPECT_EQ(index.Find("TOP SECRET "), -1);
  EXPECT_EQ(index.Find("label-"), -1);
  EXPECT_EQ(index.Find("label-7919x"), -1);
  EXPECT_EQ(index.Find(std::string(1000, 'x')), -1);
}

TEST(PolicyEngine, NoPermitIsDefaultDenyWithReason) {
  const Engine e = Interorg();
  const Decision d = e.Evaluate({"council-01", "force-01", "housing_record", "OFFICIAL", "research", "", {}});
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.outcome, Outcome::kNoPermit);
  EXPECT_EQ(d.num_rules, 0);
  EXPECT_FALSE(d.reason.empty());
}

TEST(PolicyEngine, CompiledProtoRoundTripDecidesTheSame) {
  std::string text;
  ASSERT_TRUE(ReadFileToString(SourcePath("policy/examples/interorg.ghp"), &text));
  Compiled c = CompileText(text);
  const Engine direct = *Engine::FromModel(c.model);
  gatehouse::v1::CompiledPolicy proto;
  ASSERT_TRUE(proto.ParseFromString(ToProto(c.model).SerializeAsString()));
  auto via = Engine::FromCompiled(proto);
  ASSERT_TRUE(via.ok()) << via.status();
  for (const PeerRequest& p : GenerateRequests(5000, 99)) {
    ASSERT_EQ(direct.Evaluate(p.AsRequest()).allowed, via->Evaluate(p.AsRequest()).allowed);
  }
}

// Issue 20, point 9: a national directory has hundreds of organisations.
// Domains wider than 64 values compile, survive the bundle format (version
// 3, several words a mask) and decide exactly; an older format number for
// such a policy is refused.
TEST(PolicyEngine, ThreeHundredOrganisationsCompileAndDecideThroughTheBundleFormat) {
  std::string text =
      "policy p\nclassifications OFFICIAL < SECRET\nsectors health, police\n"
      "record types summary\npurposes care\n";
  for (int i = 0; i < 300; ++i) {
    text += "organisation org-" + std::to_string(i) + " sector " +
            (i % 2 ? "police" : "health") + " accredited " + (i % 3 ? "OFFICIAL" : "SECRET") +
            "\n";
  }
  text += "permit P1 when sender sector is health and recipient in (org-1, org-201, org-299)\n"
          "forbid F1 when sender is org-250\n";
  Compiled c = CompileText(text);
  ASSERT_FALSE(HasErrors(c.diagnostics)) << c.Dump();
  gatehouse::v1::CompiledPolicy proto = ToProto(c.model);
  EXPECT_EQ(proto.format_version(), kFormatVersionWide);
  // Format 3: every dimension's words (5 for 300 organisations), then caveats.
  EXPECT_EQ(proto.rules(0).cubes(0).masks_size(), 5 + 5 + 1 + 1 + 1 + 5 + 1 + 1 + 2);
  auto e = Engine::FromCompiled(proto);
  ASSERT_TRUE(e.ok()) << e.status();
  auto decide = [&](const char* from, const char* to, const char* level) {
    return e->Evaluate({from, to, "summary", level, "care", "", {}});
  };
  EXPECT_TRUE(decide("org-0", "org-299", "OFFICIAL").allowed);
  EXPECT_TRUE(decide("org-298", "org-201", "OFFICIAL").allowed);
  EXPECT_FALSE(decide("org-298", "org-200", "OFFICIAL").allowed);   // not listed
  EXPECT_FALSE(decide("org-299", "org-201", "OFFICIAL").allowed);   // police sender
  EXPECT_EQ(decide("org-250", "org-201", "OFFICIAL").outcome, Outcome::kForbidden);
  EXPECT_EQ(decide("org-0", "org-299", "SECRET").outcome, Outcome::kWriteDown);
  EXPECT_EQ(decide("org-0", "org-300", "OFFICIAL").outcome, Outcome::kUnknownLabel);
  proto.set_format_version(kFormatVersionRecipientSystem);
  EXPECT_EQ(Engine::FromCompiled(proto).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PolicyEngine, MoreOrganisationsThanTheLimitAreALimitError) {
  std::string text = "classifications A\nsectors s\nrecord types r\npurposes p\n";
  for (int i = 0; i <= kMaxValues; ++i) {
    text += "organisation o" + std::to_string(i) + " sector s accredited A\n";
  }
  EXPECT_TRUE(CompileText(text).HasCode("limit"));
}

TEST(PolicyEngine, CorruptCompiledPolicyIsRejected) {
  std::string text;
  ASSERT_TRUE(ReadFileToString(SourcePath("policy/examples/interorg.ghp"), &text));
  gatehouse::v1::CompiledPolicy proto = ToProto(CompileText(text).model);
  gatehouse::v1::CompiledPolicy bad = proto;
  bad.mutable_organisations(0)->set_sector(99);
  EXPECT_EQ(Engine::FromCompiled(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad = proto;
  bad.mutable_rules(0)->mutable_cubes(0)->add_masks(1);
  EXPECT_EQ(Engine::FromCompiled(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad = proto;
  bad.set_format_version(kFormatVersionWide + 1);
  EXPECT_EQ(Engine::FromCompiled(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad = proto;
  bad.mutable_rules(1)->set_id(proto.rules(0).id());
  EXPECT_EQ(Engine::FromCompiled(bad).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gatehouse::policy::testing
