// metrics-adapter query EXPR [--time T | --start S --end E --step D] --storage-path DIR: evaluates
// one PromQL expression over a storage directory and prints the result in Prometheus' text form:
//   name{a="b"} => 1 @[1700000000000]          (instant vector; the time in milliseconds)
//   name{a="b"} =>                              (range vector or range query: one line per point)
//   1 @[1700000000000]
//   scalar: 1 @[1700000000000]
//   string: text @[1700000000000]
// Times are RFC 3339 ("2024-01-02T15:04:05Z") or Unix seconds ("1700000000.5").
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "adapter/cli/flags.h"
#include "adapter/cmd/commands.h"
#include "promql/engine.h"
#include "tsdb/db.h"

namespace adapter {

namespace {

absl::StatusOr<int64_t> ParseTimeMs(const std::string& s) {
  if (s.empty()) return absl::InvalidArgumentError("empty time");
  char* end = nullptr;
  double secs = std::strtod(s.c_str(), &end);
  if (end != s.c_str() && *end == '\0' && std::isfinite(secs)) {
    return static_cast<int64_t>(std::llround(secs * 1000));
  }
  absl::Time t;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, s, &t, &err)) return absl::ToUnixMillis(t);
  return absl::InvalidArgumentError(
      absl::StrCat("invalid time \"", s, "\": want RFC 3339 or Unix seconds"));
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return absl::StrCat(v);
}

void Print(const promql::QueryResult& r) {
  switch (r.type()) {
    case promql::ValueType::kScalar: {
      const auto& s = std::get<promql::Scalar>(r.value);
      std::cout << "scalar: " << FormatValue(s.v) << " @[" << s.t << "]\n";
      break;
    }
    case promql::ValueType::kString: {
      const auto& s = std::get<promql::String>(r.value);
      std::cout << "string: " << s.v << " @[" << s.t << "]\n";
      break;
    }
    case promql::ValueType::kVector:
      for (const auto& s : std::get<promql::Vector>(r.value)) {
        std::cout << s.labels.ToString() << " => " << FormatValue(s.v) << " @[" << s.t << "]\n";
      }
      break;
    case promql::ValueType::kMatrix:
      for (const auto& s : std::get<promql::Matrix>(r.value)) {
        std::cout << s.labels.ToString() << " =>\n";
        for (const auto& p : s.samples) {
          std::cout << FormatValue(p.v) << " @[" << p.t << "]\n";
        }
      }
      break;
  }
  for (const auto& w : r.annotations.warnings) std::cerr << "warning: " << w << "\n";
  for (const auto& i : r.annotations.infos) std::cerr << "info: " << i << "\n";
}

}  // namespace

int RunQuery(const std::vector<std::string>& args) {
  cli::FlagSet flags("metrics-adapter query",
                     "Evaluates a PromQL expression over a storage directory and prints the "
                     "result. Without --start/--end it is an instant query at --time (default: "
                     "now); with them a range query. Stop the server first: the directory is "
                     "locked while in use.");
  flags.set_args_usage("EXPR");
  std::string storage_path, time_s, start_s, end_s;
  int64_t step_ms = 0, lookback_ms = 0, timeout_ms = 0, max_samples = 0;
  const promql::EngineOptions defaults;
  flags.String("storage-path", &storage_path, "data", "Directory of the database.");
  flags.String("time", &time_s, "",
               "Evaluation time of an instant query (RFC 3339 or Unix seconds).");
  flags.String("start", &start_s, "", "Start of a range query.");
  flags.String("end", &end_s, "", "End of a range query.");
  flags.Duration("step", &step_ms, int64_t{60} * 1000, "Resolution of a range query.");
  flags.Duration("query.lookback-delta", &lookback_ms, defaults.lookback_delta_ms,
                 "How far back an instant vector selector looks for a sample.");
  flags.Duration("query.timeout", &timeout_ms, defaults.timeout_ms, "Maximum evaluation time.");
  flags.Int64("query.max-samples", &max_samples, defaults.max_samples,
              "Maximum number of samples a query may hold in memory.");
  std::vector<std::string> positional;
  if (std::optional<int> exit_code = flags.ParseCommand(args, &positional)) return *exit_code;
  if (positional.size() != 1) {
    std::cerr << "Error: query takes exactly one EXPR argument\n";
    return 2;
  }
  const bool range = !start_s.empty() || !end_s.empty();
  if (range && (start_s.empty() || end_s.empty())) {
    std::cerr << "Error: a range query needs both --start and --end\n";
    return 2;
  }
  if (range && !time_s.empty()) {
    std::cerr << "Error: --time cannot be combined with --start/--end\n";
    return 2;
  }
  if (range && step_ms <= 0) {
    std::cerr << "Error: --step must be positive\n";
    return 2;
  }
  int64_t t = 0, start = 0, end = 0;
  if (range) {
    auto s = ParseTimeMs(start_s);
    auto e = ParseTimeMs(end_s);
    if (!s.ok() || !e.ok()) {
      std::cerr << "Error: " << (!s.ok() ? s.status() : e.status()).message() << "\n";
      return 2;
    }
    start = *s;
    end = *e;
  } else if (!time_s.empty()) {
    auto p = ParseTimeMs(time_s);
    if (!p.ok()) {
      std::cerr << "Error: " << p.status().message() << "\n";
      return 2;
    }
    t = *p;
  } else {
    t = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::system_clock::now().time_since_epoch())
            .count();
  }

  tsdb::DBOptions options;
  options.retention_ms = 0;  // never drop anything while querying
  options.wal_fsync_interval_ms = -1;
  auto db = tsdb::DB::Open(storage_path, options);
  if (!db.ok()) {
    std::cerr << "Error: cannot open storage " << storage_path << ": " << db.status().message()
              << "\n";
    return 1;
  }
  tsdb::DB* raw = db->get();
  promql::EngineOptions eopts;
  eopts.lookback_delta_ms = lookback_ms;
  eopts.timeout_ms = timeout_ms;
  eopts.max_samples = max_samples;
  promql::Engine engine([raw](int64_t mint, int64_t maxt) { return raw->NewQuerier(mint, maxt); },
                        eopts);
  absl::StatusOr<promql::QueryResult> r =
      range ? engine.RangeQuery(positional[0], start, end, step_ms)
            : engine.InstantQuery(positional[0], t);
  if (!r.ok()) {
    std::cerr << "Error: " << r.status().message() << "\n";
    (void)(*db)->Close();
    return 1;
  }
  Print(*r);
  (void)(*db)->Close();
  return 0;
}

}  // namespace adapter
