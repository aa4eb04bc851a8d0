#include "tools/auditctl/postgres_log.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"

namespace gatehouse::auditctl {
namespace {

using postgres::PgConnection;
using postgres::PgParams;
using postgres::PgResult;

// Entries read a query.
constexpr int64_t kEntryPage = 1024;
// The deepest level of a tree of at most 2^63 leaves.
constexpr int kMaxLevel = 62;

// The tables of migration 3 (postgres_schema.cc).
constexpr const char* kAuditTables[] = {"audit_head", "audit_entry", "audit_tree",
                                        "audit_checkpoint", "audit_cosignature"};

// `s` with its code and without the library's "store: " prefix (auditctl
// reads no store).
// libpq's multi-line messages become one line, as auditctl prints them.
absl::Status Reworded(const absl::Status& s) {
  return absl::Status(s.code(), absl::StrReplaceAll(absl::StripPrefix(s.message(), "store: "),
                                                    {{"\n\t", " "}, {"\n", " "}}));
}

absl::StatusOr<PgResult> Query(PgConnection& c, const std::string& sql,
                               const PgParams& params = PgParams()) {
  absl::StatusOr<PgResult> r = c.Exec(sql, params);
  if (!r.ok()) return Reworded(r.status());
  return r;
}

std::vector<StoredCheckpoint> CheckpointRows(const PgResult& r) {
  std::vector<StoredCheckpoint> out(r.rows());
  for (int i = 0; i < r.rows(); ++i) {
    out[i].size = static_cast<uint64_t>(r.Int(i, 0));
    out[i].note = r.Bytes(i, 1);
  }
  return out;
}

}  // namespace

std::string StoredCheckpoint::Served() const {
  std::string out = note;
  for (const StoredCosignature& c : cosignatures) out += c.line;
  return out;
}

absl::StatusOr<std::unique_ptr<PostgresLog>> PostgresLog::Open(
    const postgres::ConnectOptions& options) {
  RETURN_IF_ERROR(Reworded(postgres::CheckConnectOptions(options)));
  absl::StatusOr<std::unique_ptr<PgConnection>> c = PgConnection::Connect(options);
  if (!c.ok()) return Reworded(c.status());
  std::unique_ptr<PostgresLog> log(new PostgresLog(*std::move(c)));
  RETURN_IF_ERROR(Reworded(log->Begin()));
  return log;
}

absl::Status PostgresLog::Begin() {
  RETURN_IF_ERROR(c_->Run("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"));
  for (const char* table : kAuditTables) {
    ASSIGN_OR_RETURN(PgResult r,
                     c_->Exec("SELECT to_regclass($1) IS NOT NULL", PgParams().Text(table)));
    if (!r.Bool(0, 0)) {
      return absl::FailedPreconditionError(
          absl::StrCat("the database holds no Gatehouse audit log (it has no ", table,
                       " table): --dsn must name the database of the gateway's PostgreSQL store"));
    }
  }
  ASSIGN_OR_RETURN(PgResult head, c_->Exec("SELECT sequenced, integrated FROM audit_head"));
  if (head.rows() != 1) {
    return absl::DataLossError(absl::StrCat("audit_head has ", head.rows(), " rows, not one"));
  }
  if (head.Int(0, 0) < 0 || head.Int(0, 1) < 0) {
    return absl::DataLossError("audit_head holds a negative size");
  }
  sequenced_ = static_cast<uint64_t>(head.Int(0, 0));
  integrated_ = static_cast<uint64_t>(head.Int(0, 1));
  return absl::OkStatus();
}

EntrySource PostgresLog::Entries() {
  return [this](const EntryFn& fn) -> absl::Status {
    const int64_t end = static_cast<int64_t>(sequenced_);
    auto missing = [&](int64_t i) {
      return absl::DataLossError(absl::StrCat("entry ", i, ": missing (audit_entry has no row ", i,
                                              ", below audit_head.sequenced ", end, ")"));
    };
    for (int64_t next = 0; next < end;) {
      ASSIGN_OR_RETURN(PgResult page, Query(*c_,
                                            "SELECT idx, entry FROM audit_entry "
                                            "WHERE idx >= $1 AND idx < $2 ORDER BY idx LIMIT $3",
                                            PgParams().Int(next).Int(end).Int(kEntryPage)));
      if (page.rows() == 0) return missing(next);
      for (int i = 0; i < page.rows(); ++i, ++next) {
        if (page.Int(i, 0) != next) return missing(next);
        if (!fn(static_cast<uint64_t>(next), page.Bytes(i, 1))) return absl::OkStatus();
      }
    }
    return absl::OkStatus();
  };
}

absl::Status PostgresLog::ReadCosignatures(std::vector<StoredCheckpoint>* cps) {
  if (cps->empty()) return absl::OkStatus();
  std::map<uint64_t, StoredCheckpoint*> by_size;
  for (StoredCheckpoint& cp : *cps) by_size[cp.size] = &cp;
  ASSIGN_OR_RETURN(PgResult r, c_->Exec("SELECT size, name, key_id, line FROM audit_cosignature "
                                        "WHERE size >= $1 AND size <= $2 ORDER BY size, added",
                                        PgParams()
                                            .Int(static_cast<int64_t>(cps->front().size))
                                            .Int(static_cast<int64_t>(cps->back().size))));
  for (int i = 0; i < r.rows(); ++i) {
    auto cp = by_size.find(static_cast<uint64_t>(r.Int(i, 0)));
    if (cp == by_size.end()) continue;  // not asked for (CheckpointAt, Newest)
    cp->second->cosignatures.push_back({r.Bytes(i, 1), r.Int(i, 2), r.Bytes(i, 3)});
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<StoredCheckpoint>> PostgresLog::CheckpointsAfter(int64_t after,
                                                                            int limit) {
  ASSIGN_OR_RETURN(PgResult r, Query(*c_,
                                     "SELECT size, note FROM audit_checkpoint WHERE size > $1 "
                                     "ORDER BY size LIMIT $2",
                                     PgParams().Int(after).Int(limit)));
  std::vector<StoredCheckpoint> out = CheckpointRows(r);
  RETURN_IF_ERROR(Reworded(ReadCosignatures(&out)));
  return out;
}

absl::StatusOr<std::optional<StoredCheckpoint>> PostgresLog::CheckpointAt(uint64_t size) {
  ASSIGN_OR_RETURN(PgResult r, Query(*c_, "SELECT size, note FROM audit_checkpoint WHERE size = $1",
                                     PgParams().Int(static_cast<int64_t>(size))));
  std::vector<StoredCheckpoint> out = CheckpointRows(r);
  RETURN_IF_ERROR(Reworded(ReadCosignatures(&out)));
  if (out.empty()) return std::nullopt;
  return out.front();
}

absl::StatusOr<StoredCheckpoint> PostgresLog::Newest() {
  ASSIGN_OR_RETURN(PgResult r, Query(*c_,
                                     "SELECT size, note FROM audit_checkpoint "
                                     "ORDER BY size DESC LIMIT 1"));
  std::vector<StoredCheckpoint> out = CheckpointRows(r);
  if (out.empty()) return absl::NotFoundError("no checkpoint has been signed yet");
  RETURN_IF_ERROR(Reworded(ReadCosignatures(&out)));
  return out.front();
}

absl::StatusOr<std::vector<StoredNode>> PostgresLog::NodesCompletedBy(uint64_t from, uint64_t to) {
  // Node (l, i) is completed by leaf (i + 1) * 2^l - 1: by a leaf in
  // [from, to) iff from >> l <= i < to >> l.
  std::vector<std::string> levels, lows, highs;
  for (int l = 0; l <= kMaxLevel && (to >> l) > 0; ++l) {
    if ((to >> l) <= (from >> l)) continue;
    levels.push_back(absl::StrCat(l));
    lows.push_back(absl::StrCat(from >> l));
    highs.push_back(absl::StrCat(to >> l));
  }
  std::vector<StoredNode> out;
  if (levels.empty()) return out;
  ASSIGN_OR_RETURN(PgResult r,
                   Query(*c_,
                         "SELECT t.level, t.idx, t.hash "
                         "FROM unnest($1::text[], $2::text[], $3::text[]) AS w(l, lo, hi) "
                         "JOIN audit_tree t ON t.level = w.l::smallint "
                         "AND t.idx >= w.lo::bigint AND t.idx < w.hi::bigint "
                         "ORDER BY t.level, t.idx",
                         PgParams().TextArray(levels).TextArray(lows).TextArray(highs)));
  out.resize(r.rows());
  for (int i = 0; i < r.rows(); ++i) {
    out[i] = {static_cast<int>(r.Int(i, 0)), r.Int(i, 1), r.Bytes(i, 2)};
  }
  return out;
}

absl::StatusOr<std::optional<std::pair<int, int64_t>>> PostgresLog::NodeBeyond(uint64_t size) {
  ASSIGN_OR_RETURN(PgResult r,
                   Query(*c_,
                         "SELECT level, idx FROM audit_tree WHERE level < 0 OR level > $2 "
                         "OR idx < 0 OR idx >= CASE WHEN level BETWEEN 0 AND $2 "
                         "THEN $1::bigint >> level ELSE 0 END "
                         "ORDER BY level, idx LIMIT 1",
                         PgParams().Int(static_cast<int64_t>(size)).Int(kMaxLevel)));
  if (r.rows() == 0) return std::nullopt;
  return std::make_pair(static_cast<int>(r.Int(0, 0)), r.Int(0, 1));
}

absl::StatusOr<std::optional<int64_t>> PostgresLog::EntryBeyond() {
  ASSIGN_OR_RETURN(PgResult r, Query(*c_,
                                     "SELECT idx FROM audit_entry WHERE idx < 0 OR idx >= $1 "
                                     "ORDER BY idx LIMIT 1",
                                     PgParams().Int(static_cast<int64_t>(sequenced_))));
  if (r.rows() == 0) return std::nullopt;
  return r.Int(0, 0);
}

}  // namespace gatehouse::auditctl
