// Helpers the workbench's tests share: the example policies, and reading an
// API answer's JSON. Test code only (GoogleTest expectations inside).
#ifndef GATEHOUSE_TOOLS_WORKBENCH_API_TEST_UTIL_H_
#define GATEHOUSE_TOOLS_WORKBENCH_API_TEST_UTIL_H_

#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "tools/workbench/json_body.h"
#include "tools/workbench/workbench_api.h"

namespace gatehouse::workbench::testing {

// The text of policy/examples/`name` ("" if it cannot be read).
inline std::string Example(const std::string& name) {
  std::ifstream in(std::string(GATEHOUSE_SOURCE_DIR) + "/policy/examples/" + name);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A permit the examples do not have: police send crime reports to councils.
inline constexpr char kNewPermit[] = R"(
permit police-council-crime
  "The force tells the council of crimes it must act on."
  when sender sector is police
    and recipient sector is council
    and record type is crime_report
    and purpose is safeguarding
    and classification at most OFFICIAL-SENSITIVE
  then encrypt
)";

// The answer's JSON object; an empty one (and a test failure) if it is not.
inline google::protobuf::Struct Parsed(const ApiAnswer& a) {
  auto v = FromJson(a.json);
  EXPECT_TRUE(v.ok()) << a.json;
  return v.ok() ? v->struct_value() : google::protobuf::Struct();
}

// The value at `key`, or a null value if there is none.
inline const JsonValue& Field(const google::protobuf::Struct& s, const std::string& key) {
  static const JsonValue kNull;
  auto it = s.fields().find(key);
  return it == s.fields().end() ? kNull : it->second;
}

}  // namespace gatehouse::workbench::testing

#endif  // GATEHOUSE_TOOLS_WORKBENCH_API_TEST_UTIL_H_
