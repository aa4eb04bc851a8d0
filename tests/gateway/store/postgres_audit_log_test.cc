// PostgresAuditLog (audit/postgres/postgres_audit_log.h): one audit log in
// the database, appended to by several replicas (each a PostgresStore and a
// log on it), integrated by one of them at a time. Numbering without gaps
// across replicas, proofs and checkpoints any replica serves that verify,
// the integrator moving to another replica when its holder goes, and the
// refusals (an oversized entry, a foreign or damaged log, cosignatures).
// On a real server (postgres_server.h), a database a test.
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "audit/checkpoint.h"
#include "audit/merkle_hasher.h"
#include "audit/merkle_verifier.h"
#include "audit/postgres/postgres_audit_log.h"
#include "audit/postgres/postgres_audit_tree.h"
#include "pg/pg_connection.h"
#include "gateway/store/postgres/postgres_store.h"
#include "gtest/gtest.h"
#include "tests/gateway/store/postgres_test_database.h"

namespace gatehouse {
namespace {

using audit::NoteSigner;
using audit::NoteVerifier;

// One replica: its store, and the log on it.
struct Replica {
  std::unique_ptr<PostgresStore> store;
  std::unique_ptr<PostgresAuditLog> log;
};

class PostgresAuditLogTest : public PostgresDatabaseTest {
 protected:
  void TearDown() override {
    replicas_.clear();
    PostgresDatabaseTest::TearDown();
  }

  static std::shared_ptr<const NoteSigner> NewSigner(const std::string& name) {
    return std::make_shared<const NoteSigner>(
        *NoteSigner::Generate(name, audit::kSigTypeEd25519));
  }

  // Opens a replica on the test's database; the log's error if it does not open.
  absl::StatusOr<Replica*> Open(std::shared_ptr<const NoteSigner> signer,
                                uint64_t checkpoint_every = 5) {
    Replica r;
    r.store = OpenStore(Options());
    if (r.store == nullptr) return absl::UnavailableError("store did not open");
    PostgresAuditLogOptions options;
    options.UseStore(r.store.get());
    options.signer = std::move(signer);
    options.checkpoint_every_entries = checkpoint_every;
    options.checkpoint_interval = absl::Milliseconds(50);
    options.integrator_retry = absl::Milliseconds(100);
    options.integrator_stall = integrator_stall_;
    absl::StatusOr<std::unique_ptr<PostgresAuditLog>> log = PostgresAuditLog::Open(options);
    if (!log.ok()) return log.status();
    r.log = *std::move(log);
    replicas_.push_back(std::make_unique<Replica>(std::move(r)));
    return replicas_.back().get();
  }

  static v1::AuditEntry Entry(const std::string& record_id) {
    v1::AuditEntry e;
    e.set_record_id(record_id);
    e.set_sender_org("nhs-trust-a");
    return e;
  }

  static absl::StatusOr<uint64_t> Append(PostgresAuditLog& log, const v1::AuditEntry& e) {
    std::promise<absl::StatusOr<uint64_t>> p;
    log.AppendAsync(e, [&](absl::StatusOr<uint64_t> i) { p.set_value(std::move(i)); });
    return p.get_future().get();
  }

  // Waits (up to 10 s) for a checkpoint covering `size` entries.
  static absl::StatusOr<audit::CheckpointNote> CheckpointCovering(const PostgresAuditLog& log,
                                                                  uint64_t size) {
    absl::StatusOr<audit::CheckpointNote> latest = absl::NotFoundError("none yet");
    for (int i = 0; i < 200; ++i) {
      latest = log.LatestCheckpointNote();
      if (latest.ok() && latest->size >= size) return latest;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return latest.ok() ? absl::DeadlineExceededError(absl::StrCat("covers ", latest->size))
                       : latest.status();
  }

  std::vector<std::unique_ptr<Replica>> replicas_;
  absl::Duration integrator_stall_ = absl::Seconds(10);
};

TEST_F(PostgresAuditLogTest, ReplicasNumberEntriesWithoutGapsAndEveryProofVerifies) {
  auto signer = NewSigner("audit.nhs-trust-a.example");
  absl::StatusOr<Replica*> a = Open(signer);
  absl::StatusOr<Replica*> b = Open(signer);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  std::vector<std::thread> writers;
  std::vector<std::vector<uint64_t>> got(2);
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      PostgresAuditLog& log = *(w == 0 ? (*a)->log : (*b)->log);
      for (int i = 0; i < 40; ++i) {
        absl::StatusOr<uint64_t> index = Append(log, Entry(absl::StrCat("w", w, "-", i)));
        ASSERT_TRUE(index.ok()) << index.status();
        got[w].push_back(*index);
      }
    });
  }
  for (std::thread& t : writers) t.join();
  std::set<uint64_t> all(got[0].begin(), got[0].end());
  all.insert(got[1].begin(), got[1].end());
  ASSERT_EQ(all.size(), 80u);
  EXPECT_EQ(*all.rbegin(), 79u);  // 0..79: none twice, none skipped
  EXPECT_NE((*a)->log->integrating(), (*b)->log->integrating());

  absl::StatusOr<audit::CheckpointNote> cp = CheckpointCovering(*(*b)->log, 80);
  ASSERT_TRUE(cp.ok()) << cp.status();
  ASSERT_EQ(cp->size, 80u);
  absl::StatusOr<audit::SignedCheckpoint> opened = audit::OpenCheckpoint(
      cp->note, *NoteVerifier::FromVerifierKey(signer->VerifierKeyString()));
  ASSERT_TRUE(opened.ok()) << opened.status();
  // Each replica proves every entry, whoever appended it.
  for (const auto& r : replicas_) {
    for (uint64_t i : {0ull, 17ull, 41ull, 79ull}) {
      absl::StatusOr<v1::AuditEntry> e = r->log->ReadEntry(i);
      ASSERT_TRUE(e.ok()) << e.status();
      absl::StatusOr<std::vector<audit::Hash>> proof = r->log->InclusionProof(i, 80);
      ASSERT_TRUE(proof.ok()) << proof.status();
      EXPECT_TRUE(audit::VerifyInclusion(i, 80, audit::HashLeaf(e->SerializeAsString()), *proof,
                                         opened->checkpoint.root)
                      .ok());
    }
  }
  // ForEachEntry reads them back in order.
  uint64_t next = 0;
  ASSERT_TRUE((*a)->log->ForEachEntry(0, [&](uint64_t i, absl::string_view) {
    EXPECT_EQ(i, next++);
    return true;
  }).ok());
  EXPECT_EQ(next, 80u);
}

// Appends that arrive together are numbered by one statement: each caller
// is told the number its own entry got.
TEST_F(PostgresAuditLogTest, EntriesNumberedTogetherEachGetTheirOwnNumber) {
  absl::StatusOr<Replica*> a = Open(NewSigner("audit.nhs-trust-a.example"));
  ASSERT_TRUE(a.ok()) << a.status();
  constexpr int kEntries = 300;
  std::mutex mu;
  std::map<uint64_t, std::string> told;
  std::promise<void> all;
  int left = kEntries;
  for (int i = 0; i < kEntries; ++i) {
    const std::string id = absl::StrCat("r", i);
    (*a)->log->AppendAsync(Entry(id), [&, id](absl::StatusOr<uint64_t> index) {
      std::lock_guard<std::mutex> lock(mu);
      EXPECT_TRUE(index.ok()) << index.status();
      if (index.ok()) {
        EXPECT_TRUE(told.emplace(*index, id).second) << *index << " twice";
      }
      if (--left == 0) all.set_value();
    });
  }
  all.get_future().wait();
  ASSERT_EQ(told.size(), static_cast<size_t>(kEntries));
  EXPECT_EQ(told.rbegin()->first, static_cast<uint64_t>(kEntries - 1));
  for (const auto& [index, id] : told) {
    absl::StatusOr<v1::AuditEntry> e = (*a)->log->ReadEntry(index);
    ASSERT_TRUE(e.ok()) << e.status();
    EXPECT_EQ(e->record_id(), id) << "entry " << index;
  }
}

TEST_F(PostgresAuditLogTest, ConsistencyProofsJoinCheckpointsAndBeyondTheTreeIsRefused) {
  auto signer = NewSigner("audit.council-a.example");
  absl::StatusOr<Replica*> a = Open(signer, /*checkpoint_every=*/1000);
  ASSERT_TRUE(a.ok()) << a.status();
  PostgresAuditLog& log = *(*a)->log;
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(Append(log, Entry(absl::StrCat("r", i))).ok());
  absl::StatusOr<audit::CheckpointNote> first = CheckpointCovering(log, 7);
  ASSERT_TRUE(first.ok()) << first.status();
  for (int i = 7; i < 20; ++i) ASSERT_TRUE(Append(log, Entry(absl::StrCat("r", i))).ok());
  absl::StatusOr<audit::CheckpointNote> second = CheckpointCovering(log, 20);
  ASSERT_TRUE(second.ok()) << second.status();
  const NoteVerifier key = *NoteVerifier::FromVerifierKey(signer->VerifierKeyString());
  auto root = [&](const std::string& note) {
    return audit::OpenCheckpoint(note, key)->checkpoint.root;
  };
  absl::StatusOr<std::vector<audit::Hash>> proof = log.ConsistencyProof(first->size, 20);
  ASSERT_TRUE(proof.ok()) << proof.status();
  EXPECT_TRUE(audit::VerifyConsistency(first->size, 20, root(first->note), root(second->note),
                                       *proof)
                  .ok());
  EXPECT_TRUE(absl::IsInvalidArgument(log.ConsistencyProof(1, 21).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(log.InclusionProof(3, 21).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(log.ReadEntry(20).status()));
}

TEST_F(PostgresAuditLogTest, TheIntegratorMovesToAnotherReplicaWhenItsHolderCloses) {
  auto signer = NewSigner("audit.police-a.example");
  absl::StatusOr<Replica*> a = Open(signer);
  ASSERT_TRUE(a.ok()) << a.status();
  for (int i = 0; i < 100 && !(*a)->log->integrating(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE((*a)->log->integrating());
  absl::StatusOr<Replica*> b = Open(signer);
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_TRUE(Append(*(*b)->log, Entry("before")).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE((*b)->log->integrating());
  // The holder goes (its session ends): b takes over within seconds.
  replicas_.erase(replicas_.begin());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Append(*(*b)->log, Entry(absl::StrCat("after", i))).ok());
  absl::StatusOr<audit::CheckpointNote> cp = CheckpointCovering(*(*b)->log, 6);
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_TRUE((*b)->log->integrating());
  EXPECT_EQ(Sql("SELECT integrated FROM audit_head"), "6");
}

// A holder of the integrator lock that does nothing (a frozen process, a
// session alive on a dead link) is ended by a replica that sees entries
// wait, which then integrates them.
TEST_F(PostgresAuditLogTest, AStalledIntegratorHasItsSessionEndedAndAnotherTakesOver) {
  std::unique_ptr<PostgresStore> store = OpenStore(Options());
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::unique_ptr<postgres::PgConnection>> stuck = store->Connect();
  ASSERT_TRUE(stuck.ok()) << stuck.status();
  ASSERT_TRUE((*stuck)->Exec("SELECT pg_advisory_lock($1)",
                             postgres::PgParams().Int(postgres::kAuditIntegratorLock)).ok());
  integrator_stall_ = absl::Milliseconds(500);
  absl::StatusOr<Replica*> a = Open(NewSigner("audit.nhs-trust-a.example"));
  ASSERT_TRUE(a.ok()) << a.status();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Append(*(*a)->log, Entry(absl::StrCat("r", i))).ok());
  absl::StatusOr<audit::CheckpointNote> cp = CheckpointCovering(*(*a)->log, 3);
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_TRUE((*a)->log->integrating());
  EXPECT_FALSE((*stuck)->Exec("SELECT 1").ok());  // its session was ended
}

// A holder that integrates is never ended, however long the log is idle.
TEST_F(PostgresAuditLogTest, AnIdleIntegratorIsNotEnded) {
  integrator_stall_ = absl::Milliseconds(200);
  auto signer = NewSigner("audit.nhs-trust-a.example");
  absl::StatusOr<Replica*> a = Open(signer);
  ASSERT_TRUE(a.ok()) << a.status();
  for (int i = 0; i < 100 && !(*a)->log->integrating(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  absl::StatusOr<Replica*> b = Open(signer);
  ASSERT_TRUE(b.ok()) << b.status();
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  EXPECT_TRUE((*a)->log->integrating());
  EXPECT_FALSE((*b)->log->integrating());
}

TEST_F(PostgresAuditLogTest, AnOversizedEntryIsRefusedAndNothingIsStored) {
  absl::StatusOr<Replica*> a = Open(NewSigner("audit.nhs-trust-a.example"));
  ASSERT_TRUE(a.ok()) << a.status();
  v1::AuditEntry big = Entry("big");
  big.set_reason(std::string((1 << 20) + 1, 'x'));
  absl::StatusOr<uint64_t> index = Append(*(*a)->log, big);
  EXPECT_TRUE(absl::IsInvalidArgument(index.status())) << index.status();
  EXPECT_EQ(Sql("SELECT COUNT(*) FROM audit_entry"), "0");
  EXPECT_EQ(Sql("SELECT sequenced FROM audit_head"), "0");
}

TEST_F(PostgresAuditLogTest, ALogSignedByAnotherKeyOrWithADamagedTreeDoesNotOpen) {
  auto signer = NewSigner("audit.nhs-trust-a.example");
  {
    absl::StatusOr<Replica*> a = Open(signer);
    ASSERT_TRUE(a.ok()) << a.status();
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(Append(*(*a)->log, Entry(absl::StrCat("r", i))).ok());
    ASSERT_TRUE(CheckpointCovering(*(*a)->log, 6).ok());
    replicas_.clear();
  }
  absl::StatusOr<Replica*> other = Open(NewSigner("audit.nhs-trust-a.example"));
  ASSERT_TRUE(absl::IsDataLoss(other.status())) << other.status();
  EXPECT_NE(other.status().message().find("not signed by this gateway's log key"),
            std::string::npos);
  // Node (2, 0), over entries 0-3, is one the checkpoint's root is made of.
  ASSERT_EQ(Sql("UPDATE audit_tree SET hash = sha256(hash) WHERE level = 2 AND idx = 0 "
                "RETURNING 1"),
            "1");
  absl::StatusOr<Replica*> damaged = Open(signer);
  ASSERT_TRUE(absl::IsDataLoss(damaged.status())) << damaged.status();
  EXPECT_NE(damaged.status().message().find("does not reproduce the root"), std::string::npos);
}

TEST_F(PostgresAuditLogTest, CosignaturesAreStoredOnceAKeyAndServedWithTheCheckpoint) {
  auto signer = NewSigner("audit.nhs-trust-a.example");
  absl::StatusOr<Replica*> a = Open(signer);
  ASSERT_TRUE(a.ok()) << a.status();
  PostgresAuditLog& log = *(*a)->log;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Append(log, Entry(absl::StrCat("r", i))).ok());
  absl::StatusOr<audit::CheckpointNote> cp = CheckpointCovering(log, 5);
  ASSERT_TRUE(cp.ok()) << cp.status();
  NoteSigner peer = *NoteSigner::Generate("council-a.example", audit::kSigTypeCosignatureV1);
  const NoteVerifier peer_key = *NoteVerifier::FromVerifierKey(peer.VerifierKeyString());
  auto cosigned = [&](uint64_t timestamp) {
    const std::string text = audit::ParseNote(cp->note)->text;
    return cp->note + audit::FormatSignatureLine(audit::Cosign(text, peer, timestamp));
  };
  ASSERT_TRUE(log.AddCosignature(cosigned(1000), peer_key).ok());
  EXPECT_TRUE(log.AddCosignature(cosigned(1000), peer_key).ok());  // a retry
  EXPECT_TRUE(absl::IsAlreadyExists(log.AddCosignature(cosigned(2000), peer_key)));
  EXPECT_EQ(Sql("SELECT COUNT(*) FROM audit_cosignature"), "1");
  // A note we never signed.
  std::string forged = cosigned(1000);
  forged.replace(forged.find('\n') + 1, 1, "9");
  EXPECT_FALSE(log.AddCosignature(forged, peer_key).ok());
  EXPECT_EQ(Sql("SELECT COUNT(*) FROM audit_cosignature"), "1");
  absl::StatusOr<audit::CheckpointNote> served = log.LatestCheckpointNote();
  ASSERT_TRUE(served.ok());
  EXPECT_EQ(served->note, cosigned(1000));
}

}  // namespace
}  // namespace gatehouse
