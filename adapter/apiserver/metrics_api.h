// The Kubernetes metrics APIs, served from prometheus-adapter rules:
//
//   /apis                                         APIGroupList of the groups configured
//   /apis/<group>, /apis/<group>/<version>        APIGroup, APIResourceList
//   custom.metrics.k8s.io/{v1beta1,v1beta2}       MetricValueList
//       /namespaces/{ns}/{resource}/{name|*}/{metric}    namespaced objects
//       /{resource}/{name|*}/{metric}                    cluster-scoped objects
//       /namespaces/{ns|*}/metrics/{metric}              namespaces themselves
//   external.metrics.k8s.io/v1beta1               ExternalMetricValueList
//       /namespaces/{ns}/{metric}
//   metrics.k8s.io/v1beta1                        PodMetrics(List), NodeMetrics(List)
//       /nodes[/{name}]  /pods  /namespaces/{ns}/pods[/{name}]
//
// A group is served only when its rules section exists (external also needs
// enable_external_metrics). Replies are JSON whatever the Accept header asks for (clients that
// prefer protobuf accept JSON); errors are metav1.Status objects (status.h).
//
// Local mode: objects are identified from the series' own labels (the label each rule maps to a
// resource): a wildcard request reports every object that has a sample, and its labelSelector is
// applied to the series as extra matchers. Cluster mode (MetricsApiOptions::objects): a wildcard
// request and a resource metrics list report the existing objects whose own labels match the
// labelSelector, looked up in the adapter's caches, and only those. Values go out as canonical
// Quantity strings; a NaN or infinite value leaves its object out (logged at debug level and
// counted) instead of sending garbage.
//
// Discovery (which metrics exist) runs on Discover(): serve calls it periodically, so a metric
// whose series appear in the storage is served from the next run on.
#ifndef METRICS_ADAPTER_ADAPTER_APISERVER_METRICS_API_H_
#define METRICS_ADAPTER_ADAPTER_APISERVER_METRICS_API_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "adapter/apiserver/backend.h"
#include "adapter/apiserver/object_lister.h"
#include "adapter/http/server.h"
#include "promql/value.h"

namespace k8s {
class ResourceMapper;
}
namespace rules {
class RuleSet;
class MetricRegistry;
struct BuiltQuery;
}  // namespace rules

namespace apiserver {

struct MetricsApiOptions {
  std::shared_ptr<const QueryBackend> backend;
  std::shared_ptr<const k8s::ResourceMapper> mapper;
  // Cluster mode: the Kubernetes objects (object_lister.h). Null: local mode.
  std::shared_ptr<const ObjectLister> objects;
  // --enable-external-metrics: only one external metrics provider can be registered in a
  // cluster; false leaves external.metrics.k8s.io to another one (KEDA).
  bool enable_external_metrics = true;
  // Discovery considers series with samples in the last max_age (--metrics-max-age).
  int64_t discovery_max_age_ms = 10 * 60 * 1000;
  // Unix milliseconds; null: the system clock.
  std::function<int64_t()> now_ms;
  // Debug-level notes (objects left out, discovery results). Null: dropped.
  std::function<void(std::string_view)> debug_log;
};

// What one request did, for `metrics-adapter explain` and the /debug/explain endpoint.
struct Explanation {
  std::string rule;                  // which rule served the request, e.g. "rules[0]"
  std::vector<std::string> queries;  // the rendered PromQL, in evaluation order
  // The raw samples each query returned, one line per sample: `{pod="a"} 12.5 @1714557600.000`.
  std::vector<std::string> samples;
  std::vector<std::string> notes;  // objects left out and why
};

// Counters for /metrics.
struct MetricsApiStats {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> objects_dropped_bad_value{0};  // NaN or infinite
  std::atomic<uint64_t> objects_missing{0};            // asked for by name, no sample
  std::atomic<uint64_t> discovery_runs{0};
  std::atomic<uint64_t> discovery_failures{0};
  std::atomic<int64_t> discovered_custom_metrics{0};
  std::atomic<int64_t> discovered_external_metrics{0};
};

class MetricsApi {
 public:
  explicit MetricsApi(MetricsApiOptions options);
  ~MetricsApi();

  // Installs a rule set (at start and on every configuration reload) and runs discovery with
  // it. Requests in flight finish with the rules they started with.
  void SetRules(std::shared_ptr<const rules::RuleSet> rules);

  // Runs discovery with the current rules. On failure the previous set of metrics stays.
  absl::Status Discover();

  // Serves a request under /apis.
  http::Response Handle(const http::Request& request) const;
  // As Handle, recording what was done in *explanation.
  http::Response Explain(const http::Request& request, Explanation* explanation) const;

  // Registers /apis and everything under it on router.
  void Register(http::Router* router) const;

  const MetricsApiStats& stats() const { return stats_; }

  // The custom metrics served now, as "<resource>/<metric>" names (discovery document order).
  std::vector<std::string> CustomMetricNames() const;

 private:
  struct State;
  struct Call;
  std::shared_ptr<const State> state() const;
  http::Response Serve(const http::Request& request, Explanation* explanation) const;
  // Runs a built query (recording it in the call's explanation): its samples, a scalar as one
  // sample without labels when allow_scalar. A result of another type is an Internal error.
  absl::StatusOr<promql::Vector> Evaluate(const Call& call, const rules::BuiltQuery& query,
                                          bool allow_scalar) const;
  http::Response ServeCustom(const Call& call) const;
  http::Response ServeExternal(const Call& call) const;
  http::Response ServeResource(const Call& call) const;
  int64_t Now() const;

  MetricsApiOptions options_;
  mutable std::mutex mu_;
  std::shared_ptr<const State> state_;  // guarded by mu_
  std::mutex discover_mu_;              // one discovery at a time
  mutable MetricsApiStats stats_;
};

}  // namespace apiserver

#endif  // METRICS_ADAPTER_ADAPTER_APISERVER_METRICS_API_H_
