// Synthetic audit logs for the service-level tests: a real AuditLog in a
// scratch directory (signed checkpoints, as a gateway writes them), filled
// with record events at chosen times, and read back into a Ledger through
// the audit library, as auditctl reads a log.
#ifndef GATEHOUSE_TESTS_SLA_SLA_TEST_UTIL_H_
#define GATEHOUSE_TESTS_SLA_SLA_TEST_UTIL_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "audit/audit_log.h"
#include "audit/log_directory.h"
#include "audit/note.h"
#include "gatehouse/v1/audit.pb.h"
#include "gtest/gtest.h"
#include "sla/ledger.h"
#include "tests/audit/audit_test_util.h"

namespace gatehouse::sla::testing {

using gatehouse::v1::AuditEntry;
using gatehouse::v1::AuditEvent;

// 2026-03-02T00:00:00Z, the start of most test periods.
inline int64_t T0() {
  return absl::ToUnixNanos(absl::FromCivil(absl::CivilSecond(2026, 3, 2, 0, 0, 0), absl::UTCTimeZone()));
}
inline int64_t Sec(double s) { return static_cast<int64_t>(s * 1e9); }
inline int64_t Min(double m) { return Sec(m * 60); }

// A log of organisation `org` under `dir`, signed by a fresh key (or the
// key in file `key_file`, as auditctl keygen writes it).
class SyntheticLog {
 public:
  SyntheticLog(std::string dir, std::string org, const std::string& key_file = "")
      : dir_(std::move(dir)), org_(std::move(org)) {
    audit::AuditLogOptions o;
    if (key_file.empty()) {
      o.signer = std::make_shared<audit::NoteSigner>(
          *audit::NoteSigner::Generate("gatehouse.test/" + org_, audit::kSigTypeEd25519));
    } else {
      std::string skey = audit::testing::ReadFile(key_file);
      while (!skey.empty() && skey.back() == '\n') skey.pop_back();
      o.signer = std::make_shared<audit::NoteSigner>(*audit::NoteSigner::FromPrivateKey(skey));
    }
    o.checkpoint_every_entries = 1000000;
    o.checkpoint_interval = absl::ZeroDuration();
    log_ = std::move(*audit::AuditLog::Open(dir_, o));
  }

  // Records this organisation sent `peer`.
  void Submitted(const std::string& id, const std::string& peer, int64_t t) {
    Add(AuditEvent::AUDIT_EVENT_SUBMITTED, id, org_, peer, t);
  }
  void Delivered(const std::string& id, const std::string& peer, int64_t t) {
    Add(AuditEvent::AUDIT_EVENT_DELIVERED, id, org_, peer, t);
  }
  void Denied(const std::string& id, const std::string& peer, int64_t t, const std::string& code,
              const std::string& rule, const std::string& reason) {
    Add(AuditEvent::AUDIT_EVENT_DENIED, id, org_, peer, t, code, rule, reason);
  }
  // Records `peer` sent this organisation.
  void Received(const std::string& id, const std::string& peer, int64_t t) {
    Add(AuditEvent::AUDIT_EVENT_RECEIVED, id, peer, org_, t);
  }
  void Fetched(const std::string& id, const std::string& peer, int64_t t) {
    Add(AuditEvent::AUDIT_EVENT_FETCHED, id, peer, org_, t);
  }
  void Rejected(const std::string& id, const std::string& peer, int64_t t, const std::string& code,
                const std::string& rule, const std::string& reason) {
    Add(AuditEvent::AUDIT_EVENT_REJECTED, id, peer, org_, t, code, rule, reason);
  }
  void Started(int64_t t) {
    AuditEntry e;
    e.set_event(AuditEvent::AUDIT_EVENT_GATEWAY_STARTED);
    e.set_time_unix_ns(t);
    e.set_reason("gatehoused test");
    Append(e);
  }
  void Append(const AuditEntry& e) { ASSERT_TRUE(log_->Append(e).ok()); }
  void Checkpoint() { ASSERT_TRUE(log_->CheckpointNow().ok()); }
  // Signs a last checkpoint and releases the directory.
  void Close() { ASSERT_TRUE(log_->Close().ok()); }

  // Every entry of the log, read back through the audit library.
  Ledger ReadLedger() const {
    Ledger ledger;
    EXPECT_TRUE(audit::ForEachEntry(dir_, 0, [&](uint64_t i, absl::string_view payload) {
                  AuditEntry e;
                  EXPECT_TRUE(e.ParseFromArray(payload.data(), static_cast<int>(payload.size())));
                  ledger.Add(i, e);
                  return true;
                }).ok());
    return ledger;
  }
  const std::string& dir() const { return dir_; }

 private:
  void Add(AuditEvent ev, const std::string& id, const std::string& from, const std::string& to,
           int64_t t, const std::string& code = "", const std::string& rule = "",
           const std::string& reason = "") {
    AuditEntry e;
    e.set_event(ev);
    e.set_time_unix_ns(t);
    e.set_record_id(id);
    e.set_sender_org(from);
    e.set_recipient_org(to);
    e.set_status_code(code);
    if (!rule.empty()) e.add_rule_ids(rule);
    e.set_reason(reason);
    Append(e);
  }

  std::string dir_;
  std::string org_;
  std::unique_ptr<audit::AuditLog> log_;
};

}  // namespace gatehouse::sla::testing

#endif  // GATEHOUSE_TESTS_SLA_SLA_TEST_UTIL_H_
