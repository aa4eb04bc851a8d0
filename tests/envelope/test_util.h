// Fixtures for the envelope tests: two organisations' keysets generated at
// runtime (no key is committed), labels, and helpers to flip bytes.
#ifndef GATEHOUSE_TESTS_ENVELOPE_TEST_UTIL_H_
#define GATEHOUSE_TESTS_ENVELOPE_TEST_UTIL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "envelope/header.h"
#include "envelope/keyset.h"

namespace gatehouse::envelope::testing {

inline std::shared_ptr<Keyset> NewKeyset(const std::string& org) {
  auto ks = Keyset::Generate(org, Keyset::Kind::kGateway, absl::Now());
  return std::make_shared<Keyset>(*std::move(ks));
}

inline RecordLabels Labels(const std::string& record_id, const std::string& sender = "nhs-trust-a",
                           const std::string& recipient = "council-a") {
  RecordLabels l;
  l.record_id = record_id;
  l.sender_org = sender;
  l.recipient_org = recipient;
  l.record_type = "discharge_summary";
  l.classification = "OFFICIAL-SENSITIVE";
  l.caveats = {"PERSONAL", "MEDICAL"};
  l.purpose = "direct_care";
  l.created_unix_ms = 1764331200000;
  l.content_type = "application/fhir+json";
  return l;
}

inline std::string Payload(size_t n, char seed = 'p') {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + 31 * i);
  return s;
}

// Where `field` sits inside `whole` (both views of one buffer).
inline size_t OffsetOf(absl::string_view whole, absl::string_view field) {
  return static_cast<size_t>(field.data() - whole.data());
}

}  // namespace gatehouse::envelope::testing

#endif  // GATEHOUSE_TESTS_ENVELOPE_TEST_UTIL_H_
