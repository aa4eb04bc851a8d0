// ByteSource and ByteSink: where a streamed record's bytes come from and go
// to, so that a 1 GiB record never has to be in memory. File and string
// implementations.
//
// Each object is used by one thread at a time (thread-compatible).
//
// Example:
//   ASSIGN_OR_RETURN(auto in, FileSource::Open("/data/scan.dcm"));
//   ASSIGN_OR_RETURN(auto out, FileSink::Create("/outbox/rec-1.ghs"));
//   RETURN_IF_ERROR(stream_sealer->Seal(labels, to, in.get(), out.get()));
//   RETURN_IF_ERROR(out->Close());
#ifndef GATEHOUSE_ENVELOPE_BYTE_STREAM_H_
#define GATEHOUSE_ENVELOPE_BYTE_STREAM_H_

#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gatehouse::envelope {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to `n` bytes into `buf`; returns how many, 0 only at the end.
  // Unavailable on an I/O error.
  virtual absl::StatusOr<size_t> Read(char* buf, size_t n) = 0;
  // Starts again from the first byte (StreamOpener reads twice: verify,
  // then decrypt). Unavailable if the source cannot.
  virtual absl::Status Rewind() = 0;
};

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  // Appends `bytes`. Unavailable on an I/O error.
  virtual absl::Status Write(absl::string_view bytes) = 0;
};

// Reads exactly `n` bytes unless the source ends first; returns how many.
absl::StatusOr<size_t> ReadFull(ByteSource* source, char* buf, size_t n);

class FileSource : public ByteSource {
 public:
  // NotFound if `path` does not exist; Unavailable if it cannot be opened.
  static absl::StatusOr<std::unique_ptr<FileSource>> Open(const std::string& path);
  ~FileSource() override;
  absl::StatusOr<size_t> Read(char* buf, size_t n) override;
  absl::Status Rewind() override;

 private:
  explicit FileSource(std::FILE* f) : file_(f) {}
  std::FILE* file_;
};

class FileSink : public ByteSink {
 public:
  // Creates or truncates `path` with mode 0600. Unavailable on failure.
  static absl::StatusOr<std::unique_ptr<FileSink>> Create(const std::string& path);
  ~FileSink() override;
  absl::Status Write(absl::string_view bytes) override;
  // Flushes and fsyncs; Unavailable on failure. Call before trusting the file.
  absl::Status Close();

 private:
  explicit FileSink(std::FILE* f) : file_(f) {}
  std::FILE* file_;
};

// Reads from a string the caller keeps alive.
class StringSource : public ByteSource {
 public:
  explicit StringSource(absl::string_view bytes) : bytes_(bytes) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override;
  absl::Status Rewind() override {
    pos_ = 0;
    return absl::OkStatus();
  }

 private:
  absl::string_view bytes_;
  size_t pos_ = 0;
};

class StringSink : public ByteSink {
 public:
  absl::Status Write(absl::string_view bytes) override {
    out_.append(bytes.data(), bytes.size());
    return absl::OkStatus();
  }
  const std::string& contents() const { return out_; }

 private:
  std::string out_;
};

}  // namespace gatehouse::envelope

#endif  // GATEHOUSE_ENVELOPE_BYTE_STREAM_H_
