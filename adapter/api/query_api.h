// The Prometheus-compatible HTTP query API (Prometheus' /api/v1), served on the plain listener so
// that Grafana, promtool, prometheus-adapter-style clients and scripts talk to metrics-adapter as
// to a Prometheus server.
//
// Endpoints (GET; those marked POST also take an application/x-www-form-urlencoded body):
//   /api/v1/query               POST  query, time, timeout, limit, lookback_delta
//   /api/v1/query_range         POST  query, start, end, step, timeout, limit, lookback_delta
//   /api/v1/format_query        POST  query: the expression formatted as Prometheus formats it
//   /api/v1/series              POST  match[] (repeated, required), start, end, limit
//   /api/v1/labels              POST  match[], start, end, limit
//   /api/v1/label/<name>/values       match[], start, end, limit
//   /api/v1/metadata                  metric, limit, limit_per_metric (from a MetadataSource)
//   /api/v1/query_exemplars     POST  query, start, end (checked; no exemplars are stored: [])
//   /api/v1/rules, /api/v1/alerts     type (checked); no rules run here: empty lists
//   /api/v1/alertmanagers             none: empty lists
//   /api/v1/status/buildinfo, /api/v1/status/runtimeinfo, /api/v1/status/flags
//   /api/v1/status/tsdb               limit: series count, chunk count, time range and the
//                                     largest label cardinalities of the database
//   /api/v1/status/config             the scrape configuration in effect, as loaded
//   /api/v1/status/walreplay          WAL replay progress (first, last and current segment),
//                                     also while the storage is still opening
// HEAD is accepted wherever GET is; OPTIONS answers 204 (CORS preflight). A request with an
// Origin header gets Prometheus' CORS headers (any origin is allowed, as Prometheus' default).
//
// Responses are Prometheus' JSON envelope, encoded as Prometheus encodes it (adapter/api/json.h):
//   {"status":"success","data":<data>[,"warnings":[...]][,"infos":[...]]}
//   {"status":"error","errorType":"<type>","error":"<message>"}
// with HTTP status 200, or by error type: bad_data 400 (a missing or malformed parameter, a PromQL
// parse error), execution 422 (the query cannot be evaluated, or storage refused the read),
// timeout 503, canceled 503, internal 500, unavailable 503 (the storage is not open yet).
// Parameter checks run in Prometheus' order and fail with its messages, e.g.
//   invalid parameter "start": cannot parse "x" to a valid timestamp
//   invalid parameter "end": end timestamp must not be before start time
//   invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a
//   positive integer exceeded maximum resolution of 11,000 points per timeseries. Try decreasing
//   the query resolution (?step=XX)
// Engine errors map by absl code (promql/engine.h): InvalidArgument -> bad_data (prefixed with
// `invalid parameter "query": `), DeadlineExceeded -> timeout, Cancelled -> canceled, DataLoss
// (damaged storage) -> internal, anything else -> execution (the engine reports evaluation
// errors such as many-to-many matching with various codes, Internal among them).
//
// Deliberate differences from Prometheus 3: no "stats" output (the parameter is ignored); a
// canceled query answers 503 (as Prometheus' documentation says; Prometheus 3 itself sends 499
// for a client that went away, which a buffered handler cannot observe); NaN/Inf timestamps and
// sub-millisecond steps are refused; label names are checked with the legacy charset
// ([a-zA-Z_][a-zA-Z0-9_]*), the only one the storage holds.
#ifndef METRICS_ADAPTER_ADAPTER_API_QUERY_API_H_
#define METRICS_ADAPTER_ADAPTER_API_QUERY_API_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "adapter/http/server.h"
#include "promql/engine.h"

namespace tsdb {
class DB;
struct WalReplayProgress;
}  // namespace tsdb

namespace api {

// The metadata of one metric family as a target exposes it (# TYPE, # HELP, # UNIT).
struct MetricMetadata {
  std::string type;  // "counter", "gauge", "histogram", "gaugehistogram", "summary", "info",
                     // "stateset" or "unknown"
  std::string help;
  std::string unit;

  friend bool operator==(const MetricMetadata&, const MetricMetadata&) = default;
};

// Where /api/v1/metadata reads metric metadata from: the scraper, which sees it in every scrape.
// Implementations must be thread-safe (handlers run concurrently).
class MetadataSource {
 public:
  virtual ~MetadataSource() = default;
  // Every distinct metadata seen for each metric family, keyed by family name (no _total, _bucket,
  // ... suffix, as in the exposition); only family `metric` when it is not empty. Entries of one
  // family keep the order the source found them in; the API applies the limits.
  virtual std::map<std::string, std::vector<MetricMetadata>> ListMetadata(
      std::string_view metric) const = 0;
};

// What /api/v1/status/buildinfo reports (Prometheus' field names; goVersion carries the
// compiler's version here).
struct BuildInfo {
  std::string version;
  std::string revision = "unknown";
  std::string branch = "unknown";
  std::string build_user = "unknown";
  std::string build_date = "unknown";
  std::string compiler_version;  // default: the compiler that built this file
};

struct QueryApiOptions {
  // The open database, or null while it is not open (requests then fail with 503 "unavailable").
  // Called once per request; the database must stay open until the request's handler returns
  // (metrics-adapter serve stops the HTTP server before it closes the storage).
  std::function<tsdb::DB*()> db;
  // Defaults for every query; the timeout and lookback_delta parameters override per request
  // (timeout only downwards).
  promql::EngineOptions engine;
  // Source of /api/v1/metadata; null: the endpoint answers an empty object.
  std::shared_ptr<const MetadataSource> metadata;
  // Milliseconds since the epoch, for /api/v1/query without a time. Null: the system clock.
  std::function<int64_t()> now_ms;

  BuildInfo build;
  // For /api/v1/status/runtimeinfo: when the process started (Unix nanoseconds; 0 = when the
  // QueryApi was made) and the storage retention.
  int64_t start_time_ns = 0;
  int64_t retention_ms = 0;
  // For /api/v1/status/flags: flag name (without "--") -> value in effect.
  std::map<std::string, std::string> flags;
  // For /api/v1/status/walreplay, readable while the storage opens; null: all zero.
  const tsdb::WalReplayProgress* wal_replay = nullptr;
  // For /api/v1/status/config: the text of the scrape configuration in effect ("" when none).
  // Called per request; must be thread-safe.
  std::function<std::string()> config_yaml;
};

class QueryApi {
 public:
  explicit QueryApi(QueryApiOptions options);

  // The endpoints as plain handlers. Each checks the method, so any of them may be registered
  // at any path; Register() puts them at Prometheus' paths.
  http::Response Query(const http::Request& request) const;
  http::Response QueryRange(const http::Request& request) const;
  http::Response FormatQuery(const http::Request& request) const;
  http::Response Series(const http::Request& request) const;
  http::Response LabelNames(const http::Request& request) const;
  // request.path must be /api/v1/label/<name>/values; anything else under /api/v1/label/ is 404.
  http::Response LabelValues(const http::Request& request) const;
  http::Response Metadata(const http::Request& request) const;
  http::Response QueryExemplars(const http::Request& request) const;
  http::Response Rules(const http::Request& request) const;
  http::Response Alerts(const http::Request& request) const;
  http::Response Alertmanagers(const http::Request& request) const;
  http::Response BuildInfoHandler(const http::Request& request) const;
  http::Response RuntimeInfo(const http::Request& request) const;
  http::Response Flags(const http::Request& request) const;
  http::Response TsdbStatus(const http::Request& request) const;
  http::Response ConfigStatus(const http::Request& request) const;
  http::Response WalReplayStatus(const http::Request& request) const;

  const QueryApiOptions& options() const { return options_; }

 private:
  int64_t Now() const;

  QueryApiOptions options_;
};

// Registers every endpoint of api at its Prometheus path on router. The router's handlers share
// ownership of api.
void RegisterQueryApi(http::Router* router, std::shared_ptr<const QueryApi> api);

// The response to a successful query: the envelope with resultType and result, the result cut to
// limit series (> 0) with a "results truncated due to limit" warning, and the annotations as
// "warnings" and "infos" (at most 10 of each, then "N more warning annotations omitted").
http::Response QueryResultResponse(const promql::QueryResult& result, int64_t limit = 0);
// The response to a failed query, by the status code as described above.
http::Response QueryErrorResponse(const absl::Status& status);
// The response to a malformed parameter: bad_data, HTTP 400, with message as the error.
http::Response BadDataResponse(std::string_view message);

}  // namespace api

#endif  // METRICS_ADAPTER_ADAPTER_API_QUERY_API_H_
