// The flags of `metrics-adapter serve` and their validation, apart from serve.cc so that they can
// be tested without starting a server.
#ifndef METRICS_ADAPTER_ADAPTER_CMD_SERVE_OPTIONS_H_
#define METRICS_ADAPTER_ADAPTER_CMD_SERVE_OPTIONS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "adapter/cli/flags.h"

namespace adapter {

// The plain HTTP listener's default: all interfaces, port 8080. Not 9090, so that metrics-adapter
// can run next to the Prometheus it replaces; 8080 is the usual plain-HTTP port of a Kubernetes
// workload. The HTTPS Kubernetes API defaults to 6443, as prometheus-adapter's.
inline constexpr char kDefaultListenAddress[] = ":8080";
inline constexpr int kDefaultSecurePort = 6443;

struct ServeOptions {
  std::string storage_path;
  int64_t retention_ms = 0;
  std::string wal_fsync;              // as given; see ParseWalFsync
  int64_t wal_fsync_interval_ms = 0;  // set by ValidateServeOptions
  std::string listen_address;
  int secure_port = 0;
  std::string log_level;
  // Prometheus-format scrape configuration (scrape/config.h); empty = no scraping.
  std::string scrape_config;
  // Threads of the scrapers' event loop (every target's HTTP client and scrape loop).
  int scrape_threads = 2;
  // PromQL limits of every query (the query API's and the rules'), as Prometheus' flags.
  int64_t query_timeout_ms = 0;
  int64_t query_lookback_delta_ms = 0;
  int64_t query_max_samples = 0;
  // Background threads that copy and decode the series of large selections in parallel with the
  // query's own thread (tsdb::WorkerPool); -1: one fewer than the usable CPUs.
  int query_read_workers = -1;
  // The Kubernetes metrics APIs (metrics_server.h): prometheus-adapter's rules file, whether
  // external.metrics.k8s.io is served, and discovery's horizon. --metrics-relist-interval sets
  // how often a --prometheus-url server is relisted; discovery over the embedded storage runs
  // every few seconds.
  std::string config;
  bool enable_external_metrics = true;
  int64_t metrics_relist_interval_ms = 0;
  int64_t metrics_max_age_ms = 0;
  // A remote Prometheus-compatible server that evaluates the metrics APIs' queries instead of the
  // embedded storage (adapter/apiserver/prometheus_backend.h); empty = the embedded storage.
  // With it, discovery relists every --metrics-relist-interval, as prometheus-adapter does.
  std::string prometheus_url;
  std::string prometheus_ca_file;
  std::string prometheus_client_tls_cert_file;
  std::string prometheus_client_tls_key_file;
  std::string prometheus_token_file;
  std::vector<std::string> prometheus_headers;  // "name=value", as given
  std::string prometheus_verb;                  // GET or POST
  // Credentials for --prometheus-url from the pod's service account or from a kubeconfig's
  // current user (prometheus-adapter's --prometheus-auth-incluster / --prometheus-auth-config;
  // exclusive). --prometheus-ca-file, when given, replaces the kubeconfig's CA.
  bool prometheus_auth_incluster = false;
  std::string prometheus_auth_config;
  // Derived by ValidateServeOptions from prometheus_headers.
  std::vector<std::pair<std::string, std::string>> prometheus_header_fields;
};

// Registers --storage-path, --retention, --wal-fsync, --http-listen-address, --secure-port,
// --log-level, --scrape-config, --scrape-threads, --query-timeout, --query-lookback-delta and
// --query-max-samples, the metrics APIs' flags and the --prometheus-* flags with their defaults.
void RegisterServeFlags(cli::FlagSet* flags, ServeOptions* options);

// "always" -> 0 (fsync every commit), "never" -> -1, a positive duration ("1s", "500ms") -> it in
// milliseconds: tsdb::DBOptions::wal_fsync_interval_ms.
absl::StatusOr<int64_t> ParseWalFsync(std::string_view text);

// Checks the values together and fills the derived fields. Errors name the flag.
absl::Status ValidateServeOptions(ServeOptions* options);

}  // namespace adapter

#endif  // METRICS_ADAPTER_ADAPTER_CMD_SERVE_OPTIONS_H_
