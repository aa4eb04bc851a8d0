#include "tools/auditctl/verify_command.h"

#include <iostream>

#include "absl/strings/str_cat.h"
#include "audit/merkle_hasher.h"
#include "tools/auditctl/log_access.h"
#include "tools/auditctl/postgres_command.h"
#include "tools/auditctl/prove_command.h"
#include "tools/auditctl/tiles_command.h"

namespace gatehouse::auditctl {
namespace {

// The report of `f`'s log, and where its entries are ("1 segments", "2
// entry bundles", "the database (...)").
absl::StatusOr<std::pair<audit::VerifyReport, std::string>> Check(
    const cli::Values& f, const audit::VerifyOptions& options) {
  if (f.Has("dsn")) {
    absl::StatusOr<PostgresVerifyReport> r = VerifyDsn(f, options);
    if (!r.ok()) return r.status();
    return std::make_pair(r->log, absl::StrCat("the database (", r->integrated, " in the tree: ",
                                               r->tree_nodes, " stored tree nodes checked)"));
  }
  const bool tiles = f.Has("tiles");
  absl::StatusOr<audit::VerifyReport> r = tiles ? VerifyTilesDirectory(f.Get("tiles"), options)
                                                : audit::VerifyLog(f.Get("dir"), options);
  if (!r.ok()) return r.status();
  return std::make_pair(*r, absl::StrCat(r->segments, tiles ? " entry bundles" : " segments"));
}

}  // namespace

std::optional<Keys> LoadKeys(const std::string& cmd, const cli::Values& f) {
  Keys k;
  absl::StatusOr<std::vector<audit::NoteVerifier>> log = LoadVerifiers(f.All("key"));
  absl::StatusOr<std::vector<audit::NoteVerifier>> cos = LoadVerifiers(f.All("cosigner"));
  if (!log.ok() || !cos.ok()) {
    std::cerr << cmd << ": " << (log.ok() ? "--cosigner " : "--key ")
              << (log.ok() ? cos.status() : log.status()) << "\n";
    return std::nullopt;
  }
  k.log = *std::move(log);
  k.cosigners = *std::move(cos);
  return k;
}

void Point(Keys& k) {
  for (size_t i = 0; i < k.log.size(); ++i) {
    if (i == 0)
      k.opts.log_key = &k.log[0];
    else
      k.opts.previous_log_keys.push_back(&k.log[i]);
  }
  for (const auto& c : k.cosigners) k.opts.cosigners.push_back(&c);
}

int Verify(const cli::Values& f) {
  if (!HasSource("verify", f)) return cli::kExitUsage;
  std::optional<Keys> keys = LoadKeys("verify", f);
  if (!keys) return cli::kExitUsage;
  Point(*keys);
  absl::StatusOr<std::pair<audit::VerifyReport, std::string>> checked = Check(f, keys->opts);
  if (!checked.ok()) {
    std::cout << "FAIL: " << checked.status().message() << "\n";
    return cli::kExitFailed;
  }
  const audit::VerifyReport& r = checked->first;
  std::cout << "OK: " << r.entries << " entries in " << checked->second << "; " << r.checkpoints
            << " checkpoints ("
            << (r.signatures_checked ? "signatures verified" : "signatures NOT checked: no --key")
            << "); cosigners: " << r.cosigners_verified << " verified, over "
            << r.cosignatures_verified << " checkpoint cosignature(s); " << r.cosignatures_unknown
            << " cosignature(s) by unknown keys";
  if (r.cosignatures_repeated > 0) {
    std::cout << "; " << r.cosignatures_repeated
              << " repeated cosignature(s) (a key's second of one checkpoint) not counted";
  }
  std::cout << "; root " << audit::HashToHex(r.root) << "\n";
  return cli::kExitOk;
}

}  // namespace gatehouse::auditctl
