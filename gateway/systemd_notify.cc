#include "gateway/systemd_notify.h"

#include <systemd/sd-daemon.h>

#include <cstdint>

namespace gatehouse::systemd {
namespace {

// One line of STATUS=: a newline would start another assignment.
std::string OneLine(const std::string& text) {
  std::string out = text;
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

void Send(const std::string& state) {
  // unset_environment = 0: a reload or a child would notify again.
  (void)sd_notify(0, state.c_str());
}

}  // namespace

void NotifyReady(const std::string& status) {
  Send("READY=1\nSTATUS=" + OneLine(status));
}

void NotifyReloading() { Send("RELOADING=1\nSTATUS=reloading"); }

void NotifyStopping() { Send("STOPPING=1\nSTATUS=stopping: draining calls in flight"); }

void NotifyStatus(const std::string& status) { Send("STATUS=" + OneLine(status)); }

void NotifyWatchdog() { Send("WATCHDOG=1"); }

absl::Duration WatchdogPingInterval() {
  uint64_t usec = 0;
  // > 0 only if WATCHDOG_USEC is set for this very process (WATCHDOG_PID).
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return absl::ZeroDuration();
  return absl::Microseconds(static_cast<int64_t>(usec / 2));
}

}  // namespace gatehouse::systemd
