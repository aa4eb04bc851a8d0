// JSON in and out of the workbench's API, over protobuf's JSON parser and
// its Struct/Value types (no JSON library of our own). A request body is one
// JSON object whose keys the endpoint names: an unknown key is refused, as
// a misspelt field silently ignored would answer a question nobody asked.
//
// Thread-compatible.
//
// Example:
//   ASSIGN_OR_RETURN(JsonBody body, JsonBody::Parse(text, {"source"}));
//   ASSIGN_OR_RETURN(std::string source, body.String("source"));
//   google::protobuf::Value out = Object({{"formatted", Str(f)}});
//   std::string json = ToJson(out);
#ifndef GATEHOUSE_TOOLS_WORKBENCH_JSON_BODY_H_
#define GATEHOUSE_TOOLS_WORKBENCH_JSON_BODY_H_

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/struct.pb.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gatehouse::workbench {

class JsonBody {
 public:
  // Parses `text` as one JSON object with no key outside `allowed`.
  // InvalidArgument saying what is wrong (not JSON, not an object, which
  // key is unknown). REQUIRES: `text` is valid UTF-8 (request_guard.h).
  static absl::StatusOr<JsonBody> Parse(absl::string_view text,
                                        std::initializer_list<absl::string_view> allowed);

  bool Has(absl::string_view key) const;
  // The string at `key`. InvalidArgument if absent or not a string.
  absl::StatusOr<std::string> String(absl::string_view key) const;
  // As String, but "" if absent.
  absl::StatusOr<std::string> OptionalString(absl::string_view key) const;
  // The boolean at `key`, false if absent. InvalidArgument if not a boolean.
  absl::StatusOr<bool> OptionalBool(absl::string_view key) const;
  // A list of strings at `key` (absent: empty; a string: split at commas).
  absl::StatusOr<std::vector<std::string>> StringList(absl::string_view key) const;

 private:
  google::protobuf::Struct fields_;
};

using JsonValue = google::protobuf::Value;

JsonValue Str(absl::string_view s);
JsonValue Num(double n);
JsonValue Bool(bool b);
JsonValue Object(std::vector<std::pair<std::string, JsonValue>> fields);
JsonValue List(std::vector<JsonValue> items);
// Parses JSON made by the policy library (e.g. DiagnosticsToJson).
// InvalidArgument if it does not parse.
absl::StatusOr<JsonValue> FromJson(absl::string_view text);

// Compact JSON. Every string is escaped so that "<" cannot end a script
// element, should a page ever embed it.
std::string ToJson(const JsonValue& value);

}  // namespace gatehouse::workbench

#endif  // GATEHOUSE_TOOLS_WORKBENCH_JSON_BODY_H_
