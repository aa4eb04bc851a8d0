// gatehoused: one organisation's Gatehouse gateway.
//
//   gatehoused --config /etc/gatehouse/gateway.json
//
// Runs until SIGTERM or SIGINT, then drains calls in flight and exits 0.
// Exits 2 on a bad command line, 1 if the gateway cannot start (the
// convention of every tool, on the shared parser: docs/cli.md).
// Under systemd (Type=notify, deploy/gatehouse-gateway.service) it reports
// READY=1 once listening, its readiness as STATUS=, pings the watchdog, and
// takes SIGHUP (ExecReload) as a reload request.
#include <signal.h>

#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gateway/config.h"
#include "gateway/gateway.h"
#include "common/log.h"
#include "gateway/systemd_notify.h"
#include "tools/cli/cli.h"

namespace {
// The next of `signals`, or 0 if none came within `timeout` (zero: wait
// without end).
int WaitForSignal(const sigset_t& signals, absl::Duration timeout) {
  if (timeout <= absl::ZeroDuration()) {
    int sig = 0;
    return sigwait(&signals, &sig) == 0 ? sig : 0;
  }
  const timespec ts = absl::ToTimespec(timeout);
  const int sig = sigtimedwait(&signals, nullptr, &ts);
  return sig > 0 ? sig : 0;
}

// One line for `systemctl status`: what /readyz says.
std::string ReadinessLine(gatehouse::Gateway& gateway) {
  const gatehouse::AdminServer::Response r = gateway.Admin("/readyz");
  if (r.code == 200) return "ready";
  return "not ready (see the admin endpoint's /readyz): " + r.body;
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"gatehoused: one organisation's Gatehouse gateway. Runs until SIGTERM or SIGINT,\n"
               "then drains calls in flight; SIGHUP re-reads changed certificates, CRLs,\n"
               "directory, policy bundles and keyset now (docs/operations.md).",
               "gatehoused"};
  gatehouse::cli::Configure(app);
  std::string config_path;
  app.add_option("--config", config_path,
                 "The gateway's configuration: gatehouse.v1.GatewayConfig as JSON\n"
                 "(proto/gatehouse/v1/config.proto; example: /etc/gatehouse/gateway.json)")
      ->type_name("FILE")
      ->required();
  if (std::optional<int> exit = gatehouse::cli::Parse(app, argc, argv)) return *exit;
  // Abseil's mutex deadlock detector (on in this build of Abseil) builds a
  // lock graph on every acquisition: measurable on the record path, and the
  // gateway's lock order is fixed by design, so it is off in the daemon.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  // Signals are taken by sigwait below, never by a handler.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<gatehouse::v1::GatewayConfig> config =
      gatehouse::LoadGatewayConfig(config_path);
  if (!config.ok()) {
    gatehouse::LogError("config refused", {{"file", config_path},
                                           {"error", config.status().ToString()}});
    return 1;
  }
  absl::StatusOr<std::unique_ptr<gatehouse::Gateway>> gateway =
      gatehouse::Gateway::Start(*config);
  if (!gateway.ok()) {
    gatehouse::LogError("gateway did not start", {{"error", gateway.status().ToString()}});
    return 1;
  }
  std::string status = ReadinessLine(**gateway);
  gatehouse::systemd::NotifyReady(status);
  // The watchdog is pinged only after the gateway has answered a readiness
  // check, so a gateway wedged on its own locks is restarted by systemd.
  const absl::Duration ping = gatehouse::systemd::WatchdogPingInterval();
  int sig = 0;
  while (true) {
    sig = WaitForSignal(signals, ping);
    if (sig == 0) {
      std::string now = ReadinessLine(**gateway);
      if (now != status) gatehouse::systemd::NotifyStatus(now);
      status = std::move(now);
      gatehouse::systemd::NotifyWatchdog();
      continue;
    }
    if (sig != SIGHUP) break;
    // The gateway re-reads the directory, policy bundles, keyset,
    // certificate and CRLs by itself when they change on disk (every
    // directoryRefreshSeconds); SIGHUP does it now.
    gatehouse::systemd::NotifyReloading();
    gatehouse::LogInfo("reload requested (SIGHUP): re-reading changed files now");
    (*gateway)->ReloadNow();
    status = ReadinessLine(**gateway);
    gatehouse::systemd::NotifyReady(status);
  }
  gatehouse::systemd::NotifyStopping();
  gatehouse::LogInfo("shutting down", {{"signal", strsignal(sig)}});
  (*gateway)->Shutdown(absl::Seconds(10));
  gateway->reset();
  return 0;
}
