// The workbench's HTTP server, on Debian's cpp-httplib: serves the page
// (static_files.h) and the JSON API (workbench_api.h) on a loopback
// address over HTTP, or on any address over mutual TLS with officers'
// certificates (tls_stream.h), with the guards of request_guard.h on every request and each
// analysis run in a child that is stopped at its deadline (bounded_run.h).
// Over TLS, every request first checks its connection's certificate against
// the officers' CA's CRLs as they are now: a revoked one is answered 403.
// Every answer carries a Content-Security-Policy without 'unsafe-inline'
// or 'unsafe-eval', X-Content-Type-Options: nosniff, and no-store.
//
// Routes: GET of the page's files (static_files.h); POST /api/session {} ->
// {policy, policy_file, cases, against}, what the page opens with (the
// files given at start-up, the draft's file name, and the bundle's source); POST /api/check, /api/format, /api/ask,
// /api/compare, /api/test, /api/flows, /api/approve/*, /api/observe
// (workbench_api.h), each in a bounded child.
//
// Limits: a whole request must arrive within `read_allowance` of its
// connection; one request a connection; a body over kMaxBodyBytes is read
// and dropped (within the same allowance) and answered 413.
//
// Thread-safe: handlers run on the server's worker threads; Stop() from any
// thread.
//
// Example:
//   ASSIGN_OR_RETURN(auto server, WorkbenchServer::Start(options, std::move(api),
//                                                        std::move(files)));
//   std::printf("http://127.0.0.1:%d/\n", server->port());
//   ... wait for a signal ...; server->Stop();
#ifndef GATEHOUSE_TOOLS_WORKBENCH_WORKBENCH_SERVER_H_
#define GATEHOUSE_TOOLS_WORKBENCH_WORKBENCH_SERVER_H_

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "tools/workbench/bounded_run.h"
#include "tools/workbench/static_files.h"
#include "tools/workbench/tls_stream.h"
#include "tools/workbench/workbench_api.h"

namespace gatehouse::workbench {

struct WorkbenchOptions {
  // An IPv4 host:port (port 0 picks one): loopback unless `tls` is given.
  std::string listen = "127.0.0.1:8470";
  // Mutual TLS with officers' client certificates, revoked by the CRLs of
  // tls.crl_dir (tls_stream.h); empty: plain HTTP, on loopback only.
  TlsFiles tls;
  // What the page opens with: the draft, the officer's cases.
  std::string policy_text;
  std::string cases_text;
  // The name Save gives the draft it downloads: --policy's file name.
  std::string policy_file_name = "draft.ghp";
  BoundedRunOptions analysis;
  std::chrono::milliseconds read_allowance{10000};
};

// The address to listen on, or InvalidArgument: not an IPv4 host:port, or
// not loopback (127.0.0.0/8) while `mutual_tls` is false: serving other
// hosts needs mutual TLS with the officers' certificates.
absl::StatusOr<std::pair<std::string, int>> ParseListen(const std::string& listen,
                                                        bool mutual_tls);
inline absl::StatusOr<std::pair<std::string, int>> ParseLoopbackListen(
    const std::string& listen) {
  return ParseListen(listen, /*mutual_tls=*/false);
}

class WorkbenchServer {
 public:
  // Binds and starts serving. InvalidArgument for a bad `listen`, TLS file
  // or CRL (or FailedPrecondition: none of the officers' CA; see
  // TlsContext::Create), Unavailable if it cannot bind.
  static absl::StatusOr<std::unique_ptr<WorkbenchServer>> Start(WorkbenchOptions options,
                                                                Api api, StaticFiles files);
  ~WorkbenchServer();

  int port() const { return port_; }
  // The page's CSRF token (for tests that post as the page does).
  const std::string& token() const;
  // Stops accepting and waits for requests being served; idempotent.
  void Stop();

  class HttpServer;  // httplib's server with the limits above

 private:
  WorkbenchServer(std::unique_ptr<HttpServer> http, int port);

  std::unique_ptr<HttpServer> http_;
  const int port_;
  std::atomic<bool> listen_ended_{false};
  std::thread thread_;
};

}  // namespace gatehouse::workbench

#endif  // GATEHOUSE_TOOLS_WORKBENCH_WORKBENCH_SERVER_H_
