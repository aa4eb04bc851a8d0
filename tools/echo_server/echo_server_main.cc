// echo_server: a bare mutual-TLS gRPC echo server, the baseline that the
// gateway's end-to-end figures are compared with (scripts/bench.sh).
//
//   echo_server --listen HOST:PORT --cert F --key F --ca F --crl-dir D
//               [--ports-file F] [--relay-to HOST:PORT --relay-uri URI]
//
// Serves /gatehouse.bench.Echo/Echo with the callback API and a generic
// service: each call's request bytes come back unchanged, with no protobuf
// parsing. Any other method is UNIMPLEMENTED. Clients must present a
// certificate that chains to --ca and is not revoked by a CRL in --crl-dir,
// exactly as for the gateway's listeners (same credentials code,
// transport/tls.h). With port 0 the bound port is written to --ports-file as
// {"port": N}. Runs until SIGTERM or SIGINT.
//
// With --relay-to it is a relay instead: each call's request bytes go on,
// unparsed, in a call of its own (callback API, one channel, mutual TLS
// with the same certificate; the upstream must present --relay-uri) to the
// echo server at HOST:PORT, and its answer comes back. That is the shape of
// a gateway's record path (client -> gateway -> peer) with no work on it:
// what two mutual-TLS gRPC hops of our own stack cost, beside nginx.
//
// Exit: 0 after a signal, 1 if it cannot start, 2 on usage (docs/cli.md).
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "audit/posix_file.h"
#include "tools/cli/cli.h"
#include "transport/tls.h"

namespace gatehouse::bench {
namespace {

constexpr const char* kEchoMethod = "/gatehouse.bench.Echo/Echo";

// One call: read the single request message, then either write it back or,
// relaying, make the same call upstream and answer with what upstream
// answered (its status too).
class EchoReactor : public grpc::ServerGenericBidiReactor {
 public:
  // Relays to `upstream` if it is not null.
  EchoReactor(bool known_method, grpc::GenericStub* upstream) : upstream_(upstream) {
    if (!known_method) {
      Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "only " + std::string(kEchoMethod)));
      return;
    }
    StartRead(&request_);
  }
  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request message"));
      return;
    }
    if (upstream_ == nullptr) {
      StartWriteAndFinish(&request_, grpc::WriteOptions(), grpc::Status::OK);
      return;
    }
    upstream_->UnaryCall(&upstream_context_, kEchoMethod, grpc::StubOptions(), &request_,
                         &response_, [this](grpc::Status status) {
                           if (!status.ok()) {
                             Finish(status);
                           } else {
                             StartWriteAndFinish(&response_, grpc::WriteOptions(),
                                                 grpc::Status::OK);
                           }
                         });
  }
  void OnDone() override { delete this; }

 private:
  grpc::GenericStub* const upstream_;
  grpc::ClientContext upstream_context_;
  grpc::ByteBuffer request_, response_;
};

class EchoService : public grpc::CallbackGenericService {
 public:
  // Relays to `upstream` if it is not null; echoes otherwise.
  explicit EchoService(grpc::GenericStub* upstream) : upstream_(upstream) {}

 private:
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    return new EchoReactor(context->method() == kEchoMethod, upstream_);
  }

  grpc::GenericStub* const upstream_;
};


int Main(int argc, char** argv) {
  CLI::App app{"echo_server: a bare mutual-TLS gRPC echo server (or, with --relay-to, a relay to\n"
               "one), the baseline the gateway's end-to-end figures are compared with\n"
               "(scripts/bench.sh). Runs until SIGTERM or SIGINT.",
               "echo_server"};
  cli::Configure(app);
  std::string listen, ports_file, relay_to, relay_uri, cert, key, ca, crl_dir;
  app.add_option("--listen", listen, "Where to listen (port 0: any)")
      ->type_name("HOST:PORT")
      ->required();
  app.add_option("--cert", cert, "Server certificate")->type_name("F")->required();
  app.add_option("--key", key, "Its private key")->type_name("F")->required();
  app.add_option("--ca", ca, "CA of the clients' certificates")->type_name("F")->required();
  app.add_option("--crl-dir", crl_dir, "Certificate revocation lists")
      ->type_name("D")
      ->required();
  app.add_option("--ports-file", ports_file, "Write {\"port\": N} here once listening")
      ->type_name("F");
  CLI::Option* to = app.add_option("--relay-to", relay_to,
                                   "Relay each call to the echo server there instead")
                        ->type_name("HOST:PORT");
  CLI::Option* uri = app.add_option("--relay-uri", relay_uri,
                                    "The psn:// SAN URI the upstream must present")
                         ->type_name("URI");
  to->needs(uri);
  uri->needs(to);
  if (std::optional<int> exit = cli::Parse(app, argc, argv)) return *exit;
  v1::TlsConfig tls;
  tls.set_cert_file(cert);
  tls.set_key_file(key);
  tls.set_ca_file(ca);
  tls.set_crl_dir(crl_dir);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // The same handshake checks as a gateway's, revocation included.
  absl::StatusOr<std::unique_ptr<Revocations>> revocations = Revocations::Load(tls);
  if (!revocations.ok()) {
    std::fprintf(stderr, "echo_server: %s\n", std::string(revocations.status().message()).c_str());
    return 1;
  }
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> creds =
      MakeServerCredentials(tls, *std::move(revocations));
  if (!creds.ok()) {
    std::fprintf(stderr, "echo_server: %s\n", std::string(creds.status().message()).c_str());
    return 1;
  }
  std::unique_ptr<grpc::GenericStub> upstream;
  if (!relay_to.empty()) {
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> client =
        MakeChannelCredentials(tls, relay_uri);
    if (!client.ok()) {
      std::fprintf(stderr, "echo_server: %s\n", std::string(client.status().message()).c_str());
      return 1;
    }
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(64 << 20);
    args.SetMaxReceiveMessageSize(64 << 20);
    upstream = std::make_unique<grpc::GenericStub>(
        grpc::CreateCustomChannel(relay_to, *client, args));
  }
  EchoService service(upstream.get());
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen, *creds, &port);
  builder.SetMaxReceiveMessageSize(64 << 20);
  builder.SetMaxSendMessageSize(64 << 20);
  builder.RegisterCallbackGenericService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "echo_server: cannot listen on %s\n", listen.c_str());
    return 1;
  }
  if (!ports_file.empty()) {
    absl::Status written = audit::WriteFileAtomically(
        ports_file, "{\"port\": " + std::to_string(port) + "}\n", 0644);
    if (!written.ok()) {
      std::fprintf(stderr, "echo_server: %s\n", written.ToString().c_str());
      return 1;
    }
  }
  std::fprintf(stderr, "echo_server: listening on port %d%s%s\n", port,
               relay_to.empty() ? "" : ", relaying to ", relay_to.c_str());
  int sig = 0;
  sigwait(&signals, &sig);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  return 0;
}

}  // namespace
}  // namespace gatehouse::bench

int main(int argc, char** argv) { return gatehouse::bench::Main(argc, argv); }
