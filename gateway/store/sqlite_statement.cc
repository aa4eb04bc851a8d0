#include "gateway/store/sqlite_statement.h"

#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace gatehouse::sqlite {
namespace {

// Prepared statements kept per connection and reused, keyed by connection
// and SQL text.
class StmtCache {
 public:
  static sqlite3_stmt* Take(sqlite3* db, const std::string& sql, int* rc) {
    {
      std::lock_guard<std::mutex> lock(mu());
      auto it = idle().find(Key(db, sql));
      if (it != idle().end() && !it->second.empty()) {
        sqlite3_stmt* stmt = it->second.back();
        it->second.pop_back();
        *rc = SQLITE_OK;
        return stmt;
      }
    }
    sqlite3_stmt* stmt = nullptr;
    *rc = sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    return stmt;
  }
  // Back for reuse, reset and unbound (or finalised if it never prepared).
  static void Give(sqlite3* db, const std::string& sql, sqlite3_stmt* stmt) {
    if (stmt == nullptr) return;
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    std::lock_guard<std::mutex> lock(mu());
    idle()[Key(db, sql)].push_back(stmt);
  }
  // Finalises every statement of `db`, before it is closed.
  static void Drop(sqlite3* db) {
    std::lock_guard<std::mutex> lock(mu());
    for (auto it = idle().begin(); it != idle().end();) {
      if (it->first.first == db) {
        for (sqlite3_stmt* stmt : it->second) sqlite3_finalize(stmt);
        it = idle().erase(it);
      } else {
        ++it;
      }
    }
  }

 private:
  using Key = std::pair<sqlite3*, std::string>;
  static std::mutex& mu() {
    static std::mutex m;
    return m;
  }
  static std::map<Key, std::vector<sqlite3_stmt*>>& idle() {
    static auto* m = new std::map<Key, std::vector<sqlite3_stmt*>>();
    return *m;
  }
};

}  // namespace

Stmt::Stmt(sqlite3* db, const char* sql) : db_(db), sql_(sql) {
  stmt_ = StmtCache::Take(db, sql, &rc_);
}

Stmt::~Stmt() {
  if (rc_ == SQLITE_OK) {
    StmtCache::Give(db_, sql_, stmt_);
  } else {
    sqlite3_finalize(stmt_);
  }
}

std::string Stmt::Text(int col) {
  const void* p = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return p == nullptr ? std::string() : std::string(static_cast<const char*>(p), n);
}

absl::Status Stmt::Check(int rc, const char* what) const {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat("store: ", what, " failed: ", sqlite3_errmsg(db_)));
}

absl::Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return absl::UnavailableError(absl::StrCat("store: ", msg));
  }
  return absl::OkStatus();
}

void DropStatements(sqlite3* db) { StmtCache::Drop(db); }

}  // namespace gatehouse::sqlite
