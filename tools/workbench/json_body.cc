#include "tools/workbench/json_body.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace gatehouse::workbench {
namespace {

absl::Status NotAString(absl::string_view key) {
  return absl::InvalidArgumentError(absl::StrCat("\"", key, "\" must be a string"));
}

}  // namespace

absl::StatusOr<JsonBody> JsonBody::Parse(absl::string_view text,
                                         std::initializer_list<absl::string_view> allowed) {
  const absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  if (trimmed.empty() || trimmed.front() != '{') {
    return absl::InvalidArgumentError("the request body must be one JSON object");
  }
  JsonBody body;
  const auto status = google::protobuf::util::JsonStringToMessage(
      std::string(trimmed), &body.fields_, google::protobuf::util::JsonParseOptions());
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the request body is not valid JSON: ", status.ToString()));
  }
  for (const auto& [key, unused] : body.fields_.fields()) {
    bool known = false;
    for (absl::string_view a : allowed) known = known || a == key;
    if (!known) return absl::InvalidArgumentError(absl::StrCat("unknown field \"", key, "\""));
  }
  return body;
}

bool JsonBody::Has(absl::string_view key) const {
  return fields_.fields().count(std::string(key)) > 0;
}

absl::StatusOr<std::string> JsonBody::String(absl::string_view key) const {
  auto it = fields_.fields().find(std::string(key));
  if (it == fields_.fields().end()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", key, "\" is missing"));
  }
  if (it->second.kind_case() != JsonValue::kStringValue) return NotAString(key);
  return it->second.string_value();
}

absl::StatusOr<std::string> JsonBody::OptionalString(absl::string_view key) const {
  if (!Has(key)) return std::string();
  return String(key);
}

absl::StatusOr<bool> JsonBody::OptionalBool(absl::string_view key) const {
  auto it = fields_.fields().find(std::string(key));
  if (it == fields_.fields().end()) return false;
  if (it->second.kind_case() != JsonValue::kBoolValue) {
    return absl::InvalidArgumentError(absl::StrCat("\"", key, "\" must be true or false"));
  }
  return it->second.bool_value();
}

absl::StatusOr<std::vector<std::string>> JsonBody::StringList(absl::string_view key) const {
  std::vector<std::string> out;
  auto it = fields_.fields().find(std::string(key));
  if (it == fields_.fields().end()) return out;
  const JsonValue& v = it->second;
  if (v.kind_case() == JsonValue::kStringValue) {
    for (absl::string_view s : absl::StrSplit(v.string_value(), ',', absl::SkipWhitespace())) {
      out.emplace_back(absl::StripAsciiWhitespace(s));
    }
    return out;
  }
  if (v.kind_case() != JsonValue::kListValue) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", key, "\" must be a list of strings or a comma-separated string"));
  }
  for (const JsonValue& item : v.list_value().values()) {
    if (item.kind_case() != JsonValue::kStringValue) return NotAString(key);
    out.push_back(item.string_value());
  }
  return out;
}

JsonValue Str(absl::string_view s) {
  JsonValue v;
  v.set_string_value(std::string(s));
  return v;
}

JsonValue Num(double n) {
  JsonValue v;
  v.set_number_value(n);
  return v;
}

JsonValue Bool(bool b) {
  JsonValue v;
  v.set_bool_value(b);
  return v;
}

JsonValue Object(std::vector<std::pair<std::string, JsonValue>> fields) {
  JsonValue v;
  auto* out = v.mutable_struct_value()->mutable_fields();
  for (auto& [key, value] : fields) (*out)[key] = std::move(value);
  return v;
}

JsonValue List(std::vector<JsonValue> items) {
  JsonValue v;
  auto* list = v.mutable_list_value();  // set also when empty: [] is not null
  for (JsonValue& item : items) *list->add_values() = std::move(item);
  return v;
}

absl::StatusOr<JsonValue> FromJson(absl::string_view text) {
  JsonValue v;
  const auto status = google::protobuf::util::JsonStringToMessage(
      std::string(text), &v, google::protobuf::util::JsonParseOptions());
  if (!status.ok()) return absl::InvalidArgumentError(status.ToString());
  return v;
}

std::string ToJson(const JsonValue& value) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(value, &out, options).ok()) {
    return "{\"error\":\"internal: the answer could not be written as JSON\"}";
  }
  return absl::StrReplaceAll(out, {{"<", "\\u003c"}, {">", "\\u003e"}});
}

}  // namespace gatehouse::workbench
