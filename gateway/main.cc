// gatehoused: one organisation's Gatehouse gateway.
//
//   gatehoused --config /etc/gatehouse/gateway.json
//
// Runs until SIGTERM or SIGINT, then drains calls in flight and exits 0.
// Exits 2 on a bad command line, 1 if the gateway cannot start.
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gateway/config.h"
#include "gateway/gateway.h"
#include "common/log.h"
#include "common/help.h"

namespace {
constexpr char kUsage[] =
    "usage: gatehoused --config FILE\n"
    "  Runs one organisation's gateway (config: gatehouse.v1.GatewayConfig as JSON,\n"
    "  see proto/gatehouse/v1/config.proto) until SIGTERM or SIGINT.\n";
}  // namespace

int main(int argc, char** argv) {
  if (gatehouse::WantsHelp(argc, argv)) return gatehouse::PrintHelp(kUsage);
  // Abseil's mutex deadlock detector (on in this build of Abseil) builds a
  // lock graph on every acquisition: measurable on the record path, and the
  // gateway's lock order is fixed by design, so it is off in the daemon.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::string config_path;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
      config_path = argv[++i];
    } else {
      std::fputs(kUsage, stderr);
      return 2;
    }
  }
  if (config_path.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }

  // Signals are taken by sigwait below, never by a handler.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
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
  int sig = 0;
  sigwait(&signals, &sig);
  gatehouse::LogInfo("shutting down", {{"signal", strsignal(sig)}});
  (*gateway)->Shutdown(absl::Seconds(10));
  gateway->reset();
  return 0;
}
