// Engine: evaluates PromQL over a tsdb::Querier with Prometheus' semantics (lookback delta,
// staleness, rate extrapolation, ...). Parsing lives in promql/parser/; the engine takes text.
//
// Errors are absl::Status values; their code tells the HTTP API which Prometheus error type to use:
//   InvalidArgument     -> "bad_data"   (parse errors; message carries the position)
//   DeadlineExceeded    -> "timeout"    (--query-timeout)
//   Cancelled           -> "canceled"
//   anything else       -> "execution"  (e.g. many-to-many matching, too many samples)
#ifndef METRICS_ADAPTER_PROMQL_ENGINE_H_
#define METRICS_ADAPTER_PROMQL_ENGINE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "promql/value.h"
#include "tsdb/storage.h"

namespace promql {

// Prometheus' default --query.lookback-delta.
inline constexpr int64_t kDefaultLookbackDeltaMs = int64_t{5} * 60 * 1000;

struct EngineOptions {
  // --query-lookback-delta; zero or negative means the default.
  int64_t lookback_delta_ms = kDefaultLookbackDeltaMs;
  int64_t timeout_ms = 2 * 60 * 1000;  // --query-timeout
  int64_t max_samples = 50'000'000;    // --query-max-samples
  // Step of subqueries written without one (`x[1h:]`); Prometheus uses the global evaluation
  // interval (1m by default).
  int64_t default_subquery_step_ms = 60 * 1000;
  // Experimental functions and modifiers of Prometheus 3 (Prometheus gates them behind
  // --enable-feature=promql-experimental-functions); on by default here.
  bool enable_experimental_functions = true;
};

// Opens a read view over [mint, maxt]; the engine asks for the range each selector needs.
using QuerierFactory = std::function<std::unique_ptr<tsdb::Querier>(int64_t mint, int64_t maxt)>;

class Engine {
 public:
  Engine(QuerierFactory querier, EngineOptions options);
  ~Engine();

  // Evaluates expr at time t (milliseconds).
  absl::StatusOr<QueryResult> InstantQuery(std::string_view expr, int64_t t) const;
  // Evaluates expr at start, start+step, ... <= end; the result is always a Matrix.
  absl::StatusOr<QueryResult> RangeQuery(std::string_view expr, int64_t start, int64_t end,
                                         int64_t step) const;

  const EngineOptions& options() const { return options_; }

 private:
  QuerierFactory querier_;
  EngineOptions options_;
};

}  // namespace promql

#endif  // METRICS_ADAPTER_PROMQL_ENGINE_H_
