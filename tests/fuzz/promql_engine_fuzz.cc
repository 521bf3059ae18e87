// libFuzzer target: any query string, evaluated by the PromQL engine over a small store, gives a
// result or an error with a message, never a crash, undefined behaviour or a run past the query
// timeout. Each input is evaluated as an instant query and as a range query; the store holds
// counters with resets, gauges with NaN, infinities and staleness markers, and classic histogram
// buckets, so that functions, aggregations, binary operators and subqueries all have data.
//
// Limits are those of a server (a timeout, a sample limit) but smaller, so that a query that would
// run long or take much memory meets them quickly; a result past the timeout by more than
// kOverrunAllowanceMs aborts.
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "promql/engine.h"
#include "tsdb/db.h"
#include "tsdb/labels.h"
#include "tsdb/stale.h"

namespace {

constexpr int64_t kTimeoutMs = 1000;
constexpr int64_t kOverrunAllowanceMs = 4000;
constexpr int64_t kMaxSamples = 200000;
constexpr int64_t kStepMs = 15000;
constexpr int64_t kEndMs = int64_t{3600} * 1000;  // the data covers [0, 1h]

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "check failed: %s\n", what);
    std::abort();
  }
}

// The store, built once: a few dozen series over an hour at 15s.
tsdb::DB* Store() {
  static tsdb::DB* db = [] {
    static char dir[] = "/tmp/promql_engine_fuzz_XXXXXX";
    Check(mkdtemp(dir) != nullptr, "mkdtemp");
    std::atexit([] { std::filesystem::remove_all(dir); });
    tsdb::DBOptions options;
    options.retention_ms = int64_t{100} * 365 * 24 * 3600 * 1000;
    options.wal_fsync_interval_ms = -1;
    auto opened = tsdb::DB::Open(dir, options);
    Check(opened.ok(), "open the store");
    std::unique_ptr<tsdb::Appender> app = (*opened)->NewAppender();
    auto add = [&](const tsdb::Labels& labels, int64_t t, double v) {
      Check(app->Append(0, labels, t, v).ok(), "append");
    };
    const char* buckets[] = {"0.1", "0.5", "1", "+Inf"};
    for (int64_t t = 0; t <= kEndMs; t += kStepMs) {
      const int64_t k = t / kStepMs;
      for (int i = 0; i < 6; ++i) {
        const std::string inst = "i" + std::to_string(i);
        // A counter that resets every 70 samples.
        add(tsdb::Labels({{"__name__", "http_requests_total"},
                          {"code", i % 2 == 0 ? "200" : "500"},
                          {"instance", inst},
                          {"job", "api"}}),
            t, static_cast<double>((k % 70) * (i + 1)));
        // A gauge with special values now and then, stale for a while in one series.
        double g = std::sin(static_cast<double>(k + i)) * 100;
        if (k % 37 == 5) g = NAN;
        if (k % 53 == 7) g = i % 2 == 0 ? INFINITY : -INFINITY;
        if (i == 3 && k >= 100 && k < 110) g = tsdb::StaleNaN();
        add(tsdb::Labels({{"__name__", "temperature"}, {"instance", inst}, {"job", "node"}}), t, g);
      }
      for (int b = 0; b < 4; ++b) {
        add(tsdb::Labels(
                {{"__name__", "latency_seconds_bucket"}, {"job", "api"}, {"le", buckets[b]}}),
            t, static_cast<double>(k * (b + 1)));
      }
      add(tsdb::Labels({{"__name__", "latency_seconds_count"}, {"job", "api"}}), t,
          static_cast<double>(k * 4));
      add(tsdb::Labels({{"__name__", "latency_seconds_sum"}, {"job", "api"}}), t,
          static_cast<double>(k) * 1.5);
      if (k % 2 == 0) {
        add(tsdb::Labels({{"__name__", "info_metric"}, {"instance", "i1"}, {"version", "v1"}}), t,
            1);
      }
    }
    Check(app->Commit().ok(), "commit");
    return opened->release();
  }();
  return db;
}

void Evaluate(const promql::Engine& engine, std::string_view query, bool range) {
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<promql::QueryResult> result =
      range ? engine.RangeQuery(query, 0, kEndMs, 60000) : engine.InstantQuery(query, kEndMs / 2);
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
  if (elapsed > kTimeoutMs + kOverrunAllowanceMs) {
    std::fprintf(stderr, "%s query ran %lld ms, past its %lld ms timeout: %.*s\n",
                 range ? "range" : "instant", static_cast<long long>(elapsed),
                 static_cast<long long>(kTimeoutMs), static_cast<int>(query.size()), query.data());
    std::abort();
  }
  if (!result.ok()) {
    Check(!result.status().message().empty(), "an error says what is wrong");
    return;
  }
  if (range) {
    Check(std::holds_alternative<promql::Matrix>(result->value), "a range query gives a matrix");
    for (const promql::MatrixSeries& s : std::get<promql::Matrix>(result->value)) {
      for (size_t i = 0; i < s.samples.size(); ++i) {
        Check(s.samples[i].t >= 0 && s.samples[i].t <= kEndMs, "points at query steps");
        Check(i == 0 || s.samples[i].t > s.samples[i - 1].t, "points in time order");
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  const std::string_view query(reinterpret_cast<const char*>(data), size);
  tsdb::DB* db = Store();
  promql::EngineOptions options;
  options.timeout_ms = kTimeoutMs;
  options.max_samples = kMaxSamples;
  const promql::Engine engine(
      [db](int64_t mint, int64_t maxt) { return db->NewQuerier(mint, maxt); }, options);
  Evaluate(engine, query, false);
  Evaluate(engine, query, true);
  return 0;
}
