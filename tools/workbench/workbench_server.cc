#include "tools/workbench/workbench_server.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "http/deadline_stream.h"
#include "tools/workbench/request_guard.h"

namespace gatehouse::workbench {
namespace {

constexpr int kWorkers = 8;
constexpr char kTokenPlaceholder[] = "__WORKBENCH_TOKEN__";
constexpr char kJson[] = "application/json; charset=utf-8";

// Scripts and styles only from the workbench itself; nothing inline, no
// eval, no frames, no form posts, no other hosts. Images may be data: URLs
// (CodeMirror's lint.css draws its markers so); an image runs no script.
constexpr char kContentSecurityPolicy[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

void Refuse(httplib::Response& res, const Refusal& r) {
  res.status = r.http_status;
  res.set_content(ToJson(Object({{"error", Str(r.message)}})), kJson);
}

RequestHead HeadOf(const httplib::Request& req) {
  RequestHead h;
  h.host = req.get_header_value("Host");
  h.origin = req.get_header_value("Origin");
  h.content_type = req.get_header_value("Content-Type");
  h.token = req.get_header_value(kTokenHeader);
  h.content_length = req.get_header_value("Content-Length");
  h.transfer_encoding = req.get_header_value("Transfer-Encoding");
  return h;
}

// The child's answer is "<http status>\n<json>".
std::string PackAnswer(const ApiAnswer& a) { return absl::StrCat(a.http_status, "\n", a.json); }

ApiAnswer UnpackAnswer(const std::string& packed) {
  const size_t nl = packed.find('\n');
  int status = 0;
  if (nl == std::string::npos || !absl::SimpleAtoi(packed.substr(0, nl), &status)) {
    return ErrorAnswer(absl::InternalError("the analysis gave no answer"));
  }
  return ApiAnswer{status, packed.substr(nl + 1)};
}

}  // namespace

absl::StatusOr<std::pair<std::string, int>> ParseListen(const std::string& listen,
                                                        bool mutual_tls) {
  std::pair<std::string, std::string> hp = absl::StrSplit(listen, absl::MaxSplits(':', 1));
  int port = 0;
  in_addr addr{};
  if (!absl::SimpleAtoi(hp.second, &port) || port < 0 || port > 65535 ||
      inet_pton(AF_INET, hp.first.c_str(), &addr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen '", listen, "' is not an IPv4 host:port like 127.0.0.1:8470"));
  }
  if (!mutual_tls && (ntohl(addr.s_addr) >> 24) != 127) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--listen ", listen, " is not a loopback address: to serve other machines the "
        "workbench requires mutual TLS with officers' certificates (give --tls-cert, "
        "--tls-key, --client-ca and --crl-dir); or reach it through an SSH tunnel"));
  }
  return std::make_pair(hp.first, port);
}

class WorkbenchServer::HttpServer : public httplib::Server {
 public:
  HttpServer(WorkbenchOptions options, Api api, StaticFiles files,
             std::unique_ptr<TlsContext> tls)
      : options_(std::move(options)),
        tls_(std::move(tls)),
        api_(std::move(api)),
        files_(std::move(files)),
        runner_(options_.analysis),
        token_(NewToken()) {
    new_task_queue = [] { return new httplib::ThreadPool(kWorkers); };
    set_payload_max_length(kMaxBodyBytes);
    set_socket_options([](socket_t fd) {  // no SO_REUSEPORT: one server a port
      int one = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    });
    set_default_headers({{"Content-Security-Policy", kContentSecurityPolicy},
                         {"X-Content-Type-Options", "nosniff"},
                         {"X-Frame-Options", "DENY"},
                         {"Referrer-Policy", "no-referrer"},
                         {"Cross-Origin-Resource-Policy", "same-origin"},
                         {"Cache-Control", "no-store"}});
    set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      return PreRoute(req, res);
    });
    set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (!res.body.empty()) return;
      Refuse(res, {res.status, res.status == 413
                                   ? absl::StrCat("the request body is larger than the ",
                                                  kMaxBodyBytes, " bytes (1 MiB) the workbench "
                                                  "reads")
                                   : absl::StrCat("request refused (HTTP ", res.status, ")")});
    });
    Get(".*", [this](const httplib::Request& req, httplib::Response& res) { Serve(req, res); });
    Post("/api/session", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(ToJson(Object({{"policy", Str(options_.policy_text)},
                                     {"policy_file", Str(options_.policy_file_name)},
                                     {"cases", Str(options_.cases_text)},
                                     {"against", Str(api_.BundleSource())}})),
                      kJson);
    });
    Post("/api/.*", [this](const httplib::Request& req, httplib::Response& res) {
      Analyse(req, res);
    });
  }

  void SetPort(int port) { guard_.emplace(token_, port, /*https=*/tls_ != nullptr); }
  const std::string& token() const { return token_; }

 private:
  // Before any body is read: over TLS the officer's certificate against
  // the CRLs as they are now (a connection made before its certificate was
  // revoked gets no further; answered, then closed, as every connection
  // is after one request), then the host, and for a POST everything of
  // request_guard.h but the body.
  HandlerResponse PreRoute(const httplib::Request& req, httplib::Response& res) {
    std::optional<Refusal> refusal = CheckOfficer(req);
    if (!refusal) refusal = CheckHead(req);
    if (!refusal) return HandlerResponse::Unhandled;
    Refuse(res, *refusal);
    return HandlerResponse::Handled;
  }

  // Over TLS, 403 if the connection's certificate is revoked (or missing).
  std::optional<Refusal> CheckOfficer(const httplib::Request& req) const {
    if (tls_ == nullptr) return std::nullopt;
    absl::Status s = tls_->CheckPeer(req.ssl);
    if (s.ok()) return std::nullopt;
    return Refusal{403, std::string(s.message())};
  }

  // The host; for a POST, everything of request_guard.h but the body.
  std::optional<Refusal> CheckHead(const httplib::Request& req) const {
    if (req.method == "GET" || req.method == "HEAD") {
      return guard_->CheckHost(req.get_header_value("Host"));
    }
    if (req.method != "POST") return Refusal{405, "only GET and POST"};
    std::optional<Refusal> refusal = guard_->CheckHead(HeadOf(req));
    // Too long a body is httplib's to read and drop, then answer 413.
    if (refusal && refusal->http_status == 413) return std::nullopt;
    return refusal;
  }

  void Serve(const httplib::Request& req, httplib::Response& res) {
    const StaticFile* f = files_.Find(req.path);
    if (f == nullptr) {
      Refuse(res, {404, absl::StrCat("no page ", req.path)});
      return;
    }
    if (req.path == "/" || req.path == "/index.html") {
      res.set_content(absl::StrReplaceAll(f->body, {{kTokenPlaceholder, token_}}),
                      f->content_type.c_str());
      return;
    }
    res.set_content(f->body, f->content_type.c_str());
  }

  void Analyse(const httplib::Request& req, httplib::Response& res) {
    if (auto refusal = RequestGuard::CheckBody(req.body)) {
      Refuse(res, *refusal);
      return;
    }
    const std::string& path = req.path;
    const std::string& body = req.body;
    absl::StatusOr<std::string> packed =
        runner_.Run([&] { return PackAnswer(api_.Handle(path, body)); });
    const ApiAnswer a = packed.ok() ? UnpackAnswer(*packed) : ErrorAnswer(packed.status());
    res.status = a.http_status;
    res.set_content(a.json, kJson);
  }

  bool process_and_close_socket(socket_t sock) override {
    bool closed = false;
    {
      DeadlineStream stream(sock, options_.read_allowance, options_.read_allowance);
      if (tls_ == nullptr) {
        process_request(stream, /*close_connection=*/true, closed, nullptr);
      } else if (std::unique_ptr<TlsStream> tls = tls_->Accept(stream)) {
        process_request(*tls, /*close_connection=*/true, closed,
                        [&](httplib::Request& req) { req.ssl = tls->ssl(); });  // for PreRoute
      }  // else no officer's certificate, or a revoked one: closed unread
    }
    shutdown(sock, SHUT_RDWR);
    close(sock);
    return true;
  }

  const WorkbenchOptions options_;
  const std::unique_ptr<TlsContext> tls_;  // null: plain HTTP
  const Api api_;
  const StaticFiles files_;
  BoundedRunner runner_;
  const std::string token_;
  std::optional<RequestGuard> guard_;  // set before serving
};

WorkbenchServer::WorkbenchServer(std::unique_ptr<HttpServer> http, int port)
    : http_(std::move(http)), port_(port) {}

absl::StatusOr<std::unique_ptr<WorkbenchServer>> WorkbenchServer::Start(WorkbenchOptions options,
                                                                        Api api,
                                                                        StaticFiles files) {
  auto listen = ParseListen(options.listen, !options.tls.empty());
  if (!listen.ok()) return listen.status();
  const auto [host, port] = *listen;
  std::unique_ptr<TlsContext> tls;
  if (!options.tls.empty()) {
    auto made = TlsContext::Create(options.tls);
    if (!made.ok()) return made.status();
    tls = *std::move(made);
  }
  auto http = std::make_unique<HttpServer>(std::move(options), std::move(api), std::move(files),
                                           std::move(tls));
  http->set_address_family(AF_INET);
  const int bound = port == 0 ? http->bind_to_any_port(host)
                              : (http->bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", host, ":", port, ": ",
                                               std::strerror(errno)));
  }
  http->SetPort(bound);
  std::unique_ptr<WorkbenchServer> server(new WorkbenchServer(std::move(http), bound));
  server->thread_ = std::thread([s = server.get()] {
    s->http_->listen_after_bind();
    s->listen_ended_ = true;
  });
  // httplib's stop() does nothing until the server runs: wait for that.
  while (!server->http_->is_running() && !server->listen_ended_) std::this_thread::yield();
  if (server->listen_ended_) {
    server->thread_.join();
    return absl::UnavailableError(absl::StrCat("the server on ", host, ":", bound,
                                               " stopped at once"));
  }
  return server;
}

WorkbenchServer::~WorkbenchServer() { Stop(); }

const std::string& WorkbenchServer::token() const { return http_->token(); }

void WorkbenchServer::Stop() {
  http_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace gatehouse::workbench
