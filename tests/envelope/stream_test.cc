// Streamed records: round trips at chunk boundaries, and chunks reordered,
// dropped, duplicated or truncated, the signature flipped, and the source
// changed between the opener's two passes.
#include "envelope/stream.h"

#include <sys/resource.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "envelope/envelope_codec.h"
#include "envelope/wire.h"
#include "gtest/gtest.h"
#include "tests/envelope/test_util.h"

namespace gatehouse::envelope {
namespace {

using testing::Labels;
using testing::NewKeyset;
using testing::Payload;

constexpr size_t kChunk = 1000;

// The frames of a streamed record: [0] the length-prefixed preamble, then
// one per chunk, then the end marker and signature.
struct Frames {
  std::string preamble;
  std::vector<std::string> chunks;
  std::string trailer;
  std::string Join() const {
    std::string s = preamble;
    for (const auto& c : chunks) s += c;
    return s + trailer;
  }
};

uint32_t BigEndian32(absl::string_view s) {
  return (uint32_t{static_cast<uint8_t>(s[0])} << 24) | (uint32_t{static_cast<uint8_t>(s[1])} << 16) |
         (uint32_t{static_cast<uint8_t>(s[2])} << 8) | uint32_t{static_cast<uint8_t>(s[3])};
}

Frames Split(const std::string& sealed) {
  Frames f;
  size_t pos = 4 + BigEndian32(sealed);
  f.preamble = sealed.substr(0, pos);
  for (;;) {
    const uint32_t len = BigEndian32(absl::string_view(sealed).substr(pos));
    if (len == 0) break;
    f.chunks.push_back(sealed.substr(pos, 4 + len));
    pos += 4 + len;
  }
  f.trailer = sealed.substr(pos);
  return f;
}

class StreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    health_ = NewKeyset("nhs-trust-a");
    council_ = NewKeyset("council-a");
    sealer_ = *StreamSealer::Create(health_, kChunk);
    opener_ = *StreamOpener::Create(council_);
  }

  std::string Seal(const std::string& payload) {
    StringSource in(payload);
    StringSink out;
    EXPECT_TRUE(sealer_->Seal(Labels("big-1"), *council_->PrimaryRecipientKey(), &in, &out).ok());
    return out.contents();
  }

  absl::StatusOr<EnvelopeHeader> Open(const std::string& sealed, std::string* plaintext) {
    StringSource in(sealed);
    StringSink out;
    auto h = opener_->Open(&in, {"nhs-trust-a", "council-a"}, health_->VerifyingKeys(), &out);
    *plaintext = out.contents();
    return h;
  }

  std::shared_ptr<Keyset> health_, council_;
  std::unique_ptr<StreamSealer> sealer_;
  std::unique_ptr<StreamOpener> opener_;
};

TEST_F(StreamTest, RoundTripsAtChunkBoundaries) {
  for (size_t n : {size_t{0}, size_t{1}, kChunk - 1, kChunk, kChunk + 1, 3 * kChunk, 3 * kChunk + 7}) {
    const std::string payload = Payload(n);
    std::string plain;
    auto h = Open(Seal(payload), &plain);
    ASSERT_TRUE(h.ok()) << n << " " << h.status();
    EXPECT_EQ(plain, payload) << n;
    EXPECT_EQ(h->mode, EnvelopeMode::kStream);
    EXPECT_EQ(h->labels.record_id, "big-1");
  }
}

TEST_F(StreamTest, ChunksReorderedAreRejected) {
  Frames f = Split(Seal(Payload(4 * kChunk + 5)));
  ASSERT_EQ(f.chunks.size(), 5u);
  std::swap(f.chunks[1], f.chunks[2]);
  std::string plain;
  EXPECT_EQ(Open(f.Join(), &plain).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(plain, "");
}

TEST_F(StreamTest, ChunkDroppedIsRejected) {
  Frames f = Split(Seal(Payload(4 * kChunk + 5)));
  f.chunks.erase(f.chunks.begin() + 2);
  std::string plain;
  EXPECT_EQ(Open(f.Join(), &plain).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(plain, "");
}

TEST_F(StreamTest, ChunkDuplicatedIsRejected) {
  Frames f = Split(Seal(Payload(4 * kChunk + 5)));
  f.chunks.insert(f.chunks.begin() + 2, f.chunks[2]);
  std::string plain;
  EXPECT_EQ(Open(f.Join(), &plain).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(plain, "");
}

TEST_F(StreamTest, FinalChunkDroppedIsRejected) {
  Frames f = Split(Seal(Payload(4 * kChunk + 5)));
  f.chunks.pop_back();
  std::string plain;
  EXPECT_FALSE(Open(f.Join(), &plain).ok());
  EXPECT_EQ(plain, "");
}

TEST_F(StreamTest, EveryTruncationIsRejected) {
  const std::string sealed = Seal(Payload(2 * kChunk + 3));
  for (size_t n = 0; n < sealed.size(); n += 37) {
    std::string plain;
    EXPECT_FALSE(Open(sealed.substr(0, n), &plain).ok()) << n;
    EXPECT_EQ(plain, "");
  }
}

TEST_F(StreamTest, EveryByteFlippedIsRejected) {
  const std::string sealed = Seal(Payload(kChunk + 10));
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string bad = sealed;
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    std::string plain;
    ASSERT_FALSE(Open(bad, &plain).ok()) << i;
    EXPECT_EQ(plain, "") << i;
  }
}

TEST_F(StreamTest, TrailingByteIsRejected) {
  std::string plain;
  EXPECT_EQ(Open(Seal("abc") + "x", &plain).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(StreamTest, WrongRecipientIsRejected) {
  const std::string sealed = Seal("abc");
  StringSource in(sealed);
  StringSink out;
  auto h = opener_->Open(&in, {"nhs-trust-a", "council-b"}, health_->VerifyingKeys(), &out);
  EXPECT_EQ(h.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(StreamTest, UnknownSigningKeyIsRejected) {
  const std::string sealed = Seal("abc");
  StringSource in(sealed);
  StringSink out;
  auto h = opener_->Open(&in, {"nhs-trust-a", "council-a"}, {}, &out);
  EXPECT_EQ(h.status().code(), absl::StatusCode::kUnauthenticated);
}

// A source that serves one record on the first pass and another on the
// second: the opener must notice.
class SwappingSource : public ByteSource {
 public:
  SwappingSource(std::string first, std::string second)
      : first_(std::move(first)), second_(std::move(second)), current_(first_) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override { return current_.Read(buf, n); }
  absl::Status Rewind() override {
    current_ = StringSource(second_);
    return absl::OkStatus();
  }

 private:
  std::string first_, second_;
  StringSource current_;
};

TEST_F(StreamTest, SourceChangedBetweenPassesIsRejected) {
  const std::string good = Seal(Payload(3 * kChunk));
  Frames f = Split(good);
  std::swap(f.chunks[0], f.chunks[1]);
  SwappingSource in(good, f.Join());
  StringSink out;
  auto h = opener_->Open(&in, {"nhs-trust-a", "council-a"}, health_->VerifyingKeys(), &out);
  EXPECT_EQ(h.status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(StreamTest, StreamHeaderIsNotAnEnvelope) {
  const std::string sealed = Seal("abc");
  auto opener = *Opener::Create(council_);
  EXPECT_FALSE(opener->Open(sealed, {"nhs-trust-a", "council-a"}, health_->VerifyingKeys()).ok());
}

// Streams 64 MiB through sources and sinks that hold nothing, and checks
// that the process's peak memory grew by far less than the record.
class CountingSource : public ByteSource {
 public:
  explicit CountingSource(size_t n) : n_(n) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    const size_t take = std::min(n, n_ - pos_);
    for (size_t i = 0; i < take; ++i) buf[i] = static_cast<char>((pos_ + i) * 13);
    pos_ += take;
    return take;
  }
  absl::Status Rewind() override {
    pos_ = 0;
    return absl::OkStatus();
  }

 private:
  size_t n_, pos_ = 0;
};

// Keeps the sealed bytes in a temporary file.
class TempFile {
 public:
  TempFile() {
    const char* dir = std::getenv("TMPDIR");
    path_ = std::string(dir ? dir : "/tmp") + "/gh-stream-test-" + std::to_string(getpid());
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class CheckingSink : public ByteSink {
 public:
  absl::Status Write(absl::string_view bytes) override {
    for (size_t i = 0; i < bytes.size(); ++i) {
      if (bytes[i] != static_cast<char>((n_ + i) * 13)) return absl::DataLossError("mismatch");
    }
    n_ += bytes.size();
    return absl::OkStatus();
  }
  size_t n_ = 0;
};

long PeakRssKiB() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

TEST_F(StreamTest, SixtyFourMiBStreamsInBoundedMemory) {
  constexpr size_t kSize = 64u << 20;
  const long before = PeakRssKiB();
  TempFile file;
  auto sealer = *StreamSealer::Create(health_);  // 1 MiB chunks
  {
    CountingSource in(kSize);
    auto out = *FileSink::Create(file.path());
    ASSERT_TRUE(sealer->Seal(Labels("big"), *council_->PrimaryRecipientKey(), &in, out.get()).ok());
    ASSERT_TRUE(out->Close().ok());
  }
  auto in = *FileSource::Open(file.path());
  CheckingSink out;
  auto h = opener_->Open(in.get(), {"nhs-trust-a", "council-a"}, health_->VerifyingKeys(), &out);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(out.n_, kSize);
  EXPECT_LT(PeakRssKiB() - before, 16 * 1024) << "peak memory grew by more than 16 MiB";
}

}  // namespace
}  // namespace gatehouse::envelope
