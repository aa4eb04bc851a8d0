// SqliteStore's PeerCheckpointStore: each peer's audit checkpoint we last
// cosigned.
#include <sqlite3.h>

#include <cstdint>
#include <mutex>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "gateway/store/sqlite_statement.h"
#include "gateway/store/sqlite_store.h"

namespace gatehouse {

using sqlite::Stmt;

absl::StatusOr<PeerCheckpoint> SqliteStore::GetPeerCheckpoint(const std::string& org) {
  std::lock_guard<std::mutex> lock(read_mu_);
  Stmt s(reader_, "SELECT size, root, note FROM peer_checkpoint WHERE org = ?");
  RETURN_IF_ERROR(s.ok());
  s.Bind(1, org);
  int rc = s.Step();
  if (rc == SQLITE_DONE) return absl::NotFoundError(absl::StrCat("no checkpoint of ", org));
  RETURN_IF_ERROR(s.Check(rc, "read"));
  return PeerCheckpoint{static_cast<uint64_t>(s.Int(0)), s.Text(1), s.Text(2)};
}

absl::Status SqliteStore::PutPeerCheckpoint(const std::string& org, const PeerCheckpoint& cp) {
  return RunWrite([&](sqlite3* db, int64_t*) -> absl::Status {
    Stmt s(db, "INSERT OR REPLACE INTO peer_checkpoint (org, size, root, note) "
               "VALUES (?, ?, ?, ?)");
    RETURN_IF_ERROR(s.ok());
    s.Bind(1, org);
    s.Bind(2, static_cast<int64_t>(cp.size));
    s.BindBlob(3, cp.root);
    s.Bind(4, cp.note);
    return s.Done();
  });
}

}  // namespace gatehouse
