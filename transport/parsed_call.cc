#include "transport/parsed_call.h"

#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/utf8.h"
#include "google/protobuf/unknown_field_set.h"
#include "proto/error_details.h"

namespace gatehouse {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::UnknownField;
using google::protobuf::UnknownFieldSet;

// The path of the first string field of `type` in `bytes` that is not
// UTF-8, reading the wire format without checking strings (as unknown
// fields do); nothing if there is none or `bytes` is not even well formed.
// Nested messages deeper than `depth` are not looked into.
std::optional<std::string> NonUtf8Field(const Descriptor& type, const std::string& bytes,
                                        int depth) {
  UnknownFieldSet fields;
  if (depth <= 0 || !fields.ParseFromString(bytes)) return std::nullopt;
  for (int i = 0; i < fields.field_count(); ++i) {
    const UnknownField& f = fields.field(i);
    const FieldDescriptor* field = type.FindFieldByNumber(f.number());
    if (field == nullptr || f.type() != UnknownField::TYPE_LENGTH_DELIMITED) continue;
    if (field->type() == FieldDescriptor::TYPE_STRING && !IsValidUtf8(f.length_delimited())) {
      return field->name();
    }
    if (field->type() == FieldDescriptor::TYPE_MESSAGE) {
      std::optional<std::string> inner =
          NonUtf8Field(*field->message_type(), f.length_delimited(), depth - 1);
      if (inner.has_value()) return absl::StrCat(field->name(), ".", *inner);
    }
  }
  return std::nullopt;
}

}  // namespace

std::string BufferBytes(const grpc::ByteBuffer& buffer) {
  std::string bytes;
  std::vector<grpc::Slice> slices;
  if (buffer.Valid() && buffer.Dump(&slices).ok()) {
    for (const grpc::Slice& s : slices) {
      bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
  }
  return bytes;
}

absl::Status NotParsedError(const Descriptor& type, const std::string& bytes) {
  std::optional<std::string> field = NonUtf8Field(type, bytes, /*depth=*/8);
  if (field.has_value()) {
    return WithReason(
        WithFieldViolation(absl::InvalidArgumentError(absl::StrCat(
                               "the request is not a valid ", type.full_name(), ": field ", *field,
                               " holds bytes that are not UTF-8; nothing was done")),
                           *field, "not UTF-8"),
        "REQUEST_NOT_PARSED");
  }
  return WithReason(
      absl::InvalidArgumentError(absl::StrCat("the request is not a valid ", type.full_name(),
                                              " (malformed protobuf encoding); nothing was done")),
      "REQUEST_NOT_PARSED");
}

}  // namespace gatehouse
