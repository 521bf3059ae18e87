// Where the Kubernetes metrics APIs get their numbers: the PromQL engine over the embedded
// storage, or (for users who outgrow one machine) a Prometheus-compatible server's HTTP API.
// Handlers only see this interface, so both serve the same answers.
#ifndef METRICS_ADAPTER_ADAPTER_APISERVER_BACKEND_H_
#define METRICS_ADAPTER_ADAPTER_APISERVER_BACKEND_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "promql/engine.h"
#include "promql/value.h"

namespace tsdb {
class DB;
}

namespace apiserver {

// One metric found by discovery: its name and the union of its series' label names (sorted).
struct DiscoveredMetric {
  std::string name;
  std::vector<std::string> label_names;
};

class QueryBackend {
 public:
  virtual ~QueryBackend() = default;

  // Evaluates expr at t (Unix milliseconds). Errors carry the engine's or the server's cause.
  virtual absl::StatusOr<promql::QueryResult> Query(const std::string& expr, int64_t t) const = 0;

  // The metrics whose series match series_query (a PromQL series selector) and have samples in
  // [since, until], one entry per metric name, sorted by name.
  virtual absl::StatusOr<std::vector<DiscoveredMetric>> DiscoverSeries(
      std::string_view series_query, int64_t since, int64_t until) const = 0;

  // Sorted distinct values of label among series with samples in [since, until].
  virtual absl::StatusOr<std::vector<std::string>> LabelValues(std::string_view label,
                                                               int64_t since,
                                                               int64_t until) const = 0;
};

// The embedded storage: db() is read at every call (null while the storage is not open: the
// calls fail with Unavailable).
std::unique_ptr<QueryBackend> NewEmbeddedBackend(std::function<tsdb::DB*()> db,
                                                 promql::EngineOptions options);

}  // namespace apiserver

#endif  // METRICS_ADAPTER_ADAPTER_APISERVER_BACKEND_H_
