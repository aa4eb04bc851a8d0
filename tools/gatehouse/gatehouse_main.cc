// gatehouse: the command-line client of a Gatehouse gateway, for people and
// scripts. It talks to its organisation's gateway over mutual TLS with a
// system certificate; the gateway it reaches must present
// psn://org/<the same org>/gateway.
//
//   gatehouse [connection flags] submit --to ORG --type TYPE --classification C
//             [--to-system S] [--caveat X]... [--purpose P] [--originator ORG]
//             [--end-user U] [--content-type T] [--idempotency-key K]
//             [--sender-org ORG] [--sender-system S] [--file F | stdin]
//             [--stream]
//   (--sender-org/--sender-system are claims the gateway checks against the
//   certificate and refuses if they differ; identity is never taken from them)
//   (--stream: the payload is read from --file, which it requires, and sent
//   with SubmitStream in 1 MiB messages, never held whole in memory; for
//   large records)
//   gatehouse [connection flags] fetch [--max N] [--ack] [--out-dir DIR]
//   (--out-dir: each payload is written to DIR/<record_id>; a streamed
//   record's is read with FetchStream into a temporary name and renamed when
//   complete. Without --out-dir a streamed record is printed with
//   "streamed": true and no payload, and --ack leaves it in the mailbox.
//   --ack acknowledges only after every file is written.)
//   gatehouse [connection flags] ack RECORD_ID...
//   gatehouse [connection flags] status [RECORD_ID [--proof]]
//   (--proof: the gateway fetches the receiving gateway's audit inclusion
//   proof for the record and verifies it; exit status 3 if it does not.)
//
// Connection flags (or environment): --gateway HOST:PORT (GATEHOUSE_GATEWAY),
// --cert FILE (GATEHOUSE_CERT), --key FILE (GATEHOUSE_KEY), --ca FILE
// (GATEHOUSE_CA), --crl-dir DIR (GATEHOUSE_CRL_DIR, optional).
//
// Output: one JSON object a line on stdout. Errors on stderr name the gRPC
// code and the gateway's reason. Exit: 0 ok, 1 refused or failed, 2 usage.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "common/help.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gatehouse/v1/exchange.grpc.pb.h"
#include "common/files.h"
#include "transport/identity.h"
#include "common/log.h"
#include "transport/grpc_status.h"
#include "transport/tls.h"
#include "google/protobuf/util/json_util.h"

namespace gatehouse {
namespace {

constexpr const char* kUsage =
    "usage: gatehouse [--gateway HOST:PORT --cert FILE --key FILE --ca FILE [--crl-dir DIR]]\n"
    "                 submit|fetch|ack|status [options]\n"
    "  submit --to ORG --type TYPE --classification C [--to-system S] [--caveat X]...\n"
    "         [--purpose P] [--originator ORG] [--end-user U] [--content-type T]\n"
    "         [--idempotency-key K] [--sender-org ORG] [--sender-system S]\n"
    "         [--file F]   (payload from F, or stdin)\n"
    "         [--stream]   (large record: payload from --file, required, sent in\n"
    "                       1 MiB messages with SubmitStream)\n"
    "  fetch [--max N] [--ack] [--out-dir DIR]\n"
    "        (payloads to DIR/<record_id>; streamed records are read with FetchStream.\n"
    "         Without --out-dir a streamed record is printed with \"streamed\": true\n"
    "         and no payload, and --ack does not acknowledge it.)\n"
    "  ack RECORD_ID...\n"
    "  status [RECORD_ID [--proof]]\n";

int Usage(const std::string& why) {
  std::fprintf(stderr, "gatehouse: %s\n%s", why.c_str(), kUsage);
  return 2;
}

// Flags of the form --name value (or --name for booleans in `switches`).
struct Args {
  std::map<std::string, std::vector<std::string>> flags;
  std::vector<std::string> positional;

  std::string Get(const std::string& name, const char* env = nullptr) const {
    auto it = flags.find(name);
    if (it != flags.end()) return it->second.back();
    const char* v = env ? std::getenv(env) : nullptr;
    return v ? v : "";
  }
  bool Has(const std::string& name) const { return flags.count(name) > 0; }
};

bool Parse(int argc, char** argv, Args* args, std::string* error) {
  static const char* kSwitches[] = {"ack", "proof", "stream"};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0) {
      args->positional.push_back(a);
      continue;
    }
    std::string name = a.substr(2);
    bool is_switch = false;
    for (const char* s : kSwitches) is_switch |= (name == s);
    if (is_switch) {
      args->flags[name].push_back("true");
    } else if (i + 1 < argc) {
      args->flags[name].push_back(argv[++i]);
    } else {
      *error = absl::StrCat("--", name, " needs a value");
      return false;
    }
  }
  return true;
}

int Fail(const char* what, const grpc::Status& s) {
  std::fprintf(stderr, "gatehouse: %s failed: %s: %s\n", what, GrpcCodeName(s.error_code()),
               s.error_message().c_str());
  return 1;
}

void PrintJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  std::cout << out << "\n";
}

// Prints a Submit's receipt; exit status 1 if the recipient's gateway
// refused the record for good (the call itself is OK: the record was
// accepted here, audited and is kept, REJECTED, with the peer's reason).
int PrintSubmitted(const v1::Receipt& receipt) {
  PrintJson(receipt);
  if (receipt.state() != v1::RECORD_STATE_REJECTED) return 0;
  std::fprintf(stderr, "gatehouse: submit: the recipient's gateway refused record %s: %s\n",
               receipt.record_id().c_str(), receipt.last_error().c_str());
  return 1;
}

// Bytes of payload per SubmitStream message.
constexpr size_t kStreamMessageBytes = 1u << 20;

// Fills `req` from the flags, all but the payload. False if --to, --type or
// --classification is missing.
bool SubmitHead(const Args& args, v1::SubmitRequest* req) {
  v1::Labels* l = req->mutable_labels();
  l->set_recipient_org(args.Get("to"));
  l->set_recipient_system(args.Get("to-system"));
  l->set_record_type(args.Get("type"));
  l->set_classification(args.Get("classification"));
  if (args.Has("caveat")) {
    for (const std::string& c : args.flags.at("caveat")) l->add_caveats(c);
  }
  l->set_purpose(args.Get("purpose"));
  l->set_originator(args.Get("originator"));
  l->set_end_user(args.Get("end-user"));
  l->set_content_type(args.Get("content-type"));
  req->set_idempotency_key(args.Get("idempotency-key"));
  req->set_sender_org(args.Get("sender-org"));
  req->set_sender_system(args.Get("sender-system"));
  return !l->recipient_org().empty() && !l->record_type().empty() &&
         !l->classification().empty();
}

// submit --stream: the head, then `file` in kStreamMessageBytes messages.
// Memory stays at about one message whatever the file's size.
int SubmitStream(v1::Exchange::Stub& stub, v1::SubmitRequest head, const std::string& file) {
  std::FILE* in = std::fopen(file.c_str(), "rb");
  if (in == nullptr) {
    std::fprintf(stderr, "gatehouse: cannot open '%s': %s\n", file.c_str(), std::strerror(errno));
    return 1;
  }
  grpc::ClientContext ctx;
  v1::SubmitResponse resp;
  std::unique_ptr<grpc::ClientWriter<v1::SubmitChunk>> writer = stub.SubmitStream(&ctx, &resp);
  v1::SubmitChunk chunk;
  *chunk.mutable_head() = std::move(head);
  // A failed Write means the call has ended (the gateway refused it, or the
  // connection broke); Finish below says why.
  bool sending = writer->Write(chunk);
  chunk.clear_head();
  std::string buf(kStreamMessageBytes, '\0');
  bool read_error = false;
  while (sending) {
    size_t n = std::fread(&buf[0], 1, buf.size(), in);
    if (n > 0) {
      chunk.set_data(buf.data(), n);
      sending = writer->Write(chunk);
    }
    if (n < buf.size()) {
      read_error = std::ferror(in) != 0;
      break;
    }
  }
  std::fclose(in);
  if (read_error) {
    // Ending the call with an error: the gateway stores nothing.
    ctx.TryCancel();
    (void)writer->Finish();
    std::fprintf(stderr, "gatehouse: cannot read '%s'; nothing was submitted\n", file.c_str());
    return 1;
  }
  if (sending) writer->WritesDone();
  grpc::Status s = writer->Finish();
  if (!s.ok()) return Fail("submit", s);
  return PrintSubmitted(resp.receipt());
}

int Submit(v1::Exchange::Stub& stub, const Args& args) {
  v1::SubmitRequest req;
  if (!SubmitHead(args, &req)) return Usage("submit needs --to, --type and --classification");
  std::string file = args.Get("file");
  if (args.Has("stream")) {
    if (file.empty() || file == "-") return Usage("submit --stream needs --file");
    return SubmitStream(stub, std::move(req), file);
  }
  if (file.empty() || file == "-") {
    req.set_payload(std::string(std::istreambuf_iterator<char>(std::cin), {}));
  } else {
    absl::StatusOr<std::string> payload = ReadFile(file, 1u << 30);
    if (!payload.ok()) {
      std::fprintf(stderr, "gatehouse: %s\n", std::string(payload.status().message()).c_str());
      return 1;
    }
    req.set_payload(*std::move(payload));
  }
  grpc::ClientContext ctx;
  v1::SubmitResponse resp;
  grpc::Status s = stub.Submit(&ctx, req, &resp);
  if (!s.ok()) return Fail("submit", s);
  return PrintSubmitted(resp.receipt());
}

// True if a record id from the gateway is safe as a file name in --out-dir:
// ids come from the sending gateway, so one with a '/' or a leading '.' is
// refused rather than written somewhere else.
bool SafeFileName(const std::string& id) {
  if (id.empty() || id.size() > 128 || id[0] == '.') return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

// Writes the payload of streamed record `r` to `path` with FetchStream: into
// path + ".part", fsynced and renamed only when the call ends OK. On any
// error the partial file is deleted and the reason printed; returns false.
bool FetchStreamTo(v1::Exchange::Stub& stub, const v1::Record& r, const std::string& path) {
  const std::string part = path + ".part";
  std::FILE* out = std::fopen(part.c_str(), "wb");
  if (out == nullptr) {
    std::fprintf(stderr, "gatehouse: cannot create %s: %s; not acknowledged\n", part.c_str(),
                 std::strerror(errno));
    return false;
  }
  v1::FetchStreamRequest req;
  req.set_record_id(r.record_id());
  req.set_sender_org(r.sender_org());
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReader<v1::FetchChunk>> reader = stub.FetchStream(&ctx, req);
  v1::FetchChunk chunk;
  bool first = true;
  std::string problem;  // empty while all is well
  while (reader->Read(&chunk)) {
    // The first message, and only it, names the record asked for.
    if (first != chunk.has_record() || (first && chunk.record().record_id() != r.record_id())) {
      problem = "the gateway sent a malformed stream";
      break;
    }
    first = false;
    const std::string& data = chunk.data();
    if (!data.empty() && std::fwrite(data.data(), 1, data.size(), out) != data.size()) {
      problem = absl::StrCat("cannot write ", part);
      break;
    }
  }
  if (!problem.empty()) ctx.TryCancel();
  grpc::Status s = reader->Finish();
  if (problem.empty() && !s.ok()) {
    problem = absl::StrCat("FetchStream failed: ", GrpcCodeName(s.error_code()), ": ",
                           s.error_message());
  }
  if (problem.empty() && first) problem = "the gateway sent no record";
  const bool synced = std::fflush(out) == 0 && fsync(fileno(out)) == 0;
  const bool closed = std::fclose(out) == 0;
  if (problem.empty() && !(synced && closed)) problem = absl::StrCat("cannot write ", part);
  if (problem.empty() && std::rename(part.c_str(), path.c_str()) != 0) {
    problem = absl::StrCat("cannot rename ", part, ": ", std::strerror(errno));
  }
  if (!problem.empty()) {
    std::remove(part.c_str());
    std::fprintf(stderr, "gatehouse: record %s: %s; not acknowledged\n", r.record_id().c_str(),
                 problem.c_str());
    return false;
  }
  return true;
}

int Fetch(v1::Exchange::Stub& stub, const Args& args) {
  int max = 100;
  if (args.Has("max") && !absl::SimpleAtoi(args.Get("max"), &max)) {
    return Usage("--max must be a number");
  }
  std::string out_dir = args.Get("out-dir");
  v1::FetchRequest req;
  req.set_max_records(max);
  grpc::ClientContext ctx;
  v1::FetchResponse resp;
  grpc::Status s = stub.Fetch(&ctx, req, &resp);
  if (!s.ok()) return Fail("fetch", s);
  v1::AckRequest ack;
  for (v1::Record& r : *resp.mutable_records()) {
    if (!out_dir.empty()) {
      if (!SafeFileName(r.record_id())) {
        std::fprintf(stderr,
                     "gatehouse: record id '%s' is not a safe file name; not acknowledged\n",
                     r.record_id().c_str());
        return 1;
      }
      const std::string path = out_dir + "/" + r.record_id();
      if (r.streamed()) {
        if (!FetchStreamTo(stub, r, path)) return 1;
      } else {
        std::ofstream f(path, std::ios::binary);
        f << r.payload();
        f.close();
        if (!f) {
          std::fprintf(stderr, "gatehouse: cannot write %s; not acknowledged\n", path.c_str());
          return 1;
        }
      }
      r.clear_payload();
    }
    PrintJson(r);
    // A streamed record's payload is not in the listing: acknowledge it only
    // once it is written to --out-dir.
    if (r.streamed() && out_dir.empty()) continue;
    ack.add_record_ids(r.record_id());
  }
  if (args.Has("ack") && ack.record_ids_size() > 0) {
    grpc::ClientContext actx;
    v1::AckResponse aresp;
    grpc::Status as = stub.Ack(&actx, ack, &aresp);
    if (!as.ok()) return Fail("ack", as);
  }
  return 0;
}

int Ack(v1::Exchange::Stub& stub, const Args& args) {
  if (args.positional.size() < 2) return Usage("ack needs record ids");
  v1::AckRequest req;
  for (size_t i = 1; i < args.positional.size(); ++i) req.add_record_ids(args.positional[i]);
  grpc::ClientContext ctx;
  v1::AckResponse resp;
  grpc::Status s = stub.Ack(&ctx, req, &resp);
  if (!s.ok()) return Fail("ack", s);
  PrintJson(resp);
  return 0;
}

int Status(v1::Exchange::Stub& stub, const Args& args) {
  v1::StatusRequest req;
  if (args.positional.size() > 1) req.set_record_id(args.positional[1]);
  if (args.Has("proof")) {
    if (req.record_id().empty()) return Usage("status --proof needs a RECORD_ID");
    req.set_with_proof(true);
  }
  grpc::ClientContext ctx;
  v1::StatusResponse resp;
  grpc::Status s = stub.Status(&ctx, req, &resp);
  if (!s.ok()) return Fail("status", s);
  PrintJson(resp);
  // With --proof, the exit status says whether the proof verified.
  return req.with_proof() && !resp.proof().verified() ? 3 : 0;
}

int Main(int argc, char** argv) {
  if (WantsHelp(argc, argv)) return PrintHelp(kUsage);
  Args args;
  std::string error;
  if (!Parse(argc, argv, &args, &error)) return Usage(error);
  if (args.positional.empty()) return Usage("no command given");
  const std::string& command = args.positional[0];

  v1::TlsConfig tls;
  tls.set_cert_file(args.Get("cert", "GATEHOUSE_CERT"));
  tls.set_key_file(args.Get("key", "GATEHOUSE_KEY"));
  tls.set_ca_file(args.Get("ca", "GATEHOUSE_CA"));
  tls.set_crl_dir(args.Get("crl-dir", "GATEHOUSE_CRL_DIR"));
  std::string address = args.Get("gateway", "GATEHOUSE_GATEWAY");
  if (address.empty() || tls.cert_file().empty() || tls.key_file().empty() ||
      tls.ca_file().empty()) {
    return Usage("--gateway, --cert, --key and --ca are required");
  }
  absl::StatusOr<std::string> pem = ReadFile(tls.cert_file());
  absl::StatusOr<Identity> me =
      pem.ok() ? IdentityFromCertificatePem(*pem) : absl::StatusOr<Identity>(pem.status());
  if (!me.ok()) {
    std::fprintf(stderr, "gatehouse: --cert: %s\n", std::string(me.status().message()).c_str());
    return 1;
  }
  auto creds = MakeChannelCredentials(tls, GatewayUri(me->org));
  if (!creds.ok()) {
    std::fprintf(stderr, "gatehouse: %s\n", std::string(creds.status().message()).c_str());
    return 1;
  }
  grpc::ChannelArguments ch;
  ch.SetMaxSendMessageSize(1 << 30);
  ch.SetMaxReceiveMessageSize(1 << 30);
  auto stub = v1::Exchange::NewStub(grpc::CreateCustomChannel(address, *creds, ch));
  if (command == "submit") return Submit(*stub, args);
  if (command == "fetch") return Fetch(*stub, args);
  if (command == "ack") return Ack(*stub, args);
  if (command == "status") return Status(*stub, args);
  return Usage(absl::StrCat("unknown command '", command, "'"));
}

}  // namespace
}  // namespace gatehouse

int main(int argc, char** argv) { return gatehouse::Main(argc, argv); }
