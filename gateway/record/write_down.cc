#include "gateway/record/write_down.h"

#include "absl/strings/str_cat.h"

namespace gatehouse {

int ClassificationRank(absl::string_view c) {
  if (c == "OFFICIAL") return 1;
  if (c == "OFFICIAL-SENSITIVE") return 2;
  if (c == "SECRET") return 3;
  if (c == "TOP SECRET") return 4;
  return 0;
}

absl::Status CheckNoWriteDown(absl::string_view classification, absl::string_view accreditation,
                              absl::string_view holder) {
  const int level = ClassificationRank(classification);
  if (level == 0 || level <= ClassificationRank(accreditation)) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat("denied: write-down: ", holder,
                                                  " is accredited to ", accreditation,
                                                  ", below this record's ", classification));
}

}  // namespace gatehouse
