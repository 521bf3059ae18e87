#include "adapter/cmd/serve_options.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "adapter/cli/duration.h"
#include "adapter/cmd/log.h"
#include "promql/engine.h"

namespace adapter {

void RegisterServeFlags(cli::FlagSet* flags, ServeOptions* o) {
  const promql::EngineOptions engine_defaults;  // the query flags default to these
  flags->String("storage-path", &o->storage_path, "data",
                "Directory of the time-series database, created when\nabsent.");
  flags->Duration("retention", &o->retention_ms, int64_t{24} * 3600 * 1000,
                  "How long to keep samples, e.g. 6h or 15d.");
  flags->String("wal-fsync", &o->wal_fsync, "1s",
                "When to fsync the write-ahead log: \"always\" (every\n"
                "commit), a duration (at least that often) or \"never\"\n"
                "(only at shutdown).");
  flags->String("http-listen-address", &o->listen_address, kDefaultListenAddress,
                "HOST:PORT of the plain HTTP listener (health, readiness,\n"
                "/metrics); \":PORT\" listens on all interfaces.");
  flags->Int("secure-port", &o->secure_port, kDefaultSecurePort,
             "Port of the HTTPS Kubernetes API listener; 0 disables it.");
  flags->String("log-level", &o->log_level, "info", "Log level: debug, info, warn or error.");
  flags->String("scrape-config", &o->scrape_config, "",
                "Prometheus configuration file whose scrape_configs are\n"
                "scraped into the storage; reloaded on SIGHUP and on\n"
                "POST /-/reload. Empty: no scraping.");
  flags->Int("scrape-threads", &o->scrape_threads, 2,
             "Threads that run every scrape (an event loop, not a\n"
             "thread per target).");
  flags->Duration("query-timeout", &o->query_timeout_ms, engine_defaults.timeout_ms,
                  "Maximum time one query may take before it is aborted.");
  flags->Duration("query-lookback-delta", &o->query_lookback_delta_ms,
                  engine_defaults.lookback_delta_ms,
                  "How far back a query looks for the latest sample of a\n"
                  "series at each evaluation time.");
  flags->String("config", &o->config, "",
                "Rules configuration file in prometheus-adapter's format\n"
                "(rules, externalRules, resourceRules); reloaded when it\n"
                "changes and on SIGHUP. Empty: no metrics APIs.");
  flags->Bool("enable-external-metrics", &o->enable_external_metrics, true,
              "Serve external.metrics.k8s.io when externalRules exist\n"
              "(a cluster can register only one external metrics\n"
              "provider).");
  flags->Duration("metrics-relist-interval", &o->metrics_relist_interval_ms,
                  int64_t{10} * 60 * 1000,
                  "How often a remote Prometheus is asked which series\n"
                  "exist. Discovery over the embedded storage follows\n"
                  "new series within seconds.");
  flags->Duration("metrics-max-age", &o->metrics_max_age_ms, 0,
                  "Series without samples for this long are no longer\n"
                  "discovered (default: --metrics-relist-interval).");
  flags->Int64("query-max-samples", &o->query_max_samples, engine_defaults.max_samples,
               "Maximum number of samples one query may hold in memory\n"
               "at a time.");
  flags->Int("query-read-workers", &o->query_read_workers, -1,
             "Background threads that copy and decode the series of a\n"
             "large selection alongside the query's own thread; -1:\n"
             "one fewer than the usable CPUs (at most 7), 0: none.");
  flags->String("prometheus-url", &o->prometheus_url, "",
                "URL of a Prometheus-compatible server (Prometheus,\n"
                "Thanos Query, Mimir, VictoriaMetrics) that answers the\n"
                "metrics APIs' queries; a path prefix is kept. Empty:\n"
                "the embedded storage.");
  flags->String("prometheus-ca-file", &o->prometheus_ca_file, "",
                "PEM CA bundle to verify the --prometheus-url server with.");
  flags->String("prometheus-client-tls-cert-file", &o->prometheus_client_tls_cert_file, "",
                "Client certificate (PEM) for the --prometheus-url server.");
  flags->String("prometheus-client-tls-key-file", &o->prometheus_client_tls_key_file, "",
                "Key of --prometheus-client-tls-cert-file.");
  flags->String("prometheus-token-file", &o->prometheus_token_file, "",
                "File with a bearer token for the --prometheus-url\n"
                "server, read once at start.");
  flags->StringList("prometheus-header", &o->prometheus_headers, {},
                    "Extra header field name=value sent to the\n"
                    "--prometheus-url server; repeatable.");
  flags->Bool("prometheus-auth-incluster", &o->prometheus_auth_incluster, false,
              "Authenticate to the --prometheus-url server with the\n"
              "pod's service account (token and CA).");
  flags->String("prometheus-auth-config", &o->prometheus_auth_config, "",
                "kubeconfig whose current user (client certificate or\n"
                "token) and CA authenticate to the --prometheus-url\n"
                "server.");
  flags->String("prometheus-verb", &o->prometheus_verb, "GET",
                "HTTP method of queries to the --prometheus-url server:\n"
                "GET or POST (long queries are POSTed anyway).");
}

namespace {

bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

absl::Status ValidatePrometheusOptions(ServeOptions* o) {
  o->prometheus_header_fields.clear();
  if (o->prometheus_url.empty()) {
    const std::pair<const char*, const std::string*> files[] = {
        {"prometheus-ca-file", &o->prometheus_ca_file},
        {"prometheus-client-tls-cert-file", &o->prometheus_client_tls_cert_file},
        {"prometheus-client-tls-key-file", &o->prometheus_client_tls_key_file},
        {"prometheus-token-file", &o->prometheus_token_file}};
    for (const auto& [flag, value] : files) {
      if (!value->empty()) {
        return absl::InvalidArgumentError(absl::StrCat("--", flag, " needs --prometheus-url"));
      }
    }
    if (!o->prometheus_headers.empty()) {
      return absl::InvalidArgumentError("--prometheus-header needs --prometheus-url");
    }
    if (o->prometheus_auth_incluster || !o->prometheus_auth_config.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--",
          o->prometheus_auth_incluster ? "prometheus-auth-incluster" : "prometheus-auth-config",
          " needs --prometheus-url"));
    }
  } else if (!absl::StartsWith(o->prometheus_url, "http://") &&
             !absl::StartsWith(o->prometheus_url, "https://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid value \"", o->prometheus_url,
                     "\" for --prometheus-url: want http://host[:port][/prefix] or https://..."));
  }
  if (o->prometheus_verb != "GET" && o->prometheus_verb != "POST") {
    return absl::InvalidArgumentError(absl::StrCat("invalid value \"", o->prometheus_verb,
                                                   "\" for --prometheus-verb: use GET or POST"));
  }
  if (o->prometheus_auth_incluster && !o->prometheus_auth_config.empty()) {
    return absl::InvalidArgumentError(
        "--prometheus-auth-incluster and --prometheus-auth-config are mutually exclusive");
  }
  if (o->prometheus_client_tls_cert_file.empty() != o->prometheus_client_tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--prometheus-client-tls-cert-file and --prometheus-client-tls-key-file go together");
  }
  for (const std::string& header : o->prometheus_headers) {
    size_t eq = header.find('=');
    std::string name = header.substr(0, eq == std::string::npos ? 0 : eq);
    if (eq == std::string::npos || name.empty() ||
        !std::all_of(name.begin(), name.end(), IsTokenChar)) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid value \"", header, "\" for --prometheus-header: want name=value"));
    }
    std::string value = header.substr(eq + 1);
    if (value.find_first_of("\r\n") != std::string::npos || value.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("invalid value for --prometheus-header ", name,
                                                     ": the value must not contain line breaks"));
    }
    o->prometheus_header_fields.emplace_back(std::move(name), std::move(value));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int64_t> ParseWalFsync(std::string_view text) {
  if (text == "always") return 0;
  if (text == "never") return -1;
  absl::StatusOr<int64_t> ms = cli::ParseDurationMs(text);
  if (!ms.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("use \"always\", \"never\" or a duration: ", ms.status().message()));
  }
  if (*ms <= 0) {
    return absl::InvalidArgumentError(
        "the interval must be positive (\"always\" syncs every commit)");
  }
  return *ms;
}

absl::Status ValidateServeOptions(ServeOptions* o) {
  if (o->storage_path.empty())
    return absl::InvalidArgumentError("--storage-path must not be empty");
  if (o->retention_ms <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("invalid value \"",
                                                   cli::FormatDurationMs(o->retention_ms),
                                                   "\" for --retention: must be positive"));
  }
  absl::StatusOr<int64_t> fsync = ParseWalFsync(o->wal_fsync);
  if (!fsync.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid value \"", o->wal_fsync, "\" for --wal-fsync: ", fsync.status().message()));
  }
  o->wal_fsync_interval_ms = *fsync;
  if (o->secure_port < 0 || o->secure_port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid value \"", o->secure_port, "\" for --secure-port: not in 0..65535"));
  }
  if (o->scrape_threads < 1 || o->scrape_threads > 64) {
    return absl::InvalidArgumentError(absl::StrCat("invalid value \"", o->scrape_threads,
                                                   "\" for --scrape-threads: not in 1..64"));
  }
  if (o->query_timeout_ms <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("invalid value \"",
                                                   cli::FormatDurationMs(o->query_timeout_ms),
                                                   "\" for --query-timeout: must be positive"));
  }
  if (o->query_lookback_delta_ms <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid value \"", cli::FormatDurationMs(o->query_lookback_delta_ms),
                     "\" for --query-lookback-delta: must be positive"));
  }
  if (o->metrics_relist_interval_ms <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid value \"", cli::FormatDurationMs(o->metrics_relist_interval_ms),
                     "\" for --metrics-relist-interval: must be positive"));
  }
  if (o->metrics_max_age_ms == 0) o->metrics_max_age_ms = o->metrics_relist_interval_ms;
  if (o->metrics_max_age_ms < o->metrics_relist_interval_ms) {
    return absl::InvalidArgumentError(
        absl::StrCat("--metrics-max-age (", cli::FormatDurationMs(o->metrics_max_age_ms),
                     ") must be at least --metrics-relist-interval (",
                     cli::FormatDurationMs(o->metrics_relist_interval_ms), ")"));
  }
  if (o->query_max_samples <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("invalid value \"", o->query_max_samples,
                                                   "\" for --query-max-samples: must be positive"));
  }
  if (o->query_read_workers < -1 || o->query_read_workers > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid value \"", o->query_read_workers,
                     "\" for --query-read-workers: must be -1 (automatic) or 0 to 64"));
  }
  if (absl::Status st = ValidatePrometheusOptions(o); !st.ok()) return st;
  if (absl::StatusOr<LogLevel> level = ParseLogLevel(o->log_level); !level.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid value \"", o->log_level, "\" for --log-level: ", level.status().message()));
  }
  return absl::OkStatus();
}

}  // namespace adapter
