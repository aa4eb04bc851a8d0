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
//   proof for the record and verifies it; exit status 1 if it does not.)
//
// Connection flags (or environment): --gateway HOST:PORT (GATEHOUSE_GATEWAY),
// --cert FILE (GATEHOUSE_CERT), --key FILE (GATEHOUSE_KEY), --ca FILE
// (GATEHOUSE_CA), --crl-dir DIR (GATEHOUSE_CRL_DIR, optional).
//
// Output: one JSON object a line on stdout. Errors on stderr name the gRPC
// code and the gateway's reason. Exit: 0 ok, 1 refused or failed, 2 usage
// (docs/cli.md; the convention is tools/cli/cli.h's).
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
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <grpcpp/grpcpp.h>

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
#include "tools/cli/cli.h"

namespace gatehouse {
namespace {

// The flags and RECORD_IDs of the command given (cli::Values: Has, Get, All).
using Args = cli::Values;

int Usage(const std::string& why) {
  std::fprintf(stderr, "gatehouse: %s\nRun with --help for more information.\n", why.c_str());
  return cli::kExitUsage;
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
  for (const std::string& c : args.All("caveat")) l->add_caveats(c);
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
  v1::AckRequest req;
  for (const std::string& id : args.All("RECORD_ID")) req.add_record_ids(id);
  grpc::ClientContext ctx;
  v1::AckResponse resp;
  grpc::Status s = stub.Ack(&ctx, req, &resp);
  if (!s.ok()) return Fail("ack", s);
  PrintJson(resp);
  return 0;
}

int Status(v1::Exchange::Stub& stub, const Args& args) {
  v1::StatusRequest req;
  req.set_record_id(args.Get("RECORD_ID"));
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
  return req.with_proof() && !resp.proof().verified() ? cli::kExitFailed : cli::kExitOk;
}

// Adds `name` taking a value described as `value` to `cmd`.
CLI::Option* Flag(CLI::App* cmd, const std::string& name, const char* value, const char* help) {
  return cmd->add_option("--" + name)->type_name(value)->description(help);
}

void AddSubmit(CLI::App* app) {
  CLI::App* c = app->add_subcommand(
      "submit", "Submit one record; prints its receipt. The payload is read from --file, or stdin");
  Flag(c, "to", "ORG", "The recipient organisation")->required();
  Flag(c, "type", "TYPE", "The record type")->required();
  Flag(c, "classification", "C", "The record's classification")->required();
  Flag(c, "to-system", "S", "The recipient system (default: the organisation's own list)");
  Flag(c, "caveat", "X", "A handling caveat; may repeat")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  Flag(c, "purpose", "P", "The purpose of the exchange");
  Flag(c, "originator", "ORG", "The organisation the record comes from");
  Flag(c, "end-user", "U", "The person on whose behalf it is sent");
  Flag(c, "content-type", "T", "The payload's media type");
  Flag(c, "idempotency-key", "K", "Submitting the same key again returns the first receipt");
  Flag(c, "sender-org", "ORG",
       "A claim the gateway checks against the certificate and refuses if it differs");
  Flag(c, "sender-system", "S",
       "A claim the gateway checks against the certificate and refuses if it differs");
  Flag(c, "file", "F", "The payload ('-' or none: stdin)");
  c->add_flag("--stream",
              "Large record: the payload is read from --file, which it requires, and sent in "
              "1 MiB messages with SubmitStream, never held whole in memory");
}

void AddFetch(CLI::App* app) {
  CLI::App* c = app->add_subcommand(
      "fetch", "Print the records waiting in this system's mailbox, one JSON object a line");
  Flag(c, "max", "N", "At most N records (default 100)")->check(cli::WholeNumber());
  c->add_flag("--ack",
              "Acknowledge what was fetched, once every file is written (a streamed record "
              "only with --out-dir)");
  Flag(c, "out-dir", "DIR",
       "Write each payload to DIR/<record_id>; streamed records are read with FetchStream. "
       "Without it a streamed record is printed with \"streamed\": true and no payload");
}

int Main(int argc, char** argv) {
  CLI::App app{"gatehouse: the command-line client of a Gatehouse gateway, for people and\n"
               "scripts. It talks to its organisation's gateway over mutual TLS with a system\n"
               "certificate. Output: one JSON object a line on stdout; errors on stderr name\n"
               "the gRPC code and the gateway's reason.",
               "gatehouse"};
  cli::Configure(app);
  app.require_subcommand(1);
  // Connection flags come before the command.
  Flag(&app, "gateway", "HOST:PORT", "The gateway's Exchange API")
      ->envname("GATEHOUSE_GATEWAY")
      ->required();
  Flag(&app, "cert", "FILE", "This system's certificate")->envname("GATEHOUSE_CERT")->required();
  Flag(&app, "key", "FILE", "Its private key")->envname("GATEHOUSE_KEY")->required();
  Flag(&app, "ca", "FILE", "The CA that issued the gateway's certificate")
      ->envname("GATEHOUSE_CA")
      ->required();
  Flag(&app, "crl-dir", "DIR", "Certificate revocation lists (optional)")
      ->envname("GATEHOUSE_CRL_DIR");
  AddSubmit(&app);
  AddFetch(&app);
  app.add_subcommand("ack", "Acknowledge records fetched earlier")
      ->add_option("RECORD_ID")
      ->required()
      ->expected(1, 1 << 20)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->description("The records to acknowledge");
  CLI::App* status =
      app.add_subcommand("status", "Print the gateway's status, or a submitted record's");
  status->add_option("RECORD_ID")->description("The record (default: the gateway's status)");
  status->add_flag(
      "--proof",
      "Fetch the receiving gateway's audit inclusion proof for RECORD_ID and verify it; "
      "exit 1 if it does not verify");
  if (std::optional<int> exit = cli::Parse(app, argc, argv)) return *exit;
  const CLI::App* chosen = app.get_subcommands().front();
  const std::string command = chosen->get_name();
  const Args connection = Args::Of(app);
  const Args args = Args::Of(*chosen);

  v1::TlsConfig tls;
  tls.set_cert_file(connection.Get("cert"));
  tls.set_key_file(connection.Get("key"));
  tls.set_ca_file(connection.Get("ca"));
  tls.set_crl_dir(connection.Get("crl-dir"));
  const std::string address = connection.Get("gateway");
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
  return Status(*stub, args);
}

}  // namespace
}  // namespace gatehouse

int main(int argc, char** argv) { return gatehouse::Main(argc, argv); }
