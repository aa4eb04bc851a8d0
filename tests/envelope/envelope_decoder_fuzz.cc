// libFuzzer target for every decoder of untrusted envelope input: the
// envelope encoding, the canonical header, Opener::Open (per-record and
// batch), StreamOpener::Open, and VerifySignedDirectory. Deterministic: the
// keys are the test-vector keys (vector_keys.h), derived from names. Under
// g++ ctest replays the seed corpus in corpus/ (label fuzz); scripts/fuzz.sh
// builds it with clang -fsanitize=fuzzer.
//
// Seeds (corpus/): the input of each tests/testdata/envelope/*.json, one
// file each, plus a bare header, an empty input and a bare version field:
//   for f in tests/testdata/envelope/*.json; do
//     jq -r .input_hex "$f" | xxd -r -p > tests/envelope/corpus/$(basename "$f" .json)
//   done
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "envelope/envelope_codec.h"
#include "envelope/opener.h"
#include "envelope/signed_directory.h"
#include "envelope/stream.h"
#include "tests/envelope/vector_keys.h"

namespace {

using namespace gatehouse::envelope;  // NOLINT: a fuzz entry point

struct Fixture {
  std::shared_ptr<Keyset> health = std::make_shared<Keyset>(*testing::VectorKeyset("nhs-trust-a"));
  std::shared_ptr<Keyset> council = std::make_shared<Keyset>(*testing::VectorKeyset("council-a"));
  Keyset authority = *testing::VectorKeyset("directory-authority", false);
  std::unique_ptr<Opener> opener = *Opener::Create(council);
  std::unique_ptr<StreamOpener> stream_opener = *StreamOpener::Create(council);
  std::vector<VerifyingKey> health_keys = health->VerifyingKeys();
  std::vector<VerifyingKey> authority_keys = authority.VerifyingKeys();
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture* f = new Fixture;
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const ExpectedParties parties{"nhs-trust-a", "council-a"};

  EnvelopeParts parts;
  if (DecodeEnvelope(input, &parts).ok()) {
    // What decodes must re-encode to the same bytes: one encoding each.
    std::string again;
    AppendEnvelope(parts, &again);
    if (again != input) __builtin_trap();
  }
  if (auto h = DecodeHeader(input); h.ok()) {
    auto again = EncodeHeader(*h);
    if (!again.ok() || *again != input) __builtin_trap();
  }
  (void)f->opener->Open(input, parties, f->health_keys);

  StringSource source(input);
  StringSink sink;
  (void)f->stream_opener->Open(&source, parties, f->health_keys, &sink);
  (void)VerifySignedDirectory(input, f->authority_keys, absl::FromUnixSeconds(1764331200));
  return 0;
}
