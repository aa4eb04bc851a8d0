// Streamed records (exchange.proto SubmitStream / FetchStream, peer.proto
// DeliverStream) pass through the gateway in bounded memory: sealed as they
// arrive into a spool file under the data directory, delivered from it, kept
// in it (still sealed) in the receiver's mailbox, and opened from it chunk by
// chunk when fetched. These are the pieces that carry the bytes.
//
// The plaintext inside a streamed envelope is the record's SealedContent
// (peer.proto) without its payload, framed as a 4-byte big-endian length and
// the serialized message, followed by the payload bytes.
//
// Not thread-safe: each object serves one call.
#ifndef GATEHOUSE_GATEWAY_STREAM_SPOOL_H_
#define GATEHOUSE_GATEWAY_STREAM_SPOOL_H_

#include <sodium.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gatehouse/v1/peer.pb.h"
#include "envelope/byte_stream.h"
#include "gateway/store/store.h"

namespace gatehouse {

// What one gRPC message of a stream carries, at most.
inline constexpr size_t kStreamMessageBytes = 1 << 20;
// The largest SealedContent (without payload) a streamed record may carry.
inline constexpr size_t kMaxStreamContentBytes = 64 << 10;

// Spool folders, relative to the data directory.
inline constexpr const char kSpoolOut[] = "spool/out";
inline constexpr const char kSpoolIn[] = "spool/in";

// The most bytes a sealed stream of at most `payload_limit` payload bytes
// may take: the payload, a frame per chunk of at least 4 KiB, the
// SealedContent frame, preamble and signature.
inline uint64_t SealedStreamLimit(uint64_t payload_limit) {
  return payload_limit + payload_limit / 4096 + (160 << 10);
}

// Where a received streamed envelope with this SHA-256 (32 bytes) is kept:
// relative to the data directory, and in full.
std::string InboundSpoolName(absl::string_view envelope_sha256);
std::string InboundSpoolPath(const std::string& data_dir, absl::string_view envelope_sha256);

// Creates <data_dir>/spool/{out,in} (mode 0700) and removes the partial
// files (*.part) a stopped or crashed gateway left there.
absl::Status PrepareSpool(const std::string& data_dir);

// Removes the spool files no record refers to any more, which a crash can
// leave behind (between a file's rename into the spool and the store write
// that names it) and which a record refused by its peer leaves in spool/out:
// spool/out/<record_id>.env unless that record is queued in the outbox,
// spool/in/<sha256 hex>.env unless an unacknowledged mailbox record is kept
// under that envelope. A file whose status the store cannot tell is kept.
// Call at start, before the gateway serves. Returns how many were removed.
int SweepSpool(const std::string& data_dir, Store& store);

// A file being written into the spool under a temporary name. Counts and
// hashes (SHA-256) what is written and refuses to pass `limit` bytes. Until
// Commit renames it, destroying it removes the file.
class SpoolFile : public envelope::ByteSink {
 public:
  // Creates <dir>/<random>.part, mode 0600.
  static absl::StatusOr<std::unique_ptr<SpoolFile>> Create(const std::string& dir, uint64_t limit);
  ~SpoolFile() override;
  SpoolFile(const SpoolFile&) = delete;
  SpoolFile& operator=(const SpoolFile&) = delete;

  // Unavailable on an I/O error; ResourceExhausted (and over_limit()) if
  // `bytes` would take the file past its limit, in which case nothing is
  // written.
  absl::Status Write(absl::string_view bytes) override;
  // Flushes the file to disk and closes it; then path() may be read and
  // sha256() is final. No Write after this.
  absl::Status Sync();
  // Renames the synced file to `final_path` and syncs its folder; the file
  // then stays.
  absl::Status Commit(const std::string& final_path);

  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }
  bool over_limit() const { return over_limit_; }
  // SHA-256 (32 bytes) of what was written; after Sync.
  const std::string& sha256() const { return sha256_; }

 private:
  SpoolFile(int fd, std::string path, uint64_t limit) : fd_(fd), path_(std::move(path)), limit_(limit) {
    crypto_hash_sha256_init(&hash_);
  }
  int fd_;
  std::string path_;
  const uint64_t limit_;
  uint64_t size_ = 0;
  bool over_limit_ = false;
  bool committed_ = false;
  crypto_hash_sha256_state hash_;
  std::string sha256_;
};

// The plaintext of a streamed record as the sealer reads it: the prefix,
// then the payload as `next` hands it over (false at the end). Counts and
// hashes the payload and refuses more than `limit` bytes of it. Read once:
// Rewind is refused.
class PayloadSource : public envelope::ByteSource {
 public:
  using Next = std::function<bool(std::string* chunk)>;
  PayloadSource(std::string prefix, Next next, uint64_t limit);

  absl::StatusOr<size_t> Read(char* buf, size_t n) override;
  absl::Status Rewind() override;

  bool over_limit() const { return over_limit_; }
  uint64_t payload_bytes() const { return payload_bytes_; }
  // SHA-256 of the payload; once the source is read to its end.
  std::string payload_sha256();

 private:
  std::string prefix_;
  size_t prefix_at_ = 0;
  Next next_;
  const uint64_t limit_;
  std::string chunk_;
  size_t chunk_at_ = 0;
  bool ended_ = false;
  bool over_limit_ = false;
  uint64_t payload_bytes_ = 0;
  crypto_hash_sha256_state hash_;
};

// The other end: takes a streamed record's plaintext as the opener writes
// it, parses the SealedContent frame, and hands the payload bytes to
// `payload` (or drops them if it is empty), counting and hashing them.
class ContentSink : public envelope::ByteSink {
 public:
  using PayloadWriter = std::function<absl::Status(absl::string_view bytes)>;
  explicit ContentSink(PayloadWriter payload = nullptr);

  // InvalidArgument if the frame is malformed; else what `payload` returns.
  absl::Status Write(absl::string_view bytes) override;

  // True once the SealedContent frame has been read whole.
  bool has_content() const { return has_content_; }
  const v1::SealedContent& content() const { return content_; }
  uint64_t payload_bytes() const { return payload_bytes_; }
  // SHA-256 of the payload; once the opener has finished.
  std::string payload_sha256();

 private:
  PayloadWriter payload_;
  std::string frame_;  // the length and SealedContent, while they arrive
  bool has_content_ = false;
  v1::SealedContent content_;
  uint64_t payload_bytes_ = 0;
  crypto_hash_sha256_state hash_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_STREAM_SPOOL_H_
