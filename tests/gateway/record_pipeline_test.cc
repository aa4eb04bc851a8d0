// The record path's deciding stages without a process (gateway/record/
// outbound.h, inbound.h, refusal.h, trust.h): each decision is made against
// one TrustSnapshot built here from a policy text and generated keys, and
// every refusal is checked for its code, its kind, whether it counts as a
// decision, and that no plan came with it.
#include <functional>
#include <memory>
#include <string>

#include "envelope/keyset.h"
#include "envelope/sha256.h"
#include "gateway/record/entries.h"
#include "gateway/record/inbound.h"
#include "gateway/record/labels.h"
#include "gateway/record/outbound.h"
#include "gateway/record/refusal.h"
#include "gateway/record/submit_check.h"
#include "gateway/record/trust.h"
#include "gtest/gtest.h"
#include "policy/compiler.h"
#include "policy/model.h"

namespace gatehouse {
namespace {

// What both policies below declare.
constexpr char kDeclarations[] = R"(
classifications OFFICIAL < OFFICIAL-SENSITIVE < SECRET
caveats PERSONAL, MEDICAL
sectors health, council, police
record types discharge_summary, care_plan, intelligence_report
purposes direct_care, safeguarding, investigation

organisation nhs-trust-a sector health accredited OFFICIAL-SENSITIVE
organisation council-a sector council accredited OFFICIAL-SENSITIVE
organisation police-a sector police accredited SECRET
organisation council-b sector council accredited OFFICIAL-SENSITIVE
)";

constexpr char kRules[] = R"(
forbid medical-stays-in-health
  "MEDICAL detail goes outside health only to protect someone."
  when caveats include MEDICAL
    and recipient sector is not health
  unless purpose is safeguarding

permit health-council-care
  "The trust shares discharge summaries with the council for care."
  when sender sector is health
    and recipient sector is council
    and record type is discharge_summary
    and purpose is direct_care
  then encrypt

permit care-plans-redacted
  "Care plans go with the ward notes removed."
  when record type is care_plan
    and purpose is direct_care
  then redact (ward_notes)

permit police-intelligence
  "The force shares intelligence."
  when sender sector is police
    and record type is intelligence_report
    and purpose is investigation
  then encrypt
)";

const std::string kPolicy = std::string("policy \"stages\"") + kDeclarations + kRules;
// A policy that permits nothing, as a shadow that differs.
const std::string kDenyAll = std::string("policy \"deny-all\"") + kDeclarations;

std::shared_ptr<const LoadedPolicy> Load(const std::string& text, const std::string& version) {
  std::vector<policy::Diagnostic> diags;
  policy::Model model = policy::CompilePolicy({{"stages.ghp", text}}, &diags);
  absl::StatusOr<policy::Engine> engine = policy::Engine::FromCompiled(policy::ToProto(model));
  EXPECT_TRUE(engine.ok()) << engine.status();
  auto p = std::make_shared<LoadedPolicy>(
      LoadedPolicy{*std::move(engine), "stages", version, /*sha256=*/""});
  return p;
}

class RecordPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const absl::Time now = absl::Now();
    v1::Directory d;
    d.set_version(7);
    for (const auto& [org, accreditation] :
         std::vector<std::pair<std::string, std::string>>{{"nhs-trust-a", "OFFICIAL-SENSITIVE"},
                                                          {"council-a", "OFFICIAL-SENSITIVE"},
                                                          {"police-a", "SECRET"}}) {
      absl::StatusOr<envelope::Keyset> k =
          envelope::Keyset::Generate(org, envelope::Keyset::Kind::kGateway, now);
      ASSERT_TRUE(k.ok()) << k.status();
      v1::Organisation* e = d.add_organisations();
      *e = k->PublicEntry();
      e->set_accreditation(accreditation);
      keys_.emplace(org, *std::move(k));
    }
    v1::Organisation* keyless = d.add_organisations();
    keyless->set_org_id("council-b");
    keyless->set_accreditation("OFFICIAL-SENSITIVE");
    directory_ = d;
    trust_ = TrustFor("nhs-trust-a");
  }

  TrustSnapshot TrustFor(const std::string& org) {
    TrustSnapshot t;
    t.org_id = org;
    t.directory = std::make_shared<const DirectorySnapshot>(
        directory_, absl::Now() + absl::Hours(1), absl::ZeroDuration());
    t.policy = Load(kPolicy, "v1");
    return t;
  }

  v1::Labels Labels(const std::string& to, const std::string& type,
                    const std::string& classification, const std::string& purpose) {
    v1::Labels l;
    l.set_recipient_org(to);
    l.set_recipient_system("care");
    l.set_record_type(type);
    l.set_classification(classification);
    l.set_purpose(purpose);
    l.set_end_user("dr.patel");
    return l;
  }

  OutboundDecision Plan(const v1::Labels& l, absl::string_view payload, bool streamed = false) {
    OutboundInput in;
    in.record_id = "0123456789abcdef0123456789abcdef";
    in.sender_system = "ehr";
    in.labels = &l;
    in.payload = payload;
    in.streamed = streamed;
    in.now_unix_ms = 1700000000000;
    return PlanOutbound(trust_, in);
  }

  static void ExpectNoPlan(const OutboundDecision& d) {
    EXPECT_TRUE(d.plan.record.record_id().empty());
    EXPECT_TRUE(d.plan.content.empty());
    EXPECT_EQ(d.plan.entry.event(), v1::AUDIT_EVENT_UNSPECIFIED);
  }

  v1::Directory directory_;
  std::map<std::string, envelope::Keyset> keys_;
  TrustSnapshot trust_;
};

TEST_F(RecordPipelineTest, PermittedSubmitIsPlannedWithItsEntryRowAndSealedContent) {
  const v1::Labels l = Labels("council-a", "discharge_summary", "OFFICIAL", "direct_care");
  OutboundDecision d = Plan(l, "{\"a\":1}");
  ASSERT_FALSE(d.refusal.has_value()) << d.refusal->status;
  EXPECT_FALSE(d.shadow.has_value());
  EXPECT_EQ(d.plan.entry.event(), v1::AUDIT_EVENT_SUBMITTED);
  EXPECT_EQ(d.plan.entry.decision(), v1::AUDIT_DECISION_PERMIT);
  ASSERT_EQ(d.plan.entry.rule_ids_size(), 1);
  EXPECT_EQ(d.plan.entry.rule_ids(0), "health-council-care");
  EXPECT_EQ(d.plan.entry.payload_sha256(), Sha256("{\"a\":1}"));
  EXPECT_EQ(d.plan.entry.policy_version(), "v1");
  EXPECT_EQ(d.plan.entry.sender_org(), "nhs-trust-a");
  EXPECT_EQ(d.plan.record.record_id(), "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(d.plan.record.labels().SerializeAsString(), l.SerializeAsString());
  EXPECT_EQ(d.plan.record.accepted_unix_ms(), 1700000000000);
  EXPECT_EQ(d.plan.labels.recipient_org, "council-a");
  EXPECT_EQ(d.plan.labels.sender_org, "nhs-trust-a");
  v1::SealedContent content;
  ASSERT_TRUE(content.ParseFromString(d.plan.content));
  EXPECT_EQ(content.payload(), "{\"a\":1}");
  EXPECT_EQ(content.sender_system(), "ehr");
  EXPECT_EQ(content.end_user(), "dr.patel");
}

TEST_F(RecordPipelineTest, UnknownRecipientIsNotFoundBeforeAnyDecision) {
  OutboundDecision d = Plan(Labels("nowhere", "discharge_summary", "OFFICIAL", "direct_care"), "x");
  ASSERT_TRUE(d.refusal.has_value());
  EXPECT_TRUE(absl::IsNotFound(d.refusal->status)) << d.refusal->status;
  EXPECT_FALSE(d.refusal->decided);
  EXPECT_EQ(d.refusal->kind, "directory");
  EXPECT_EQ(d.record_id, "0123456789abcdef0123456789abcdef");
  ExpectNoPlan(d);
}

TEST_F(RecordPipelineTest, RecordAboveTheRecipientsAccreditationIsRefusedWhateverThePolicy) {
  OutboundDecision d = Plan(Labels("council-a", "discharge_summary", "SECRET", "direct_care"), "x");
  ASSERT_TRUE(d.refusal.has_value());
  EXPECT_TRUE(absl::IsPermissionDenied(d.refusal->status)) << d.refusal->status;
  EXPECT_TRUE(d.refusal->decided);
  EXPECT_EQ(d.refusal->kind, "write_down");
  ExpectNoPlan(d);
}

TEST_F(RecordPipelineTest, PolicyDenialNamesTheDecidingRule) {
  v1::Labels l = Labels("council-a", "discharge_summary", "OFFICIAL", "direct_care");
  l.add_caveats("MEDICAL");
  OutboundDecision d = Plan(l, "x");
  ASSERT_TRUE(d.refusal.has_value());
  EXPECT_TRUE(absl::IsPermissionDenied(d.refusal->status));
  ASSERT_FALSE(d.refusal->rule_ids.empty());
  EXPECT_EQ(d.refusal->rule_ids[0], "medical-stays-in-health");
  EXPECT_TRUE(d.refusal->decided);
  ExpectNoPlan(d);
}

// A label the policy does not declare is the caller's to fix: InvalidArgument
// naming the field and the declared values, never a policy denial.
TEST_F(RecordPipelineTest, UndeclaredLabelValuesAreInvalidArgumentNamingTheField) {
  struct Case {
    v1::Labels labels;
    std::string expected;
  };
  v1::Labels banana = Labels("council-a", "discharge_summary", "OFFICIAL", "direct_care");
  banana.add_caveats("PERSONAL");
  banana.add_caveats("BANANA");
  const Case cases[] = {
      {Labels("council-a", "discharge_summary", "CONFIDENTIAL", "direct_care"),
       "labels.classification 'CONFIDENTIAL' is not declared by the policy (declared: OFFICIAL, "
       "OFFICIAL-SENSITIVE, SECRET)"},
      {banana, "labels.caveats 'BANANA' is not declared by the policy (declared: PERSONAL, "
               "MEDICAL)"},
      {Labels("council-a", "recipe", "OFFICIAL", "direct_care"),
       "labels.record_type 'recipe' is not declared"},
      {Labels("council-a", "discharge_summary", "OFFICIAL", "marketing"),
       "labels.purpose 'marketing' is not declared"},
      {Labels("council-a", "discharge_summary", "OFFICIAL", ""),
       "labels.purpose is required (declared: direct_care, safeguarding, investigation)"},
  };
  for (const Case& c : cases) {
    OutboundDecision d = Plan(c.labels, "x");
    ASSERT_TRUE(d.refusal.has_value()) << c.expected;
    EXPECT_TRUE(absl::IsInvalidArgument(d.refusal->status)) << d.refusal->status;
    EXPECT_NE(d.refusal->status.message().find(c.expected), std::string::npos)
        << d.refusal->status;
    EXPECT_EQ(d.refusal->kind, "labels");
    EXPECT_FALSE(d.refusal->decided);
    EXPECT_TRUE(d.refusal->rule_ids.empty());
    ExpectNoPlan(d);
  }
}

// The sending organisation itself missing from the policy is not the
// caller's fault: the policy's denial stands.
TEST_F(RecordPipelineTest, SenderOrganisationUnknownToThePolicyStaysADenial) {
  trust_.org_id = "police-b";
  OutboundDecision d = Plan(Labels("council-a", "discharge_summary", "OFFICIAL", "direct_care"), "x");
  ASSERT_TRUE(d.refusal.has_value());
  EXPECT_TRUE(absl::IsPermissionDenied(d.refusal->status)) << d.refusal->status;
  EXPECT_EQ(d.refusal->kind, "unknown-label");
  ExpectNoPlan(d);
}

// The header seals caveats sorted; the sealed content carries the order the
// system submitted, which the recipient is given back.
TEST_F(RecordPipelineTest, CaveatsKeepTheSubmittedOrderForTheRecipient) {
  trust_ = TrustFor("police-a");
  v1::Labels l = Labels("nhs-trust-a", "intelligence_report", "OFFICIAL", "investigation");
  l.add_caveats("PERSONAL");
  l.add_caveats("MEDICAL");
  OutboundDecision d = Plan(l, "{}");
  ASSERT_FALSE(d.refusal.has_value()) << d.refusal->status;
  v1::SealedContent content;
  ASSERT_TRUE(content.ParseFromString(d.plan.content));
  ASSERT_EQ(content.caveats_size(), 2);
  EXPECT_EQ(content.caveats(0), "PERSONAL");
  EXPECT_EQ(content.caveats(1), "MEDICAL");

  envelope::RecordLabels header = d.plan.labels;
  header.caveats = {"MEDICAL", "PERSONAL"};  // as a parsed header holds them
  const v1::Labels back = LabelsOf(header, content);
  ASSERT_EQ(back.caveats_size(), 2);
  EXPECT_EQ(back.caveats(0), "PERSONAL");
  EXPECT_EQ(back.caveats(1), "MEDICAL");
}

// The order is only an order: content naming other caveats than the
// authenticated header is ignored, and so is content without an order.
TEST_F(RecordPipelineTest, CaveatOrderNamingOtherCaveatsThanTheHeaderIsIgnored) {
  envelope::RecordLabels header;
  header.caveats = {"MEDICAL", "PERSONAL"};
  for (const std::vector<std::string>& order :
       std::vector<std::vector<std::string>>{{}, {"PERSONAL"}, {"PERSONAL", "CHILD"},
                                             {"PERSONAL", "MEDICAL", "MEDICAL"}}) {
    v1::SealedContent content;
    for (const std::string& c : order) content.add_caveats(c);
    const v1::Labels back = LabelsOf(header, content);
    ASSERT_EQ(back.caveats_size(), 2);
    EXPECT_EQ(back.caveats(0), "MEDICAL");
    EXPECT_EQ(back.caveats(1), "PERSONAL");
  }
}

TEST_F(RecordPipelineTest, RedactionIsCarriedOutAndAStreamedRecordThatNeedsItIsRefused) {
  const v1::Labels l = Labels("council-a", "care_plan", "OFFICIAL", "direct_care");
  OutboundDecision d = Plan(l, "{\"plan\":\"home\",\"ward_notes\":\"x\"}");
  ASSERT_FALSE(d.refusal.has_value()) << d.refusal->status;
  v1::SealedContent content;
  ASSERT_TRUE(content.ParseFromString(d.plan.content));
  EXPECT_EQ(content.payload(), "{\"plan\":\"home\"}");
  EXPECT_EQ(d.plan.entry.payload_sha256(), Sha256("{\"plan\":\"home\"}"));
  EXPECT_NE(d.plan.entry.reason().find("redacted 1 field(s) (ward_notes)"), std::string::npos)
      << d.plan.entry.reason();

  OutboundDecision streamed = Plan(l, "", /*streamed=*/true);
  ASSERT_TRUE(streamed.refusal.has_value());
  EXPECT_TRUE(absl::IsPermissionDenied(streamed.refusal->status));
  EXPECT_EQ(streamed.refusal->kind, "obligation");
  ASSERT_FALSE(streamed.refusal->rule_ids.empty());
  EXPECT_EQ(streamed.refusal->rule_ids[0], "care-plans-redacted");
  ExpectNoPlan(streamed);
}

TEST_F(RecordPipelineTest, RecipientWithoutAnEncryptionKeyIsFailedPrecondition) {
  OutboundDecision d = Plan(Labels("council-b", "care_plan", "OFFICIAL", "direct_care"), "{}");
  ASSERT_TRUE(d.refusal.has_value());
  EXPECT_TRUE(absl::IsFailedPrecondition(d.refusal->status)) << d.refusal->status;
  EXPECT_EQ(d.refusal->kind, "directory");
  EXPECT_NE(d.refusal->status.message().find("no usable encryption key for council-b"),
            std::string::npos);
  ExpectNoPlan(d);
}

TEST_F(RecordPipelineTest, AShadowThatDecidesOtherwiseIsNotedAndTheLivePolicyStillDecides) {
  trust_.shadow = Load(kDenyAll, "v2-draft");
  OutboundDecision d = Plan(Labels("council-a", "discharge_summary", "OFFICIAL", "direct_care"), "x");
  ASSERT_FALSE(d.refusal.has_value()) << d.refusal->status;
  ASSERT_TRUE(d.shadow.has_value());
  EXPECT_EQ(d.shadow->event(), v1::AUDIT_EVENT_SHADOW_DIFFERS);
  EXPECT_EQ(d.shadow->decision(), v1::AUDIT_DECISION_DENY);
  EXPECT_EQ(d.shadow->policy_version(), "v2-draft");
  EXPECT_TRUE(d.shadow->payload_sha256().empty());
}

TEST_F(RecordPipelineTest, ExpiredDirectoryOrPolicyStopsTheTrustSnapshot) {
  EXPECT_TRUE(trust_.CheckInForce(absl::Now()).ok());
  TrustSnapshot old = trust_;
  old.directory = std::make_shared<const DirectorySnapshot>(
      directory_, absl::Now() - absl::Minutes(1), absl::ZeroDuration());
  absl::Status s = old.CheckInForce(absl::Now());
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find("version 7"), std::string::npos) << s;
  TrustSnapshot stale = trust_;
  std::shared_ptr<const LoadedPolicy> loaded = Load(kPolicy, "v0");
  auto expired = std::const_pointer_cast<LoadedPolicy>(loaded);
  expired->not_after = absl::Now() - absl::Seconds(1);
  stale.policy = expired;
  EXPECT_TRUE(absl::IsFailedPrecondition(stale.CheckInForce(absl::Now())));
}

TEST_F(RecordPipelineTest, LaterStepsAreAuditedWithThePlannedPartiesAndNoPayload) {
  OutboundDecision d = Plan(Labels("council-a", "discharge_summary", "OFFICIAL", "direct_care"),
                            "{\"secret\":1}");
  ASSERT_FALSE(d.refusal.has_value());
  v1::AuditEntry delivered = DeliveredEntry(d.plan.record, "council-a signed a receipt");
  EXPECT_EQ(delivered.event(), v1::AUDIT_EVENT_DELIVERED);
  EXPECT_EQ(delivered.record_id(), d.plan.record.record_id());
  EXPECT_EQ(delivered.sender_system(), "ehr");
  EXPECT_EQ(delivered.recipient_org(), "council-a");
  EXPECT_EQ(delivered.recipient_system(), "care");
  EXPECT_EQ(delivered.SerializeAsString().find("secret"), std::string::npos);
  v1::AuditEntry acked = AckedEntry("r1", "nhs-trust-a", "council-a", "care");
  EXPECT_EQ(acked.event(), v1::AUDIT_EVENT_ACKED);
  EXPECT_EQ(acked.recipient_system(), "care");
}

TEST(RefusalEntryTest, ASubmitRefusedIsADenyADeliveryOnlyWhenDecided) {
  v1::AuditEntry base;
  base.set_record_id("r1");
  Refusal checks = Refusal::Check(absl::InvalidArgumentError("labels.purpose is required"), "checks");
  v1::AuditEntry denied = RefusalEntry(base, v1::AUDIT_EVENT_DENIED, checks, "v3");
  EXPECT_EQ(denied.event(), v1::AUDIT_EVENT_DENIED);
  EXPECT_EQ(denied.decision(), v1::AUDIT_DECISION_DENY);
  EXPECT_EQ(denied.status_code(), "INVALID_ARGUMENT");
  EXPECT_EQ(denied.reason(), "labels.purpose is required");
  EXPECT_EQ(denied.policy_version(), "v3");
  EXPECT_EQ(denied.record_id(), "r1");
  v1::AuditEntry rejected = RefusalEntry(base, v1::AUDIT_EVENT_REJECTED, checks, "v3");
  EXPECT_EQ(rejected.decision(), v1::AUDIT_DECISION_UNSPECIFIED);
  Refusal policy = Refusal::Policy(absl::PermissionDeniedError("no"), {"r-a", "r-b"});
  v1::AuditEntry decided = RefusalEntry(base, v1::AUDIT_EVENT_REJECTED, policy, "");
  EXPECT_EQ(decided.decision(), v1::AUDIT_DECISION_DENY);
  ASSERT_EQ(decided.rule_ids_size(), 2);
  EXPECT_EQ(decided.rule_ids(0), "r-a");
  EXPECT_TRUE(decided.policy_version().empty());
}

// Inbound: the record as the council's gateway receives it from the trust.
class InboundStageTest : public RecordPipelineTest {
 protected:
  void SetUp() override {
    RecordPipelineTest::SetUp();
    trust_ = TrustFor("council-a");
    absl::StatusOr<std::vector<envelope::VerifyingKey>> keys =
        trust_.directory->SenderKeys("nhs-trust-a");
    ASSERT_TRUE(keys.ok()) << keys.status();
    signer_ = keys->front();
    envelope::RecordLabels& h = opened_.header.labels;
    h.record_id = "0123456789abcdef0123456789abcdef";
    h.sender_org = "nhs-trust-a";
    h.recipient_org = "council-a";
    h.record_type = "discharge_summary";
    h.classification = "OFFICIAL";
    h.purpose = "direct_care";
    h.created_unix_ms = kNow - 1000;
    opened_.header.sender_key_id = signer_.id;
    opened_.content.set_sender_system("ehr");
    opened_.content.set_recipient_system("care");
    opened_.content.set_payload("{}");
  }

  InboundDecision Decide() {
    InboundInput in;
    in.opened = &opened_;
    in.envelope_sha256 = "env";
    in.payload_sha256 = Sha256("{}");
    in.now_unix_ms = kNow;
    in.replay_window_seconds = 600;
    in.audit_origin = "council-a/audit";
    return DecideInbound(trust_, in);
  }

  static void ExpectNoPlan(const InboundDecision& d) {
    EXPECT_EQ(d.plan.entry.event(), v1::AUDIT_EVENT_UNSPECIFIED);
    EXPECT_TRUE(d.plan.record.record_id().empty());
    EXPECT_TRUE(d.plan.receipt.record_id().empty());
  }

  static constexpr int64_t kNow = 1700000000000;
  envelope::VerifyingKey signer_;
  OpenedContent opened_;
};

TEST_F(InboundStageTest, AcceptedRecordKeepsTheKeyThatVerifiedIt) {
  InboundDecision d = Decide();
  ASSERT_FALSE(d.refusal.has_value()) << d.refusal->status;
  EXPECT_EQ(d.plan.entry.event(), v1::AUDIT_EVENT_RECEIVED);
  EXPECT_EQ(d.plan.entry.decision(), v1::AUDIT_DECISION_PERMIT);
  EXPECT_EQ(d.plan.entry.rule_ids(0), "health-council-care");
  EXPECT_EQ(d.plan.entry.sender_system(), "ehr");
  EXPECT_EQ(d.plan.entry.key_ids_size(), 2);
  EXPECT_EQ(d.plan.receipt.receiver_org(), "council-a");
  EXPECT_EQ(d.plan.receipt.audit_origin(), "council-a/audit");
  EXPECT_EQ(d.plan.receipt.received_unix_ms(), kNow);
  EXPECT_EQ(d.plan.record.sender_key(), std::string(envelope::AsStringView(signer_.public_key)));
  EXPECT_EQ(d.plan.record.recipient_system(), "care");
}

TEST_F(InboundStageTest, OutsideTheReplayWindowIsRefusedBeforeAnyDecision) {
  opened_.header.labels.created_unix_ms = kNow - 601 * 1000;
  InboundDecision d = Decide();
  ASSERT_TRUE(d.refusal.has_value());
  EXPECT_TRUE(absl::IsFailedPrecondition(d.refusal->status)) << d.refusal->status;
  EXPECT_EQ(d.refusal->kind, "replay");
  EXPECT_FALSE(d.refusal->decided);
  ExpectNoPlan(d);
}

TEST_F(InboundStageTest, FromTooFarAheadIsUnavailableSoTheSenderRetries) {
  opened_.header.labels.created_unix_ms = kNow + kMaxClockSkewMs + 1;
  InboundDecision d = Decide();
  ASSERT_TRUE(d.refusal.has_value());
  EXPECT_TRUE(absl::IsUnavailable(d.refusal->status)) << d.refusal->status;
  ExpectNoPlan(d);
}

TEST_F(InboundStageTest, MalformedRecipientSystemIsInvalidArgument) {
  opened_.content.set_recipient_system("Care System!");
  InboundDecision d = Decide();
  ASSERT_TRUE(d.refusal.has_value());
  EXPECT_TRUE(absl::IsInvalidArgument(d.refusal->status)) << d.refusal->status;
  ExpectNoPlan(d);
}

TEST_F(InboundStageTest, AboveOwnAccreditationIsRefusedByTheInvariant) {
  opened_.header.labels.classification = "SECRET";
  InboundDecision d = Decide();
  ASSERT_TRUE(d.refusal.has_value());
  EXPECT_TRUE(absl::IsPermissionDenied(d.refusal->status));
  EXPECT_EQ(d.refusal->kind, "write_down");
  EXPECT_TRUE(d.refusal->decided);
  ExpectNoPlan(d);
}

TEST_F(InboundStageTest, InboundPolicyDenialIsADecisionWithItsRule) {
  opened_.header.labels.caveats = {"MEDICAL"};
  InboundDecision d = Decide();
  ASSERT_TRUE(d.refusal.has_value());
  EXPECT_TRUE(absl::IsPermissionDenied(d.refusal->status));
  EXPECT_NE(d.refusal->status.message().find("council-a's inbound policy"), std::string::npos);
  EXPECT_EQ(d.refusal->rule_ids[0], "medical-stays-in-health");
  ExpectNoPlan(d);
}

TEST_F(InboundStageTest, KeyNoLongerListedIsUnavailable) {
  opened_.header.sender_key_id[0] ^= 0xff;
  InboundDecision d = Decide();
  ASSERT_TRUE(d.refusal.has_value());
  EXPECT_TRUE(absl::IsUnavailable(d.refusal->status)) << d.refusal->status;
  EXPECT_EQ(d.refusal->kind, "directory");
  ExpectNoPlan(d);
}

TEST_F(InboundStageTest, RefusalEntryRecordsClaimedLabelsUntilOpened) {
  v1::AuditEntry claimed = DeliveryEntry("nhs-trust-a", "council-a", &opened_.header, nullptr);
  EXPECT_EQ(claimed.record_id(), "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(claimed.labels().record_type(), "discharge_summary");
  EXPECT_TRUE(claimed.sender_system().empty());  // sealed: not yet known
  v1::AuditEntry opened = DeliveryEntry("nhs-trust-a", "council-a", &opened_.header, &opened_);
  EXPECT_EQ(opened.sender_system(), "ehr");
  EXPECT_EQ(opened.labels().recipient_system(), "care");
}

TEST_F(InboundStageTest, WhatTheEnvelopeClaimsMustMatchTheConnection) {
  const envelope::RecordLabels& h = opened_.header.labels;
  EXPECT_FALSE(CheckClaimed("nhs-trust-a", "psn://org/nhs-trust-a/gateway", "council-a", h));
  std::optional<Refusal> other =
      CheckClaimed("police-a", "psn://org/police-a/gateway", "council-a", h);
  ASSERT_TRUE(other.has_value());
  EXPECT_TRUE(absl::IsUnauthenticated(other->status)) << other->status;
  EXPECT_FALSE(other->decided);
  std::optional<Refusal> elsewhere =
      CheckClaimed("nhs-trust-a", "psn://org/nhs-trust-a/gateway", "police-a", h);
  ASSERT_TRUE(elsewhere.has_value());
  EXPECT_TRUE(absl::IsInvalidArgument(elsewhere->status));
  for (const char* bad : {"0123", "0123456789ABCDEF0123456789ABCDEF",
                          "0123456789abcdef0123456789abcdeg"}) {
    envelope::RecordLabels id = h;
    id.record_id = bad;
    std::optional<Refusal> r =
        CheckClaimed("nhs-trust-a", "psn://org/nhs-trust-a/gateway", "council-a", id);
    ASSERT_TRUE(r.has_value()) << bad;
    EXPECT_TRUE(absl::IsInvalidArgument(r->status)) << bad;
  }
}

// The checks before any decision (gateway/record/submit_check.h): each
// refusal names what is wrong.
class SubmitCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.set_org_id("nhs-trust-a");
    config_.set_max_payload_bytes(1024);
    v1::Labels* l = request_.mutable_labels();
    l->set_recipient_org("council-a");
    l->set_record_type("discharge_summary");
    l->set_classification("OFFICIAL");
    request_.set_payload("{}");
  }
  absl::Status Check() {
    return CheckSubmit(config_, "psn://org/nhs-trust-a/system/ehr", "nhs-trust-a", "ehr",
                       request_);
  }
  v1::GatewayConfig config_;
  v1::SubmitRequest request_;
};

TEST_F(SubmitCheckTest, AWellFormedSubmitPasses) { EXPECT_TRUE(Check().ok()) << Check(); }

TEST_F(SubmitCheckTest, EachMalformedPartIsRefusedNamingIt) {
  struct Case {
    const char* name;
    std::function<void(v1::SubmitRequest*, v1::GatewayConfig*)> change;
    absl::StatusCode code;
    const char* says;
  };
  const std::vector<Case> cases = {
      {"claims another system", [](v1::SubmitRequest* r, v1::GatewayConfig*) {
         r->set_sender_system("pas"); }, absl::StatusCode::kPermissionDenied, "cannot submit as"},
      {"payload over the limit", [](v1::SubmitRequest* r, v1::GatewayConfig*) {
         r->set_payload(std::string(1025, 'x')); }, absl::StatusCode::kResourceExhausted,
       "at most 1024 bytes"},
      {"key too long", [](v1::SubmitRequest* r, v1::GatewayConfig*) {
         r->set_idempotency_key(std::string(129, 'k')); }, absl::StatusCode::kInvalidArgument,
       "idempotency_key"},
      {"no record type", [](v1::SubmitRequest* r, v1::GatewayConfig*) {
         r->mutable_labels()->clear_record_type(); }, absl::StatusCode::kInvalidArgument,
       "labels.record_type is required"},
      {"purpose required", [](v1::SubmitRequest*, v1::GatewayConfig* c) {
         c->set_require_purpose(true); }, absl::StatusCode::kInvalidArgument,
       "labels.purpose is required"},
      {"too many caveats", [](v1::SubmitRequest* r, v1::GatewayConfig*) {
         for (int i = 0; i < 65; ++i) r->mutable_labels()->add_caveats("C"); },
       absl::StatusCode::kInvalidArgument, "more than 64"},
      {"bad recipient system", [](v1::SubmitRequest* r, v1::GatewayConfig*) {
         r->mutable_labels()->set_recipient_system("Care!"); },
       absl::StatusCode::kInvalidArgument, "not a valid id"},
      {"to itself", [](v1::SubmitRequest* r, v1::GatewayConfig*) {
         r->mutable_labels()->set_recipient_org("nhs-trust-a"); },
       absl::StatusCode::kInvalidArgument, "own organisation"},
  };
  for (const Case& c : cases) {
    request_.Clear();
    config_.Clear();
    SetUp();
    c.change(&request_, &config_);
    absl::Status s = Check();
    EXPECT_EQ(s.code(), c.code) << c.name << ": " << s;
    EXPECT_NE(s.message().find(c.says), std::string::npos) << c.name << ": " << s;
  }
}

}  // namespace
}  // namespace gatehouse
