// The gateway's shared state hammered from many threads; run under
// ThreadSanitizer by scripts/test.sh (label "tsan") as well as plainly.
#include <atomic>
#include <filesystem>
#include <set>
#include <thread>
#include <vector>

#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gateway/claims.h"
#include "gateway/directory_cache.h"
#include "gateway/metrics.h"
#include "gateway/policy_holder.h"
#include "gateway/rate_limiter.h"
#include "gateway/store/sqlite_store.h"
#include "gtest/gtest.h"
#include "policy/bundle.h"
#include "policy/compiler.h"
#include "policy/model.h"
#include "tests/gateway/test_pki.h"

namespace gatehouse {
namespace {

constexpr int kThreads = 8;

TEST(ConcurrencyTest, StoreKeepsEveryRecordOnceUnderConcurrentUse) {
  std::string dir = MakeTempDir();
  auto opened = SqliteStore::Open(dir + "/store.db");
  ASSERT_TRUE(opened.ok());
  std::unique_ptr<SqliteStore> store = std::move(*opened);
  constexpr int kPerThread = 50;
  std::atomic<int> inserted{0}, delivered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        v1::OutboxRecord r;
        r.set_record_id(absl::StrCat("r", t, "-", i));
        r.set_sender_system("ehr");
        // Pairs of threads share idempotency keys: one record per key.
        std::string key = absl::StrCat("k", t / 2, "-", i);
        bool was_inserted = false;
        if (store->AddToOutbox(r, key, 1, &was_inserted).ok() && was_inserted) ++inserted;
        v1::MailboxRecord m;
        m.set_record_id(absl::StrCat("m", i));  // every thread delivers the same ids
        m.set_sender_org("nhs-trust-a");
        (void)store->AddToMailbox(m, "sha", v1::SignedReceipt());
        auto due = store->DueForDelivery(10, 5);
        if (due.ok()) {
          for (const OutboxEntry& e : *due) {
            if (store->MarkDelivered(e.record.record_id(), 2, v1::SignedReceipt()).ok()) ++delivered;
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(inserted.load(), kThreads / 2 * kPerThread);
  EXPECT_EQ(*store->HeldMailboxRecords(), kPerThread);
  auto rest = store->DueForDelivery(10, 100000);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(*store->OutboxDepth(), static_cast<int64_t>(rest->size()));
  store.reset();
  std::filesystem::remove_all(dir);
}

// A key is held by one caller at a time; dropped tokens free it, also
// after the Claims that gave them is gone.
TEST(ConcurrencyTest, AClaimedKeyIsHeldByOneCallerAtATime) {
  auto claims = std::make_unique<Claims>();
  std::atomic<int> holders{0}, most{0}, granted{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        absl::StatusOr<std::shared_ptr<void>> token = claims->Claim("k", "busy");
        if (!token.ok()) {
          EXPECT_TRUE(absl::IsUnavailable(token.status()));
          EXPECT_EQ(token.status().message(), "busy");
          ++refused;
          continue;
        }
        ++granted;
        const int now = ++holders;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        --holders;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(most.load(), 1);
  EXPECT_EQ(granted.load() + refused.load(), kThreads * 2000);
  EXPECT_GT(granted.load(), 0);
  absl::StatusOr<std::shared_ptr<void>> kept = claims->Claim("k", "busy");
  ASSERT_TRUE(kept.ok());
  EXPECT_FALSE(claims->Claim("k", "busy").ok());
  EXPECT_TRUE(claims->Claim(ClaimKey("k", "other"), "busy").ok());
  claims.reset();
  kept->reset();  // the token outlives its Claims safely
}

TEST(ConcurrencyTest, MetricsCountEveryIncrementWhileRendering) {
  Metrics m;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        m.CountRecord("outbound", "delivered");
        m.submit_seconds().Observe(0.001);
        if (i % 100 == 0) (void)m.Render({});
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(m.RecordCount("outbound", "delivered"), static_cast<uint64_t>(kThreads * 1000));
}

TEST(ConcurrencyTest, RateLimiterNeverGrantsMoreThanTheBurst) {
  RateLimiter limiter(1, 10);  // at a fixed clock, exactly 10 tokens exist
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (limiter.Take("system", 0) == 0) ++granted;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(granted.load(), 10);
}

// A bundle of a one-rule policy that permits (or, with `permit` false,
// forbids) discharge summaries from a to b, signed by `officer`.
std::string Bundle(bool permit, const std::string& version, const std::string& officer,
                   absl::Time issued) {
  std::string text = absl::StrCat(
      "policy \"t\"\nclassifications OFFICIAL < SECRET\nsectors health, council\n"
      "record types discharge_summary\npurposes direct_care\n"
      "organisation a sector health accredited SECRET\n"
      "organisation b sector council accredited SECRET\n",
      permit ? "permit" : "forbid", " r \"rule\"\n  when record type is discharge_summary\n");
  std::vector<policy::Diagnostic> diags;
  policy::Model model = policy::CompilePolicy({{"t.ghp", text}}, &diags);
  absl::StatusOr<std::string> b = policy::MakeBundle(policy::ToProto(model), 1, version, issued);
  EXPECT_TRUE(b.ok()) << b.status();
  b = policy::SignBundle(*b, officer, "officer");
  EXPECT_TRUE(b.ok()) << b.status();
  return *b;
}

void WriteAtomically(const std::string& path, const std::string& bytes) {
  {
    std::ofstream out(path + ".tmp", std::ios::binary | std::ios::trunc);
    out << bytes;
  }
  std::filesystem::rename(path + ".tmp", path);
}

// A policy set-up in `dir`: its bundle file p.bundle, trusting `officer`.
v1::PolicyConfig TrustOfficer(const std::string& dir, const policy::OfficerKeyPair& officer) {
  WriteAtomically(dir + "/officer.pub", absl::BytesToHexString(officer.public_key));
  v1::PolicyConfig config;
  config.set_bundle_file(dir + "/p.bundle");
  config.add_officer_key_files(dir + "/officer.pub");
  config.set_min_signatures(1);
  return config;
}

// The request the bundles above decide.
policy::Request DischargeSummary() {
  policy::Request req;
  req.sender = "a";
  req.recipient = "b";
  req.record_type = "discharge_summary";
  req.classification = "OFFICIAL";
  req.purpose = "direct_care";
  return req;
}

TEST(ConcurrencyTest, PolicyDecisionsStayWholeWhileBundlesAreReplaced) {
  std::string dir = MakeTempDir();
  policy::OfficerKeyPair officer = policy::GenerateOfficerKey();
  const v1::PolicyConfig config = TrustOfficer(dir, officer);
  // Issued at the same moment: neither is older than the other.
  const absl::Time issued = absl::Now();
  const std::string permits = Bundle(true, "permits", officer.secret_key, issued);
  const std::string forbids = Bundle(false, "forbids", officer.secret_key, issued);
  WriteAtomically(dir + "/p.bundle", permits);
  absl::StatusOr<std::unique_ptr<PolicyHolder>> holder = PolicyHolder::Load(config);
  ASSERT_TRUE(holder.ok()) << holder.status();
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0}, decided{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      const policy::Request req = DischargeSummary();
      while (!stop) {
        PolicyHolder::Outcome o = (*holder)->Decide(req);
        // The decision must be the one of the bundle it was made with.
        if (o.live.allowed != (o.live_policy->version == "permits")) ++torn;
        ++decided;
      }
    });
  }
  int reloads = 0;
  for (int i = 0; i < 40; ++i) {
    WriteAtomically(dir + "/p.bundle", i % 2 == 0 ? forbids : permits);
    for (const PolicyHolder::Reload& r : (*holder)->ReloadIfChanged()) reloads += r.loaded;
  }
  stop = true;
  for (auto& th : threads) th.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_GT(decided.load(), 0);
  EXPECT_EQ(reloads, 40);
  std::filesystem::remove_all(dir);
}

// Not a concurrency test, but it needs the bundles above: an older signed
// bundle put back in place is refused, while the gateway runs and after it
// restarts; the policy in force stays.
TEST(PolicyRollbackTest, AnOlderBundleIsRefusedOnReloadAndAfterARestart) {
  std::string dir = MakeTempDir();
  policy::OfficerKeyPair officer = policy::GenerateOfficerKey();
  const v1::PolicyConfig config = TrustOfficer(dir, officer);
  const absl::Time t0 = absl::Now();
  const std::string old_forbids = Bundle(false, "old", officer.secret_key, t0);
  const std::string new_permits = Bundle(true, "new", officer.secret_key, t0 + absl::Seconds(1));
  const std::string floor = dir + "/policy.issued";
  const policy::Request req = DischargeSummary();
  auto read_floor = [&] {
    std::ifstream in(floor);
    std::string s;
    in >> s;
    return s;
  };

  WriteAtomically(dir + "/p.bundle", new_permits);
  absl::StatusOr<std::unique_ptr<PolicyHolder>> holder = PolicyHolder::Load(config);
  ASSERT_TRUE(holder.ok()) << holder.status();
  ASSERT_TRUE((*holder)->KeepIssuedFloor(floor).ok());
  const std::string new_ms = absl::StrCat(absl::ToUnixMillis(t0 + absl::Seconds(1)));
  EXPECT_EQ(read_floor(), new_ms);

  // Put back while running: refused, "new" stays in force.
  WriteAtomically(dir + "/p.bundle", old_forbids);
  std::vector<PolicyHolder::Reload> r = (*holder)->ReloadIfChanged();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_FALSE(r[0].loaded);
  EXPECT_NE(r[0].error.find("an older bundle is not loaded again"), std::string::npos) << r[0].error;
  EXPECT_EQ(r[0].version, "new");
  EXPECT_EQ((*holder)->live()->version, "new");
  EXPECT_TRUE((*holder)->Decide(req).live.allowed);
  EXPECT_EQ(read_floor(), new_ms);

  // After a restart the old bundle loads, but the recorded floor refuses it
  // before the gateway goes on.
  absl::StatusOr<std::unique_ptr<PolicyHolder>> restarted = PolicyHolder::Load(config);
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  absl::Status s = (*restarted)->KeepIssuedFloor(floor);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_EQ(read_floor(), new_ms);

  // A newer bundle is loaded and moves the floor; a damaged floor file
  // refuses the start rather than being taken as "no floor".
  const absl::Time t2 = t0 + absl::Seconds(2);
  WriteAtomically(dir + "/p.bundle", Bundle(false, "newer", officer.secret_key, t2));
  r = (*holder)->ReloadIfChanged();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].loaded) << r[0].error;
  EXPECT_EQ(read_floor(), absl::StrCat(absl::ToUnixMillis(t2)));
  WriteAtomically(floor, "not a time");
  absl::StatusOr<std::unique_ptr<PolicyHolder>> again = PolicyHolder::Load(config);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->KeepIssuedFloor(floor).code(), absl::StatusCode::kDataLoss);
  std::filesystem::remove_all(dir);
}

TEST(ConcurrencyTest, DirectoryEntriesStayWholeWhileReplaced) {
  auto make = [](int version) {
    v1::Directory d;
    d.set_version(version);
    v1::Organisation* o = d.add_organisations();
    o->set_org_id("council-a");
    o->set_gateway_address(absl::StrCat("127.0.0.1:", 1000 + version));
    o->set_name(absl::StrCat("v", version));
    return d;
  };
  DirectoryCache cache(make(0));
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      while (!stop) {
        std::optional<v1::Organisation> o = cache.Find("council-a");
        if (!o.has_value() ||
            o->gateway_address() != absl::StrCat("127.0.0.1:", 1000 + std::stoi(o->name().substr(1)))) {
          ++torn;
        }
      }
    });
  }
  for (int v = 1; v <= 2000; ++v) cache.Replace(make(v));
  stop = true;
  for (auto& th : threads) th.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(cache.version(), 2000u);
}

}  // namespace
}  // namespace gatehouse
