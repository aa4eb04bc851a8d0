#include "common/log.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace gatehouse {
namespace {

void Log(absl::string_view level, absl::string_view event,
         std::initializer_list<LogField> fields) {
  std::string line = absl::StrCat(
      "{\"time\":", JsonQuote(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                               absl::UTCTimeZone())),
      ",\"level\":", JsonQuote(level), ",\"event\":", JsonQuote(event));
  for (const LogField& f : fields) {
    absl::StrAppend(&line, ",", JsonQuote(f.first), ":", JsonQuote(f.second));
  }
  line += "}\n";
  ssize_t unused = write(STDERR_FILENO, line.data(), line.size());
  (void)unused;
}

}  // namespace

void LogInfo(absl::string_view event, std::initializer_list<LogField> fields) {
  Log("info", event, fields);
}
void LogWarning(absl::string_view event, std::initializer_list<LogField> fields) {
  Log("warning", event, fields);
}
void LogError(absl::string_view event, std::initializer_list<LogField> fields) {
  Log("error", event, fields);
}

std::string JsonQuote(absl::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += "\"";
  return out;
}

}  // namespace gatehouse
