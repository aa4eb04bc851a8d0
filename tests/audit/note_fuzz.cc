// Fuzz target: signed-note and checkpoint parsing, and note opening against a
// fixed verifier key (the Go reference vector's). Must never crash; anything
// accepted must re-format to a note that parses the same way.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "audit/checkpoint.h"
#include "audit/note.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gatehouse::audit;
  static const NoteVerifier* verifier = new NoteVerifier(
      *NoteVerifier::FromVerifierKey("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"));
  absl::string_view in(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<Note> note = ParseNote(in);
  if (note.ok()) {
    std::string again = note->text + "\n";
    for (const NoteSignature& s : note->signatures) again += FormatSignatureLine(s);
    if (again != in) abort();
    (void)ParseCheckpoint(note->text);
  }
  (void)OpenNote(in, {verifier});
  (void)OpenCheckpoint(in, *verifier);
  (void)ParseCheckpoint(in);
  return 0;
}
