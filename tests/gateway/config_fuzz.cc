// libFuzzer target: the config and directory loaders must never crash on any
// input, and a config they accept is whole: validated and defaulted (a second
// parse of its JSON form gives the same message).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "gateway/config.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  (void)gatehouse::ParseDirectory(in);
  absl::StatusOr<gatehouse::v1::GatewayConfig> c = gatehouse::ParseGatewayConfig(in);
  if (!c.ok()) return 0;
  if (c->max_payload_bytes() <= 0 || c->retry().deliver_timeout_ms() <= 0 ||
      c->policy().min_signatures() < 1 || c->replay_window_seconds() <= 0) {
    std::abort();  // a default was not filled
  }
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(*c, &json).ok()) std::abort();
  absl::StatusOr<gatehouse::v1::GatewayConfig> again = gatehouse::ParseGatewayConfig(json);
  if (!again.ok() ||
      !google::protobuf::util::MessageDifferencer::Equals(*again, *c)) {
    std::abort();
  }
  return 0;
}
