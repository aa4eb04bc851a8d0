// PgConnection, PgParams and PgResult (pg_connection.h) on libpq.
#include "pg/pg_connection.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"

namespace gatehouse::postgres {
namespace {

// libpq's messages end in a newline; ours do not.
std::string Trimmed(const char* msg) {
  return std::string(absl::StripTrailingAsciiWhitespace(msg == nullptr ? "" : msg));
}

// Notices (NOTICE, WARNING) are not errors; the session asks for none
// below WARNING, and those are dropped too rather than printed on stderr.
void IgnoreNotice(void*, const char*) {}

}  // namespace

absl::Status CheckConnectOptions(const ConnectOptions& options) {
  char* err = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(options.dsn.c_str(), &err);
  if (parsed == nullptr) {
    absl::Status st = absl::InvalidArgumentError(
        absl::StrCat("store: the PostgreSQL DSN does not parse: ", Trimmed(err)));
    PQfreemem(err);
    return st;
  }
  bool has_password = false;
  for (PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) {
    if (std::string(o->keyword) == "password" && o->val != nullptr && o->val[0] != '\0') {
      has_password = true;
    }
  }
  PQconninfoFree(parsed);
  if (has_password) {
    return absl::InvalidArgumentError(
        "store: the PostgreSQL DSN holds a password; a configuration must never hold one. "
        "Give a password file (store.postgres.password_file, as PGPASSFILE) or a client "
        "certificate instead");
  }
  return absl::OkStatus();
}

PgParams& PgParams::Add(std::string v, int format) {
  values_.push_back(std::move(v));
  null_.push_back(false);
  formats_.push_back(format);
  return *this;
}

PgParams& PgParams::Null() {
  Add(std::string(), 0);
  null_.back() = true;
  return *this;
}

PgParams& PgParams::TextArray(const std::vector<std::string>& v) {
  // An array literal: each element double-quoted, with \ and " escaped.
  std::string literal = "{";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) literal += ',';
    literal += '"';
    for (char c : v[i]) {
      if (c == '"' || c == '\\') literal += '\\';
      literal += c;
    }
    literal += '"';
  }
  literal += '}';
  return Add(std::move(literal), 0);
}

PgResult& PgResult::operator=(PgResult&& other) noexcept {
  if (this != &other) {
    PQclear(r_);
    r_ = other.r_;
    other.r_ = nullptr;
  }
  return *this;
}

PgResult::~PgResult() { PQclear(r_); }

int PgResult::rows() const { return PQntuples(r_); }

int64_t PgResult::affected() const {
  int64_t n = 0;
  return absl::SimpleAtoi(PQcmdTuples(r_), &n) ? n : 0;  // "" for statements that count none
}

bool PgResult::IsNull(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }

int64_t PgResult::Int(int row, int col) const {
  if (IsNull(row, col)) return 0;
  // Binary format: big-endian, two, four or eight bytes.
  const auto* p = reinterpret_cast<const unsigned char*>(PQgetvalue(r_, row, col));
  const int n = PQgetlength(r_, row, col);
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  if (n < 8 && n > 0 && (p[0] & 0x80) != 0) v |= ~uint64_t{0} << (8 * n);  // sign-extend
  return static_cast<int64_t>(v);
}

bool PgResult::Bool(int row, int col) const {
  return !IsNull(row, col) && PQgetlength(r_, row, col) == 1 && PQgetvalue(r_, row, col)[0] != 0;
}

std::string PgResult::Bytes(int row, int col) const {
  if (IsNull(row, col)) return std::string();
  return std::string(PQgetvalue(r_, row, col), PQgetlength(r_, row, col));
}

absl::StatusOr<std::unique_ptr<PgConnection>> PgConnection::Connect(const ConnectOptions& options) {
  // Processed in order, the last value of a key winning: our defaults, then
  // the DSN (expand_dbname), then the files the options name.
  // Over TCP, unanswered data (a request being sent on a link that drops
  // packets) and a silent peer end the connection within the statement
  // deadline, as Await's timer does for a request already sent.
  const std::string user_timeout_ms =
      std::to_string(absl::ToInt64Milliseconds(options.statement_timeout));
  std::vector<std::pair<const char*, std::string>> params = {
      {"application_name", "gatehoused"},
      {"connect_timeout", "10"},
      {"keepalives", "1"},
      {"keepalives_idle", "5"},
      {"keepalives_interval", "2"},
      {"keepalives_count", "3"},
      {"tcp_user_timeout", user_timeout_ms},
      {"dbname", options.dsn},
  };
  if (!options.password_file.empty()) params.push_back({"passfile", options.password_file});
  if (!options.client_cert.empty()) params.push_back({"sslcert", options.client_cert});
  if (!options.client_key.empty()) params.push_back({"sslkey", options.client_key});
  if (!options.root_cert.empty()) params.push_back({"sslrootcert", options.root_cert});
  std::vector<const char*> keys, values;
  for (const auto& [key, value] : params) {
    keys.push_back(key);
    values.push_back(value.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* conn = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
    absl::Status st = absl::UnavailableError(
        absl::StrCat("store: cannot connect to PostgreSQL: ",
                     conn == nullptr ? "out of memory" : Trimmed(PQerrorMessage(conn))));
    PQfinish(conn);
    return st;
  }
  PQsetNoticeProcessor(conn, IgnoreNotice, nullptr);
  std::unique_ptr<PgConnection> c(new PgConnection(conn, options.statement_timeout));
  // Every commit is durable when it returns (the server's default, made
  // sure of here, whatever the role or database says). A transaction left
  // idle (its process frozen, or cut off from the server) is ended by the
  // server after half the statement deadline, so the locks it holds (a
  // write group's commit order lock, postgres_store.cc) are freed before
  // the statements of other replicas waiting on them reach their own
  // deadline; ours run their statements back to back.
  const int64_t idle_ms =
      std::max<int64_t>(1000, absl::ToInt64Milliseconds(options.statement_timeout) / 2);
  absl::Status st = c->Run(absl::StrCat(
      "SET synchronous_commit = on; SET client_min_messages = warning; SET TimeZone = 'UTC'; "
      "SET idle_in_transaction_session_timeout = ",
      idle_ms));
  if (!st.ok()) return st;
  return c;
}

PgConnection::~PgConnection() { PQfinish(conn_); }

absl::StatusOr<PgResult> PgConnection::Exec(const std::string& sql, const PgParams& params) {
  if (abandoned_) return Abandoned();
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    const std::string name = absl::StrCat("gh", prepared_.size());
    if (PQsendPrepare(conn_, name.c_str(), sql.c_str(), 0, nullptr) == 0) {
      return Error(nullptr, "prepare");
    }
    ASSIGN_OR_RETURN(PgResult prep, Await("prepare"));
    it = prepared_.emplace(sql, name).first;
  }
  const int n = params.size();
  std::vector<const char*> values(n);
  std::vector<int> lengths(n);
  for (int i = 0; i < n; ++i) {
    values[i] = params.null_[i] ? nullptr : params.values_[i].data();
    lengths[i] = static_cast<int>(params.values_[i].size());
  }
  if (PQsendQueryPrepared(conn_, it->second.c_str(), n, values.data(), lengths.data(),
                          params.formats_.data(), /*resultFormat=*/1) == 0) {
    return Error(nullptr, "statement");
  }
  return Await("statement");
}

absl::Status PgConnection::Run(const std::string& sql) {
  if (abandoned_) return Abandoned();
  if (PQsendQuery(conn_, sql.c_str()) == 0) return Error(nullptr, "command");
  return Await("command").status();
}

absl::StatusOr<PgResult> PgConnection::Await(const char* what) {
  const absl::Time deadline = absl::Now() + timeout_;
  absl::StatusOr<PgResult> out = absl::UnavailableError("store: no result from PostgreSQL");
  bool failed = false;
  for (;;) {
    while (PQisBusy(conn_) != 0) {
      const absl::Duration left = deadline - absl::Now();
      pollfd p{PQsocket(conn_), POLLIN, 0};
      const int ready =
          left <= absl::ZeroDuration()
              ? 0
              : poll(&p, 1,
                     static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1,
                                                        24 * 3600 * 1000)));
      if (ready == 0) {
        // No answer in time: a link that drops packets without a reset (a
        // cut cable, a firewall) would otherwise hold this thread, and the
        // locks its transaction holds, for as long as TCP retries. The
        // connection is given up; the server ends the transaction when it
        // notices (idle_in_transaction_session_timeout, or the socket).
        abandoned_ = true;
        return absl::UnavailableError(absl::StrCat(
            "store: PostgreSQL did not answer (", what, ") within ",
            absl::FormatDuration(timeout_), "; the connection is given up and replaced"));
      }
      if (ready < 0 && errno == EINTR) continue;
      if (PQconsumeInput(conn_) == 0) break;  // lost: PQgetResult says so
    }
    PGresult* r = PQgetResult(conn_);
    if (r == nullptr) break;
    const ExecStatusType status = PQresultStatus(r);
    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
      if (!failed) out = PgResult(r);  // the last statement's rows
      else PQclear(r);
    } else {
      if (!failed) out = Error(r, what);  // the first error
      failed = true;
      PQclear(r);
    }
  }
  if (!failed && !out.ok() && broken()) out = Error(nullptr, what);
  return out;
}

absl::Status PgConnection::Abandoned() const {
  return absl::UnavailableError(
      "store: this PostgreSQL connection was given up (no answer in time)");
}

bool PgConnection::broken() const { return abandoned_ || PQstatus(conn_) != CONNECTION_OK; }

bool PgConnection::LostWhileIdle() {
  if (broken()) return true;
  // Reads a FATAL message and the end of the stream if the server sent
  // them; returns at once if nothing came.
  return PQconsumeInput(conn_) == 0 || broken();
}

int PgConnection::Socket() const { return PQsocket(conn_); }

int PgConnection::BackendPid() const { return PQbackendPID(conn_); }

absl::StatusOr<std::vector<int>> PgConnection::TakeNotifications() {
  if (PQconsumeInput(conn_) == 0 || broken()) {
    return absl::UnavailableError(absl::StrCat("store: the connection to PostgreSQL was lost: ",
                                               Trimmed(PQerrorMessage(conn_))));
  }
  std::vector<int> senders;
  while (PGnotify* n = PQnotifies(conn_)) {
    senders.push_back(n->be_pid);
    PQfreemem(n);
  }
  return senders;
}

absl::Status PgConnection::Error(const PGresult* r, const char* what) const {
  const std::string msg =
      Trimmed(r != nullptr && PQresultErrorMessage(r)[0] != '\0' ? PQresultErrorMessage(r)
                                                                 : PQerrorMessage(conn_));
  const char* state = r == nullptr ? nullptr : PQresultErrorField(r, PG_DIAG_SQLSTATE);
  const std::string code = state == nullptr ? "" : state;
  if (broken() || absl::StartsWith(code, "08") || absl::StartsWith(code, "57P")) {
    return absl::UnavailableError(
        absl::StrCat("store: the connection to PostgreSQL was lost (", what, "): ", msg));
  }
  if (code == "23505") return absl::AlreadyExistsError(absl::StrCat("store: ", msg));
  if (absl::StartsWith(code, "22")) return absl::InvalidArgumentError(absl::StrCat("store: ", msg));
  return absl::UnavailableError(absl::StrCat("store: PostgreSQL ", what, " failed: ", msg));
}

}  // namespace gatehouse::postgres
