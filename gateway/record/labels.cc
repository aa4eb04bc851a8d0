#include "gateway/record/labels.h"

#include <algorithm>
#include <string>
#include <vector>

namespace gatehouse {

envelope::RecordLabels EnvelopeLabelsOf(const v1::Labels& labels, absl::string_view record_id,
                                        absl::string_view sender_org, int64_t created_unix_ms) {
  envelope::RecordLabels h;
  h.record_id = std::string(record_id);
  h.sender_org = std::string(sender_org);
  h.recipient_org = labels.recipient_org();
  h.record_type = labels.record_type();
  h.classification = labels.classification();
  h.caveats.assign(labels.caveats().begin(), labels.caveats().end());
  h.purpose = labels.purpose();
  h.created_unix_ms = created_unix_ms;
  h.content_type = labels.content_type();
  return h;
}

v1::Labels LabelsOf(const envelope::RecordLabels& header, const v1::SealedContent& content) {
  v1::Labels l;
  l.set_recipient_org(header.recipient_org);
  l.set_recipient_system(content.recipient_system());
  l.set_record_type(header.record_type);
  l.set_classification(header.classification);
  // The submitted order, if it names exactly the caveats the header
  // authenticates; the header's sorted order otherwise.
  std::vector<std::string> submitted(content.caveats().begin(), content.caveats().end());
  std::vector<std::string> sorted = submitted;
  std::sort(sorted.begin(), sorted.end());
  for (const std::string& c : sorted == header.caveats ? submitted : header.caveats) {
    l.add_caveats(c);
  }
  l.set_purpose(header.purpose);
  l.set_originator(content.originator());
  l.set_end_user(content.end_user());
  l.set_content_type(header.content_type);
  return l;
}

policy::Request PolicyRequestOf(absl::string_view sender_org, const v1::Labels& labels,
                                std::vector<absl::string_view>* caveats) {
  caveats->assign(labels.caveats().begin(), labels.caveats().end());
  policy::Request req;
  req.sender = sender_org;
  req.recipient = labels.recipient_org();
  req.record_type = labels.record_type();
  req.classification = labels.classification();
  req.purpose = labels.purpose();
  req.originator = labels.originator();
  req.caveats = *caveats;
  return req;
}

}  // namespace gatehouse
