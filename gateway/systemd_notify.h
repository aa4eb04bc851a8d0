// systemd's service notification protocol (sd_notify(3), through Debian's
// libsystemd) for gatehoused under a unit with Type=notify and WatchdogSec=
// (deploy/gatehouse-gateway.service): tells the service manager when the
// gateway is ready, reloading or stopping, what state it is in, and pings
// its watchdog.
//
// Outside systemd (no NOTIFY_SOCKET in the environment) every call does
// nothing, so the daemon runs the same from a shell or a test. A failure to
// notify is ignored: the service manager then acts on its own timeouts.
//
// Example:
//   gatehouse::systemd::NotifyReady("listening; ready");
//   absl::Duration ping = gatehouse::systemd::WatchdogPingInterval();
//   ... every `ping`, once the gateway answered: NotifyWatchdog();
//
// Thread-safe: sd_notify sends one datagram a call.
#ifndef GATEHOUSE_GATEWAY_SYSTEMD_NOTIFY_H_
#define GATEHOUSE_GATEWAY_SYSTEMD_NOTIFY_H_

#include <string>

#include "absl/time/time.h"

namespace gatehouse::systemd {

// READY=1 with a STATUS= line: start-up is over and the ports listen.
void NotifyReady(const std::string& status);
// RELOADING=1: a reload (SIGHUP) began; NotifyReady again when it ends.
void NotifyReloading();
// STOPPING=1: shutdown began (calls in flight are draining).
void NotifyStopping();
// STATUS=: one line `systemctl status` shows.
void NotifyStatus(const std::string& status);
// WATCHDOG=1: the daemon is alive.
void NotifyWatchdog();

// How often to ping the watchdog: half the WatchdogSec= systemd set for
// this process, or absl::ZeroDuration() if it set none.
absl::Duration WatchdogPingInterval();

}  // namespace gatehouse::systemd

#endif  // GATEHOUSE_GATEWAY_SYSTEMD_NOTIFY_H_
