#include "gateway/record/entries.h"

namespace gatehouse {

v1::AuditEntry FetchedEntry(const v1::Record& r, const std::string& org,
                            const std::string& system, const std::string& payload_sha256) {
  v1::AuditEntry a;
  a.set_event(v1::AUDIT_EVENT_FETCHED);
  a.set_record_id(r.record_id());
  a.set_sender_org(r.sender_org());
  a.set_sender_system(r.sender_system());
  a.set_recipient_org(org);
  a.set_recipient_system(system);
  *a.mutable_labels() = r.labels();
  a.set_payload_sha256(payload_sha256);
  return a;
}

v1::AuditEntry DeliveredEntry(const v1::OutboxRecord& record, const std::string& reason) {
  v1::AuditEntry e;
  e.set_event(v1::AUDIT_EVENT_DELIVERED);
  e.set_record_id(record.record_id());
  e.set_sender_org(record.sender_org());
  e.set_sender_system(record.sender_system());
  e.set_recipient_org(record.labels().recipient_org());
  e.set_recipient_system(record.labels().recipient_system());
  e.set_reason(reason);
  return e;
}

v1::AuditEntry AckedEntry(const std::string& record_id, const std::string& sender_org,
                          const std::string& org, const std::string& system) {
  v1::AuditEntry e;
  e.set_event(v1::AUDIT_EVENT_ACKED);
  e.set_record_id(record_id);
  e.set_sender_org(sender_org);
  e.set_recipient_org(org);
  e.set_recipient_system(system);
  return e;
}

}  // namespace gatehouse
