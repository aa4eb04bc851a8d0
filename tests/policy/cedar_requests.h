// A C++ port of the Cedar peer benchmark's request generator
// (../shared/peers/cedar/bench.mjs: mulberry32, generateRequests). Given the
// same seed it yields the same requests in the same order, so our engine's
// decisions can be compared with Cedar's one by one. Thread-compatible.
#ifndef GATEHOUSE_TESTS_POLICY_CEDAR_REQUESTS_H_
#define GATEHOUSE_TESTS_POLICY_CEDAR_REQUESTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "policy/engine.h"

namespace gatehouse::policy::testing {

// mulberry32 exactly as in bench.mjs: 32-bit state, doubles in [0, 1).
class Mulberry32 {
 public:
  explicit Mulberry32(uint32_t seed) : a_(seed) {}
  double Next();

 private:
  uint32_t a_;
};

// One generated request; the views point at static tables.
struct PeerRequest {
  absl::string_view sender, recipient, record_type, purpose, originator;
  int classification = 0;  // 0 OFFICIAL .. 3 TOP SECRET
  std::vector<absl::string_view> caveats;

  // As a policy Request (views into this object and static tables).
  Request AsRequest() const;
};

// generateRequests(n, seed) from bench.mjs.
std::vector<PeerRequest> GenerateRequests(int n, uint32_t seed);

// FNV-1a over one byte per decision (1 allow, 0 deny), as bench.mjs prints
// it in decisionFingerprint.
uint32_t DecisionFingerprint(const std::vector<uint8_t>& decisions);

// Reads a file of text; empty string and false if it cannot be read.
bool ReadFileToString(const std::string& path, std::string* out);

}  // namespace gatehouse::policy::testing

#endif  // GATEHOUSE_TESTS_POLICY_CEDAR_REQUESTS_H_
