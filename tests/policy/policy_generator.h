// Generates realistic policies for benchmarks and scale tests: several
// sectors of organisations, sector-wide agreements, agreements naming lists
// of organisations, bilateral agreements with obligations, police requests
// for health records under a purpose, a rank, a legal basis and a caveat,
// caveat-scoped forbids with
// exceptions, suspended organisations, ORCON and accreditation conditions.
// (The older benchmark policy, only bilateral permits and one forbid shape,
// was easy for the analysis; these shapes are the ones that were not.)
// Deterministic for a seed. Thread-compatible.
//
// Example:
//   GeneratorOptions o;
//   o.rules = 10000;
//   std::string text = GeneratePolicy(o);
#ifndef GATEHOUSE_TESTS_POLICY_POLICY_GENERATOR_H_
#define GATEHOUSE_TESTS_POLICY_POLICY_GENERATOR_H_

#include <cstdint>
#include <string>

namespace gatehouse::policy::testing {

struct GeneratorOptions {
  int rules = 10000;
  int organisations = 60;  // across five sectors
  int record_types = 40;
  int purposes = 20;
  uint32_t seed = 42;
  // A second version of the same policy, as an officer would edit it: a few
  // obligations removed, a caveat exception dropped, an organisation's
  // accreditation lowered, one organisation added. Same seed, same rules
  // otherwise.
  bool edited = false;
};

std::string GeneratePolicy(const GeneratorOptions& options);

}  // namespace gatehouse::policy::testing

#endif  // GATEHOUSE_TESTS_POLICY_POLICY_GENERATOR_H_
