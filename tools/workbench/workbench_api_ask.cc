// Api::Ask: one what-if request decided and explained, as `policyc explain`.
#include "absl/strings/string_view.h"
#include "tools/workbench/draft.h"
#include "tools/workbench/what_if.h"
#include "tools/workbench/workbench_api.h"

namespace gatehouse::workbench {

absl::StatusOr<JsonValue> Api::Ask(absl::string_view text) const {
  auto body = JsonBody::Parse(text, {"source", "sender", "recipient", "type", "classification",
                                     "purpose", "originator", "caveats", "role", "legal_basis"});
  if (!body.ok()) return body.status();
  auto source = body->String("source");
  if (!source.ok()) return source.status();
  auto what_if = WhatIfOf(*body);
  if (!what_if.ok()) return what_if.status();
  auto engine = EngineOf(CompileDraft(*source));
  if (!engine.ok()) return engine.status();
  return DecideWhatIf(*engine, *what_if, /*explain=*/true);
}

}  // namespace gatehouse::workbench
