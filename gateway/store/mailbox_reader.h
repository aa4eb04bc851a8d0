// MailboxReader: the rule of who sees which mailbox record, as a value
// (thread-compatible: copy it, share it read-only). MailboxStore applies it.
#ifndef GATEHOUSE_GATEWAY_STORE_MAILBOX_READER_H_
#define GATEHOUSE_GATEWAY_STORE_MAILBOX_READER_H_

#include <string>
#include <utility>
#include <vector>

namespace gatehouse {

// Who reads the mailbox: one system of our organisation, and the systems
// that may take records addressed to the organisation as a whole.
//
// A record addressed to a system is visible to that system alone, until it
// acknowledges it. A record addressed to the organisation (no recipient
// system) is visible to each system named in `org_recipients`, until that
// system acknowledges it; to no other system, and to none if the list is
// empty. A reader with an empty `system` sees nothing.
//
// Example:
//   MailboxReader reader =
//       MailboxReader::Of(caller.system, config.org_recipient_systems());
//   ASSIGN_OR_RETURN(std::vector<MailboxEntry> page, store.FetchMailbox(reader, 0, 100));
struct MailboxReader {
  std::string system;                       // the calling system
  std::vector<std::string> org_recipients;  // GatewayConfig.org_recipient_systems

  // The reader for `system` under a config's org_recipient_systems (any
  // range of strings).
  template <typename Range>
  static MailboxReader Of(std::string system, const Range& org_recipients) {
    return MailboxReader{std::move(system), {org_recipients.begin(), org_recipients.end()}};
  }

  // Whether `system` may take organisation-wide records.
  bool TakesOrgWide() const {
    if (system.empty()) return false;
    for (const std::string& s : org_recipients) {
      if (s == system) return true;
    }
    return false;
  }
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_STORE_MAILBOX_READER_H_
