// Helpers shared by the audit tests (and the service-level ones): a scratch
// directory removed on destruction, deterministic entries, raw file
// surgery, and running auditctl.
#ifndef GATEHOUSE_TESTS_AUDIT_AUDIT_TEST_UTIL_H_
#define GATEHOUSE_TESTS_AUDIT_AUDIT_TEST_UTIL_H_

#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "audit/audit_log.h"
#include "audit/note.h"
#include "gatehouse/v1/audit.pb.h"

namespace gatehouse::audit::testing {

// What running `auditctl <args>` printed (stdout and stderr) and its exit
// status; -1 if it did not exit. Only in tests that define AUDITCTL_PATH.
struct CmdResult {
  int exit_code;
  std::string out;
};

#ifdef AUDITCTL_PATH
inline CmdResult Cmd(const std::string& args) {
  std::string cmd = absl::StrCat(AUDITCTL_PATH, " ", args, " 2>&1");
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}
#endif

class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "gh-audit-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline gatehouse::v1::AuditEntry MakeEntry(uint64_t i) {
  gatehouse::v1::AuditEntry e;
  e.set_event(i % 3 == 0 ? gatehouse::v1::AUDIT_EVENT_SUBMITTED
                         : (i % 3 == 1 ? gatehouse::v1::AUDIT_EVENT_DENIED
                                       : gatehouse::v1::AUDIT_EVENT_RECEIVED));
  e.set_time_unix_ns(1700000000000000000 + static_cast<int64_t>(i) * 1000);
  e.set_record_id(absl::StrCat("rec-", i));
  e.set_sender_org("health-a");
  e.set_sender_system("ehr");
  e.set_recipient_org(i % 2 ? "council-a" : "police-b");
  e.mutable_labels()->set_classification("OFFICIAL-SENSITIVE");
  e.mutable_labels()->set_record_type("discharge_summary");
  e.set_decision(i % 3 == 1 ? gatehouse::v1::AUDIT_DECISION_DENY : gatehouse::v1::AUDIT_DECISION_PERMIT);
  e.add_rule_ids(absl::StrCat("rule-", i % 7));
  e.set_reason(i % 3 == 1 ? "recipient accreditation below classification" : "");
  e.set_payload_sha256(std::string(32, static_cast<char>(i)));
  e.mutable_labels()->set_purpose("direct_care");
  return e;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

#ifdef AUDITCTL_PATH
// Makes a checkpoint key with `auditctl keygen` (PREFIX.key, PREFIX.pub)
// and returns log options that sign with it, checkpoints only when asked
// (CheckpointNow, and Close); a test failure if keygen fails.
inline AuditLogOptions SignedByNewKey(const std::string& prefix) {
  AuditLogOptions o;
  CmdResult k = Cmd("keygen --name gatehouse.test/ctl --out " + prefix);
  EXPECT_EQ(k.exit_code, 0) << k.out;
  if (k.exit_code != 0) return o;
  std::string skey = ReadFile(prefix + ".key");
  skey.pop_back();
  o.signer = std::make_shared<NoteSigner>(*NoteSigner::FromPrivateKey(skey));
  o.checkpoint_every_entries = 1000000;
  o.checkpoint_interval = absl::ZeroDuration();
  return o;
}

// Appends MakeEntry(i) for every i in [from, to) to `log`.
inline void AppendEntries(AuditLog& log, uint64_t from, uint64_t to) {
  for (uint64_t i = from; i < to; ++i) ASSERT_TRUE(log.Append(MakeEntry(i)).ok()) << i;
}
#endif  // AUDITCTL_PATH (the tests that define it include GoogleTest first)

}  // namespace gatehouse::audit::testing

#endif  // GATEHOUSE_TESTS_AUDIT_AUDIT_TEST_UTIL_H_
