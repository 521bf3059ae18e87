// The Kubernetes metrics API side of `metrics-adapter serve`: the rules configuration (--config)
// with its hot reload, periodic discovery, and the router of the HTTPS listener:
//
//   /apis/...                    the metrics APIs (adapter/apiserver/metrics_api.h)
//   /healthz /livez /readyz      "ok"; readyz fails (500) until the storage is open and, in
//                                cluster mode, the informer caches have synced; with ?verbose
//                                a check list as Kubernetes writes it; /<endpoint>/<check> too
//   /version                     version.Info JSON
//   /openapi/v2, /openapi/v3     minimal documents naming the served paths
//   /metrics                     the self metrics, with the API's counters
//   /api/v1/...                  the Prometheus query API, as on the plain listener
//   /debug/explain?path=P        what serving the API path P does (explain subcommand)
#ifndef METRICS_ADAPTER_ADAPTER_CMD_METRICS_SERVER_H_
#define METRICS_ADAPTER_ADAPTER_CMD_METRICS_SERVER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "adapter/apiserver/metrics_api.h"
#include "adapter/cmd/commands.h"
#include "adapter/http/server.h"

namespace k8s {
class ResourceMapper;
}
namespace rules {
class RuleSet;
}

namespace adapter {

struct MetricsServerOptions {
  std::string config_path;  // --config; empty: no metrics APIs (only health and version)
  bool enable_external_metrics = true;
  int64_t metrics_max_age_ms = 10 * 60 * 1000;
  // How often discovery follows the storage's series, and how often the configuration file is
  // checked for changes (ConfigMaps are updated in place).
  int64_t discovery_interval_ms = 5000;
  int64_t config_check_interval_ms = 2000;
  // Where queries are evaluated: null = the embedded storage; otherwise e.g. a remote
  // Prometheus-compatible server (apiserver::NewPrometheusBackend), which does not need the
  // storage to be open for discovery.
  std::shared_ptr<const apiserver::QueryBackend> backend;
  // Cluster mode: the resource mapper built from API discovery (null: the built-in one), the
  // objects of the cluster (null: local mode), and whether the informer caches have synced
  // (an "informer-sync" check of /readyz; null: no such check).
  std::shared_ptr<const k8s::ResourceMapper> mapper;
  std::shared_ptr<const apiserver::ObjectLister> objects;
  std::function<bool()> caches_synced;
};

// Loads and compiles a rules file (strict; errors name the file, line and key).
absl::StatusOr<std::shared_ptr<const rules::RuleSet>> LoadRules(
    const std::string& path, const std::shared_ptr<const k8s::ResourceMapper>& mapper);

class MetricsServer {
 public:
  // Loads the rules (an error here fails the start) and builds the API over the context's
  // storage. Background work starts with Start().
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Create(ServeContext* ctx,
                                                               MetricsServerOptions options);
  ~MetricsServer();

  // Starts discovery and the configuration watch.
  void Start();
  // Re-reads the configuration file. A bad file keeps the previous rules serving; the error is
  // returned, logged and exported as metrics_adapter_rules_config_last_reload_successful 0.
  absl::Status Reload();
  void Stop();

  // Routes of the HTTPS listener (see the file comment).
  http::Router BuildRouter();
  // Appends the API's metrics to a /metrics body.
  void AppendMetrics(std::string* out) const;

  apiserver::MetricsApi* api() { return api_.get(); }

 private:
  MetricsServer(ServeContext* ctx, MetricsServerOptions options);
  void Loop();

  ServeContext* ctx_;
  MetricsServerOptions options_;
  std::shared_ptr<const k8s::ResourceMapper> mapper_;
  std::unique_ptr<apiserver::MetricsApi> api_;
  std::string config_text_;  // the last configuration read, to notice changes
  std::mutex reload_mu_;
  std::atomic<int> reload_successful_{1};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace adapter

#endif  // METRICS_ADAPTER_ADAPTER_CMD_METRICS_SERVER_H_
