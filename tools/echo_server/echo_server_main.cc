// echo_server: a bare mutual-TLS gRPC echo server, the baseline that the
// gateway's end-to-end figures are compared with (scripts/bench.sh).
//
//   echo_server --listen HOST:PORT --cert F --key F --ca F --crl-dir D
//               [--ports-file F]
//
// Serves /gatehouse.bench.Echo/Echo with the callback API and a generic
// service: each call's request bytes come back unchanged, with no protobuf
// parsing. Any other method is UNIMPLEMENTED. Clients must present a
// certificate that chains to --ca and is not revoked by a CRL in --crl-dir,
// exactly as for the gateway's listeners (same credentials code,
// gateway/tls.h). With port 0 the bound port is written to --ports-file as
// {"port": N}. Runs until SIGTERM or SIGINT.
//
// Exit: 0 after a signal, 1 if it cannot start, 2 on usage.
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include "gateway/tls.h"

namespace gatehouse::bench {
namespace {

constexpr const char* kEchoMethod = "/gatehouse.bench.Echo/Echo";

// One call: read the single request message, write it back, finish.
class EchoReactor : public grpc::ServerGenericBidiReactor {
 public:
  explicit EchoReactor(bool known_method) {
    if (!known_method) {
      Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "only " + std::string(kEchoMethod)));
      return;
    }
    StartRead(&buffer_);
  }
  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request message"));
      return;
    }
    StartWriteAndFinish(&buffer_, grpc::WriteOptions(), grpc::Status::OK);
  }
  void OnDone() override { delete this; }

 private:
  grpc::ByteBuffer buffer_;
};

class EchoService : public grpc::CallbackGenericService {
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    return new EchoReactor(context->method() == kEchoMethod);
  }
};

int Usage() {
  std::fprintf(stderr,
               "usage: echo_server --listen HOST:PORT --cert F --key F --ca F --crl-dir D "
               "[--ports-file F]\n");
  return 2;
}

int Main(int argc, char** argv) {
  std::string listen, ports_file;
  v1::TlsConfig tls;
  for (int i = 1; i < argc; ++i) {
    if (i + 1 >= argc) return Usage();
    std::string flag = argv[i], value = argv[++i];
    if (flag == "--listen") listen = value;
    else if (flag == "--cert") tls.set_cert_file(value);
    else if (flag == "--key") tls.set_key_file(value);
    else if (flag == "--ca") tls.set_ca_file(value);
    else if (flag == "--crl-dir") tls.set_crl_dir(value);
    else if (flag == "--ports-file") ports_file = value;
    else return Usage();
  }
  if (listen.empty()) return Usage();

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> creds = MakeServerCredentials(tls);
  if (!creds.ok()) {
    std::fprintf(stderr, "echo_server: %s\n", std::string(creds.status().message()).c_str());
    return 1;
  }
  EchoService service;
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
    std::string tmp = ports_file + ".tmp";
    { std::ofstream(tmp) << "{\"port\": " << port << "}\n"; }
    if (std::rename(tmp.c_str(), ports_file.c_str()) != 0) {
      std::fprintf(stderr, "echo_server: cannot write %s\n", ports_file.c_str());
      return 1;
    }
  }
  std::fprintf(stderr, "echo_server: listening on port %d\n", port);
  int sig = 0;
  sigwait(&signals, &sig);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  return 0;
}

}  // namespace
}  // namespace gatehouse::bench

int main(int argc, char** argv) { return gatehouse::bench::Main(argc, argv); }
