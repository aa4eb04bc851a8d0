// PostgresStore's PeerCheckpointStore: each peer's audit checkpoint we last
// cosigned.
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "pg/pg_connection.h"
#include "pg/pg_pool.h"
#include "gateway/store/postgres/postgres_store.h"

namespace gatehouse {

using postgres::PgConnection;
using postgres::PgParams;
using postgres::PgResult;

absl::StatusOr<PeerCheckpoint> PostgresStore::GetPeerCheckpoint(const std::string& org) {
  return readers_->Read([&](PgConnection& c) -> absl::StatusOr<PeerCheckpoint> {
    ASSIGN_OR_RETURN(PgResult r, c.Exec("SELECT size, root, note FROM peer_checkpoint "
                                        "WHERE org = $1",
                                        PgParams().Text(org)));
    if (r.rows() == 0) return absl::NotFoundError(absl::StrCat("no checkpoint of ", org));
    return PeerCheckpoint{static_cast<uint64_t>(r.Int(0, 0)), r.Bytes(0, 1), r.Bytes(0, 2)};
  });
}

absl::Status PostgresStore::PutPeerCheckpoint(const std::string& org, const PeerCheckpoint& cp) {
  return RunWrite([&](PgConnection& c) {
    return c
        .Exec(
            "INSERT INTO peer_checkpoint (org, size, root, note) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (org) DO UPDATE SET size = EXCLUDED.size, root = EXCLUDED.root, "
            "note = EXCLUDED.note",
            PgParams().Text(org).Int(static_cast<int64_t>(cp.size)).Bytes(cp.root).Text(cp.note))
        .status();
  });
}

}  // namespace gatehouse
