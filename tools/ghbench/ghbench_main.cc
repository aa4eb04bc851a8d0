// ghbench: an asynchronous (callback API) gRPC load generator over mutual TLS.
//
//   ghbench --target HOST:PORT --cert F --key F --ca F [--crl-dir D]
//           (--server-uri psn://org/O/gateway | --server-name DNS-NAME)
//           [--mode echo|submit] [--concurrency 64] [--channels 1]
//           [--payload 100] [--duration 10 | --count N] [--warmup 2]
//           [--rate R] [--timeout-ms 30000] [--watch-pid PID]... [--label L] [--json]
//           [--method /package.Service/Method]
//   submit mode: --to ORG [--to-system S] [--type T] [--classification C]
//           [--caveat X]... [--purpose P] [--content-type T]
//   (defaults: discharge_summary, OFFICIAL-SENSITIVE, no caveat, direct_care,
//   application/octet-stream)
//
// Modes: `echo` calls /gatehouse.bench.Echo/Echo (tools/echo_server, or
// anything proxying to it) with `--payload` raw bytes and checks the same
// number comes back. `submit` calls gatehouse.v1.Exchange/Submit on a sending
// gateway with a `--payload`-byte record and the labels given; receipts are
// counted by state (DELIVERED means the receiving gateway holds it).
//
// Server check: --server-uri uses the gateway's own check (the server's
// certificate must carry exactly that psn:// SAN URI); --server-name uses
// ordinary TLS hostname verification against that name (e.g. nginx). In
// submit mode the default is the gateway of the client certificate's org.
//
// One probe call on each channel comes first, so that a wrong address or
// certificate fails plainly (exit 1) before any figure is taken.
// --concurrency calls are kept in flight (closed loop), spread over
// --channels connections. With --rate R, calls start at R a second (open
// loop) with at most --concurrency in flight, latency counted from when each
// was due. Nothing is recorded during --warmup seconds; then the window runs
// for --duration seconds or --count calls.
//
// Reports calls/s, latency p50/p90/p99/p99.9, errors by gRPC code, CPU used
// by ghbench and by each --watch-pid process in the window (cores busy and
// CPU microseconds a call), their peak RSS (VmHWM), and the machine's busy
// cores. Human summary on stdout; with --json the summary goes to stderr and
// stdout gets one JSON line.
//
// Exit: 0 if the window completed calls and none failed, 1 on errors or a
// failed first call, 2 on usage (docs/cli.md).
#include <unistd.h>

#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gatehouse/v1/exchange.pb.h"
#include "common/files.h"
#include "transport/identity.h"
#include "common/log.h"
#include "transport/grpc_status.h"
#include "transport/tls.h"
#include "tools/cli/cli.h"
#include "tools/ghbench/load_generator.h"
#include "tools/ghbench/proc_stats.h"
#include "tools/ghbench/summary.h"

namespace gatehouse::bench {
namespace {

constexpr const char* kEchoMethod = "/gatehouse.bench.Echo/Echo";
constexpr const char* kSubmitMethod = "/gatehouse.v1.Exchange/Submit";

int Usage(const std::string& why) {
  std::fprintf(stderr, "ghbench: %s\nRun with --help for more information.\n", why.c_str());
  return cli::kExitUsage;
}

// The flags given, by name (cli::Values: Has, Get, All).
using Args = cli::Values;

// A numeric flag; false (with *error set) if present and not a number >= min.
template <typename T>
bool Number(const Args& args, const std::string& name, T min, T* out, std::string* error) {
  if (!args.Has(name)) return true;
  bool ok;
  if constexpr (std::is_floating_point_v<T>) {
    ok = absl::SimpleAtod(args.Get(name), out);
  } else {
    ok = absl::SimpleAtoi(args.Get(name), out);
  }
  if (!ok || *out < min) {
    *error = absl::StrCat("--", name, " must be a number >= ", min);
    return false;
  }
  return true;
}

grpc::ByteBuffer ToByteBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string ToString(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const grpc::Slice& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

// Bytes that do not compress, the same on every run.
std::string Payload(size_t n) {
  std::string p(n, '\0');
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    p[i] = static_cast<char>(x);
  }
  return p;
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> Credentials(
    const Args& args, const v1::TlsConfig& tls, grpc::ChannelArguments* channel_args) {
  if (args.Has("server-name")) {
    grpc::SslCredentialsOptions o;
    absl::StatusOr<std::string> ca = ReadFile(tls.ca_file());
    absl::StatusOr<std::string> key = ReadFile(tls.key_file());
    absl::StatusOr<std::string> cert = ReadFile(tls.cert_file());
    for (const auto* s : {&ca, &key, &cert}) {
      if (!s->ok()) return s->status();
    }
    o.pem_root_certs = *ca;
    o.pem_private_key = *key;
    o.pem_cert_chain = *cert;
    channel_args->SetSslTargetNameOverride(args.Get("server-name"));
    return grpc::SslCredentials(o);
  }
  std::string uri = args.Get("server-uri");
  if (uri.empty()) {
    absl::StatusOr<std::string> pem = ReadFile(tls.cert_file());
    if (!pem.ok()) return pem.status();
    absl::StatusOr<Identity> me = IdentityFromCertificatePem(*pem);
    if (!me.ok()) return me.status();
    uri = GatewayUri(me->org);
  }
  return MakeChannelCredentials(tls, uri);
}

// One call on each channel, so that a wrong address or certificate is
// reported plainly before any figure is taken.
grpc::Status Probe(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                   const std::string& method, const grpc::ByteBuffer& request) {
  for (const auto& channel : channels) {
    grpc::GenericStub stub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::ByteBuffer req = request, resp;
    grpc::Status result;
    absl::Notification done;
    stub.UnaryCall(&context, method, grpc::StubOptions(), &req, &resp,
                   [&](grpc::Status s) {
                     result = std::move(s);
                     done.Notify();
                   });
    done.WaitForNotification();
    if (!result.ok()) return result;
  }
  return grpc::Status::OK;
}

// Fills in the method, the request every call sends and how a response is
// judged, for `mode`. Returns a usage error, or "" if the flags were fine.
std::string SetRequest(const Args& args, const std::string& mode, int64_t payload_bytes,
                       LoadOptions* options, ResponseCheck* check) {
  if (mode == "echo") {
    options->method = args.Get("method", kEchoMethod);
    options->request = ToByteBuffer(Payload(payload_bytes));
    const size_t want = static_cast<size_t>(payload_bytes);
    *check = [want](const grpc::ByteBuffer& r) {
      return r.Length() == want ? std::string() : std::string("wrong-size");
    };
    return "";
  }
  v1::SubmitRequest req;
  v1::Labels* l = req.mutable_labels();
  l->set_recipient_org(args.Get("to"));
  l->set_recipient_system(args.Get("to-system"));
  l->set_record_type(args.Get("type", "discharge_summary"));
  l->set_classification(args.Get("classification", "OFFICIAL-SENSITIVE"));
  for (const std::string& c : args.All("caveat")) l->add_caveats(c);
  l->set_purpose(args.Get("purpose", "direct_care"));
  l->set_content_type(args.Get("content-type", "application/octet-stream"));
  if (l->recipient_org().empty()) return "submit mode needs --to ORG";
  req.set_payload(Payload(payload_bytes));
  options->method = args.Get("method", kSubmitMethod);
  options->request = ToByteBuffer(req.SerializeAsString());
  *check = [](const grpc::ByteBuffer& r) {
    v1::SubmitResponse resp;
    if (!resp.ParseFromString(ToString(r))) return std::string("unparsable");
    return v1::RecordState_Name(resp.receipt().state());
  };
  return "";
}

// `n` channels to `target`, each on a connection of its own.
absl::StatusOr<std::vector<std::shared_ptr<grpc::Channel>>> MakeChannels(
    const Args& args, const v1::TlsConfig& tls, const std::string& target, int n) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < n; ++i) {
    grpc::ChannelArguments ch;
    ch.SetMaxSendMessageSize(1 << 30);
    ch.SetMaxReceiveMessageSize(1 << 30);
    ch.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    ch.SetInt("ghbench.channel", i);  // distinct arguments: no shared subchannel
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> creds = Credentials(args, tls, &ch);
    if (!creds.ok()) return creds.status();
    channels.push_back(grpc::CreateCustomChannel(target, *creds, ch));
  }
  return channels;
}

// Warms up, then runs the measured window (duration_s seconds, or until
// options.max_recorded calls if duration_s is 0) with CPU and memory sampled
// at both ends, and summarises it.
struct Measured : Summary {
  bool ok = false;  // calls completed and none failed
};
Measured Measure(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                 const LoadOptions& options, const ResponseCheck& check, const RunInfo& info,
                 const std::vector<pid_t>& watch, double warmup_s, double duration_s) {
  LoadGenerator gen(channels, options, check);
  gen.Start();
  std::this_thread::sleep_for(std::chrono::duration<double>(warmup_s));
  RunSamples s;
  for (pid_t p : watch) s.watched.push_back({p, SampleProcess(p)});
  s.self_before = SampleSelf();
  s.machine_before = SampleMachine();
  gen.BeginMeasuring();
  const auto end = std::chrono::steady_clock::now() +
                   std::chrono::duration<double>(duration_s > 0 ? duration_s : 86400.0);
  while (!gen.Stopped() && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  gen.StopMeasuring();
  s.self_after = SampleSelf();
  s.machine_after = SampleMachine();
  for (WatchedProcess& w : s.watched) w.after = SampleProcess(w.pid);
  s.drained = gen.WaitIdle(absl::Milliseconds(options.timeout_ms) + absl::Seconds(5));
  const LoadResults r = gen.Results();
  Measured m;
  static_cast<Summary&>(m) = Summarise(info, r, gen.latency(), s);
  m.ok = r.ok > 0 && r.errors == 0;
  return m;
}

// The command line: every flag takes one value except --json; --watch-pid
// and --caveat may repeat. Values are checked in Main, as before CLI11.
void AddFlags(CLI::App& app) {
  struct Spec {
    const char* name;
    const char* value;
    const char* help;
  };
  static const Spec kFlags[] = {
      {"target", "HOST:PORT", "Where to send calls (required)"},
      {"cert", "F", "Client certificate (required)"},
      {"key", "F", "Its private key (required)"},
      {"ca", "F", "CA of the server's certificate (required)"},
      {"crl-dir", "D", "Certificate revocation lists"},
      {"server-uri", "URI", "Check the server's certificate carries exactly this psn:// SAN URI"},
      {"server-name", "NAME", "Check the server's certificate by ordinary TLS hostname "
                              "verification against NAME (e.g. nginx)"},
      {"mode", "echo|submit", "echo (default): /gatehouse.bench.Echo/Echo; submit: "
                              "gatehouse.v1.Exchange/Submit on a sending gateway"},
      {"concurrency", "N", "Calls kept in flight (default 64)"},
      {"channels", "N", "Connections the calls are spread over (default 1)"},
      {"payload", "BYTES", "Payload size (default 100)"},
      {"duration", "S", "Seconds the measured window lasts (default 10)"},
      {"count", "N", "Or: the window ends after N calls"},
      {"warmup", "S", "Seconds of calls before the window, not recorded (default 2)"},
      {"rate", "CALLS_PER_S", "Open loop: start calls at this rate (default: closed loop)"},
      {"timeout-ms", "MS", "Deadline of each call (default 30000)"},
      {"label", "L", "A label for the results"},
      {"method", "/package.Service/Method", "Call this method instead of the mode's"},
      {"to", "ORG", "submit: the recipient organisation (required in submit mode)"},
      {"to-system", "S", "submit: the recipient system"},
      {"type", "T", "submit: record type (default discharge_summary)"},
      {"classification", "C", "submit: classification (default OFFICIAL-SENSITIVE)"},
      {"purpose", "P", "submit: purpose (default direct_care)"},
      {"content-type", "T", "submit: media type (default application/octet-stream)"},
  };
  for (const Spec& f : kFlags) {
    app.add_option(std::string("--") + f.name)->type_name(f.value)->description(f.help);
  }
  for (const char* repeated : {"watch-pid", "caveat"}) {
    app.add_option(std::string("--") + repeated)
        ->type_name(repeated == std::string("caveat") ? "X" : "PID")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
        ->description(repeated == std::string("caveat")
                          ? "submit: a handling caveat; may repeat"
                          : "Report the CPU and peak memory of this process too; may repeat");
  }
  app.add_flag("--json", "Summary on stderr, one JSON line on stdout");
}

int Main(int argc, char** argv) {
  CLI::App app{"ghbench: an asynchronous gRPC load generator over mutual TLS. Reports calls/s,\n"
               "latency percentiles, errors by gRPC code, and CPU and memory of itself and\n"
               "of each --watch-pid process in the measured window. Exit 0 if the window\n"
               "completed calls and none failed, 1 on errors or a failed first call.",
               "ghbench"};
  cli::Configure(app);
  AddFlags(app);
  if (std::optional<int> exit = cli::Parse(app, argc, argv)) return *exit;
  const Args args = Args::Of(app);
  std::string error;
  const std::string mode = args.Get("mode", "echo");
  if (mode != "echo" && mode != "submit") return Usage("--mode must be echo or submit");

  v1::TlsConfig tls;
  tls.set_cert_file(args.Get("cert"));
  tls.set_key_file(args.Get("key"));
  tls.set_ca_file(args.Get("ca"));
  tls.set_crl_dir(args.Get("crl-dir"));
  const std::string target = args.Get("target");
  if (target.empty() || tls.cert_file().empty() || tls.key_file().empty() ||
      tls.ca_file().empty()) {
    return Usage("--target, --cert, --key and --ca are required");
  }
  if (mode == "echo" && !args.Has("server-uri") && !args.Has("server-name")) {
    return Usage("echo mode needs --server-uri or --server-name");
  }

  int concurrency = 64, channels_n = 1;
  int64_t payload_bytes = 100, timeout_ms = 30000, count = 0;
  double duration_s = 10, warmup_s = 2, rate = 0;
  if (!Number(args, "concurrency", 1, &concurrency, &error) ||
      !Number(args, "channels", 1, &channels_n, &error) ||
      !Number(args, "payload", int64_t{0}, &payload_bytes, &error) ||
      !Number(args, "timeout-ms", int64_t{1}, &timeout_ms, &error) ||
      !Number(args, "count", int64_t{1}, &count, &error) ||
      !Number(args, "duration", 0.1, &duration_s, &error) ||
      !Number(args, "warmup", 0.0, &warmup_s, &error) ||
      !Number(args, "rate", 0.0, &rate, &error)) {
    return Usage(error);
  }
  std::vector<pid_t> watch;
  for (const std::string& p : args.All("watch-pid")) {
    int pid;
    if (!absl::SimpleAtoi(p, &pid) || pid <= 0) return Usage("--watch-pid must be a pid");
    watch.push_back(pid);
  }

  // What each call sends, and how a response is judged.
  LoadOptions options;
  options.concurrency = concurrency;
  options.rate = rate;
  options.timeout_ms = timeout_ms;
  options.max_recorded = static_cast<uint64_t>(count);
  ResponseCheck check;
  if (std::string why = SetRequest(args, mode, payload_bytes, &options, &check); !why.empty()) {
    return Usage(why);
  }
  absl::StatusOr<std::vector<std::shared_ptr<grpc::Channel>>> channels =
      MakeChannels(args, tls, target, channels_n);
  if (!channels.ok()) {
    std::fprintf(stderr, "ghbench: %s\n", std::string(channels.status().message()).c_str());
    return 1;
  }
  grpc::Status probe = Probe(*channels, options.method, options.request);
  if (!probe.ok()) {
    std::fprintf(stderr, "ghbench: first call to %s %s failed: %s: %s\n", target.c_str(),
                 options.method.c_str(), GrpcCodeName(probe.error_code()),
                 probe.error_message().c_str());
    return 1;
  }

  RunInfo info{args.Get("label"), mode, target, options.method, payload_bytes,
               concurrency, channels_n, rate, warmup_s};
  const Measured summary =
      Measure(*channels, options, check, info, watch, warmup_s, count > 0 ? 0 : duration_s);
  if (args.Has("json")) {
    std::fputs(summary.text.c_str(), stderr);
    std::printf("%s\n", summary.json.c_str());
  } else {
    std::fputs(summary.text.c_str(), stdout);
  }
  std::fflush(stdout);
  return summary.ok ? 0 : 1;
}

}  // namespace
}  // namespace gatehouse::bench

int main(int argc, char** argv) { return gatehouse::bench::Main(argc, argv); }
