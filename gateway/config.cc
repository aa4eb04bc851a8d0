#include "gateway/config.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "sla/objectives.h"
#include "transport/identity.h"
#include "google/protobuf/util/json_util.h"

namespace gatehouse {
namespace {

constexpr double kDefaultSubmitRate = 2000;    // a second, per system
constexpr double kDefaultDeliverRate = 10000;  // a second, per peer organisation
constexpr double kDefaultListenerRate = 20000; // a second, per listener

std::string Resolve(const std::filesystem::path& base, const std::string& p) {
  if (p.empty() || std::filesystem::path(p).is_absolute()) return p;
  return (base / p).lexically_normal().string();
}

absl::Status RequireFile(absl::string_view field, const std::string& path) {
  if (path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("config: ", field, " is required"));
  }
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("config: ", field, " '", path, "' does not exist"));
  }
  return absl::OkStatus();
}

absl::Status ValidateServiceLevels(const v1::ServiceLevelConfig& s) {
  if (s.window_hours() < 0 || s.grace_seconds() < 0 || s.refresh_seconds() < 0 ||
      s.max_records() < 0) {
    return absl::InvalidArgumentError(
        "config: serviceLevels.windowHours, graceSeconds, refreshSeconds and maxRecords must "
        "not be negative");
  }
  auto check = [](const google::protobuf::RepeatedPtrField<std::string>& specs,
                  const std::string& where) -> absl::Status {
    for (const std::string& spec : specs) {
      absl::StatusOr<sla::Objective> o = sla::ParseObjective(spec);
      if (!o.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("config: ", where, ": ", o.status().message()));
      }
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(check(s.objectives(), "serviceLevels.objectives"));
  for (const auto& [peer, objectives] : s.peer_objectives()) {
    RETURN_IF_ERROR(check(objectives.objectives(),
                          absl::StrCat("serviceLevels.peerObjectives.", peer)));
  }
  return absl::OkStatus();
}

absl::Status ValidateConfig(const v1::GatewayConfig& c) {
  if (!IsValidId(c.org_id())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "config: orgId '", c.org_id(),
        "' must be 1-64 lower-case letters, digits or '-'"));
  }
  if (c.client_listen().empty()) {
    return absl::InvalidArgumentError("config: clientListen is required");
  }
  if (c.peer_listen().empty()) {
    return absl::InvalidArgumentError("config: peerListen is required");
  }
  if (c.data_dir().empty()) {
    return absl::InvalidArgumentError("config: dataDir is required");
  }
  if (c.directory_file().empty()) {
    return absl::InvalidArgumentError("config: directoryFile is required");
  }
  if (c.max_payload_bytes() < 0 || c.max_stream_bytes() < 0) {
    return absl::InvalidArgumentError(
        "config: maxPayloadBytes and maxStreamBytes must not be negative");
  }
  if (c.max_outbox_records() < 0 || c.submit_burst_per_system() < 0 ||
      c.directory_refresh_seconds() < 0 || c.listener_burst() < 0) {
    return absl::InvalidArgumentError(
        "config: maxOutboxRecords, submitBurstPerSystem, listenerBurst and "
        "directoryRefreshSeconds must not be negative");
  }
  if (c.max_connection_age_seconds() < 0 || c.max_connection_age_grace_seconds() < 0 ||
      c.directory_expiry_grace_seconds() < 0 || c.refusal_summary_seconds() < 0) {
    return absl::InvalidArgumentError(
        "config: maxConnectionAgeSeconds, maxConnectionAgeGraceSeconds, "
        "directoryExpiryGraceSeconds and refusalSummarySeconds must not be negative");
  }
  for (const std::string& system : c.org_recipient_systems()) {
    if (!IsValidId(system)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "config: orgRecipientSystems entry '", system,
          "' must be a system id: 1-64 lower-case letters, digits or '-'"));
    }
  }
  if (c.profile() != "" && c.profile() != "police" && c.profile() != "health") {
    return absl::InvalidArgumentError(absl::StrCat(
        "config: profile '", c.profile(), "' is not one of \"police\", \"health\" or empty"));
  }
  if (c.deliver_burst_per_org() < 0) {
    return absl::InvalidArgumentError("config: deliverBurstPerOrg must not be negative");
  }
  if (c.policy().min_signatures() < 0 || c.replay_window_seconds() < 0 ||
      c.cosign_interval_seconds() < 0 || c.audit().checkpoint_interval_ms() < 0 ||
      c.acknowledgement_poll_ms() < 0) {
    return absl::InvalidArgumentError(
        "config: policy.minSignatures, replayWindowSeconds, cosignIntervalSeconds, "
        "acknowledgementPollMs and audit.checkpointIntervalMs must not be negative");
  }
  if (c.retry().initial_backoff_ms() < 0 || c.retry().max_backoff_ms() < 0 ||
      c.retry().deliver_timeout_ms() < 0) {
    return absl::InvalidArgumentError("config: retry times must not be negative");
  }
  if (c.has_store() && c.store().has_postgres()) {
    const v1::PostgresStoreConfig& pg = c.store().postgres();
    if (pg.dsn().empty()) {
      return absl::InvalidArgumentError("config: store.postgres.dsn is required");
    }
    if (pg.read_connections() < 0 || pg.delivery_lease_seconds() < 0 ||
        pg.statement_timeout_seconds() < 0 || pg.statement_timeout_seconds() > 3600) {
      return absl::InvalidArgumentError(
          "config: store.postgres.readConnections and deliveryLeaseSeconds must not be "
          "negative, and statementTimeoutSeconds must be 0 to 3600");
    }
    for (const auto& [field, path] :
         {std::pair<const char*, const std::string&>{"passwordFile", pg.password_file()},
          {"clientCertFile", pg.client_cert_file()},
          {"clientKeyFile", pg.client_key_file()},
          {"rootCertFile", pg.root_cert_file()}}) {
      if (!path.empty()) RETURN_IF_ERROR(RequireFile(absl::StrCat("store.postgres.", field), path));
    }
  }
  return ValidateServiceLevels(c.service_levels());
}

void FillDefaults(v1::GatewayConfig* c) {
  if (c->max_payload_bytes() == 0) c->set_max_payload_bytes(kDefaultMaxPayloadBytes);
  if (c->max_stream_bytes() == 0) c->set_max_stream_bytes(int64_t{4} << 30);
  v1::RetryConfig* r = c->mutable_retry();
  if (r->initial_backoff_ms() == 0) r->set_initial_backoff_ms(200);
  if (r->max_backoff_ms() == 0) r->set_max_backoff_ms(30000);
  if (r->deliver_timeout_ms() == 0) r->set_deliver_timeout_ms(5000);
  if (c->max_outbox_records() == 0) c->set_max_outbox_records(100000);
  // Rates: 0 means the default, negative means unlimited (RateLimiter takes
  // a rate <= 0 as unlimited); a burst of 0 means twice the rate.
  if (c->submit_rate_per_system() == 0) c->set_submit_rate_per_system(kDefaultSubmitRate);
  if (c->deliver_rate_per_org() == 0) c->set_deliver_rate_per_org(kDefaultDeliverRate);
  if (c->listener_rate() == 0) c->set_listener_rate(kDefaultListenerRate);
  if (c->submit_burst_per_system() == 0) {
    c->set_submit_burst_per_system(2 * std::max(c->submit_rate_per_system(), 1.0));
  }
  if (c->deliver_burst_per_org() == 0) {
    c->set_deliver_burst_per_org(2 * std::max(c->deliver_rate_per_org(), 1.0));
  }
  if (c->listener_burst() == 0) c->set_listener_burst(2 * std::max(c->listener_rate(), 1.0));
  if (c->max_connection_age_seconds() == 0) c->set_max_connection_age_seconds(600);
  if (c->max_connection_age_grace_seconds() == 0) c->set_max_connection_age_grace_seconds(30);
  if (c->health_listen().empty()) c->set_health_listen("127.0.0.1:0");
  if (c->refusal_summary_seconds() == 0) c->set_refusal_summary_seconds(60);
  if (c->directory_refresh_seconds() == 0) c->set_directory_refresh_seconds(5);
  if (c->tls().refresh_interval_seconds() == 0) {
    c->mutable_tls()->set_refresh_interval_seconds(5);
  }
  v1::PolicyConfig* p = c->mutable_policy();
  if (p->min_signatures() == 0) p->set_min_signatures(1);
  if (c->replay_window_seconds() == 0) c->set_replay_window_seconds(7 * 24 * 3600);
  if (c->cosign_interval_seconds() == 0) c->set_cosign_interval_seconds(10);
  if (c->acknowledgement_poll_ms() == 0) c->set_acknowledgement_poll_ms(2000);
  v1::ServiceLevelConfig* sl = c->mutable_service_levels();
  if (sl->window_hours() == 0) sl->set_window_hours(24);
  if (sl->grace_seconds() == 0) sl->set_grace_seconds(60);
  if (sl->refresh_seconds() == 0) sl->set_refresh_seconds(15);
  if (sl->max_records() == 0) sl->set_max_records(100000);
  v1::AuditConfig* a = c->mutable_audit();
  if (a->checkpoint_interval_ms() == 0) a->set_checkpoint_interval_ms(1000);
  if (a->checkpoint_every_entries() == 0) a->set_checkpoint_every_entries(10000);
  // Profiles are floors: they only ever make a setting stricter.
  if (c->profile() == "police") {
    p->set_min_signatures(std::max(p->min_signatures(), 2));
    c->set_require_end_user(true);
    c->set_require_purpose(true);
  } else if (c->profile() == "health") {
    c->set_require_purpose(true);
  }
}

}  // namespace

absl::Status ParseJsonStrict(absl::string_view json, absl::string_view what,
                             google::protobuf::Message* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), message, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": ", std::string(status.message())));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::GatewayConfig> ParseGatewayConfig(absl::string_view json) {
  v1::GatewayConfig config;
  RETURN_IF_ERROR(ParseJsonStrict(json, "config", &config));
  RETURN_IF_ERROR(ValidateConfig(config));
  FillDefaults(&config);
  return config;
}

absl::StatusOr<v1::GatewayConfig> LoadGatewayConfig(absl::string_view path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  ASSIGN_OR_RETURN(v1::GatewayConfig config, ParseGatewayConfig(text));
  std::filesystem::path base = std::filesystem::path(std::string(path)).parent_path();
  v1::TlsConfig* tls = config.mutable_tls();
  tls->set_cert_file(Resolve(base, tls->cert_file()));
  tls->set_key_file(Resolve(base, tls->key_file()));
  tls->set_ca_file(Resolve(base, tls->ca_file()));
  tls->set_crl_dir(Resolve(base, tls->crl_dir()));
  config.set_data_dir(Resolve(base, config.data_dir()));
  config.set_directory_file(Resolve(base, config.directory_file()));
  config.set_ports_file(Resolve(base, config.ports_file()));
  config.set_keyset_file(Resolve(base, config.keyset_file()));
  config.set_directory_authority_file(Resolve(base, config.directory_authority_file()));
  v1::AuditConfig* audit = config.mutable_audit();
  audit->set_dir(audit->dir().empty() ? config.data_dir() + "/audit" : Resolve(base, audit->dir()));
  audit->set_key_file(Resolve(base, audit->key_file()));
  audit->set_cosigner_key_file(Resolve(base, audit->cosigner_key_file()));
  v1::PolicyConfig* policy = config.mutable_policy();
  policy->set_bundle_file(Resolve(base, policy->bundle_file()));
  policy->set_shadow_bundle_file(Resolve(base, policy->shadow_bundle_file()));
  for (std::string& f : *policy->mutable_officer_key_files()) f = Resolve(base, f);
  if (config.has_store() && config.store().has_postgres()) {
    v1::PostgresStoreConfig* pg = config.mutable_store()->mutable_postgres();
    pg->set_password_file(Resolve(base, pg->password_file()));
    pg->set_client_cert_file(Resolve(base, pg->client_cert_file()));
    pg->set_client_key_file(Resolve(base, pg->client_key_file()));
    pg->set_root_cert_file(Resolve(base, pg->root_cert_file()));
  }
  RETURN_IF_ERROR(RequireFile("tls.certFile", tls->cert_file()));
  RETURN_IF_ERROR(RequireFile("tls.keyFile", tls->key_file()));
  RETURN_IF_ERROR(RequireFile("tls.caFile", tls->ca_file()));
  RETURN_IF_ERROR(RequireFile("tls.crlDir", tls->crl_dir()));
  RETURN_IF_ERROR(RequireFile("directoryFile", config.directory_file()));
  RETURN_IF_ERROR(RequireFile("keysetFile", config.keyset_file()));
  RETURN_IF_ERROR(RequireFile("directoryAuthorityFile", config.directory_authority_file()));
  RETURN_IF_ERROR(RequireFile("audit.keyFile", audit->key_file()));
  RETURN_IF_ERROR(RequireFile("audit.cosignerKeyFile", audit->cosigner_key_file()));
  RETURN_IF_ERROR(RequireFile("policy.bundleFile", policy->bundle_file()));
  if (policy->officer_key_files().empty()) {
    return absl::InvalidArgumentError(
        "config: policy.officerKeyFiles must name at least one security officer's key");
  }
  for (const std::string& f : policy->officer_key_files()) {
    RETURN_IF_ERROR(RequireFile("policy.officerKeyFiles", f));
  }
  if (!policy->shadow_bundle_file().empty()) {
    RETURN_IF_ERROR(RequireFile("policy.shadowBundleFile", policy->shadow_bundle_file()));
  }
  return config;
}

absl::StatusOr<v1::Directory> ParseDirectory(absl::string_view json) {
  v1::Directory dir;
  RETURN_IF_ERROR(ParseJsonStrict(json, "directory", &dir));
  RETURN_IF_ERROR(ValidateDirectoryEntries(dir));
  return dir;
}

absl::Status ValidateDirectoryEntries(const v1::Directory& dir) {
  std::set<std::string> seen;
  for (const v1::Organisation& org : dir.organisations()) {
    if (!IsValidId(org.org_id())) {
      return absl::InvalidArgumentError(
          absl::StrCat("directory: orgId '", org.org_id(), "' is not a valid id"));
    }
    if (!seen.insert(org.org_id()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("directory: orgId '", org.org_id(), "' appears twice"));
    }
    for (auto [field, value] : {std::pair<const char*, const std::string*>{"sector", &org.sector()},
                                {"accreditation", &org.accreditation()},
                                {"gatewayAddress", &org.gateway_address()}}) {
      if (value->empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "directory: organisation '", org.org_id(), "' has no ", field));
      }
    }
    if (org.gateway_identity() != GatewayUri(org.org_id())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "directory: organisation '", org.org_id(), "' gatewayIdentity must be ",
          GatewayUri(org.org_id()), ", not '", org.gateway_identity(), "'"));
    }
  }
  return absl::OkStatus();
}

}  // namespace gatehouse
