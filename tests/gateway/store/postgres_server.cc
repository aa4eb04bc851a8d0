// PostgresServer (postgres_server.h): initdb and the postmaster, run as an
// unprivileged user in a forked child; readiness by PQping; stop by signal.
#include "tests/gateway/store/postgres_server.h"

#include <fcntl.h>
#include <grp.h>
#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace gatehouse::testing {
namespace {

constexpr const char* kBinDir = "/usr/lib/postgresql/15/bin";
constexpr int kSocketPort = 5432;  // names the socket file when there is no TCP port

// A loopback TCP port free a moment ago (the server binds it next).
int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// Forks a child that becomes uid/gid (if not already), enters `dir`,
// appends its output to `log`, and execs `argv`. With `parent_death_signal`,
// the child gets it when the forking thread ends. The child's pid, or -1.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& dir, const std::string& log,
            uid_t uid, gid_t gid, int parent_death_signal) {
  // Everything the child needs is made before fork: after it, only
  // async-signal-safe calls.
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid != 0) return pid;
  if (getuid() != uid) {
    if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0) _exit(126);
  }
  if (parent_death_signal != 0) {
    prctl(PR_SET_PDEATHSIG, parent_death_signal);
    if (getppid() != parent) _exit(1);  // the parent is already gone
  }
  if (chdir(dir.c_str()) != 0) _exit(126);
  const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  const int in = open("/dev/null", O_RDONLY);
  if (out < 0 || in < 0) _exit(126);
  dup2(in, 0);
  dup2(out, 1);
  dup2(out, 2);
  execv(args[0], args.data());
  _exit(127);
}

// Runs `argv` to its end as Spawn does; its exit status, or -1.
int RunToEnd(const std::vector<std::string>& argv, const std::string& dir, const std::string& log,
             uid_t uid, gid_t gid) {
  const pid_t pid = Spawn(argv, dir, log, uid, gid, 0);
  if (pid < 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

// Quotes an SQL identifier.
std::string Ident(const std::string& name) { return "\"" + name + "\""; }

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start(bool tcp) {
  const std::string initdb = absl::StrCat(kBinDir, "/initdb");
  if (access(initdb.c_str(), X_OK) != 0 ||
      access(absl::StrCat(kBinDir, "/postgres").c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "PostgreSQL 15's server is not installed (no ", initdb,
        "): run scripts/setup.sh as root, which installs postgresql-15 and libpq-dev"));
  }
  uid_t uid = getuid();
  gid_t gid = getgid();
  if (geteuid() == 0) {
    // initdb refuses root: the server runs as the user Debian's package made.
    const passwd* pw = getpwnam("postgres");
    if (pw == nullptr) {
      return absl::FailedPreconditionError(
          "running as root and there is no `postgres` user to run PostgreSQL as: install "
          "postgresql-15 (scripts/setup.sh), which creates it");
    }
    uid = pw->pw_uid;
    gid = pw->pw_gid;
  }
  std::string tmpl = (std::filesystem::temp_directory_path() / "gh-pg-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot make a scratch folder ", tmpl));
  }
  const int port = tcp ? FreeLoopbackPort() : kSocketPort;
  if (port < 0) return absl::UnavailableError("no free loopback port for PostgreSQL");
  std::unique_ptr<PostgresServer> server(new PostgresServer(tmpl, uid, gid, port, tcp));
  if (chown(tmpl.c_str(), uid, gid) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot give ", tmpl, " to the postgres user"));
  }
  const std::string log = server->dir_ + "/server.log";
  const int rc = RunToEnd({initdb, "-D", server->dir_ + "/data", "-U", "postgres", "-A", "trust",
                           "-E", "UTF8", "--locale=C", "--no-sync"},
                          server->dir_, log, uid, gid);
  if (rc != 0) {
    return absl::UnavailableError(
        absl::StrCat("initdb failed (exit ", rc, "); its output:\n", server->LogTail()));
  }
  if (absl::Status st = server->Launch(); !st.ok()) return st;
  return server;
}

absl::StatusOr<PostgresServer*> PostgresServer::Shared() {
  // Destroyed at exit, which stops the server.
  static const absl::StatusOr<std::unique_ptr<PostgresServer>> server = Start();
  if (!server.ok()) return server.status();
  return server->get();
}

absl::Status PostgresServer::Launch() {
  pid_ = Spawn({absl::StrCat(kBinDir, "/postgres"), "-D", dir_ + "/data", "-k", dir_, "-p",
                std::to_string(port_), "-c",
                tcp_ ? "listen_addresses=127.0.0.1" : "listen_addresses=", "-c", "fsync=on", "-c", "synchronous_commit=on", "-c",
                "full_page_writes=on", "-c", "unix_socket_permissions=0700"},
               dir_, dir_ + "/server.log", uid_, gid_, SIGQUIT);
  if (pid_ < 0) return absl::UnavailableError("cannot fork to start PostgreSQL");
  const std::string dsn = Dsn("postgres");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (PQping(dsn.c_str()) == PQPING_OK) return absl::OkStatus();
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::UnavailableError(
          absl::StrCat("PostgreSQL exited while starting; its log:\n", LogTail()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::UnavailableError(
      absl::StrCat("PostgreSQL did not accept connections within 60 s; its log:\n", LogTail()));
}

absl::Status PostgresServer::Stop(bool crash) {
  if (pid_ <= 0) return absl::FailedPreconditionError("PostgreSQL is not running");
  kill(pid_, crash ? SIGQUIT : SIGINT);
  int status = 0;
  bool ended = false;
  for (int i = 0; i < 300 && !ended; ++i) {
    ended = waitpid(pid_, &status, WNOHANG) == pid_;
    if (!ended) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!ended) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
  }
  pid_ = -1;
  return ended ? absl::OkStatus()
               : absl::DeadlineExceededError("PostgreSQL did not stop within 30 s; killed");
}

PostgresServer::~PostgresServer() {
  if (pid_ > 0) Stop().IgnoreError();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string PostgresServer::Dsn(const std::string& db) const {
  return absl::StrCat("host=", dir_, " port=", port_, " user=postgres dbname=", db);
}

std::string PostgresServer::TcpDsn(const std::string& db) const {
  return absl::StrCat("host=127.0.0.1 port=", port_, " user=postgres dbname=", db);
}

absl::StatusOr<std::string> PostgresServer::CreateDatabase() {
  static std::atomic<int> next{0};
  const std::string name = absl::StrCat("gh_", getpid(), "_", next++);
  absl::StatusOr<std::string> done = Query("postgres", "CREATE DATABASE " + Ident(name));
  if (!done.ok()) return done.status();
  return name;
}

absl::Status PostgresServer::DropDatabase(const std::string& db) {
  return Query("postgres", "DROP DATABASE IF EXISTS " + Ident(db) + " WITH (FORCE)").status();
}

absl::Status PostgresServer::AddPasswordRole(const std::string& role, const std::string& password) {
  const std::string hba = dir_ + "/data/pg_hba.conf";
  std::string rules;
  {
    std::ifstream in(hba);
    std::stringstream all;
    all << in.rdbuf();
    rules = all.str();
  }
  {
    // The first line that matches decides: this one before initdb's trust.
    std::ofstream out(hba, std::ios::trunc);
    out << "local all " << role << " scram-sha-256\n" << rules;
    if (!out.flush()) return absl::UnavailableError(absl::StrCat("cannot write ", hba));
  }
  absl::StatusOr<std::string> done =
      Query("postgres",
            absl::StrCat("CREATE ROLE ", Ident(role), " LOGIN CREATEDB PASSWORD '", password, "'"));
  if (!done.ok()) return done.status();
  return Query("postgres", "SELECT pg_reload_conf()").status();
}

absl::StatusOr<std::string> PostgresServer::Query(const std::string& db,
                                                  const std::string& sql) const {
  PGconn* conn = PQconnectdb(Dsn(db).c_str());
  absl::StatusOr<std::string> out;
  if (PQstatus(conn) != CONNECTION_OK) {
    out = absl::UnavailableError(
        absl::StrCat("cannot connect to the test's PostgreSQL: ", PQerrorMessage(conn)));
  } else {
    PGresult* r = PQexec(conn, sql.c_str());
    const ExecStatusType status = PQresultStatus(r);
    if (status == PGRES_TUPLES_OK) {
      out = PQntuples(r) > 0 && PQnfields(r) > 0 ? std::string(PQgetvalue(r, 0, 0)) : "";
    } else if (status == PGRES_COMMAND_OK) {
      out = "";
    } else {
      out = absl::InternalError(
          absl::StrCat("test SQL failed: ", sql, ": ", PQresultErrorMessage(r)));
    }
    PQclear(r);
  }
  PQfinish(conn);
  return out;
}

std::string PostgresServer::LogTail() const {
  std::ifstream in(dir_ + "/server.log");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  const size_t from = lines.size() > 20 ? lines.size() - 20 : 0;
  return absl::StrJoin(lines.begin() + from, lines.end(), "\n");
}

}  // namespace gatehouse::testing
