// The audit+store stages of both record paths with a fake audit log and
// fake stores. Outbound (gateway/outbound_commit.h): nothing is queued
// unaudited, and a record audited but not queued is followed by a DENIED
// entry saying why. Inbound (gateway/inbound_commit.h): nothing is held or
// receipted unaudited, and the receipt names the entry's index.
// With a joint commit (gateway/joint_commit.h), both hand the entry and the
// row to it, and nothing is audited or stored apart.
#include "gateway/inbound_commit.h"
#include "gateway/outbound_commit.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace gatehouse {
namespace {

class FakeAudit : public AuditSink {
 public:
  void Record(v1::AuditEntry entry, Done done) override {
    if (!fail.ok()) {
      done(fail);
      return;
    }
    recorded.push_back(std::move(entry));
    done(recorded.size() - 1 + 100);  // indexes start at 100 here
  }
  void Note(v1::AuditEntry entry) override { noted.push_back(std::move(entry)); }

  absl::Status fail;
  std::vector<v1::AuditEntry> recorded;
  std::vector<v1::AuditEntry> noted;
};

class FakeOutbox : public OutboxStore {
 public:
  absl::StatusOr<OutboxEntry> AddToOutbox(const v1::OutboxRecord& record,
                                          const std::string& key, int64_t, bool* inserted) override {
    *inserted = false;
    if (!fail.ok()) return fail;
    if (!key.empty()) {
      if (auto it = by_key.find(key); it != by_key.end()) return it->second;
    }
    OutboxEntry e;
    e.record = record;
    e.idempotency_key = key;
    rows.push_back(e);
    if (!key.empty()) by_key[key] = e;
    *inserted = true;
    return e;
  }
  absl::StatusOr<std::vector<OutboxEntry>> DueForDelivery(int64_t, int) override { return No(); }
  absl::StatusOr<int64_t> NextAttemptMs() override { return No(); }
  absl::Status MarkDelivered(const std::string&, int64_t, const v1::SignedReceipt&) override {
    return No();
  }
  absl::Status MarkAttemptFailed(const std::string&, int64_t, const std::string&) override {
    return No();
  }
  absl::Status MarkRejected(const std::string&, const std::string&) override { return No(); }
  absl::StatusOr<OutboxEntry> GetOutbox(const std::string&) override { return No(); }
  absl::StatusOr<int64_t> OutboxDepth() override { return static_cast<int64_t>(rows.size()); }
  absl::StatusOr<std::vector<OutboxEntry>> OutboxChanges(const std::string&, int64_t,
                                                        int) override {
    return absl::UnimplementedError("not used by the commit stages");
  }
  absl::StatusOr<std::vector<OutboxEntry>> AwaitingAcknowledgement(int) override {
    return absl::UnimplementedError("not used by the commit stages");
  }
  absl::Status MarkChecked(const std::vector<std::string>&, int64_t) override {
    return absl::UnimplementedError("not used by the commit stages");
  }
  absl::Status MarkTaken(const std::string&, int64_t, int64_t) override {
    return absl::UnimplementedError("not used by the commit stages");
  }

  absl::Status fail;
  std::vector<OutboxEntry> rows;
  std::map<std::string, OutboxEntry> by_key;

 private:
  static absl::Status No() { return absl::UnimplementedError("not in this fake"); }
};

v1::AuditEntry Submitted(const std::string& id) {
  v1::AuditEntry e;
  e.set_event(v1::AUDIT_EVENT_SUBMITTED);
  e.set_decision(v1::AUDIT_DECISION_PERMIT);
  e.add_rule_ids("health-council-care");
  e.set_record_id(id);
  return e;
}

v1::OutboxRecord Row(const std::string& id) {
  v1::OutboxRecord r;
  r.set_record_id(id);
  r.set_accepted_unix_ms(1700000000000);
  return r;
}

struct Outcome {
  absl::StatusOr<OutboxEntry> entry = absl::UnknownError("not called");
  bool inserted = false;
};

Outcome CommitOne(OutboundCommit& commit, const std::string& id, const std::string& key) {
  Outcome out;
  commit.Commit(Submitted(id), Row(id), key, [&out](absl::StatusOr<OutboxEntry> e, bool inserted) {
    out.entry = std::move(e);
    out.inserted = inserted;
  });
  return out;
}

TEST(OutboundCommitTest, AuditedThenQueuedWithTheEntrysIndex) {
  FakeAudit audit;
  FakeOutbox outbox;
  OutboundCommit commit(&audit, &outbox);
  Outcome out = CommitOne(commit, "r1", "k1");
  ASSERT_TRUE(out.entry.ok()) << out.entry.status();
  EXPECT_TRUE(out.inserted);
  ASSERT_EQ(audit.recorded.size(), 1u);
  EXPECT_EQ(audit.recorded[0].event(), v1::AUDIT_EVENT_SUBMITTED);
  ASSERT_EQ(outbox.rows.size(), 1u);
  EXPECT_EQ(outbox.rows[0].record.audit_index(), 100u);
  EXPECT_TRUE(audit.noted.empty());
}

TEST(OutboundCommitTest, AnEntryTheLogRefusesQueuesNothing) {
  FakeAudit audit;
  audit.fail = absl::ResourceExhaustedError("disk full");
  FakeOutbox outbox;
  OutboundCommit commit(&audit, &outbox);
  Outcome out = CommitOne(commit, "r1", "");
  EXPECT_TRUE(absl::IsUnavailable(out.entry.status())) << out.entry.status();
  EXPECT_FALSE(out.inserted);
  EXPECT_TRUE(outbox.rows.empty());
  EXPECT_TRUE(audit.noted.empty());
}

TEST(OutboundCommitTest, AuditedButNotStoredIsFollowedByADeniedEntry) {
  FakeAudit audit;
  FakeOutbox outbox;
  outbox.fail = absl::UnavailableError("store: closing");
  OutboundCommit commit(&audit, &outbox);
  Outcome out = CommitOne(commit, "r1", "");
  EXPECT_TRUE(absl::IsUnavailable(out.entry.status()));
  ASSERT_EQ(audit.noted.size(), 1u);
  const v1::AuditEntry& d = audit.noted[0];
  EXPECT_EQ(d.event(), v1::AUDIT_EVENT_DENIED);
  EXPECT_EQ(d.record_id(), "r1");
  EXPECT_EQ(d.decision(), v1::AUDIT_DECISION_UNSPECIFIED);
  EXPECT_EQ(d.rule_ids_size(), 0);
  EXPECT_EQ(d.status_code(), "UNAVAILABLE");
  EXPECT_NE(d.reason().find("not queued after it was audited: store: closing"),
            std::string::npos);
}

TEST(OutboundCommitTest, ARepeatedKeyAnswersTheFirstRecordAndSaysTheSecondWasNotQueued) {
  FakeAudit audit;
  FakeOutbox outbox;
  OutboundCommit commit(&audit, &outbox);
  ASSERT_TRUE(CommitOne(commit, "r1", "k").entry.ok());
  Outcome again = CommitOne(commit, "r2", "k");
  ASSERT_TRUE(again.entry.ok());
  EXPECT_FALSE(again.inserted);
  EXPECT_EQ(again.entry->record.record_id(), "r1");
  EXPECT_EQ(outbox.rows.size(), 1u);
  ASSERT_EQ(audit.noted.size(), 1u);
  EXPECT_EQ(audit.noted[0].record_id(), "r2");
  EXPECT_EQ(audit.noted[0].status_code(), "ALREADY_EXISTS");
  EXPECT_NE(audit.noted[0].reason().find("record r1 was queued meanwhile"), std::string::npos);
}

class FakeMailbox : public MailboxStore {
 public:
  absl::StatusOr<MailboxPut> AddToMailbox(const v1::MailboxRecord& record,
                                          const std::string& envelope_sha256,
                                          const v1::SignedReceipt& receipt) override {
    if (!fail.ok()) return fail;
    MailboxPut put;
    auto [it, inserted] = held.emplace(record.record_id(),
                                       MailboxSeen{record.sender_org(), envelope_sha256, receipt});
    put.inserted = inserted;
    put.held = it->second;
    return put;
  }
  absl::StatusOr<MailboxSeen> FindInMailbox(const std::string&, const std::string& id) override {
    auto it = held.find(id);
    if (it == held.end()) return absl::NotFoundError(id);
    return it->second;
  }
  absl::StatusOr<std::set<std::string>> HeldEnvelopes(const std::set<std::string>&) override {
    return No();
  }
  absl::StatusOr<std::vector<MailboxEntry>> FetchMailbox(const MailboxReader&, int64_t,
                                                         int) override {
    return No();
  }
  absl::StatusOr<MailboxEntry> GetMailbox(const MailboxReader&, const std::string&,
                                          const std::string&) override {
    return No();
  }
  absl::StatusOr<std::vector<MailboxAcked>> AckMailbox(const MailboxReader&,
                                                       const std::vector<std::string>&,
                                                       int64_t) override {
    return No();
  }
  void MarkFetchedAsync(std::vector<MailboxKey>, int64_t,
                        std::function<void(absl::Status)> done) override {
    done(No());
  }
  absl::StatusOr<int64_t> MailboxDepth(const MailboxReader&) override { return No(); }
  absl::StatusOr<int64_t> HeldMailboxRecords() override {
    return static_cast<int64_t>(held.size());
  }

  absl::Status fail;
  std::map<std::string, MailboxSeen> held;

 private:
  static absl::Status No() { return absl::UnimplementedError("not in this fake"); }
};

InboundPlan Received(const std::string& id) {
  InboundPlan p;
  p.entry.set_event(v1::AUDIT_EVENT_RECEIVED);
  p.entry.set_record_id(id);
  p.receipt.set_record_id(id);
  p.record.set_record_id(id);
  p.record.set_sender_org("nhs-trust-a");
  return p;
}

TEST(InboundCommitTest, AuditedThenHeldWithAnUnsignedReceiptNamingTheEntrysIndex) {
  FakeAudit audit;
  FakeMailbox mailbox;
  InboundCommit commit(&audit, &mailbox);
  absl::StatusOr<MailboxPut> put = absl::UnknownError("not called");
  commit.Commit(Received("r1"), "sha", [&put](absl::StatusOr<MailboxPut> p) { put = std::move(p); });
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_TRUE(put->inserted);
  ASSERT_EQ(audit.recorded.size(), 1u);
  v1::DeliveryReceipt signed_for;
  ASSERT_TRUE(signed_for.ParseFromString(put->held.receipt.receipt()));
  EXPECT_EQ(signed_for.audit_index(), 100u);
  // Signed when answered (PeerService), alone or with its batch.
  EXPECT_TRUE(put->held.receipt.signature().empty());
  EXPECT_EQ(put->held.envelope_sha256, "sha");
}

TEST(InboundCommitTest, AnEntryTheLogRefusesIsNotHeld) {
  FakeAudit audit;
  audit.fail = absl::DataLossError("write failed");
  FakeMailbox mailbox;
  InboundCommit commit(&audit, &mailbox);
  absl::StatusOr<MailboxPut> put = absl::UnknownError("not called");
  commit.Commit(Received("r1"), "sha", [&put](absl::StatusOr<MailboxPut> p) { put = std::move(p); });
  EXPECT_TRUE(absl::IsUnavailable(put.status())) << put.status();
  EXPECT_TRUE(mailbox.held.empty());
}

TEST(InboundCommitTest, ACopyAlreadyHeldAnswersTheFirstReceipt) {
  FakeAudit audit;
  FakeMailbox mailbox;
  InboundCommit commit(&audit, &mailbox);
  absl::StatusOr<MailboxPut> first = absl::UnknownError("not called");
  absl::StatusOr<MailboxPut> second = absl::UnknownError("not called");
  commit.Commit(Received("r1"), "sha", [&](absl::StatusOr<MailboxPut> p) { first = std::move(p); });
  commit.Commit(Received("r1"), "sha", [&](absl::StatusOr<MailboxPut> p) { second = std::move(p); });
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_FALSE(second->inserted);
  EXPECT_EQ(second->held.receipt.receipt(), first->held.receipt.receipt());
  EXPECT_EQ(mailbox.held.size(), 1u);
}

}  // namespace
}  // namespace gatehouse

namespace gatehouse {
namespace {

// A joint commit (gateway/joint_commit.h) that keeps what it is given and
// puts every entry at index 7.
class FakeJoint : public JointCommit {
 public:
  void AddToOutbox(v1::AuditEntry submitted, const v1::OutboxRecord& record, const std::string&,
                   int64_t, OutboxStore::OutboxDone done) override {
    if (!fail.ok()) {
      done(fail, false);
      return;
    }
    entries.push_back(std::move(submitted));
    OutboxEntry e;
    e.record = record;
    e.record.set_audit_index(7);
    done(e, true);
  }
  void AddToMailbox(v1::AuditEntry received, const v1::MailboxRecord&, const std::string& sha,
                    ReceiptAt receipt_at, MailboxStore::MailboxDone done) override {
    entries.push_back(std::move(received));
    absl::StatusOr<v1::SignedReceipt> receipt = receipt_at(7);
    if (!receipt.ok()) {
      done(receipt.status());
      return;
    }
    done(MailboxPut{true, MailboxSeen{"nhs-trust-a", sha, *receipt}});
  }
  void MarkDelivered(v1::AuditEntry delivered, const std::string&, int64_t,
                     const v1::SignedReceipt&, OutboxStore::WriteDone done) override {
    entries.push_back(std::move(delivered));
    done(absl::OkStatus());
  }
  absl::Status fail;  // what AddToOutbox answers, if set
  std::vector<v1::AuditEntry> entries;
};

TEST(OutboundCommitTest, WithAJointCommitTheEntryGoesWithTheRowAndNothingApart) {
  FakeAudit audit;
  FakeOutbox outbox;
  FakeJoint joint;
  OutboundCommit commit(&audit, &outbox, &joint);
  Outcome out = CommitOne(commit, "r1", "key");
  ASSERT_TRUE(out.entry.ok()) << out.entry.status();
  EXPECT_TRUE(out.inserted);
  EXPECT_EQ(out.entry->record.audit_index(), 7u);
  ASSERT_EQ(joint.entries.size(), 1u);
  EXPECT_EQ(joint.entries[0].event(), v1::AUDIT_EVENT_SUBMITTED);
  EXPECT_EQ(joint.entries[0].record_id(), "r1");
  EXPECT_TRUE(audit.recorded.empty());
  EXPECT_TRUE(audit.noted.empty());
  EXPECT_TRUE(outbox.rows.empty());
}

TEST(InboundCommitTest, WithAJointCommitTheReceiptNamesTheIndexItGives) {
  FakeAudit audit;
  FakeMailbox mailbox;
  FakeJoint joint;
  InboundCommit commit(&audit, &mailbox, &joint);
  absl::StatusOr<MailboxPut> put = absl::UnknownError("not called");
  commit.Commit(Received("r1"), "sha", [&put](absl::StatusOr<MailboxPut> p) { put = std::move(p); });
  ASSERT_TRUE(put.ok()) << put.status();
  v1::DeliveryReceipt signed_for;
  ASSERT_TRUE(signed_for.ParseFromString(put->held.receipt.receipt()));
  EXPECT_EQ(signed_for.audit_index(), 7u);
  EXPECT_EQ(signed_for.record_id(), "r1");
  ASSERT_EQ(joint.entries.size(), 1u);
  EXPECT_EQ(joint.entries[0].event(), v1::AUDIT_EVENT_RECEIVED);
  EXPECT_TRUE(audit.recorded.empty());
  EXPECT_TRUE(mailbox.held.empty());
}

// A joint commit's refusal is one a retry can get past (the log closing,
// a database error), so it is answered Unavailable: never a code a peer
// or a client takes as the record's own fault. A record id already used
// stays AlreadyExists.
TEST(OutboundCommitTest, WithAJointCommitARefusalIsRetryableUnlessADuplicate) {
  FakeAudit audit;
  FakeOutbox outbox;
  FakeJoint joint;
  OutboundCommit commit(&audit, &outbox, &joint);
  joint.fail = absl::FailedPreconditionError("audit log closed");
  Outcome out = CommitOne(commit, "r1", "");
  EXPECT_TRUE(absl::IsUnavailable(out.entry.status())) << out.entry.status();
  EXPECT_NE(out.entry.status().message().find("audit log closed"), std::string::npos);
  joint.fail = absl::AlreadyExistsError("record id r1 already used");
  out = CommitOne(commit, "r1", "");
  EXPECT_TRUE(absl::IsAlreadyExists(out.entry.status())) << out.entry.status();
  EXPECT_TRUE(audit.recorded.empty());
  EXPECT_TRUE(audit.noted.empty());
}

}  // namespace
}  // namespace gatehouse
