// MailboxStore's contract (gateway/store/mailbox_store.h) and
// MailboxReader's visibility rule, for every implementation: see
// store_contract.h.
#include <future>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "tests/gateway/store/store_contract.h"

namespace gatehouse {
namespace {

TEST_P(MailboxStoreContract, MailboxDeduplicatesBySenderAndRecordId) {
  auto first = Put(Record("r1"), "1");
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->inserted);
  auto second = Put(Record("r1"), "2");
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->inserted);
  // What is held is the first delivery's hash and receipt.
  EXPECT_EQ(second->held.envelope_sha256, "sha-r11");
  EXPECT_EQ(second->held.receipt.receipt(), "receipt-1");
  auto seen = mailbox().FindInMailbox("nhs-trust-a", "r1");
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(seen->receipt.receipt(), "receipt-1");
  EXPECT_EQ(mailbox().FindInMailbox("police-a", "r1")->sender_org, "nhs-trust-a");
  // The same id from another organisation is another record (the store
  // keeps both; the peer service refuses the second before it gets here).
  EXPECT_TRUE(Put(Record("r1", "", "police-a"))->inserted);
  EXPECT_EQ(mailbox().FindInMailbox("police-a", "r1")->sender_org, "police-a");
  EXPECT_EQ(mailbox().FindInMailbox("nhs-trust-a", "r1")->sender_org, "nhs-trust-a");
  EXPECT_EQ(*mailbox().HeldMailboxRecords(), 2);
}

TEST_P(MailboxStoreContract, FetchSeesOwnAndOrgWideRecordsOnly) {
  ASSERT_TRUE(Put(Record("any", "", "nhs-trust-a", 1)).ok());
  ASSERT_TRUE(Put(Record("care", "care", "nhs-trust-a", 2)).ok());
  ASSERT_TRUE(Put(Record("finance", "finance", "nhs-trust-a", 3)).ok());
  const MailboxReader care = Reader("care", {"care", "finance"});
  auto got = mailbox().FetchMailbox(care, 0, 10);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].record.record_id(), "any");
  EXPECT_EQ((*got)[1].record.record_id(), "care");
  EXPECT_EQ((*got)[1].record.received_unix_ms(), 2);
  auto after = mailbox().FetchMailbox(care, (*got)[0].seq, 10);
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ(*mailbox().MailboxDepth(care), 2);
}

TEST_P(MailboxStoreContract, AckRemovesOnlyVisibleRecordsAndKeepsTheId) {
  ASSERT_TRUE(Put(Record("care", "care")).ok());
  ASSERT_TRUE(Put(Record("finance", "finance")).ok());
  EXPECT_EQ(Acked("care", {"finance", "missing"}, 5), 0u);
  auto acked = mailbox().AckMailbox(Reader("care"), {"care"}, 5);
  ASSERT_TRUE(acked.ok());
  ASSERT_EQ(acked->size(), 1u);
  EXPECT_EQ((*acked)[0].sender_org, "nhs-trust-a");
  EXPECT_EQ((*acked)[0].record_id, "care");
  EXPECT_EQ((*acked)[0].envelope_sha256, "sha-care1");
  EXPECT_TRUE((*acked)[0].payload_dropped);
  EXPECT_EQ(Acked("care", {"care"}, 6), 0u);
  EXPECT_TRUE(mailbox().FetchMailbox(Reader("care"), 0, 10)->empty());
  EXPECT_EQ(mailbox().FetchMailbox(Reader("finance"), 0, 10)->size(), 1u);
  // A redelivery after the ack is still recognised.
  EXPECT_FALSE(Put(Record("care", "care"))->inserted);
}

TEST_P(MailboxStoreContract, ARecordIdIsTakenByTheOrganisationThatDeliveredIt) {
  ASSERT_TRUE(Put(Record("a", "care", "nhs-trust-a")).ok());
  auto own = mailbox().FindInMailbox("nhs-trust-a", "a");
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->sender_org, "nhs-trust-a");
  auto other = mailbox().FindInMailbox("police-a", "a");
  ASSERT_TRUE(other.ok()) << "the id is found for another organisation too";
  EXPECT_EQ(other->sender_org, "nhs-trust-a");
  EXPECT_EQ(mailbox().FindInMailbox("police-a", "b").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Acked("care", {"a"}, 5), 1u);
  auto after = mailbox().FindInMailbox("police-a", "a");
  ASSERT_TRUE(after.ok()) << "ids stay taken after Ack";
  EXPECT_EQ(after->sender_org, "nhs-trust-a");
}

// The first fetch of a record is kept, for its sender to learn; the same
// id from another organisation, and unknown keys, are left alone; it
// survives the acknowledgement and a reopen.
TEST_P(MailboxStoreContract, TheFirstFetchOfARecordIsKept) {
  ASSERT_TRUE(Put(Record("a", "care", "nhs-trust-a")).ok());
  ASSERT_TRUE(Put(Record("a", "care", "police-a")).ok());
  auto mark = [&](std::vector<MailboxKey> keys, int64_t now_ms) {
    std::promise<absl::Status> done;
    mailbox().MarkFetchedAsync(std::move(keys), now_ms,
                               [&done](absl::Status s) { done.set_value(s); });
    return done.get_future().get();
  };
  EXPECT_EQ(mailbox().FindInMailbox("nhs-trust-a", "a")->fetched_ms, 0);
  ASSERT_TRUE(mark({{"nhs-trust-a", "a"}, {"nhs-trust-a", "missing"}}, 10).ok());
  ASSERT_TRUE(mark({{"nhs-trust-a", "a"}}, 20).ok());
  EXPECT_EQ(mailbox().FindInMailbox("nhs-trust-a", "a")->fetched_ms, 10);
  EXPECT_EQ(mailbox().FindInMailbox("police-a", "a")->fetched_ms, 0);
  EXPECT_EQ(Acked("care", {"a"}, 30), 2u);
  Reopen();
  absl::StatusOr<MailboxSeen> seen = mailbox().FindInMailbox("nhs-trust-a", "a");
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(seen->fetched_ms, 10);
  EXPECT_EQ(seen->acked_ms, 30);
}

TEST_P(MailboxStoreContract, AnEnvelopeIsHeldUntilItsRecordIsAcknowledged) {
  ASSERT_TRUE(Put(Record("a", "care")).ok());  // kept under "sha-a1"
  ASSERT_TRUE(Put(Record("c", "care")).ok());  // kept under "sha-c1"
  using Shas = std::set<std::string>;
  EXPECT_EQ(*mailbox().HeldEnvelopes({"sha-a1", "sha-b1"}), Shas({"sha-a1"}));
  EXPECT_EQ(*mailbox().HeldEnvelopes({"sha-a1", "sha-c1"}), Shas({"sha-a1", "sha-c1"}));
  EXPECT_EQ(*mailbox().HeldEnvelopes({}), Shas());
  EXPECT_EQ(Acked("care", {"a"}, 5), 1u);
  EXPECT_EQ(*mailbox().HeldEnvelopes({"sha-a1", "sha-c1"}), Shas({"sha-c1"}));
}

// Finding 4 of the outside review: council-a/finance fetched NHS discharge
// summaries addressed to the organisation as a whole. Only the systems the
// config names take such a record.
TEST_P(MailboxStoreContract, OrgWideRecordIsInvisibleToSystemsNotNamed) {
  ASSERT_TRUE(Put(Record("discharge", "")).ok());  // kept under "sha-discharge1"
  const MailboxReader finance = Reader("finance", {"care"});
  EXPECT_TRUE(Ids(finance).empty());
  EXPECT_EQ(mailbox().GetMailbox(finance, "nhs-trust-a", "discharge").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(*mailbox().MailboxDepth(finance), 0);
  EXPECT_EQ(Acked(finance, {"discharge"}, 5), 0u);
  // Nothing changed: the named system still takes the whole record.
  const MailboxReader care = Reader("care", {"care"});
  EXPECT_EQ(Ids(care), std::vector<std::string>({"discharge"}));
  auto held = mailbox().GetMailbox(care, "nhs-trust-a", "discharge");
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(held->record.envelope(), "envelope-discharge");
  EXPECT_EQ(*mailbox().HeldEnvelopes({"sha-discharge1"}),
            std::set<std::string>({"sha-discharge1"}));
  EXPECT_EQ(*mailbox().HeldMailboxRecords(), 1);
}

TEST_P(MailboxStoreContract, OrgWideRecordIsInvisibleToEverySystemWhenNoneIsNamed) {
  ASSERT_TRUE(Put(Record("discharge", "")).ok());
  for (std::string system : {"care", "finance"}) {
    EXPECT_TRUE(Ids(Reader(system)).empty()) << system;
    EXPECT_EQ(mailbox().GetMailbox(Reader(system), "nhs-trust-a", "discharge").status().code(),
              absl::StatusCode::kNotFound);
    EXPECT_EQ(*mailbox().MailboxDepth(Reader(system)), 0);
    EXPECT_EQ(Acked(system, {"discharge"}, 5), 0u);
  }
  // Still held, unacknowledged, for when a system is named.
  EXPECT_EQ(*mailbox().HeldMailboxRecords(), 1);
  EXPECT_EQ(Ids(Reader("care", {"care"})), std::vector<std::string>({"discharge"}));
}

// An empty system would match the organisation-wide rows' empty recipient
// system as its own.
TEST_P(MailboxStoreContract, AReaderWithNoSystemSeesAndAcknowledgesNothing) {
  ASSERT_TRUE(Put(Record("discharge", "")).ok());
  ASSERT_TRUE(Put(Record("care", "care")).ok());
  const MailboxReader nobody = Reader("", {"", "care"});
  EXPECT_TRUE(Ids(nobody).empty());
  EXPECT_EQ(mailbox().GetMailbox(nobody, "nhs-trust-a", "discharge").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(*mailbox().MailboxDepth(nobody), 0);
  EXPECT_EQ(Acked(nobody, {"discharge", "care"}, 5), 0u);
  EXPECT_EQ(Ids(Reader("care", {"care"})), std::vector<std::string>({"discharge", "care"}));
  EXPECT_EQ(*mailbox().HeldMailboxRecords(), 2);
}

// The review's second half: the first system's Ack deleted the payload for
// the others.
TEST_P(MailboxStoreContract, OneSystemsAckDoesNotRemoveTheRecordForAnother) {
  ASSERT_TRUE(Put(Record("discharge", "")).ok());
  const std::vector<std::string> named = {"care", "finance"};
  auto acked = mailbox().AckMailbox(Reader("care", named), {"discharge"}, 5);
  ASSERT_TRUE(acked.ok()) << acked.status();
  ASSERT_EQ(acked->size(), 1u);
  EXPECT_EQ((*acked)[0].record_id, "discharge");
  EXPECT_EQ((*acked)[0].envelope_sha256, "sha-discharge1");
  EXPECT_FALSE((*acked)[0].payload_dropped) << "finance has not taken it";
  // Gone for care (and a second Ack by care counts for nothing) ...
  EXPECT_TRUE(Ids(Reader("care", named)).empty());
  EXPECT_EQ(*mailbox().MailboxDepth(Reader("care", named)), 0);
  EXPECT_EQ(Acked(Reader("care", named), {"discharge"}, 6), 0u);
  // ... whole for finance, and its spool file still needed.
  auto held = mailbox().GetMailbox(Reader("finance", named), "nhs-trust-a", "discharge");
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(held->record.envelope(), "envelope-discharge");
  EXPECT_EQ(Ids(Reader("finance", named)), std::vector<std::string>({"discharge"}));
  EXPECT_EQ(*mailbox().MailboxDepth(Reader("finance", named)), 1);
  EXPECT_EQ(*mailbox().HeldEnvelopes({"sha-discharge1"}),
            std::set<std::string>({"sha-discharge1"}));
  EXPECT_EQ(*mailbox().HeldMailboxRecords(), 1);
  // So across a restart.
  Reopen();
  EXPECT_TRUE(Ids(Reader("care", named)).empty());
  EXPECT_EQ(Ids(Reader("finance", named)), std::vector<std::string>({"discharge"}));
}

TEST_P(MailboxStoreContract, OrgWideRecordDroppedOnlyWhenEveryNamedSystemAcked) {
  ASSERT_TRUE(Put(Record("discharge", "")).ok());
  const std::vector<std::string> named = {"care", "finance", "housing"};
  for (std::string system : {"housing", "care"}) {
    auto acked = mailbox().AckMailbox(Reader(system, named), {"discharge"}, 5);
    ASSERT_TRUE(acked.ok()) << acked.status();
    ASSERT_EQ(acked->size(), 1u) << system;
    EXPECT_FALSE((*acked)[0].payload_dropped) << system;
    EXPECT_EQ(mailbox().HeldEnvelopes({"sha-discharge1"})->count("sha-discharge1"), 1u);
  }
  auto last = mailbox().AckMailbox(Reader("finance", named), {"discharge"}, 7);
  ASSERT_TRUE(last.ok()) << last.status();
  ASSERT_EQ(last->size(), 1u);
  EXPECT_TRUE((*last)[0].payload_dropped);
  EXPECT_EQ((*last)[0].envelope_sha256, "sha-discharge1");
  for (const std::string& system : named) {
    EXPECT_TRUE(Ids(Reader(system, named)).empty()) << system;
    EXPECT_EQ(Acked(Reader(system, named), {"discharge"}, 8), 0u) << system;
  }
  EXPECT_TRUE(mailbox().HeldEnvelopes({"sha-discharge1"})->empty());
  EXPECT_EQ(*mailbox().HeldMailboxRecords(), 0);
  // The id is kept: a redelivery is recognised, and not offered again.
  EXPECT_FALSE(Put(Record("discharge", ""), "2")->inserted);
  EXPECT_TRUE(Ids(Reader("care", named)).empty());
}

// One Ack call naming an organisation-wide record twice is one system's
// acknowledgement, not two systems'.
TEST_P(MailboxStoreContract, ASystemAckingTwiceDoesNotStandInForAnother) {
  ASSERT_TRUE(Put(Record("discharge", "")).ok());
  const std::vector<std::string> named = {"care", "finance"};
  EXPECT_EQ(Acked(Reader("care", named), {"discharge", "discharge"}, 5), 1u);
  EXPECT_EQ(Acked(Reader("care", named), {"discharge"}, 6), 0u);
  EXPECT_EQ(Ids(Reader("finance", named)), std::vector<std::string>({"discharge"}));
  EXPECT_EQ(*mailbox().HeldMailboxRecords(), 1);
  // A system named twice in the config is still one system.
  EXPECT_EQ(Acked(Reader("care", {"care", "care", "finance"}), {"discharge"}, 7), 0u);
  EXPECT_EQ(Ids(Reader("finance", named)), std::vector<std::string>({"discharge"}));
}

TEST_P(MailboxStoreContract, SystemAddressedRecordInvisibleToOtherSystems) {
  ASSERT_TRUE(Put(Record("care-plan", "care")).ok());
  // Not even to a system that takes organisation-wide records.
  const MailboxReader finance = Reader("finance", {"care", "finance"});
  EXPECT_TRUE(Ids(finance).empty());
  EXPECT_EQ(mailbox().GetMailbox(finance, "nhs-trust-a", "care-plan").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(*mailbox().MailboxDepth(finance), 0);
  EXPECT_EQ(Ids(Reader("care")), std::vector<std::string>({"care-plan"}));
  EXPECT_EQ(*mailbox().MailboxDepth(Reader("care")), 1);
}

TEST_P(MailboxStoreContract, AckOfAnotherSystemsRecordChangesNothing) {
  ASSERT_TRUE(Put(Record("care-plan", "care")).ok());  // kept under "sha-care-plan1"
  EXPECT_EQ(Acked(Reader("finance", {"care", "finance"}), {"care-plan"}, 5), 0u);
  auto held = mailbox().GetMailbox(Reader("care"), "nhs-trust-a", "care-plan");
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(held->record.envelope(), "envelope-care-plan");
  EXPECT_EQ(*mailbox().HeldEnvelopes({"sha-care-plan1"}),
            std::set<std::string>({"sha-care-plan1"}));
  EXPECT_EQ(*mailbox().HeldMailboxRecords(), 1);
  // And care's own Ack still works (finance recorded no acknowledgement).
  auto acked = mailbox().AckMailbox(Reader("care"), {"care-plan"}, 6);
  ASSERT_TRUE(acked.ok());
  ASSERT_EQ(acked->size(), 1u);
  EXPECT_TRUE((*acked)[0].payload_dropped);
}

// A system's depth counts what it may take; the metric counts every record
// some system has yet to take.
TEST_P(MailboxStoreContract, ASystemsDepthCountsOnlyWhatItMayTake) {
  ASSERT_TRUE(Put(Record("discharge", "")).ok());
  EXPECT_EQ(*mailbox().MailboxDepth(Reader("finance")), 0);
  EXPECT_EQ(*mailbox().HeldMailboxRecords(), 1);
}

TEST_P(MailboxStoreContract, ARecordHeldSurvivesReopen) {
  ASSERT_TRUE(Put(Record("care-plan", "care", "nhs-trust-a", 7)).ok());
  Reopen();
  absl::StatusOr<MailboxEntry> held = mailbox().GetMailbox(Reader("care"), "nhs-trust-a",
                                                           "care-plan");
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(held->record.envelope(), "envelope-care-plan");
  EXPECT_EQ(held->record.received_unix_ms(), 7);
  absl::StatusOr<MailboxSeen> seen = mailbox().FindInMailbox("nhs-trust-a", "care-plan");
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(seen->envelope_sha256, "sha-care-plan1");
  EXPECT_EQ(seen->receipt.receipt(), "receipt-1");
}

TEST_P(MailboxStoreContract, FetchPagesOldestFirstAfterTheTokenAtMostLimit) {
  for (std::string id : {"a", "b", "c"}) ASSERT_TRUE(Put(Record(id, "care")).ok());
  absl::StatusOr<std::vector<MailboxEntry>> page = mailbox().FetchMailbox(Reader("care"), 0, 2);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].record.record_id(), "a");
  EXPECT_EQ((*page)[1].record.record_id(), "b");
  EXPECT_LT((*page)[0].seq, (*page)[1].seq);
  absl::StatusOr<std::vector<MailboxEntry>> next =
      mailbox().FetchMailbox(Reader("care"), (*page)[1].seq, 2);
  ASSERT_TRUE(next.ok()) << next.status();
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ((*next)[0].record.record_id(), "c");
  EXPECT_TRUE(mailbox().FetchMailbox(Reader("care"), (*next)[0].seq, 2)->empty());
}

TEST_P(MailboxStoreContract, AnAsyncPutOfARedeliveryGetsTheFirstReceipt) {
  auto put = [&](const std::string& tag) {
    std::promise<absl::StatusOr<MailboxPut>> done;
    mailbox().AddToMailboxAsync(Record("r1", "care"), "sha-r1" + tag, Receipt(tag),
                                [&](absl::StatusOr<MailboxPut> p) { done.set_value(p); });
    return done.get_future().get();
  };
  absl::StatusOr<MailboxPut> first = put("1");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->inserted);
  EXPECT_EQ(first->held.sender_org, "nhs-trust-a");
  EXPECT_EQ(first->held.envelope_sha256, "sha-r11");
  EXPECT_EQ(first->held.receipt.receipt(), "receipt-1");
  absl::StatusOr<MailboxPut> second = put("2");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(second->inserted);
  EXPECT_EQ(second->held.envelope_sha256, "sha-r11");
  EXPECT_EQ(second->held.receipt.receipt(), "receipt-1");
  EXPECT_EQ(*mailbox().MailboxDepth(Reader("care")), 1);
}

}  // namespace
}  // namespace gatehouse
