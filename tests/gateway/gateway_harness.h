// Real gatehoused processes on loopback for integration tests: a cluster of
// organisations sharing one directory, each gateway started, killed and
// restarted as a child process, and clients with any certificate of the
// test PKI.
//
// Not thread-safe: one test thread drives it.
#ifndef GATEHOUSE_TESTS_GATEWAY_GATEWAY_HARNESS_H_
#define GATEHOUSE_TESTS_GATEWAY_GATEWAY_HARNESS_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "proto/error_details.h"
#include "absl/time/time.h"
#include "gatehouse/v1/audit.pb.h"
#include "gatehouse/v1/directory.pb.h"
#include "gatehouse/v1/exchange.grpc.pb.h"
#include "gtest/gtest.h"
#include "audit/log_verifier.h"
#include "envelope/header.h"
#include "envelope/keyset.h"
#include "gatehouse/v1/peer.grpc.pb.h"
#include "tests/gateway/test_pki.h"

namespace gatehouse {

// The policy every cluster gateway enforces unless a test writes another.
extern const char kTestPolicy[];

// The envelope labels a sending gateway would seal `labels` under.
envelope::RecordLabels EnvelopeLabels(const v1::Labels& labels, const std::string& record_id,
                                      const std::string& from, const std::string& to,
                                      int64_t created_unix_ms);

// A TCP port on 127.0.0.1 held for this process until the returned socket
// is closed: the socket is bound (not listening) with SO_REUSEPORT, so a
// gateway (gRPC sets SO_REUSEPORT) can listen on it while no other bind(0) in
// any process is handed the same port. Tests run in parallel; a port that
// was merely "free a moment ago" was once handed to two gateways of two
// tests, which then shared its connections.
struct ReservedPort {
  int port = 0;
  int fd = -1;
};
ReservedPort ReservePort();

class Cluster {
 public:
  // Organisations from the test PKI: nhs-trust-a, council-a, police-a.
  Cluster();
  ~Cluster();  // SIGKILLs whatever is still running.

  // Writes `org`'s config (with `extra_json` fields appended, e.g.
  // R"("maxPayloadBytes": 1024)") and starts its gateway; returns false (and
  // prints the log) if it did not come up within 15 s. `org` may name a
  // further replica of an organisation, "nhs-trust-a#2": the same keys and
  // certificates, ports, data directory and log of its own (the directory
  // keeps listing the organisation's first gateway); every call that takes
  // an org takes such a name.
  bool Start(const std::string& org, const std::string& extra_json = "");
  // The organisation of a gateway's name ("nhs-trust-a#2" -> "nhs-trust-a").
  static std::string OrgOf(const std::string& name) { return name.substr(0, name.find('#')); }
  // Sends `sig` to org's running gatehoused.
  void Signal(const std::string& org, int sig);
  // SIGTERM, wait; returns the exit status (0 for a clean drain).
  int Stop(const std::string& org);
  // SIGKILL, wait.
  void Kill(const std::string& org);
  // Starts again with the same config and data.
  bool Restart(const std::string& org) { return Start(org, extra_[org]); }
  // Runs another gateway with `org`'s config (as Start last wrote it) while
  // the first may still run; waits up to 60 s for it to exit and returns its
  // exit status (-1 if it did not exit: it is then killed), its log in *log.
  int RunAnother(const std::string& org, std::string* log);

  // An Exchange client of `org`'s gateway using certificate `cert` (a path
  // prefix in the PKI, e.g. "nhs-trust-a/ehr" or "bad/expired"). The client
  // expects the server to be `org`'s gateway.
  std::unique_ptr<v1::Exchange::Stub> Client(const std::string& org, const std::string& cert,
                                             const TestPki& pki = TestPki::Get());
  // A channel to `org`'s client port presenting `cert`, for generic calls.
  std::shared_ptr<grpc::Channel> ClientChannel(const std::string& org, const std::string& cert);
  // A Peer client of `org`'s gateway presenting `cert`.
  std::unique_ptr<v1::Peer::Stub> PeerClient(const std::string& org, const std::string& cert);

  // Rows in `org`'s store: SQL `SELECT COUNT(*) FROM <table> WHERE <where>`.
  int64_t Count(const std::string& org, const std::string& table,
                const std::string& where = "1");

  // Replaces the directory file with one where `org`'s gateway address is
  // `address` (other entries unchanged). Gateways reload it within a second.
  void SetAddress(const std::string& org, const std::string& address);
  // As SetAddress, for `org`'s accreditation.
  void SetAccreditation(const std::string& org, const std::string& level) {
    accreditation_[org] = level;
    WriteDirectory();
  }
  // The next directory (version one higher), not yet written.
  v1::Directory MakeDirectory();
  // Signs `directory` with the cluster's directory authority, valid until
  // `not_after` (a day from now by default), and writes it.
  void WriteSignedDirectory(const v1::Directory& directory,
                            absl::Time not_after = absl::InfiniteFuture());
  // Writes `bytes` as the directory file as they are.
  void WriteRawDirectory(const std::string& bytes);

  // A policy bundle of `text`, signed by the first `signatures` of the two
  // officers the gateways trust, needing `required` signatures.
  std::string MakePolicyBundle(const std::string& text, int signatures,
                               const std::string& version, int required);
  // Writes a bundle of `text` signed by `signatures` officers as `file`
  // (policy.bundle is what every gateway enforces).
  void WritePolicy(const std::string& text, int signatures = 1,
                   const std::string& version = "v1", const std::string& file = "policy.bundle");
  void WriteRawPolicy(const std::string& bytes, const std::string& file = "policy.bundle");

  // An envelope sealed and signed by `from`'s gateway keys to `to`, as that
  // gateway would send it (labels.recipient_org is ignored: `to` is used).
  std::string SealAs(const std::string& from, const std::string& to, const v1::Labels& labels,
                     const std::string& payload, const std::string& record_id,
                     int64_t created_unix_ms, const std::string& sender_system = "ehr");

  // Verifies `org`'s audit log offline from genesis (signatures, roots,
  // cosignatures by the other gateways).
  absl::StatusOr<audit::VerifyReport> VerifyAuditLog(const std::string& org);
  // Every entry of `org`'s audit log; only while its gateway is stopped.
  std::vector<v1::AuditEntry> AuditEntries(const std::string& org);
  std::string AuditDir(const std::string& org) { return dir_ + "/data-" + org + "/audit"; }

  // The admin port `org`'s gateway wrote to its ports file (0 if none).
  int AdminPort(const std::string& org) { return PortFromFile(org, "adminPort"); }
  // Its plain-text gRPC health port (0 if none).
  int HealthPort(const std::string& org) { return PortFromFile(org, "healthPort"); }

  // Issues a new certificate from the shared test CA for `uri` (e.g.
  // psn://org/nhs-trust-a/system/ehr), for clients and servers; returns its
  // path prefix in the PKI, for Client() and ClientChannel().
  std::string IssueCertificate(const std::string& uri);
  // Revokes `cert` (a path prefix from IssueCertificate) in `org`'s CRL
  // directory only; its gateway re-reads the CRLs within a second.
  void RevokeFor(const std::string& org, const std::string& cert);

  int client_port(const std::string& org) { return client_port_[org]; }
  int peer_port(const std::string& org) { return peer_port_[org]; }
  const std::string& dir() const { return dir_; }
  std::string Log(const std::string& org);
  std::string ConfigPath(const std::string& org) { return dir_ + "/" + org + ".json"; }
  // The directory holding `org`'s TLS files (copies, so tests may replace them).
  std::string TlsDir(const std::string& org) { return dir_ + "/tls-" + org; }

 private:
  void WriteDirectory();
  int PortFromFile(const std::string& org, const std::string& key);

  std::string dir_;
  std::vector<std::string> orgs_;
  std::map<std::string, int> client_port_, peer_port_;
  std::map<std::string, std::string> address_override_, extra_, accreditation_;
  std::unique_ptr<envelope::Keyset> authority_;
  std::map<std::string, v1::Organisation> entries_;  // public keys per org
  std::vector<std::string> officer_secret_;
  uint64_t directory_version_ = 0;
  std::map<std::string, pid_t> pids_;
  std::vector<int> reserved_fds_;  // closed by the destructor
};

// Runs a call with a 30 s deadline (generous: CI machines may be loaded).
template <typename Stub, typename Req, typename Resp>
grpc::Status Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                  Stub& stub, const Req& req, Resp* resp) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return (stub.*method)(&ctx, req, resp);
}

// Polls `cond` every 100 ms for up to `seconds`; its last answer.
template <typename F>
bool Eventually(F cond, int seconds = 20) {
  for (int i = 0; i < seconds * 10; ++i) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return cond();
}

// Up to 1000 records waiting for the stub's system (not acknowledged); the
// call failing is a test failure.
inline v1::FetchResponse FetchAll(v1::Exchange::Stub& stub) {
  v1::FetchRequest req;
  req.set_max_records(1000);
  v1::FetchResponse resp;
  grpc::Status s = Call(&v1::Exchange::Stub::Fetch, stub, req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp;
}

// The status a client received, with the richer error model's details
// (grpc-status-details-bin) unpacked: read them with ErrorInfoOf,
// BadRequestOf, RetryInfoOf (proto/error_details.h). Without details, just
// the code and message.
absl::Status Details(const grpc::Status& s);

// Calls unary `method` ("/package.Service/Method") over `channel` with
// `request` as the message's bytes, as they are (they need not parse);
// the response's bytes into *response.
grpc::Status RawUnaryCall(const std::shared_ptr<grpc::Channel>& channel,
                          const std::string& method, const std::string& request,
                          std::string* response);

// Calls streaming `method` over `channel` as a bidirectional stream (the
// server cannot tell): writes each of `requests` as the bytes of one
// message (they need not parse), half-closes, and reads the bytes of every
// response into *responses; having read `max_responses`, cancels the call.
grpc::Status RawStreamCall(const std::shared_ptr<grpc::Channel>& channel,
                           const std::string& method, const std::vector<std::string>& requests,
                           std::vector<std::string>* responses,
                           size_t max_responses = SIZE_MAX);

// grpc.health.v1.Health/Check of `service` (under 128 bytes; empty: the
// whole server) over `channel`: the response's bytes ("\x08\x01" SERVING,
// "\x08\x02" NOT_SERVING), or the call's error.
absl::StatusOr<std::string> HealthCheck(const std::shared_ptr<grpc::Channel>& channel,
                                        const std::string& service = "");

// Server reflection's list_services over `channel` (a hand-encoded
// ServerReflectionRequest: field 7 list_services = "*"): the first
// response's bytes, or the call's error.
absl::StatusOr<std::string> ListServices(const std::shared_ptr<grpc::Channel>& channel);

// Runs `command` in a shell; its exit status (0 for success; as
// WEXITSTATUS, or -1 if it did not exit), its output and errors in *out.
int RunCommand(const std::string& command, std::string* out);

// GET http://127.0.0.1:port/path; returns "<code>\n<body>", or "" on error.
std::string HttpGet(int port, const std::string& path);

// A ready-made Submit from nhs-trust-a's ehr to council-a.
v1::SubmitRequest SampleSubmit(const std::string& payload = "{\"note\":\"discharge\"}");

}  // namespace gatehouse

#endif  // GATEHOUSE_TESTS_GATEWAY_GATEWAY_HARNESS_H_
