#include "tools/auditctl/prove_command.h"

#include <iostream>
#include <map>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "audit/merkle_tree.h"
#include "gatehouse/v1/audit.pb.h"
#include "tools/auditctl/log_access.h"
#include "tools/auditctl/postgres_command.h"
#include "tools/auditctl/tiles_command.h"

namespace gatehouse::auditctl {

using audit::Hash;
using Flags = cli::Values;

bool HasSource(const std::string& cmd, const Flags& f) {
  const int sources = f.Has("dir") + f.Has("tiles") + f.Has("dsn");
  if (sources != 1) {
    std::cerr << cmd << ": want one of --dir DIR (a log), --tiles DIR (a tiles export) and "
                        "--dsn DSN (a log in PostgreSQL)\n";
    return false;
  }
  if (f.Has("password-file") && !f.Has("dsn")) {
    std::cerr << cmd << ": --password-file goes with --dsn\n";
    return false;
  }
  return !f.Has("dsn") || DsnUsable(cmd, f);
}

bool DsnUsable(const std::string& cmd, const Flags& f) {
  absl::StatusOr<postgres::ConnectOptions> dsn = DsnOptions(f);
  if (!dsn.ok()) std::cerr << cmd << ": " << dsn.status().message() << "\n";
  return dsn.ok();
}

namespace {

absl::StatusOr<uint64_t> GetU64(const Flags& f, const std::string& k) {
  uint64_t v;
  if (!absl::SimpleAtoi(f.Get(k), &v))
    return absl::InvalidArgumentError("--" + k + " wants a number");
  return v;
}

// Prints why on stderr; returns the exit status of a failure.
int Fail(const absl::Status& s) {
  std::cerr << "prove: " << s << "\n";
  return 1;
}

// The consistency proof between --from and --to (default `latest`), as JSON.
int ProveConsistency(const Flags& f, const ProofSource& src, uint64_t latest) {
  auto s1 = GetU64(f, "from");
  auto s2 = f.Has("to") ? GetU64(f, "to") : absl::StatusOr<uint64_t>(latest);
  if (!s1.ok() || !s2.ok()) return 2;
  if (*s2 > src.size) return Fail(absl::InvalidArgumentError("--to is beyond the log"));
  auto proof = audit::BuildConsistencyProof(*src.tree, *s1, *s2);
  if (!proof.ok()) return Fail(proof.status());
  auto root1 = audit::TreeRoot(*src.tree, *s1);
  auto root2 = audit::TreeRoot(*src.tree, *s2);
  if (!root1.ok() || !root2.ok()) return Fail(root1.ok() ? root2.status() : root1.status());
  gatehouse::v1::AuditConsistencyProof out;
  out.set_size1(*s1);
  out.set_size2(*s2);
  out.set_root1(audit::HashToBytes(*root1));
  out.set_root2(audit::HashToBytes(*root2));
  for (const Hash& h : *proof) out.add_hashes(audit::HashToBytes(h));
  if (src.checkpoints.count(*s1)) out.set_checkpoint1(src.checkpoints.at(*s1));
  if (src.checkpoints.count(*s2)) out.set_checkpoint2(src.checkpoints.at(*s2));
  std::cout << Json(out, true) << "\n";
  return 0;
}

}  // namespace

int Prove(const Flags& f) {
  if (!HasSource("prove", f)) return 2;
  const std::string record_id = f.Get("record-id");
  absl::StatusOr<uint64_t> index =
      f.Has("index") ? GetU64(f, "index") : absl::StatusOr<uint64_t>(0);
  const EntryWanted wanted = [&](uint64_t i, const gatehouse::v1::AuditEntry& e) {
    return (f.Has("index") && index.ok() && i == *index) ||
           (!record_id.empty() && e.record_id() == record_id);
  };
  absl::StatusOr<ProofSource> src = f.Has("dsn")     ? LoadDsnSource(f, wanted)
                                    : f.Has("tiles") ? LoadTilesSource(f.Get("tiles"), wanted)
                                                     : LoadDirSource(f.Get("dir"), wanted);
  if (!src.ok()) return Fail(src.status());
  const uint64_t latest = src->checkpoints.empty() ? src->size : src->checkpoints.rbegin()->first;
  if (f.Has("from")) return ProveConsistency(f, *src, latest);
  if (!f.Has("index") && record_id.empty()) {
    std::cerr << "prove: want --index, --record-id or --from\n";
    return 2;
  }
  if (!index.ok()) return 2;
  if (src->wanted.empty()) {
    return Fail(absl::NotFoundError(record_id.empty() ? absl::StrCat("no entry ", *index)
                                                      : "no entry with record id " + record_id));
  }
  auto size = f.Has("size") ? GetU64(f, "size") : absl::StatusOr<uint64_t>(latest);
  if (!size.ok()) return 2;
  if (*size > src->size) return Fail(absl::InvalidArgumentError("--size is beyond the log"));
  for (const auto& [i, entry] : src->wanted) {  // a record id may have several entries
    if (i >= *size) {
      std::cerr << "prove: entry " << i << " is not covered by tree size " << *size
                << " (wait for the next checkpoint or pass --size)\n";
      continue;
    }
    auto out = MakeInclusionProof(*src->tree, i, *size, src->checkpoints, entry);
    if (!out.ok()) return Fail(out.status());
    std::cout << Json(*out, true) << "\n";
  }
  return 0;
}

}  // namespace gatehouse::auditctl
