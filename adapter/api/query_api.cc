#include "adapter/api/query_api.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "adapter/api/json.h"
#include "adapter/api/params.h"
#include "promql/engine.h"
#include "promql/parser/parser.h"
#include "promql/value.h"
#include "tsdb/db.h"
#include "tsdb/labels.h"
#include "tsdb/matcher.h"
#include "tsdb/storage.h"

namespace api {
namespace {

// Prometheus' cap on the points of one range query series.
constexpr int64_t kMaxPointsPerSeries = 11000;
// Annotations beyond these counts are summarised in one line, as Prometheus does.
constexpr size_t kMaxWarnings = 10;
constexpr size_t kMaxInfos = 10;

constexpr char kTruncatedWarning[] = "results truncated due to limit";

// This Abseil's string_view is its own type, not std::string_view.
absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

enum class ErrorType { kBadData, kExecution, kTimeout, kCanceled, kInternal, kUnavailable };

std::string_view ErrorTypeName(ErrorType type) {
  switch (type) {
    case ErrorType::kBadData:
      return "bad_data";
    case ErrorType::kExecution:
      return "execution";
    case ErrorType::kTimeout:
      return "timeout";
    case ErrorType::kCanceled:
      return "canceled";
    case ErrorType::kInternal:
      return "internal";
    case ErrorType::kUnavailable:
      return "unavailable";
  }
  return "internal";
}

int ErrorHttpStatus(ErrorType type) {
  switch (type) {
    case ErrorType::kBadData:
      return 400;
    case ErrorType::kExecution:
      return 422;
    case ErrorType::kTimeout:
    case ErrorType::kCanceled:
    case ErrorType::kUnavailable:
      return 503;
    case ErrorType::kInternal:
      return 500;
  }
  return 500;
}

http::Response ErrorResponse(ErrorType type, std::string_view message) {
  std::string body = "{\"status\":\"error\",\"errorType\":\"";
  body.append(ErrorTypeName(type));
  body.append("\",\"error\":");
  AppendJsonString(message, &body);
  body.push_back('}');
  return http::Response::Json(std::move(body), ErrorHttpStatus(type));
}

http::Response BadData(std::string_view message) {
  return ErrorResponse(ErrorType::kBadData, message);
}

// `invalid parameter "name": <why>`
http::Response InvalidParam(std::string_view name, const absl::Status& why) {
  return BadData(absl::StrCat("invalid parameter ", GoQuote(name), ": ", why.message()));
}

http::Response Unavailable() { return ErrorResponse(ErrorType::kUnavailable, "TSDB not ready"); }

ErrorType EngineErrorType(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return ErrorType::kBadData;
    case absl::StatusCode::kDeadlineExceeded:
      return ErrorType::kTimeout;
    case absl::StatusCode::kCancelled:
      return ErrorType::kCanceled;
    case absl::StatusCode::kDataLoss:  // damaged storage: Prometheus' ErrStorage
      return ErrorType::kInternal;
    default:
      return ErrorType::kExecution;
  }
}

http::Response EngineError(const absl::Status& status) {
  const ErrorType type = EngineErrorType(status);
  if (type == ErrorType::kBadData) return InvalidParam("query", status);
  return ErrorResponse(type, std::string(status.message()));
}

// Appends "key":[...] for a non-empty list.
void AppendStringArrayField(std::string_view key, const std::vector<std::string>& values,
                            std::string* out) {
  if (values.empty()) return;
  out->push_back(',');
  AppendJsonString(key, out);
  out->append(":[");
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendJsonString(values[i], out);
  }
  out->push_back(']');
}

// Caps a list of annotations as Prometheus does, dropping duplicates (Prometheus keeps them in a
// set) and ending with a count of what was left out.
std::vector<std::string> CapAnnotations(const std::vector<std::string>& in, size_t max,
                                        std::string_view kind) {
  std::vector<std::string> out;
  std::set<std::string_view> seen;
  size_t skipped = 0;
  for (const std::string& s : in) {
    if (!seen.insert(s).second) continue;
    if (out.size() < max) {
      out.push_back(s);
    } else {
      ++skipped;
    }
  }
  if (skipped > 0) out.push_back(absl::StrCat(skipped, " more ", AV(kind), " annotations omitted"));
  return out;
}

// {"status":"success","data":<data>[,"warnings":[...]][,"infos":[...]]}
http::Response Success(std::string_view data, const std::vector<std::string>& warnings = {},
                       const std::vector<std::string>& infos = {}) {
  std::string body;
  body.reserve(data.size() + 64);
  body.append("{\"status\":\"success\",\"data\":");
  body.append(data);
  AppendStringArrayField("warnings", CapAnnotations(warnings, kMaxWarnings, "warning"), &body);
  AppendStringArrayField("infos", CapAnnotations(infos, kMaxInfos, "info"), &body);
  body.push_back('}');
  return http::Response::Json(std::move(body));
}

std::string_view ResultTypeName(const promql::QueryResult& result) {
  switch (result.value.index()) {
    case 0:
      return "scalar";
    case 1:
      return "string";
    case 2:
      return "vector";
    default:
      return "matrix";
  }
}

// {"resultType":"...","result":...}
std::string EncodeQueryData(const promql::QueryResult& result, int64_t limit) {
  std::string out;
  out.append("{\"resultType\":\"");
  out.append(ResultTypeName(result));
  out.append("\",\"result\":");
  if (const auto* scalar = std::get_if<promql::Scalar>(&result.value)) {
    AppendSamplePair(scalar->t, scalar->v, &out);
  } else if (const auto* str = std::get_if<promql::String>(&result.value)) {
    AppendStringPair(str->t, str->v, &out);
  } else if (const auto* vector = std::get_if<promql::Vector>(&result.value)) {
    size_t n = vector->size();
    if (limit > 0) n = std::min(n, static_cast<size_t>(limit));
    out.reserve(n * 96 + 64);
    out.push_back('[');
    for (size_t i = 0; i < n; ++i) {
      const promql::VectorSample& s = (*vector)[i];
      if (i > 0) out.push_back(',');
      out.append("{\"metric\":");
      AppendLabelsObject(s.labels, &out);
      out.append(",\"value\":");
      AppendSamplePair(s.t, s.v, &out);
      out.push_back('}');
    }
    out.push_back(']');
  } else if (const auto* matrix = std::get_if<promql::Matrix>(&result.value)) {
    size_t n = matrix->size();
    if (limit > 0) n = std::min(n, static_cast<size_t>(limit));
    size_t points = 0;
    for (size_t i = 0; i < n; ++i) points += (*matrix)[i].samples.size();
    out.reserve(n * 96 + points * 24 + 64);
    out.push_back('[');
    for (size_t i = 0; i < n; ++i) {
      const promql::MatrixSeries& s = (*matrix)[i];
      if (i > 0) out.push_back(',');
      out.append("{\"metric\":");
      AppendLabelsObject(s.labels, &out);
      out.append(",\"values\":[");
      for (size_t k = 0; k < s.samples.size(); ++k) {
        if (k > 0) out.push_back(',');
        AppendSamplePair(s.samples[k].t, s.samples[k].v, &out);
      }
      out.append("]}");
    }
    out.push_back(']');
  }
  out.push_back('}');
  return out;
}

size_t SeriesCount(const promql::QueryResult& result) {
  if (const auto* vector = std::get_if<promql::Vector>(&result.value)) return vector->size();
  if (const auto* matrix = std::get_if<promql::Matrix>(&result.value)) return matrix->size();
  return 0;
}

http::Response QuerySuccess(const promql::QueryResult& result, int64_t limit) {
  std::vector<std::string> warnings = result.annotations.warnings;
  if (limit > 0 && SeriesCount(result) > static_cast<size_t>(limit)) {
    warnings.push_back(kTruncatedWarning);
  }
  return Success(EncodeQueryData(result, limit), warnings, result.annotations.infos);
}

// Prometheus' CORS headers, sent when the request names an Origin.
void AddCorsHeaders(const http::Request& request, http::Response* response) {
  if (!request.HasHeader("Origin")) return;
  response->AddHeader("Access-Control-Allow-Headers",
                      "Accept, Authorization, Content-Type, Origin");
  response->AddHeader("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
  response->AddHeader("Access-Control-Expose-Headers", "Date");
  response->AddHeader("Access-Control-Allow-Origin", "*");
}

// Method check shared by every endpoint: OPTIONS is a CORS preflight (204), others must be in
// allowed (GET implies HEAD).
std::optional<http::Response> CheckApiMethod(const http::Request& request, bool allow_post) {
  if (request.method == "OPTIONS") {
    http::Response r;
    r.status = 204;
    return r;
  }
  if (allow_post) return http::CheckMethod(request, {"GET", "HEAD", "POST", "OPTIONS"});
  return http::CheckMethod(request, {"GET", "HEAD", "OPTIONS"});
}

// An optional time parameter: `def` when absent or empty.
absl::StatusOr<int64_t> OptionalTime(const http::Request& request, std::string_view name,
                                     int64_t def) {
  const std::string value = request.Get(name);
  if (value.empty()) return def;
  absl::StatusOr<int64_t> t = ParseApiTime(value);
  if (!t.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Invalid time value for '", AV(name), "': ", t.status().message()));
  }
  return t;
}

// The engine options for one query: the configured ones with the timeout and lookback_delta
// parameters applied. On error, *error holds the response.
std::optional<promql::EngineOptions> QueryEngineOptions(const http::Request& request,
                                                        const promql::EngineOptions& defaults,
                                                        http::Response* error) {
  promql::EngineOptions options = defaults;
  if (std::string timeout = request.Get("timeout"); !timeout.empty()) {
    absl::StatusOr<int64_t> ns = ParseApiDurationNs(timeout);
    if (!ns.ok()) {
      *error = InvalidParam("timeout", ns.status());
      return std::nullopt;
    }
    // A zero or negative timeout has expired at once; the engine gets its smallest one.
    const int64_t ms = std::max<int64_t>(1, *ns / 1000000);
    if (options.timeout_ms <= 0 || ms < options.timeout_ms) options.timeout_ms = ms;
  }
  if (std::string lookback = request.Get("lookback_delta"); !lookback.empty()) {
    absl::StatusOr<int64_t> ns = ParseApiDurationNs(lookback);
    if (!ns.ok()) {
      *error =
          BadData(absl::StrCat("error parsing lookback delta duration: ", ns.status().message()));
      return std::nullopt;
    }
    if (*ns / 1000000 > 0) options.lookback_delta_ms = *ns / 1000000;
  }
  return options;
}

promql::QuerierFactory FactoryFor(tsdb::DB* db) {
  return [db](int64_t mint, int64_t maxt) { return db->NewQuerier(mint, maxt); };
}

// The match[] parameters, parsed. An empty result means none were given.
absl::StatusOr<std::vector<std::vector<tsdb::LabelMatcher>>> ParseMatchers(
    const http::Request& request) {
  std::vector<std::vector<tsdb::LabelMatcher>> sets;
  for (const std::string& text : request.GetAll("match[]")) {
    absl::StatusOr<std::vector<tsdb::LabelMatcher>> matchers = promql::ParseMetricSelector(text);
    if (!matchers.ok()) return matchers.status();
    const bool selective =
        std::any_of(matchers->begin(), matchers->end(),
                    [](const tsdb::LabelMatcher& m) { return !m.MatchesEmpty(); });
    if (!selective) {
      return absl::InvalidArgumentError("match[] must contain at least one non-empty matcher");
    }
    sets.push_back(*std::move(matchers));
  }
  return sets;
}

// Start and end of the metadata endpoints (series, labels, label values).
absl::Status ParseRange(const http::Request& request, int64_t* start, int64_t* end,
                        http::Response* error) {
  absl::StatusOr<int64_t> s = OptionalTime(request, "start", kApiMinTimeMs);
  if (!s.ok()) {
    *error = InvalidParam("start", s.status());
    return s.status();
  }
  absl::StatusOr<int64_t> e = OptionalTime(request, "end", kApiMaxTimeMs);
  if (!e.ok()) {
    *error = InvalidParam("end", e.status());
    return e.status();
  }
  *start = *s;
  *end = *e;
  return absl::OkStatus();
}

std::string EncodeStringArray(const std::vector<std::string>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendJsonString(values[i], &out);
  }
  out.push_back(']');
  return out;
}

// Truncates values to limit (> 0) and says so in warnings.
template <typename T>
void ApplyLimit(int64_t limit, std::vector<T>* values, std::vector<std::string>* warnings) {
  if (limit > 0 && values->size() > static_cast<size_t>(limit)) {
    values->resize(static_cast<size_t>(limit));
    warnings->push_back(kTruncatedWarning);
  }
}

// Label names or the values of one label over the union of the matcher sets.
http::Response LabelQuery(const QueryApiOptions& options, const http::Request& request,
                          const std::string* label_name) {
  tsdb::DB* db = options.db ? options.db() : nullptr;
  if (db == nullptr) return Unavailable();
  absl::StatusOr<int64_t> limit = ParseApiLimit(request.Get("limit"));
  if (!limit.ok()) return InvalidParam("limit", limit.status());
  int64_t start = 0, end = 0;
  http::Response error;
  if (!ParseRange(request, &start, &end, &error).ok()) return error;
  absl::StatusOr<std::vector<std::vector<tsdb::LabelMatcher>>> sets = ParseMatchers(request);
  if (!sets.ok()) return BadData(std::string(sets.status().message()));
  if (sets->empty()) sets->emplace_back();

  std::unique_ptr<tsdb::Querier> querier = db->NewQuerier(start, end);
  if (querier == nullptr) return Unavailable();
  std::vector<std::string> values;
  for (const std::vector<tsdb::LabelMatcher>& matchers : *sets) {
    absl::StatusOr<std::vector<std::string>> got = label_name != nullptr
                                                       ? querier->LabelValues(*label_name, matchers)
                                                       : querier->LabelNames(matchers);
    if (!got.ok()) return ErrorResponse(ErrorType::kExecution, std::string(got.status().message()));
    values.insert(values.end(), std::make_move_iterator(got->begin()),
                  std::make_move_iterator(got->end()));
  }
  if (sets->size() > 1) {
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
  }
  std::vector<std::string> warnings;
  ApplyLimit(*limit, &values, &warnings);
  return Success(EncodeStringArray(values), warnings);
}

int CountThreads() {
  int n = 0;
  if (DIR* dir = opendir("/proc/self/task")) {
    while (dirent* e = readdir(dir)) {
      if (e->d_name[0] != '.') ++n;
    }
    closedir(dir);
  }
  return n;
}

std::string CurrentDirectory() {
  std::string buf(PATH_MAX, '\0');
  if (getcwd(buf.data(), buf.size()) == nullptr) return "";
  buf.resize(std::char_traits<char>::length(buf.c_str()));
  return buf;
}

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "";
  return buf;
}

int64_t WallClockNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A duration as Prometheus' model.Duration prints it: years and weeks only when they divide it
// exactly ("15d", not "2w1d"), then days, hours, minutes, seconds, milliseconds.
std::string PrometheusDuration(int64_t ms) {
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  struct Unit {
    const char* name;
    int64_t ms;
    bool exact;
  };
  static constexpr Unit kUnits[] = {{"y", 365LL * 24 * 3600 * 1000, true},
                                    {"w", 7LL * 24 * 3600 * 1000, true},
                                    {"d", 24LL * 3600 * 1000, false},
                                    {"h", 3600LL * 1000, false},
                                    {"m", 60LL * 1000, false},
                                    {"s", 1000, false},
                                    {"ms", 1, false}};
  for (const Unit& u : kUnits) {
    if (u.exact && ms % u.ms != 0) continue;
    if (const int64_t v = ms / u.ms; v > 0) {
      absl::StrAppend(&out, v, u.name);
      ms -= v * u.ms;
    }
  }
  return out;
}

void AppendField(std::string_view key, std::string_view value, bool first, std::string* out) {
  if (!first) out->push_back(',');
  AppendJsonString(key, out);
  out->push_back(':');
  AppendJsonString(value, out);
}

void AppendRawField(std::string_view key, std::string_view raw, std::string* out) {
  out->push_back(',');
  AppendJsonString(key, out);
  out->push_back(':');
  out->append(raw);
}

}  // namespace

QueryApi::QueryApi(QueryApiOptions options) : options_(std::move(options)) {
  if (options_.start_time_ns == 0) options_.start_time_ns = WallClockNs();
  if (options_.build.compiler_version.empty()) {
#if defined(__clang__)
    options_.build.compiler_version = absl::StrCat("clang ", __clang_version__);
#elif defined(__GNUC__)
    options_.build.compiler_version = absl::StrCat("gcc ", __VERSION__);
#else
    options_.build.compiler_version = "unknown";
#endif
  }
}

int64_t QueryApi::Now() const {
  if (options_.now_ms) return options_.now_ms();
  return WallClockNs() / 1000000;
}

http::Response QueryApi::Query(const http::Request& request) const {
  if (auto r = CheckApiMethod(request, true)) return *r;
  tsdb::DB* db = options_.db ? options_.db() : nullptr;
  if (db == nullptr) return Unavailable();
  absl::StatusOr<int64_t> limit = ParseApiLimit(request.Get("limit"));
  if (!limit.ok()) return InvalidParam("limit", limit.status());
  absl::StatusOr<int64_t> t = OptionalTime(request, "time", Now());
  if (!t.ok()) return InvalidParam("time", t.status());
  http::Response error;
  std::optional<promql::EngineOptions> engine_options =
      QueryEngineOptions(request, options_.engine, &error);
  if (!engine_options) return error;

  promql::Engine engine(FactoryFor(db), *engine_options);
  absl::StatusOr<promql::QueryResult> result = engine.InstantQuery(request.Get("query"), *t);
  if (!result.ok()) return EngineError(result.status());
  return QuerySuccess(*result, *limit);
}

http::Response QueryApi::QueryRange(const http::Request& request) const {
  if (auto r = CheckApiMethod(request, true)) return *r;
  tsdb::DB* db = options_.db ? options_.db() : nullptr;
  if (db == nullptr) return Unavailable();
  absl::StatusOr<int64_t> limit = ParseApiLimit(request.Get("limit"));
  if (!limit.ok()) return InvalidParam("limit", limit.status());
  absl::StatusOr<int64_t> start = ParseApiTime(request.Get("start"));
  if (!start.ok()) return InvalidParam("start", start.status());
  absl::StatusOr<int64_t> end = ParseApiTime(request.Get("end"));
  if (!end.ok()) return InvalidParam("end", end.status());
  if (*end < *start) {
    return InvalidParam("end",
                        absl::InvalidArgumentError("end timestamp must not be before start time"));
  }
  absl::StatusOr<int64_t> step_ns = ParseApiDurationNs(request.Get("step"));
  if (!step_ns.ok()) return InvalidParam("step", step_ns.status());
  // Steps are whole milliseconds here; a positive step below 1ms counts as zero.
  if (*step_ns / 1000000 <= 0) {
    return InvalidParam(
        "step", absl::InvalidArgumentError("zero or negative query resolution step widths are not "
                                           "accepted. Try a positive integer"));
  }
  // (end - start) / step in nanoseconds, exactly: Go's Time.Sub saturates at about 292 years,
  // which would let a longer range with a big step through.
  const __int128 range_ns = (static_cast<__int128>(*end) - *start) * 1000000;
  if (range_ns / *step_ns > kMaxPointsPerSeries) {
    return BadData(
        "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query "
        "resolution (?step=XX)");
  }
  http::Response error;
  std::optional<promql::EngineOptions> engine_options =
      QueryEngineOptions(request, options_.engine, &error);
  if (!engine_options) return error;

  promql::Engine engine(FactoryFor(db), *engine_options);
  absl::StatusOr<promql::QueryResult> result =
      engine.RangeQuery(request.Get("query"), *start, *end, *step_ns / 1000000);
  if (!result.ok()) return EngineError(result.status());
  return QuerySuccess(*result, *limit);
}

http::Response QueryApi::Series(const http::Request& request) const {
  if (auto r = CheckApiMethod(request, true)) return *r;
  tsdb::DB* db = options_.db ? options_.db() : nullptr;
  if (db == nullptr) return Unavailable();
  if (!request.Has("match[]")) return BadData("no match[] parameter provided");
  absl::StatusOr<int64_t> limit = ParseApiLimit(request.Get("limit"));
  if (!limit.ok()) return InvalidParam("limit", limit.status());
  int64_t start = 0, end = 0;
  http::Response error;
  if (!ParseRange(request, &start, &end, &error).ok()) return error;
  absl::StatusOr<std::vector<std::vector<tsdb::LabelMatcher>>> sets = ParseMatchers(request);
  if (!sets.ok()) return InvalidParam("match[]", sets.status());

  std::unique_ptr<tsdb::Querier> querier = db->NewQuerier(start, end);
  if (querier == nullptr) return Unavailable();
  std::vector<tsdb::Labels> series;
  for (const std::vector<tsdb::LabelMatcher>& matchers : *sets) {
    absl::StatusOr<std::vector<tsdb::Labels>> selected = querier->SelectLabels(matchers);
    if (!selected.ok())
      return ErrorResponse(ErrorType::kExecution, std::string(selected.status().message()));
    for (tsdb::Labels& s : *selected) series.push_back(std::move(s));
  }
  if (sets->size() > 1) {
    std::sort(series.begin(), series.end());
    series.erase(std::unique(series.begin(), series.end()), series.end());
  }
  std::vector<std::string> warnings;
  ApplyLimit(*limit, &series, &warnings);
  std::string data = "[";
  for (size_t i = 0; i < series.size(); ++i) {
    if (i > 0) data.push_back(',');
    AppendLabelsObject(series[i], &data);
  }
  data.push_back(']');
  return Success(data, warnings);
}

http::Response QueryApi::LabelNames(const http::Request& request) const {
  if (auto r = CheckApiMethod(request, true)) return *r;
  return LabelQuery(options_, request, nullptr);
}

http::Response QueryApi::LabelValues(const http::Request& request) const {
  constexpr std::string_view kPrefix = "/api/v1/label/";
  constexpr std::string_view kSuffix = "/values";
  std::string_view path = request.path;
  if (path.size() <= kPrefix.size() + kSuffix.size() || path.substr(0, kPrefix.size()) != kPrefix ||
      path.substr(path.size() - kSuffix.size()) != kSuffix) {
    return http::Response::Text("404 page not found\n", 404);
  }
  const std::string name(
      path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size()));
  if (name.find('/') != std::string::npos) {
    return http::Response::Text("404 page not found\n", 404);
  }
  if (auto r = CheckApiMethod(request, false)) return *r;
  if (!tsdb::IsValidLabelName(name)) {
    return BadData(absl::StrCat("invalid label name: ", GoQuote(name)));
  }
  return LabelQuery(options_, request, &name);
}

http::Response QueryApi::Metadata(const http::Request& request) const {
  if (auto r = CheckApiMethod(request, false)) return *r;
  absl::StatusOr<int64_t> limit = ParseApiLimit(request.Get("limit"));
  if (!limit.ok()) return InvalidParam("limit", limit.status());
  absl::StatusOr<int64_t> limit_per_metric = ParseApiLimit(request.Get("limit_per_metric"));
  if (!limit_per_metric.ok()) return InvalidParam("limit_per_metric", limit_per_metric.status());
  std::map<std::string, std::vector<MetricMetadata>> all;
  if (options_.metadata != nullptr) all = options_.metadata->ListMetadata(request.Get("metric"));

  std::string data = "{";
  int64_t metrics = 0;
  for (const auto& [name, entries] : all) {
    if (*limit > 0 && metrics >= *limit) break;
    if (metrics++ > 0) data.push_back(',');
    AppendJsonString(name, &data);
    data.append(":[");
    int64_t n = 0;
    for (const MetricMetadata& m : entries) {
      if (*limit_per_metric > 0 && n >= *limit_per_metric) break;
      if (n++ > 0) data.push_back(',');
      data.push_back('{');
      AppendField("type", m.type, true, &data);
      AppendField("help", m.help, false, &data);
      AppendField("unit", m.unit, false, &data);
      data.push_back('}');
    }
    data.push_back(']');
  }
  data.push_back('}');
  return Success(data);
}

// Exemplars are not kept (scraping and import read them and store the samples only), so the
// answer is always empty, as from a Prometheus without exemplar storage; the parameters are still
// checked as Prometheus checks them, so clients see the same errors for the same mistakes.
http::Response QueryApi::QueryExemplars(const http::Request& request) const {
  if (auto r = CheckApiMethod(request, true)) return *r;
  int64_t start = 0, end = 0;
  http::Response error;
  if (!ParseRange(request, &start, &end, &error).ok()) return error;
  if (end < start) return BadData("end timestamp must not be before start timestamp");
  absl::StatusOr<std::unique_ptr<promql::Expr>> expr = promql::ParseExpr(request.Get("query"));
  if (!expr.ok()) return BadData(std::string(expr.status().message()));
  return Success("[]");
}

http::Response QueryApi::FormatQuery(const http::Request& request) const {
  if (auto r = CheckApiMethod(request, true)) return *r;
  absl::StatusOr<std::unique_ptr<promql::Expr>> expr = promql::ParseExpr(request.Get("query"));
  if (!expr.ok()) return InvalidParam("query", expr.status());
  std::string data;
  AppendJsonString(promql::Prettify(**expr), &data);
  return Success(data);
}

// No recording or alerting rules are evaluated here: empty lists, in Prometheus' shapes, so
// dashboards and alerting views that ask every Prometheus data source for them work unchanged.
http::Response QueryApi::Rules(const http::Request& request) const {
  if (auto r = CheckApiMethod(request, false)) return *r;
  const std::string type = absl::AsciiStrToLower(request.Get("type"));
  if (!type.empty() && type != "alert" && type != "record") {
    return InvalidParam(
        "type", absl::InvalidArgumentError(absl::StrCat("not supported value ", GoQuote(type))));
  }
  return Success("{\"groups\":[]}");
}

http::Response QueryApi::Alerts(const http::Request& request) const {
  if (auto r = CheckApiMethod(request, false)) return *r;
  return Success("{\"alerts\":[]}");
}

// No alerts are sent anywhere: no Alertmanagers, as from a Prometheus without alerting config.
http::Response QueryApi::Alertmanagers(const http::Request& request) const {
  if (auto r = CheckApiMethod(request, false)) return *r;
  return Success(R"({"activeAlertmanagers":[],"droppedAlertmanagers":[]})");
}

http::Response QueryApi::BuildInfoHandler(const http::Request& request) const {
  if (auto r = CheckApiMethod(request, false)) return *r;
  const BuildInfo& b = options_.build;
  std::string data = "{";
  AppendField("version", b.version, true, &data);
  AppendField("revision", b.revision, false, &data);
  AppendField("branch", b.branch, false, &data);
  AppendField("buildUser", b.build_user, false, &data);
  AppendField("buildDate", b.build_date, false, &data);
  AppendField("goVersion", b.compiler_version, false, &data);
  data.push_back('}');
  return Success(data);
}

http::Response QueryApi::RuntimeInfo(const http::Request& request) const {
  if (auto r = CheckApiMethod(request, false)) return *r;
  const std::string start = FormatUnixNanoRfc3339(options_.start_time_ns);
  std::string data = "{";
  AppendField("startTime", start, true, &data);
  AppendField("CWD", CurrentDirectory(), false, &data);
  AppendField("hostname", HostName(), false, &data);
  AppendField("serverTime", FormatUnixNanoRfc3339(WallClockNs()), false, &data);
  AppendRawField("reloadConfigSuccess", "true", &data);
  AppendField("lastConfigTime", start, false, &data);
  AppendRawField("corruptionCount", "0", &data);
  AppendRawField("goroutineCount", std::to_string(CountThreads()), &data);
  AppendRawField("GOMAXPROCS", std::to_string(std::max(1u, std::thread::hardware_concurrency())),
                 &data);
  AppendRawField("GOMEMLIMIT", std::to_string(INT64_MAX), &data);
  AppendField("GOGC", "", false, &data);
  AppendField("GODEBUG", "", false, &data);
  AppendField("storageRetention",
              options_.retention_ms > 0 ? PrometheusDuration(options_.retention_ms) : "", false,
              &data);
  data.push_back('}');
  return Success(data);
}

http::Response QueryApi::Flags(const http::Request& request) const {
  if (auto r = CheckApiMethod(request, false)) return *r;
  std::string data = "{";
  bool first = true;
  for (const auto& [name, value] : options_.flags) {
    AppendField(name, value, first, &data);
    first = false;
  }
  data.push_back('}');
  return Success(data);
}

namespace {

// [{"name":"...","value":N},...]
void AppendStatList(std::string_view field, const std::vector<tsdb::PostingsStat>& stats,
                    std::string* out) {
  out->push_back(',');
  AppendJsonString(field, out);
  out->append(":[");
  for (size_t i = 0; i < stats.size(); ++i) {
    if (i > 0) out->push_back(',');
    out->append("{\"name\":");
    AppendJsonString(stats[i].name, out);
    absl::StrAppend(out, ",\"value\":", stats[i].count, "}");
  }
  out->push_back(']');
}

}  // namespace

// The head is the whole database here, so these figures cover every stored series (in Prometheus
// they cover the head block only).
http::Response QueryApi::TsdbStatus(const http::Request& request) const {
  if (auto r = CheckApiMethod(request, false)) return *r;
  int limit = 10;
  if (const std::string s = request.Get("limit"); !s.empty()) {
    if (!absl::SimpleAtoi(s, &limit) || limit < 1)
      return BadData("limit must be a positive number");
  }
  tsdb::DB* db = options_.db ? options_.db() : nullptr;
  if (db == nullptr) return Unavailable();
  const tsdb::HeadCardinality c = db->Cardinality(static_cast<size_t>(limit));
  std::string data = absl::StrCat(
      "{\"headStats\":{\"numSeries\":", c.series, ",\"numLabelPairs\":", c.index.label_pairs,
      ",\"chunkCount\":", c.chunks, ",\"minTime\":", c.min_time, ",\"maxTime\":", c.max_time, "}");
  AppendStatList("seriesCountByMetricName", c.index.series_by_metric, &data);
  AppendStatList("labelValueCountByLabelName", c.index.values_by_label, &data);
  AppendStatList("memoryInBytesByLabelName", c.index.value_bytes_by_label, &data);
  AppendStatList("seriesCountByLabelValuePair", c.index.series_by_pair, &data);
  data.push_back('}');
  return Success(data);
}

http::Response QueryApi::ConfigStatus(const http::Request& request) const {
  if (auto r = CheckApiMethod(request, false)) return *r;
  std::string data = "{";
  AppendField("yaml", options_.config_yaml ? options_.config_yaml() : "", true, &data);
  data.push_back('}');
  return Success(data);
}

http::Response QueryApi::WalReplayStatus(const http::Request& request) const {
  if (auto r = CheckApiMethod(request, false)) return *r;
  const tsdb::WalReplayProgress* p = options_.wal_replay;
  return Success(absl::StrCat("{\"min\":", p ? p->min.load() : 0,
                              ",\"max\":", p ? p->max.load() : 0,
                              ",\"current\":", p ? p->current.load() : 0, "}"));
}

http::Response QueryResultResponse(const promql::QueryResult& result, int64_t limit) {
  return QuerySuccess(result, limit);
}

http::Response QueryErrorResponse(const absl::Status& status) { return EngineError(status); }

http::Response BadDataResponse(std::string_view message) { return BadData(message); }

void RegisterQueryApi(http::Router* router, std::shared_ptr<const QueryApi> api) {
  using Method = http::Response (QueryApi::*)(const http::Request&) const;
  const auto add = [&](std::string path, Method method, bool prefix) {
    http::Handler handler = [api, method](const http::Request& request) {
      http::Response response = ((*api).*method)(request);
      AddCorsHeaders(request, &response);
      return response;
    };
    if (prefix) {
      router->HandlePrefix(std::move(path), std::move(handler));
    } else {
      router->Handle(std::move(path), std::move(handler));
    }
  };
  add("/api/v1/query", &QueryApi::Query, false);
  add("/api/v1/query_range", &QueryApi::QueryRange, false);
  add("/api/v1/format_query", &QueryApi::FormatQuery, false);
  add("/api/v1/series", &QueryApi::Series, false);
  add("/api/v1/labels", &QueryApi::LabelNames, false);
  add("/api/v1/label/", &QueryApi::LabelValues, true);
  add("/api/v1/metadata", &QueryApi::Metadata, false);
  add("/api/v1/query_exemplars", &QueryApi::QueryExemplars, false);
  add("/api/v1/rules", &QueryApi::Rules, false);
  add("/api/v1/alerts", &QueryApi::Alerts, false);
  add("/api/v1/alertmanagers", &QueryApi::Alertmanagers, false);
  add("/api/v1/status/buildinfo", &QueryApi::BuildInfoHandler, false);
  add("/api/v1/status/runtimeinfo", &QueryApi::RuntimeInfo, false);
  add("/api/v1/status/flags", &QueryApi::Flags, false);
  add("/api/v1/status/tsdb", &QueryApi::TsdbStatus, false);
  add("/api/v1/status/config", &QueryApi::ConfigStatus, false);
  add("/api/v1/status/walreplay", &QueryApi::WalReplayStatus, false);
}

}  // namespace api
