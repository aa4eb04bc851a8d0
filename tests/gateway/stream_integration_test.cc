// Integration tests of streamed records (exchange.proto SubmitStream and
// FetchStream, peer.proto DeliverStream) across real gateways: a large record
// arrives byte for byte and is audited on both sides, and each refusal (no
// head, a payload in the head, over maxStreamBytes, denied by policy, needing
// redaction, the wrong caller, a tampered or truncated envelope, a record not
// in the caller's mailbox) is refused with its code and leaves nothing behind:
// no outbox or mailbox row, no file in the spool.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "gatehouse/v1/peer.pb.h"
#include "envelope/byte_stream.h"
#include "envelope/keyset.h"
#include "envelope/stream.h"
#include "gateway/receipt.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/error_details.h"
#include "tests/gateway/gateway_harness.h"

namespace gatehouse {
namespace {

namespace fs = std::filesystem;
using ::testing::AnyOf;
using ::testing::HasSubstr;

constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * 1024;
constexpr const char kRecordId[] = "0123456789abcdef0123456789abcdef";

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

std::chrono::system_clock::time_point StreamDeadline() {
  return std::chrono::system_clock::now() + std::chrono::seconds(120);
}

// `n` bytes of xorshift32 output: no run repeats, so a chunk dropped,
// repeated or reordered anywhere on the way changes the bytes.
std::string Pattern(size_t n) {
  std::string s(n, '\0');
  uint32_t x = 2463534242u;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    s[i] = static_cast<char>(x & 0xff);
  }
  return s;
}

// Sends `head` (unless null) and then `payload` with SubmitStream, in
// messages whose sizes cycle through `sizes`. Stops writing once the gateway
// has ended the call; returns the call's status.
grpc::Status SubmitStream(v1::Exchange::Stub& stub, const v1::SubmitRequest* head,
                          absl::string_view payload, v1::SubmitResponse* resp,
                          const std::vector<size_t>& sizes = {256 * kKiB}) {
  grpc::ClientContext ctx;
  ctx.set_deadline(StreamDeadline());
  std::unique_ptr<grpc::ClientWriter<v1::SubmitChunk>> writer = stub.SubmitStream(&ctx, resp);
  bool open = true;
  if (head != nullptr) {
    v1::SubmitChunk c;
    *c.mutable_head() = *head;
    open = writer->Write(c);
  }
  size_t at = 0;
  for (size_t i = 0; open && at < payload.size(); ++i) {
    const size_t n = std::min(sizes[i % sizes.size()], payload.size() - at);
    v1::SubmitChunk c;
    c.set_data(payload.data() + at, n);
    open = writer->Write(c);
    at += n;
  }
  if (open) writer->WritesDone();
  return writer->Finish();
}

// A head as SampleSubmit makes it: nhs-trust-a's ehr to council-a, a
// discharge summary permitted by health-council-care; no payload.
v1::SubmitRequest StreamHead() {
  v1::SubmitRequest head = SampleSubmit("");
  head.clear_payload();
  return head;
}

// Reads `record_id` with FetchStream: the first message's record into
// `*record`, the payload bytes appended to `*payload`.
grpc::Status FetchStream(v1::Exchange::Stub& stub, const std::string& record_id,
                         const std::string& sender_org, v1::Record* record,
                         std::string* payload) {
  grpc::ClientContext ctx;
  ctx.set_deadline(StreamDeadline());
  v1::FetchStreamRequest req;
  req.set_record_id(record_id);
  req.set_sender_org(sender_org);
  std::unique_ptr<grpc::ClientReader<v1::FetchChunk>> reader = stub.FetchStream(&ctx, req);
  v1::FetchChunk chunk;
  bool first = true;
  while (reader->Read(&chunk)) {
    EXPECT_EQ(chunk.has_record(), first) << "only the first message carries the record";
    if (first) *record = chunk.record();
    first = false;
    payload->append(chunk.data());
  }
  return reader->Finish();
}

// Sends `envelope` with Peer.DeliverStream in `message_bytes` pieces (none
// at all if it is empty).
grpc::Status DeliverStream(v1::Peer::Stub& stub, absl::string_view envelope,
                           v1::DeliverResponse* resp, size_t message_bytes = 100 * kKiB) {
  grpc::ClientContext ctx;
  ctx.set_deadline(StreamDeadline());
  std::unique_ptr<grpc::ClientWriter<v1::DeliverChunk>> writer = stub.DeliverStream(&ctx, resp);
  bool open = true;
  for (size_t at = 0; open && at < envelope.size(); at += message_bytes) {
    v1::DeliverChunk c;
    c.set_data(envelope.data() + at, std::min(message_bytes, envelope.size() - at));
    open = writer->Write(c);
  }
  if (open) writer->WritesDone();
  return writer->Finish();
}

// A streamed envelope sealed and signed by `from`'s gateway keys to `to`, as
// that gateway would send it (docs/envelope.md, "Streamed records"), in
// 64 KiB chunks. Its plaintext is u32be len(c) || c || payload, where c is
// the serialized SealedContent with an empty payload.
std::string SealStream(Cluster& cluster, const std::string& from, const std::string& to,
                       const v1::Labels& labels, const std::string& payload,
                       const std::string& record_id, const std::string& sender_system = "ehr") {
  absl::StatusOr<envelope::Keyset> keys =
      envelope::Keyset::LoadFromFile(cluster.dir() + "/keys-" + from + "/keyset.json");
  EXPECT_TRUE(keys.ok()) << keys.status();
  if (!keys.ok()) return "";
  absl::StatusOr<std::unique_ptr<envelope::StreamSealer>> sealer = envelope::StreamSealer::Create(
      std::make_shared<const envelope::Keyset>(*std::move(keys)), 64 * kKiB);
  EXPECT_TRUE(sealer.ok()) << sealer.status();
  if (!sealer.ok()) return "";
  // MakeDirectory only builds the next directory (public keys); nothing is
  // written.
  const v1::Directory directory = cluster.MakeDirectory();
  absl::StatusOr<envelope::RecipientKey> recipient = absl::NotFoundError(to);
  for (const v1::Organisation& o : directory.organisations()) {
    if (o.org_id() == to) recipient = envelope::RecipientKeyFromDirectory(o);
  }
  EXPECT_TRUE(recipient.ok()) << recipient.status();
  if (!recipient.ok()) return "";

  v1::SealedContent content;
  content.set_sender_system(sender_system);
  content.set_recipient_system(labels.recipient_system());
  content.set_originator(labels.originator());
  content.set_end_user(labels.end_user());
  const std::string c = content.SerializeAsString();
  std::string plaintext;
  for (int shift : {24, 16, 8, 0}) {
    plaintext.push_back(static_cast<char>((c.size() >> shift) & 0xff));
  }
  plaintext += c;
  plaintext += payload;

  const envelope::RecordLabels l = EnvelopeLabels(labels, record_id, from, to, NowMs());
  envelope::StringSource in(plaintext);
  envelope::StringSink out;
  absl::Status s = (*sealer)->Seal(l, *recipient, &in, &out);
  EXPECT_TRUE(s.ok()) << s;
  return out.contents();
}

// Regular files under `dir` (recursively); none if it does not exist.
std::vector<std::string> FilesUnder(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec)) out.push_back(it->path().string());
  }
  return out;
}

// Partial files (*.part) under `dir`.
int PartFiles(const std::string& dir) {
  int n = 0;
  for (const std::string& f : FilesUnder(dir)) n += fs::path(f).extension() == ".part";
  return n;
}

// `org`'s audit entries of `event` about `record_id` (gateway stopped).
std::vector<v1::AuditEntry> Entries(Cluster& c, const std::string& org, v1::AuditEvent event,
                                    const std::string& record_id = "") {
  std::vector<v1::AuditEntry> out;
  for (v1::AuditEntry& e : c.AuditEntries(org)) {
    if (e.event() == event && (record_id.empty() || e.record_id() == record_id)) {
      out.push_back(std::move(e));
    }
  }
  return out;
}

class StreamIntegrationTest : public ::testing::Test {
 protected:
  std::string SpoolOut(const std::string& org) {
    return cluster_.dir() + "/data-" + org + "/spool/out";
  }
  std::string SpoolIn(const std::string& org) {
    return cluster_.dir() + "/data-" + org + "/spool/in";
  }
  // True once `dir` holds no files (the gateway removes a refused stream's
  // file when the call ends; allow it a moment).
  bool SpoolEmpty(const std::string& dir) {
    return Eventually([&] { return FilesUnder(dir).empty(); }, 5);
  }
  // Nothing of a refused SubmitStream remains on the sending side.
  void ExpectNothingSubmitted() {
    EXPECT_EQ(cluster_.Count("nhs-trust-a", "outbox"), 0);
    EXPECT_TRUE(SpoolEmpty(SpoolOut("nhs-trust-a")));
    EXPECT_EQ(cluster_.Count("council-a", "mailbox"), 0);
  }
  // Nothing of a refused DeliverStream remains on the receiving side.
  void ExpectNothingReceived() {
    EXPECT_EQ(cluster_.Count("council-a", "mailbox"), 0);
    EXPECT_TRUE(SpoolEmpty(SpoolIn("council-a")));
  }

  Cluster cluster_;
};

TEST_F(StreamIntegrationTest, StreamedRecordArrivesWholeAndIsAuditedOnBothSides) {
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  ASSERT_TRUE(cluster_.Start("council-a"));
  const std::string payload = Pattern(20 * kMiB);
  const std::string sha = Sha256(payload);
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  v1::SubmitRequest head = StreamHead();
  head.mutable_labels()->set_end_user("dr.patel");
  v1::SubmitResponse resp;
  grpc::Status s = SubmitStream(*ehr, &head, payload, &resp,
                                {256 * kKiB, 1, 200 * kKiB + 7, 256 * kKiB - 1, 64 * kKiB});
  ASSERT_TRUE(s.ok()) << s.error_message();
  const v1::Receipt& r = resp.receipt();
  const std::string id = r.record_id();
  ASSERT_EQ(r.state(), v1::RECORD_STATE_DELIVERED) << r.last_error();
  EXPECT_THAT(r.rule_ids(), ::testing::ElementsAre("health-council-care"));
  EXPECT_EQ(r.recipient_org(), "council-a");
  EXPECT_EQ(r.delivery().record_id(), id);
  EXPECT_EQ(r.delivery().sender_org(), "nhs-trust-a");
  EXPECT_EQ(r.delivery().receiver_org(), "council-a");
  EXPECT_EQ(r.delivery().envelope_sha256().size(), 32u);
  // The peer signed for it; marking it delivered is written just after.
  EXPECT_TRUE(Eventually([&] { return cluster_.Count("nhs-trust-a", "outbox", "state = 2") == 1; }));
  EXPECT_EQ(PartFiles(SpoolOut("nhs-trust-a")), 0);
  EXPECT_EQ(PartFiles(SpoolIn("council-a")), 0);

  // Fetch lists it without its payload; FetchStream returns every byte.
  auto care = cluster_.Client("council-a", "council-a/care");
  v1::FetchResponse listed = FetchAll(*care);
  ASSERT_EQ(listed.records_size(), 1);
  EXPECT_EQ(listed.records(0).record_id(), id);
  EXPECT_TRUE(listed.records(0).streamed());
  EXPECT_TRUE(listed.records(0).payload().empty());
  EXPECT_EQ(listed.records(0).sender_org(), "nhs-trust-a");
  EXPECT_EQ(listed.records(0).sender_system(), "ehr");
  EXPECT_EQ(listed.records(0).labels().end_user(), "dr.patel");
  v1::Record record;
  std::string got;
  s = FetchStream(*care, id, "nhs-trust-a", &record, &got);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(record.record_id(), id);
  EXPECT_TRUE(record.streamed());
  EXPECT_TRUE(record.payload().empty());
  EXPECT_EQ(got.size(), payload.size());
  EXPECT_TRUE(got == payload) << "the payload came back changed";

  // Acknowledged, it leaves the mailbox and its file leaves the spool.
  v1::AckRequest ack;
  ack.add_record_ids(id);
  v1::AckResponse acked;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Ack, *care, ack, &acked).ok());
  EXPECT_EQ(acked.acked(), 1);
  EXPECT_EQ(FetchAll(*care).records_size(), 0);
  EXPECT_EQ(cluster_.Count("council-a", "mailbox", "acked_ms IS NULL"), 0);
  EXPECT_TRUE(Eventually([&] { return FilesUnder(SpoolIn("council-a")).empty(); }, 10))
      << FilesUnder(SpoolIn("council-a")).size() << " files left in spool/in";

  cluster_.Stop("nhs-trust-a");
  cluster_.Stop("council-a");
  auto submitted = Entries(cluster_, "nhs-trust-a", v1::AUDIT_EVENT_SUBMITTED, id);
  ASSERT_EQ(submitted.size(), 1u);
  EXPECT_EQ(submitted[0].payload_sha256(), sha);
  EXPECT_EQ(submitted[0].labels().end_user(), "dr.patel");
  EXPECT_EQ(Entries(cluster_, "nhs-trust-a", v1::AUDIT_EVENT_DELIVERED, id).size(), 1u);
  auto received = Entries(cluster_, "council-a", v1::AUDIT_EVENT_RECEIVED, id);
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].payload_sha256(), sha);
  auto fetched = Entries(cluster_, "council-a", v1::AUDIT_EVENT_FETCHED, id);
  EXPECT_TRUE(std::any_of(fetched.begin(), fetched.end(),
                          [&](const v1::AuditEntry& e) { return e.payload_sha256() == sha; }))
      << fetched.size() << " FETCHED entries, none with the payload's SHA-256";
  EXPECT_EQ(Entries(cluster_, "council-a", v1::AUDIT_EVENT_ACKED, id).size(), 1u);
  for (const char* org : {"nhs-trust-a", "council-a"}) {
    absl::StatusOr<audit::VerifyReport> v = cluster_.VerifyAuditLog(org);
    EXPECT_TRUE(v.ok()) << org << ": " << v.status();
  }
}

// Files a crash can leave in the spool (renamed in, never named by a store
// row) go at the next start; a queued record's file stays and is delivered.
// A second gateway started by mistake on a running one's data stops before
// it reads or changes anything: the running one's spool is left alone.
TEST_F(StreamIntegrationTest, ASecondGatewayOnTheSameDataRefusesToStartAndChangesNothing) {
  ASSERT_TRUE(cluster_.Start("council-a"));
  fs::create_directories(SpoolIn("council-a"));
  // A file the running gateway has just spooled, not yet in its store: a
  // sweep at a start would remove it.
  const std::string spooled = SpoolIn("council-a") + "/" + std::string(64, 'b') + ".env";
  std::ofstream(spooled) << "sealed bytes being received";
  std::string log;
  EXPECT_NE(cluster_.RunAnother("council-a", &log), 0);
  EXPECT_NE(log.find("is in use by another gateway"), std::string::npos) << log;
  EXPECT_TRUE(fs::exists(spooled)) << "the second gateway swept the running one's spool";
  // The running gateway still serves.
  auto care = cluster_.Client("council-a", "council-a/care");
  v1::FetchRequest req;
  req.set_org_id("council-a");
  req.set_system_id("care");
  v1::FetchResponse resp;
  grpc::Status s = Call(&v1::Exchange::Stub::Fetch, *care, req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST_F(StreamIntegrationTest, SpoolFilesNoRecordRefersToAreRemovedAtStart) {
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));  // council down: the record stays queued
  const std::string payload = Pattern(3 * kMiB);
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  v1::SubmitRequest head = StreamHead();
  v1::SubmitResponse resp;
  grpc::Status s = SubmitStream(*ehr, &head, payload, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(resp.receipt().state(), v1::RECORD_STATE_QUEUED);
  const std::string id = resp.receipt().record_id();
  const std::string queued = SpoolOut("nhs-trust-a") + "/" + id + ".env";
  ASSERT_TRUE(fs::exists(queued));
  cluster_.Stop("nhs-trust-a");

  const std::string orphan_out = SpoolOut("nhs-trust-a") + "/" + std::string(32, 'f') + ".env";
  const std::string orphan_in = SpoolIn("council-a") + "/" + std::string(64, 'a') + ".env";
  const std::string not_ours = SpoolIn("council-a") + "/README";
  fs::create_directories(SpoolIn("council-a"));
  for (const std::string& f : {orphan_out, orphan_in, not_ours}) {
    std::ofstream(f) << "sealed bytes a crash left behind";
  }
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  EXPECT_FALSE(fs::exists(orphan_out));
  EXPECT_TRUE(fs::exists(queued)) << "a queued record's envelope was removed";
  EXPECT_EQ(cluster_.Count("nhs-trust-a", "outbox", "state = 1"), 1);

  ASSERT_TRUE(cluster_.Start("council-a"));
  EXPECT_FALSE(fs::exists(orphan_in));
  EXPECT_TRUE(fs::exists(not_ours)) << "only *.env files are the spool's";
  // The queued record still goes, whole; then the sender's copy goes too.
  EXPECT_TRUE(Eventually([&] { return cluster_.Count("council-a", "mailbox") == 1; }, 30));
  EXPECT_TRUE(Eventually([&] { return !fs::exists(queued); }, 10));
  v1::Record record;
  std::string got;
  auto care = cluster_.Client("council-a", "council-a/care");
  s = FetchStream(*care, id, "nhs-trust-a", &record, &got);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(got == payload) << "the payload came back changed";
  // Restarting the receiver keeps the envelope of a record not yet acknowledged.
  cluster_.Stop("council-a");
  ASSERT_TRUE(cluster_.Start("council-a"));
  EXPECT_EQ(FilesUnder(SpoolIn("council-a")).size(), 2u);  // the record's, and README
  s = FetchStream(*care, id, "nhs-trust-a", &record, &got);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST_F(StreamIntegrationTest, FirstMessageWithoutHeadOrWithAPayloadIsInvalidAndStoresNothing) {
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  ASSERT_TRUE(cluster_.Start("council-a"));
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  const std::string payload = Pattern(kMiB);
  v1::SubmitResponse resp;
  // Data first, no head.
  grpc::Status s = SubmitStream(*ehr, nullptr, payload, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  // No message at all.
  s = SubmitStream(*ehr, nullptr, "", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  // A head carrying a payload of its own.
  v1::SubmitRequest head = StreamHead();
  head.set_payload("inline bytes");
  s = SubmitStream(*ehr, &head, payload, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  ExpectNothingSubmitted();
  cluster_.Stop("nhs-trust-a");
  EXPECT_TRUE(Entries(cluster_, "nhs-trust-a", v1::AUDIT_EVENT_SUBMITTED).empty());
}

// A SubmitStream message that does not parse is refused, never taken for
// the end of the stream (which would queue the record cut short); so is a
// first message or a FetchStream request that does not parse. Each names the
// field that is not UTF-8.
TEST_F(StreamIntegrationTest, AMessageThatDoesNotParseIsInvalidArgumentNotTheEndOfTheStream) {
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  ASSERT_TRUE(cluster_.Start("council-a"));
  auto channel = cluster_.ClientChannel("nhs-trust-a", "nhs-trust-a/ehr");
  v1::SubmitChunk head;
  *head.mutable_head() = StreamHead();
  v1::SubmitChunk data;
  data.set_data(Pattern(64 * kKiB));
  // SubmitChunk.head (1) holding a SubmitRequest whose labels (1) hold a
  // caveat (5) that is not UTF-8.
  const std::string bad_labels = std::string("\x2a\x01\xff", 3);
  const std::string bad_request = std::string("\x0a") + static_cast<char>(bad_labels.size()) +
                                  bad_labels;
  const std::string bad_chunk = std::string("\x0a") + static_cast<char>(bad_request.size()) +
                                bad_request;
  ASSERT_FALSE(v1::SubmitChunk().ParseFromString(bad_chunk));
  const std::string method = "/gatehouse.v1.Exchange/SubmitStream";
  const std::vector<std::vector<std::string>> streams = {
      // Cut short by a malformed message, then more data.
      {head.SerializeAsString(), data.SerializeAsString(), bad_chunk, data.SerializeAsString()},
      // Ending with it.
      {head.SerializeAsString(), data.SerializeAsString(), bad_chunk},
      // Starting with it.
      {bad_chunk, data.SerializeAsString()},
  };
  for (const std::vector<std::string>& messages : streams) {
    std::vector<std::string> responses;
    grpc::Status s = RawStreamCall(channel, method, messages, &responses);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr("head.labels.caveats holds bytes that are not UTF-8"));
    EXPECT_EQ(ErrorInfoOf(Details(s))->reason(), "REQUEST_NOT_PARSED");
    EXPECT_TRUE(responses.empty());
  }
  ExpectNothingSubmitted();
  // The same stream, well formed, through the same raw path: one response.
  std::vector<std::string> responses;
  ASSERT_TRUE(RawStreamCall(channel, method, {head.SerializeAsString(), data.SerializeAsString()},
                            &responses)
                  .ok());
  ASSERT_EQ(responses.size(), 1u);
  v1::SubmitResponse submitted;
  ASSERT_TRUE(submitted.ParseFromString(responses[0]));
  EXPECT_EQ(cluster_.Count("nhs-trust-a", "outbox"), 1);

  // FetchStreamRequest.record_id (1) not UTF-8.
  auto care = cluster_.ClientChannel("council-a", "council-a/care");
  grpc::Status s = RawStreamCall(care, "/gatehouse.v1.Exchange/FetchStream",
                                 {std::string("\x0a\x01\xc0", 3)}, &responses);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_EQ(BadRequestOf(Details(s))->field_violations(0).field(), "record_id");
  EXPECT_TRUE(responses.empty());
}

TEST_F(StreamIntegrationTest, StreamOverMaxStreamBytesIsResourceExhaustedAndStoresNothing) {
  ASSERT_TRUE(cluster_.Start("nhs-trust-a", R"("maxStreamBytes": 1048576)"));
  ASSERT_TRUE(cluster_.Start("council-a"));
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  const v1::SubmitRequest head = StreamHead();
  v1::SubmitResponse resp;
  grpc::Status s = SubmitStream(*ehr, &head, Pattern(2 * kMiB), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  // One byte over is over.
  s = SubmitStream(*ehr, &head, Pattern(kMiB + 1), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  ExpectNothingSubmitted();
  // Exactly the limit goes: the refusals left nothing in the way.
  s = SubmitStream(*ehr, &head, Pattern(kMiB), &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.receipt().state(), v1::RECORD_STATE_DELIVERED) << resp.receipt().last_error();
  EXPECT_EQ(cluster_.Count("nhs-trust-a", "outbox"), 1);
  cluster_.Stop("nhs-trust-a");
  auto submitted = Entries(cluster_, "nhs-trust-a", v1::AUDIT_EVENT_SUBMITTED);
  ASSERT_EQ(submitted.size(), 1u);
  EXPECT_EQ(submitted[0].record_id(), resp.receipt().record_id());
}

TEST_F(StreamIntegrationTest, PolicyDeniedStreamIsRefusedAndStoresNothing) {
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  ASSERT_TRUE(cluster_.Start("council-a"));
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  v1::SubmitRequest head = StreamHead();
  head.mutable_labels()->add_caveats("MEDICAL");
  v1::SubmitResponse resp;
  grpc::Status s = SubmitStream(*ehr, &head, Pattern(3 * kMiB), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("medical-stays-in-health"));
  // A record type the policy does not declare: the caller's to fix.
  head = StreamHead();
  head.mutable_labels()->set_record_type("gossip");
  s = SubmitStream(*ehr, &head, Pattern(kMiB), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("labels.record_type 'gossip'"));
  ExpectNothingSubmitted();
  cluster_.Stop("nhs-trust-a");
  auto denied = Entries(cluster_, "nhs-trust-a", v1::AUDIT_EVENT_DENIED);
  ASSERT_EQ(denied.size(), 2u);
  EXPECT_THAT(denied[0].rule_ids(), ::testing::ElementsAre("medical-stays-in-health"));
  EXPECT_TRUE(Entries(cluster_, "nhs-trust-a", v1::AUDIT_EVENT_SUBMITTED).empty());
}

TEST_F(StreamIntegrationTest, StreamNeedingRedactionIsPermissionDeniedAndStoresNothing) {
  std::string policy = kTestPolicy;
  const std::string rule = "    and purpose is direct_care\n  then encrypt";
  policy.replace(policy.find(rule), rule.size(), rule + "\n    and redact (gp_free_text)");
  cluster_.WritePolicy(policy);
  ASSERT_TRUE(cluster_.Start("nhs-trust-a"));
  ASSERT_TRUE(cluster_.Start("council-a"));
  auto ehr = cluster_.Client("nhs-trust-a", "nhs-trust-a/ehr");
  const std::string json = R"({"resourceType":"Composition","gp_free_text":"secret"})";
  const v1::SubmitRequest head = StreamHead();
  v1::SubmitResponse resp;
  grpc::Status s = SubmitStream(*ehr, &head, json, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("redact"));
  ExpectNothingSubmitted();
  // The same record goes with Submit, redacted.
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Submit, *ehr, SampleSubmit(json), &resp).ok());
  EXPECT_EQ(cluster_.Count("nhs-trust-a", "outbox"), 1);
  cluster_.Stop("nhs-trust-a");
  auto submitted = Entries(cluster_, "nhs-trust-a", v1::AUDIT_EVENT_SUBMITTED);
  ASSERT_EQ(submitted.size(), 1u);
  EXPECT_EQ(submitted[0].record_id(), resp.receipt().record_id());
}

TEST_F(StreamIntegrationTest, DeliverStreamFromASystemOrAnotherGatewayIsUnauthenticated) {
  ASSERT_TRUE(cluster_.Start("council-a"));
  const std::string envelope = SealStream(cluster_, "nhs-trust-a", "council-a",
                                          SampleSubmit().labels(), Pattern(kMiB), kRecordId);
  ASSERT_FALSE(envelope.empty());
  v1::DeliverResponse resp;
  // A system certificate may not call the peer API at all.
  auto system = cluster_.PeerClient("council-a", "nhs-trust-a/ehr");
  grpc::Status s = DeliverStream(*system, envelope, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  // The police gateway claims to deliver the NHS trust's record.
  auto police = cluster_.PeerClient("council-a", "police-a/gateway");
  s = DeliverStream(*police, envelope, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  ExpectNothingReceived();
  // The trust's own gateway delivers it: the refusals changed nothing.
  auto nhs = cluster_.PeerClient("council-a", "nhs-trust-a/gateway");
  s = DeliverStream(*nhs, envelope, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(resp.duplicate());
  EXPECT_EQ(cluster_.Count("council-a", "mailbox"), 1);
}

TEST_F(StreamIntegrationTest, TamperedOrTruncatedStreamIsRefusedAndStoresNothing) {
  ASSERT_TRUE(cluster_.Start("council-a"));
  const std::string payload = Pattern(kMiB + 12345);
  const std::string good = SealStream(cluster_, "nhs-trust-a", "council-a",
                                      SampleSubmit().labels(), payload, kRecordId);
  ASSERT_GT(good.size(), payload.size());
  auto nhs = cluster_.PeerClient("council-a", "nhs-trust-a/gateway");
  v1::DeliverResponse resp;
  std::vector<std::pair<std::string, std::string>> bad;
  // A byte flipped in the preamble, in a chunk in the middle, in the last
  // chunk, and in the signature.
  for (size_t at : {size_t{8}, good.size() / 2, good.size() - 100, good.size() - 1}) {
    std::string b = good;
    b[at] ^= 0x01;
    bad.emplace_back("byte " + std::to_string(at) + " flipped", b);
  }
  bad.emplace_back("signature cut short", good.substr(0, good.size() - 1));
  bad.emplace_back("signature and end marker missing", good.substr(0, good.size() - 68));
  bad.emplace_back("cut in the middle", good.substr(0, good.size() / 2));
  bad.emplace_back("bytes after the signature", good + "x");
  bad.emplace_back("64 KiB cut out of the middle",
                   good.substr(0, good.size() / 2) + good.substr(good.size() / 2 + 64 * kKiB));
  bad.emplace_back("garbage", "not an envelope at all");
  bad.emplace_back("nothing", "");
  for (const auto& [what, bytes] : bad) {
    grpc::Status s = DeliverStream(*nhs, bytes, &resp);
    EXPECT_THAT(s.error_code(), AnyOf(grpc::StatusCode::UNAUTHENTICATED,
                                      grpc::StatusCode::INVALID_ARGUMENT))
        << what << ": " << s.error_message();
  }
  ExpectNothingReceived();

  // The untouched envelope is accepted, once; a retry is a duplicate.
  ASSERT_TRUE(DeliverStream(*nhs, good, &resp).ok());
  EXPECT_FALSE(resp.duplicate());
  const std::string first_receipt = resp.receipt().SerializeAsString();
  ASSERT_TRUE(DeliverStream(*nhs, good, &resp, 7 * kKiB).ok());
  EXPECT_TRUE(resp.duplicate());
  EXPECT_EQ(resp.receipt().SerializeAsString(), first_receipt);
  EXPECT_EQ(cluster_.Count("council-a", "mailbox"), 1);
  EXPECT_EQ(PartFiles(SpoolIn("council-a")), 0);
  auto care = cluster_.Client("council-a", "council-a/care");
  v1::Record record;
  std::string got;
  grpc::Status s = FetchStream(*care, kRecordId, "nhs-trust-a", &record, &got);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(record.sender_system(), "ehr");
  EXPECT_TRUE(got == payload) << "the payload came back changed";
  cluster_.Stop("council-a");
  auto received = Entries(cluster_, "council-a", v1::AUDIT_EVENT_RECEIVED);
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].record_id(), kRecordId);
  EXPECT_EQ(received[0].payload_sha256(), Sha256(payload));
}

TEST_F(StreamIntegrationTest, StreamOverTheReceiversLimitIsResourceExhaustedAndStoresNothing) {
  ASSERT_TRUE(cluster_.Start("council-a", R"("maxStreamBytes": 262144)"));
  auto nhs = cluster_.PeerClient("council-a", "nhs-trust-a/gateway");
  const std::string big = SealStream(cluster_, "nhs-trust-a", "council-a",
                                     SampleSubmit().labels(), Pattern(kMiB), kRecordId);
  ASSERT_GT(big.size(), 262144u);
  v1::DeliverResponse resp;
  grpc::Status s = DeliverStream(*nhs, big, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  ExpectNothingReceived();
  // A small one under another id still goes.
  const std::string small =
      SealStream(cluster_, "nhs-trust-a", "council-a", SampleSubmit().labels(), Pattern(kKiB),
                 "fedcba9876543210fedcba9876543210");
  s = DeliverStream(*nhs, small, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(cluster_.Count("council-a", "mailbox"), 1);
}

TEST_F(StreamIntegrationTest, FetchStreamOfARecordNotInTheCallersMailboxIsNotFound) {
  ASSERT_TRUE(cluster_.Start("council-a"));
  // A streamed record for the council's care system only.
  v1::Labels labels = SampleSubmit().labels();
  labels.set_recipient_system("care");
  const std::string payload = Pattern(300 * kKiB);
  auto nhs = cluster_.PeerClient("council-a", "nhs-trust-a/gateway");
  v1::DeliverResponse delivered;
  ASSERT_TRUE(DeliverStream(*nhs, SealStream(cluster_, "nhs-trust-a", "council-a", labels,
                                             payload, kRecordId),
                            &delivered)
                  .ok());
  auto care = cluster_.Client("council-a", "council-a/care");
  auto finance = cluster_.Client("council-a", "council-a/finance");
  v1::Record record;
  std::string got;
  // An id nobody sent.
  grpc::Status s =
      FetchStream(*care, "ffffffffffffffffffffffffffffffff", "nhs-trust-a", &record, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  // The right id from the wrong sender.
  s = FetchStream(*care, kRecordId, "police-a", &record, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  // Another system's record.
  s = FetchStream(*finance, kRecordId, "nhs-trust-a", &record, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  EXPECT_TRUE(got.empty());
  // Its own system reads it; once acknowledged, it is gone.
  ASSERT_TRUE(FetchStream(*care, kRecordId, "nhs-trust-a", &record, &got).ok());
  EXPECT_TRUE(got == payload);
  v1::AckRequest ack;
  ack.add_record_ids(kRecordId);
  v1::AckResponse acked;
  ASSERT_TRUE(Call(&v1::Exchange::Stub::Ack, *care, ack, &acked).ok());
  EXPECT_EQ(acked.acked(), 1);
  got.clear();
  s = FetchStream(*care, kRecordId, "nhs-trust-a", &record, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  EXPECT_TRUE(got.empty());
}

}  // namespace
}  // namespace gatehouse
