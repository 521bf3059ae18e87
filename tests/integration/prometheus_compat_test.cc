// The reference-peer test of the query API: the same generated history is loaded into a real
// Prometheus (Debian's 2.42, through `promtool tsdb create-blocks-from openmetrics`) and into
// metrics-adapter (through `metrics-adapter import openmetrics`); both servers then answer the same
// broad set of PromQL queries over their HTTP APIs, instant and range, and the answers must agree:
// the same result type, the same label sets, the same timestamps, values equal within 1e-6
// relative (NaN equal to NaN), and the same error type when both fail.
//
// Skipped when promtool or prometheus is not installed (scripts/install-deps.sh installs them) or
// MA_BINARY is unset.
//
// Where Prometheus 2.42 and the Prometheus 3 semantics metrics-adapter follows differ, the data and
// the queries stay clear of the difference:
//   - Range windows are left-open in 3.x ((t-r, t]) and closed in 2.42 ([t-r, t]): samples sit at
//     7, 22, 37 and 52 seconds past each minute and every evaluation time (instant queries, range
//     query steps, subquery steps) is on a whole minute or half minute, so no sample is ever on a
//     window's edge. Subquery ranges end in 15s ([10m15s:1m], [7m15s:2m]) so that their start is
//     never on a subquery step either.
//   - rate()/increase() extrapolate towards the start of a window that begins before a series'
//     first sample differently: 3.x caps the extrapolation at half an interval before it limits it
//     at the counter's zero point, 2.42 after. Every evaluation time is therefore at least 26
//     minutes into the history, so that all windows (subquery range plus inner range: at most
//     20m15s) lie within it.
//   - Functions that exist in only one of them are left out: holt_winters (gone in 3.x),
//     double_exponential_smoothing, limitk, limit_ratio, sort_by_label, info, mad_over_time,
//     ts_of_*_over_time (3.x only).
//   - Classic histogram `le` values are written the way 3.x normalises them ("0.1", "2.5", "+Inf";
//     no integers such as "1"), so the stored label values are the same in both.
//   - Queries whose result order is unspecified are compared as sets of series; only sort() and
//     sort_desc() over distinct values are compared in order.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "boost/json.hpp"
#include "gtest/gtest.h"
#include "tests/support/process.h"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using testsupport::UrlEncode;

// The history starts on a whole minute and is one hour long at 15s spacing, each sample 7s past
// the quarter minute.
constexpr int64_t kBase = 1699999980;  // seconds, a multiple of 60
constexpr int kSamples = 240;

bool OnPath(const std::string& program) {
  return std::system(("command -v " + program + " >/dev/null 2>&1").c_str()) == 0;
}

// A deterministic pseudo-random sequence (64-bit LCG).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  double Uniform() {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state_ >> 11) / static_cast<double>(1ULL << 53);
  }

 private:
  uint64_t state_;
};

std::string Num(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  std::ostringstream out;
  out.precision(17);
  out << v;
  return out.str();
}

std::string TimestampText(int k) { return std::to_string(kBase + 7 + 15 * k) + ".000"; }

// 53 series: 10 counters with resets, 20 gauges (including NaN, negative, huge and tiny values),
// 5 up series and 3 classic histograms (4 buckets, _sum, _count).
std::string GenerateOpenMetrics() {
  std::ostringstream out;
  Rng rng(42);

  out << "# TYPE http_requests counter\n";
  for (int inst = 0; inst < 5; ++inst) {
    for (const char* code : {"200", "500"}) {
      double value = 100 * inst;
      const int reset_at = 60 + 30 * inst;
      for (int k = 0; k < kSamples; ++k) {
        if (k == reset_at && std::string(code) == "200") value = inst % 2 == 0 ? 0 : 3.5;
        value +=
            std::string(code) == "200" ? 10 * rng.Uniform() + 1 : (rng.Uniform() < 0.3 ? 1 : 0);
        out << "http_requests_total{job=\"api\",instance=\"i" << inst << "\",code=\"" << code
            << "\"} " << Num(value) << " " << TimestampText(k) << "\n";
      }
    }
  }

  out << "# TYPE node_temperature_celsius gauge\n";
  for (int inst = 0; inst < 5; ++inst) {
    for (const char* sensor : {"cpu", "board"}) {
      for (int k = 0; k < kSamples; ++k) {
        const double v = 40 + 10 * std::sin(k / 10.0 + inst) + 5 * rng.Uniform() +
                         (std::string(sensor) == "cpu" ? 15 : 0);
        out << "node_temperature_celsius{job=\"node\",instance=\"i" << inst << "\",sensor=\""
            << sensor << "\"} " << Num(v) << " " << TimestampText(k) << "\n";
      }
    }
  }

  out << "# TYPE memory_bytes gauge\n";
  for (int inst = 0; inst < 5; ++inst) {
    for (int k = 0; k < kSamples; ++k) {
      const double v = std::floor(1e9 * (inst + 1) + 1e8 * rng.Uniform());
      out << "memory_bytes{job=\"node\",instance=\"i" << inst << "\"} " << Num(v) << " "
          << TimestampText(k) << "\n";
    }
  }

  out << "# TYPE weird_gauge gauge\n";
  for (int k = 0; k < kSamples; ++k) {
    const std::string ts = TimestampText(k);
    out << "weird_gauge{kind=\"nan\"} " << (k % 20 == 5 ? "NaN" : Num(rng.Uniform())) << " " << ts
        << "\n";
    out << "weird_gauge{kind=\"negative\"} " << Num(-50 * rng.Uniform()) << " " << ts << "\n";
    out << "weird_gauge{kind=\"huge\"} " << Num(1e15 * (1 + rng.Uniform())) << " " << ts << "\n";
    out << "weird_gauge{kind=\"tiny\"} " << Num(1e-9 * (1 + rng.Uniform())) << " " << ts << "\n";
    out << "weird_gauge{kind=\"step\"} " << Num(k < 120 ? 1 : 2) << " " << ts << "\n";
  }

  out << "# TYPE up gauge\n";
  for (int inst = 0; inst < 5; ++inst) {
    for (int k = 0; k < kSamples; ++k) {
      const int v = (inst == 3 && k > 100 && k < 140) ? 0 : 1;
      out << "up{job=\"" << (inst < 3 ? "api" : "node") << "\",instance=\"i" << inst << "\"} " << v
          << " " << TimestampText(k) << "\n";
    }
  }

  out << "# TYPE request_duration_seconds histogram\n";
  const char* bounds[] = {"0.1", "0.5", "2.5", "+Inf"};
  for (int inst = 0; inst < 3; ++inst) {
    double buckets[4] = {0, 0, 0, 0};
    double sum = 0;
    std::ostringstream series[6];
    for (int k = 0; k < kSamples; ++k) {
      const int n = 1 + static_cast<int>(20 * rng.Uniform());
      for (int i = 0; i < n; ++i) {
        const double d = 3 * rng.Uniform() * rng.Uniform();
        sum += d;
        if (d <= 0.1) buckets[0] += 1;
        if (d <= 0.5) buckets[1] += 1;
        if (d <= 2.5) buckets[2] += 1;
        buckets[3] += 1;
      }
      const std::string ts = TimestampText(k);
      const std::string labels = "job=\"api\",instance=\"i" + std::to_string(inst) + "\"";
      for (int b = 0; b < 4; ++b) {
        series[b] << "request_duration_seconds_bucket{" << labels << ",le=\"" << bounds[b] << "\"} "
                  << Num(buckets[b]) << " " << ts << "\n";
      }
      series[4] << "request_duration_seconds_sum{" << labels << "} " << Num(sum) << " " << ts
                << "\n";
      series[5] << "request_duration_seconds_count{" << labels << "} " << Num(buckets[3]) << " "
                << ts << "\n";
    }
    for (const std::ostringstream& s : series) out << s.str();
  }
  out << "# EOF\n";
  return out.str();
}

std::string At(int64_t minutes) { return std::to_string(kBase + 60 * minutes); }

// The queries compared, with whether their instant result order matters.
struct Query {
  std::string expr;
  bool ordered = false;
};

std::vector<Query> Queries() {
  std::vector<std::string> q = {
      // Selectors.
      "http_requests_total",
      "http_requests_total{code=\"500\"}",
      "http_requests_total{instance=~\"i[0-2]\",code!=\"500\"}",
      "{__name__=~\"node_.*|memory_bytes\",instance!~\"i[34]\"}",
      "weird_gauge",
      "up",
      "nonexistent_metric",
      "http_requests_total[2m]",
      "weird_gauge{kind=\"nan\"}[5m]",
      // Offset and @.
      "http_requests_total offset 10m",
      "http_requests_total offset -5m",
      "rate(http_requests_total[5m] offset 10m)",
      "http_requests_total @ " + At(20),
      "sum(rate(http_requests_total[5m] @ " + At(40) + "))",
      "http_requests_total @ start()",
      "node_temperature_celsius @ end() offset 1m",
      // Arithmetic and comparison operators.
      "http_requests_total + 1",
      "2 * http_requests_total - 3",
      "http_requests_total / 7",
      "http_requests_total % 13",
      "node_temperature_celsius ^ 2",
      "2 ^ 3 ^ 2",
      "-node_temperature_celsius",
      "node_temperature_celsius > 50",
      "node_temperature_celsius > bool 50",
      "node_temperature_celsius <= 45",
      "node_temperature_celsius == bool 0",
      "memory_bytes != 0",
      "memory_bytes >= 2e9",
      "1 < bool 2",
      "http_requests_total / on(instance) group_left up",
      "http_requests_total * ignoring(code) group_left up",
      "up * on(instance) group_right(job) http_requests_total",
      "node_temperature_celsius{sensor=\"cpu\"} - ignoring(sensor) "
      "node_temperature_celsius{sensor=\"board\"}",
      "http_requests_total{code=\"200\"} / ignoring(code) http_requests_total{code=\"500\"}",
      "up and on(instance) http_requests_total{code=\"200\"} > 1000",
      "up == 0 or memory_bytes",
      "node_temperature_celsius unless on(instance) up == 0",
      "http_requests_total and http_requests_total{code=\"500\"}",
      "weird_gauge / weird_gauge",
      "weird_gauge{kind=\"huge\"} * weird_gauge{kind=\"huge\"}",
      // Aggregations.
      "sum(http_requests_total)",
      "sum by (code) (http_requests_total)",
      "sum without (instance) (http_requests_total)",
      "avg by (sensor) (node_temperature_celsius)",
      "min(node_temperature_celsius)",
      "max by (job) (memory_bytes)",
      "count(up)",
      "count by (job) (up == 1)",
      "stddev(node_temperature_celsius)",
      "stdvar by (sensor) (node_temperature_celsius)",
      "group by (job) (up)",
      "topk(3, node_temperature_celsius)",
      "bottomk(2, memory_bytes)",
      "topk by (sensor) (1, node_temperature_celsius)",
      "quantile(0.9, node_temperature_celsius)",
      "quantile by (sensor) (0.25, node_temperature_celsius)",
      "count_values(\"value\", up)",
      "count_values by (job) (\"v\", up)",
      "sum(weird_gauge)",
      "avg(weird_gauge{kind!=\"nan\"})",
      // Range functions.
      "rate(http_requests_total[5m])",
      "rate(http_requests_total[1m])",
      "irate(http_requests_total[5m])",
      "increase(http_requests_total[10m])",
      "delta(node_temperature_celsius[5m])",
      "idelta(node_temperature_celsius[5m])",
      "deriv(node_temperature_celsius[10m])",
      "predict_linear(node_temperature_celsius[10m], 600)",
      "resets(http_requests_total[30m])",
      "changes(weird_gauge[30m])",
      "avg_over_time(node_temperature_celsius[5m])",
      "min_over_time(node_temperature_celsius[5m])",
      "max_over_time(memory_bytes[10m])",
      "sum_over_time(up[10m])",
      "count_over_time(http_requests_total[7m])",
      "quantile_over_time(0.75, node_temperature_celsius[10m])",
      "stddev_over_time(node_temperature_celsius[10m])",
      "stdvar_over_time(weird_gauge[10m])",
      "last_over_time(node_temperature_celsius[3m])",
      "present_over_time(up[5m])",
      "absent_over_time(nonexistent_metric[5m])",
      "absent_over_time(up[5m])",
      "avg_over_time(weird_gauge[5m])",
      // Other functions.
      "abs(weird_gauge)",
      "ceil(node_temperature_celsius)",
      "floor(node_temperature_celsius)",
      "round(node_temperature_celsius)",
      "round(node_temperature_celsius, 5)",
      "exp(weird_gauge{kind=\"nan\"})",
      "ln(memory_bytes)",
      "log2(memory_bytes)",
      "log10(weird_gauge)",
      "sqrt(node_temperature_celsius)",
      "clamp(node_temperature_celsius, 40, 50)",
      "clamp_min(node_temperature_celsius, 45)",
      "clamp_max(node_temperature_celsius, 45)",
      "sgn(weird_gauge)",
      "sin(node_temperature_celsius)",
      "atan2(node_temperature_celsius, 10)",
      "deg(vector(pi()))",
      "rad(node_temperature_celsius)",
      "timestamp(http_requests_total)",
      "timestamp(node_temperature_celsius offset 2m)",
      "time()",
      "vector(1)",
      "vector(time())",
      "scalar(sum(up))",
      "scalar(up)",
      "absent(nonexistent_metric{job=\"x\"})",
      "absent(up)",
      "label_replace(up, \"host\", \"$1\", \"instance\", \"i(.*)\")",
      "label_replace(up, \"instance\", \"\", \"instance\", \".*\")",
      "label_join(up, \"id\", \"-\", \"job\", \"instance\")",
      "histogram_quantile(0.9, rate(request_duration_seconds_bucket[5m]))",
      "histogram_quantile(0.5, sum by (le) (rate(request_duration_seconds_bucket[10m])))",
      "histogram_quantile(0.99, sum by (le, instance) "
      "(increase(request_duration_seconds_bucket[5m])))",
      "rate(request_duration_seconds_sum[5m]) / rate(request_duration_seconds_count[5m])",
      "day_of_week()",
      "hour(timestamp(up))",
      "minute()",
      "month()",
      "year(vector(" + At(30) + "))",
      "days_in_month()",
      "day_of_month()",
      "day_of_year()",
      // Subqueries.
      "max_over_time(rate(http_requests_total[5m])[10m15s:1m])",
      "avg_over_time(node_temperature_celsius[7m15s:2m])",
      "min_over_time(sum by (code) (http_requests_total)[10m15s:30s])",
      "rate(sum(http_requests_total)[15m15s:1m])",
      "sum_over_time(up[10m15s:1m] offset 5m)",
      // Literals.
      "1",
      "-2.5e3",
      "\"hello\"",
      "1 + 2 * 3",
  };
  std::vector<Query> out;
  for (std::string& e : q) out.push_back({std::move(e), false});
  out.push_back({"sort(memory_bytes)", true});
  out.push_back({"sort_desc(memory_bytes)", true});
  return out;
}

// Queries that fail in both; only the error type is compared.
std::vector<std::string> ErrorQueries() {
  return {
      "http_requests_total + on() up",  // many-to-many matching
      "sum(",
      "rate(up)",
      "foo{",
  };
}

using HttpReply = testsupport::HttpResult;

HttpReply GetAnswer(int port, const std::string& target) {
  return testsupport::HttpRequest(port, "GET", target, std::chrono::seconds(60));
}

bool WaitReady(int port, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (GetAnswer(port, "/-/ready").status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

// A query answer reduced to what is compared.
struct Answer {
  int http_status = 0;
  std::string status;  // "success" or "error"
  std::string error_type;
  std::string error;
  std::string result_type;
  // Series (label set as sorted JSON text, or "" for scalar/string) with their points.
  std::vector<std::pair<std::string, std::vector<std::pair<double, std::string>>>> series;
};

std::string LabelKey(const json::value& metric) {
  std::map<std::string, std::string> sorted;
  for (const auto& kv : metric.as_object()) {
    sorted[std::string(kv.key())] = std::string(kv.value().as_string());
  }
  std::string key = "{";
  for (const auto& [k, v] : sorted) key += k + "=\"" + v + "\",";
  return key + "}";
}

std::pair<double, std::string> Point(const json::value& pair) {
  const json::array& a = pair.as_array();
  return {a.at(0).to_number<double>(), std::string(a.at(1).as_string())};
}

Answer Parse(const HttpReply& reply) {
  Answer a;
  a.http_status = reply.status;
  boost::system::error_code ec;
  json::value doc = json::parse(reply.body, ec);
  if (ec || !doc.is_object()) {
    a.status = "unparsable: " + reply.body.substr(0, 200);
    return a;
  }
  const json::object& o = doc.as_object();
  a.status = std::string(o.at("status").as_string());
  if (a.status != "success") {
    a.error_type = std::string(o.at("errorType").as_string());
    a.error = std::string(o.at("error").as_string());
    return a;
  }
  const json::object& data = o.at("data").as_object();
  a.result_type = std::string(data.at("resultType").as_string());
  const json::value& result = data.at("result");
  if (a.result_type == "scalar" || a.result_type == "string") {
    a.series.push_back({"", {Point(result)}});
  } else if (a.result_type == "vector") {
    for (const json::value& s : result.as_array()) {
      a.series.push_back({LabelKey(s.at("metric")), {Point(s.at("value"))}});
    }
  } else {
    for (const json::value& s : result.as_array()) {
      std::vector<std::pair<double, std::string>> points;
      for (const json::value& p : s.at("values").as_array()) points.push_back(Point(p));
      a.series.push_back({LabelKey(s.at("metric")), std::move(points)});
    }
  }
  return a;
}

double ParseValue(const std::string& s) {
  if (s == "+Inf") return INFINITY;
  if (s == "-Inf") return -INFINITY;
  if (s == "NaN") return NAN;
  return std::strtod(s.c_str(), nullptr);
}

bool ValuesClose(const std::string& a, const std::string& b) {
  const double x = ParseValue(a), y = ParseValue(b);
  if (std::isnan(x) || std::isnan(y)) return std::isnan(x) && std::isnan(y);
  if (std::isinf(x) || std::isinf(y)) return x == y;
  return std::fabs(x - y) <= 1e-6 * std::max(std::fabs(x), std::fabs(y)) + 1e-12;
}

// "" when equal, else what differs.
std::string Compare(Answer ours, Answer theirs, bool ordered) {
  if (ours.status != theirs.status) {
    return "status: ours " + ours.status + " (" + ours.error + "), prometheus " + theirs.status +
           " (" + theirs.error + ")";
  }
  if (ours.status != "success") {
    if (ours.error_type != theirs.error_type || ours.http_status != theirs.http_status) {
      return "error: ours " + ours.error_type + " " + std::to_string(ours.http_status) + " (" +
             ours.error + "), prometheus " + theirs.error_type + " " +
             std::to_string(theirs.http_status) + " (" + theirs.error + ")";
    }
    return "";
  }
  if (ours.result_type != theirs.result_type) {
    return "resultType: ours " + ours.result_type + ", prometheus " + theirs.result_type;
  }
  if (!ordered) {
    std::sort(ours.series.begin(), ours.series.end());
    std::sort(theirs.series.begin(), theirs.series.end());
  }
  if (ours.series.size() != theirs.series.size()) {
    std::string names;
    for (const auto& s : ours.series) names += " ours:" + s.first;
    for (const auto& s : theirs.series) names += " prometheus:" + s.first;
    return "series count: ours " + std::to_string(ours.series.size()) + ", prometheus " +
           std::to_string(theirs.series.size()) + names.substr(0, 2000);
  }
  for (size_t i = 0; i < ours.series.size(); ++i) {
    const auto& [labels, points] = ours.series[i];
    const auto& [their_labels, their_points] = theirs.series[i];
    if (labels != their_labels) return "labels: ours " + labels + ", prometheus " + their_labels;
    if (points.size() != their_points.size()) {
      return labels + ": points: ours " + std::to_string(points.size()) + ", prometheus " +
             std::to_string(their_points.size());
    }
    for (size_t k = 0; k < points.size(); ++k) {
      if (points[k].first != their_points[k].first) {
        return labels + ": timestamp " + std::to_string(k) + ": ours " +
               std::to_string(points[k].first) + ", prometheus " +
               std::to_string(their_points[k].first);
      }
      if (ours.result_type == "string" ? points[k].second != their_points[k].second
                                       : !ValuesClose(points[k].second, their_points[k].second)) {
        return labels + " @" + std::to_string(points[k].first) + ": ours " + points[k].second +
               ", prometheus " + their_points[k].second;
      }
    }
  }
  return "";
}

// Both servers are started once for the suite, on the same generated history.
class PrometheusCompatTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (testsupport::BinaryPath().empty() || !OnPath("promtool") || !OnPath("prometheus")) {
      return;
    }
    dir_ = new fs::path(fs::path(::testing::TempDir()) /
                        ("prometheus_compat_" + std::to_string(getpid())));
    fs::remove_all(*dir_);
    fs::create_directories(*dir_);
    const fs::path data = *dir_ / "data.om";
    {
      std::ofstream f(data);
      f << GenerateOpenMetrics();
    }
    const fs::path prom_dir = *dir_ / "prometheus";
    const fs::path our_dir = *dir_ / "ours";
    if (Run({"promtool", "tsdb", "create-blocks-from", "openmetrics", data.string(),
             prom_dir.string()},
            "promtool") != 0) {
      setup_error_ = new std::string("promtool backfill failed: " + Log("promtool"));
      return;
    }
    if (Run({testsupport::BinaryPath(), "import", "openmetrics", data.string(), "--storage-path",
             our_dir.string()},
            "import") != 0) {
      setup_error_ = new std::string("import failed: " + Log("import"));
      return;
    }
    const fs::path config = *dir_ / "prometheus.yml";
    {
      std::ofstream f(config);
      f << "global:\n  scrape_interval: 1m\n  evaluation_interval: 1m\nscrape_configs: []\n";
    }
    prom_port_ = testsupport::FreePort();
    prometheus_ = new testsupport::ChildProcess(
        {"prometheus", "--config.file=" + config.string(),
         "--storage.tsdb.path=" + prom_dir.string(),
         "--web.listen-address=127.0.0.1:" + std::to_string(prom_port_),
         "--storage.tsdb.retention.time=100y"},
        (*dir_ / "prometheus.log").string());
    our_port_ = testsupport::FreePort();
    ours_ = new testsupport::ChildProcess(
        {testsupport::BinaryPath(), "serve", "--storage-path", our_dir.string(),
         "--http-listen-address", "127.0.0.1:" + std::to_string(our_port_), "--secure-port", "0"},
        (*dir_ / "ours.log").string());
    if (!WaitReady(prom_port_, std::chrono::seconds(90))) {
      setup_error_ = new std::string("prometheus is not ready: " + Log("prometheus"));
    } else if (!WaitReady(our_port_, std::chrono::seconds(90))) {
      setup_error_ = new std::string("metrics-adapter is not ready: " + Log("ours"));
    }
  }
  static void TearDownTestSuite() {
    delete ours_;
    delete prometheus_;
    ours_ = prometheus_ = nullptr;
    if (dir_ != nullptr && !failed_) fs::remove_all(*dir_);
    delete dir_;
    delete setup_error_;
    dir_ = nullptr;
    setup_error_ = nullptr;
  }
  void SetUp() override {
    if (testsupport::BinaryPath().empty()) GTEST_SKIP() << "MA_BINARY is not set";
    if (!OnPath("promtool") || !OnPath("prometheus")) {
      GTEST_SKIP() << "promtool/prometheus not installed (scripts/install-deps.sh)";
    }
    ASSERT_EQ(setup_error_, nullptr) << *setup_error_;
  }
  void TearDown() override {
    if (HasFailure()) failed_ = true;
  }

  // Runs a command to completion, its output into dir_/name.log; returns the exit code.
  static int Run(const std::vector<std::string>& argv, const std::string& name) {
    testsupport::ChildProcess child(argv, (*dir_ / (name + ".log")).string());
    return child.Wait(std::chrono::seconds(120));
  }

  static std::string Log(const std::string& name) {
    std::ifstream f(*dir_ / (name + ".log"));
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str().substr(0, 4000);
  }

  static fs::path* dir_;
  static std::string* setup_error_;  // why the servers are not up, or null
  static bool failed_;               // a test failed: keep dir_ for its logs
  static int prom_port_;
  static int our_port_;
  static testsupport::ChildProcess* prometheus_;
  static testsupport::ChildProcess* ours_;
};

fs::path* PrometheusCompatTest::dir_ = nullptr;
std::string* PrometheusCompatTest::setup_error_ = nullptr;
bool PrometheusCompatTest::failed_ = false;
int PrometheusCompatTest::prom_port_ = 0;
int PrometheusCompatTest::our_port_ = 0;
testsupport::ChildProcess* PrometheusCompatTest::prometheus_ = nullptr;
testsupport::ChildProcess* PrometheusCompatTest::ours_ = nullptr;

TEST_F(PrometheusCompatTest, SameAnswersAsPrometheus) {
  const int prom_port = prom_port_;
  const int our_port = our_port_;

  // Both hold the same series.
  {
    const std::string target = "/api/v1/series?match[]=" + UrlEncode("{__name__=~\".+\"}");
    const HttpReply a = GetAnswer(our_port, target);
    const HttpReply b = GetAnswer(prom_port, target);
    ASSERT_EQ(a.status, 200) << a.body;
    ASSERT_EQ(b.status, 200) << b.body;
    json::value ours = json::parse(a.body), theirs = json::parse(b.body);
    ASSERT_EQ(ours.at("data").as_array().size(), 53u);
    std::vector<std::string> x, y;
    for (const auto& s : ours.at("data").as_array()) x.push_back(LabelKey(s));
    for (const auto& s : theirs.at("data").as_array()) y.push_back(LabelKey(s));
    std::sort(x.begin(), x.end());
    std::sort(y.begin(), y.end());
    EXPECT_EQ(x, y);
  }

  const std::vector<int64_t> instant_minutes = {26, 31, 45, 60, 62};
  struct Range {
    int64_t start_min, end_min;
    std::string step;
  };
  const std::vector<Range> ranges = {{26, 65, "60"}, {27, 50, "90s"}};

  int compared = 0, failed = 0, with_data = 0, errors = 0;
  const auto check = [&](const std::string& target_tail, const std::string& what, bool ordered) {
    const Answer ours = Parse(GetAnswer(our_port, target_tail));
    const Answer theirs = Parse(GetAnswer(prom_port, target_tail));
    ++compared;
    if (!theirs.series.empty()) ++with_data;
    if (theirs.status == "error") ++errors;
    const std::string diff = Compare(ours, theirs, ordered);
    if (!diff.empty()) {
      ++failed;
      ADD_FAILURE() << what << "\n  " << diff;
    }
  };
  for (const Query& q : Queries()) {
    for (int64_t m : instant_minutes) {
      check("/api/v1/query?query=" + UrlEncode(q.expr) + "&time=" + At(m),
            "instant " + q.expr + " @" + At(m), q.ordered);
    }
    for (const Range& r : ranges) {
      check("/api/v1/query_range?query=" + UrlEncode(q.expr) + "&start=" + At(r.start_min) +
                "&end=" + At(r.end_min) + "&step=" + r.step,
            "range " + q.expr + " [" + At(r.start_min) + "," + At(r.end_min) + "]/" + r.step,
            false);
    }
  }
  for (const std::string& q : ErrorQueries()) {
    check("/api/v1/query?query=" + UrlEncode(q) + "&time=" + At(30), "error " + q, false);
  }
  // Label endpoints: identical lists.
  for (const std::string& target :
       {std::string("/api/v1/labels"), std::string("/api/v1/label/__name__/values"),
        "/api/v1/label/instance/values?match[]=" + UrlEncode("up{job=\"api\"}"),
        "/api/v1/labels?match[]=" + UrlEncode("request_duration_seconds_bucket")}) {
    const HttpReply a = GetAnswer(our_port, target);
    const HttpReply b = GetAnswer(prom_port, target);
    EXPECT_EQ(a.status, 200) << target << ": " << a.body;
    EXPECT_EQ(b.status, 200) << target << ": " << b.body;
    boost::system::error_code ec1, ec2;
    const json::value x = json::parse(a.body, ec1), y = json::parse(b.body, ec2);
    ASSERT_FALSE(ec1 || ec2) << target;
    EXPECT_EQ(json::serialize(x.at("data")), json::serialize(y.at("data"))) << target;
    ++compared;
  }
  // Both report a finished WAL replay, in the same shape.
  for (int port : {our_port, prom_port}) {
    const HttpReply r = GetAnswer(port, "/api/v1/status/walreplay");
    ASSERT_EQ(r.status, 200) << r.body;
    const json::value v = json::parse(r.body);
    const json::object& d = v.at("data").as_object();
    EXPECT_EQ(d.size(), 3u) << r.body;
    EXPECT_EQ(d.at("current").to_number<int64_t>(), d.at("max").to_number<int64_t>()) << r.body;
    EXPECT_LE(d.at("min").to_number<int64_t>(), d.at("max").to_number<int64_t>()) << r.body;
  }
  std::printf("compared %d answers with Prometheus (%d with data, %d errors), %d differ\n",
              compared, with_data, errors, failed);
  // The comparison means something only if most answers hold data.
  EXPECT_GT(with_data, compared * 3 / 4);
}

// Runs `promtool query <subcommand> <server> <args...>` against 127.0.0.1:port, its output files
// in dir.
testsupport::RunResult PromtoolQuery(const fs::path& dir, int port, const std::string& subcommand,
                                     const std::vector<std::string>& args) {
  std::string command =
      "promtool query " + subcommand + " http://127.0.0.1:" + std::to_string(port);
  for (const std::string& a : args) command += " " + testsupport::ShellQuote(a);
  return testsupport::RunShell(command, dir.string());
}

// promtool's promql output with its lines sorted: the order of an instant vector is unspecified.
std::string SortedLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

// promtool's JSON output of a query (the result array, or a scalar's pair) as an API answer.
Answer ParsePromtoolJson(const std::string& result_type, const std::string& out) {
  return Parse(HttpReply{200, R"({"status":"success","data":{"resultType":")" + result_type +
                                  R"(","result":)" + out + "}}"});
}

// promtool as a client of both query APIs: `promtool query instant|range|series|labels`
// must print the same thing whichever server it talks to. Values computed by arithmetic may
// differ in their last digits between the engines, so those are compared through promtool's
// JSON output with the tolerance of the test above; stored values (selectors, max, count) are
// compared as printed.
TEST_F(PrometheusCompatTest, PromtoolQueriesBothServersAlike) {
  int with_output = 0;
  const auto both = [&](const std::vector<std::string>& args) {
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    testsupport::RunResult ours = PromtoolQuery(*dir_, our_port_, args.front(), rest);
    testsupport::RunResult theirs = PromtoolQuery(*dir_, prom_port_, args.front(), rest);
    std::string what = "promtool query";
    for (const std::string& a : args) what += " " + a;
    EXPECT_EQ(ours.exit_code, theirs.exit_code)
        << what << "\nours: " << ours.err << "\nprometheus: " << theirs.err;
    if (!theirs.out.empty()) ++with_output;
    return std::make_tuple(what, ours, theirs);
  };
  const auto same_text = [&](const std::vector<std::string>& args, bool sort) {
    auto [what, ours, theirs] = both(args);
    EXPECT_EQ(theirs.exit_code, 0) << what << ": " << theirs.err;
    EXPECT_EQ(sort ? SortedLines(ours.out) : ours.out, sort ? SortedLines(theirs.out) : theirs.out)
        << what;
  };
  const auto same_json = [&](const std::vector<std::string>& args, const std::string& type) {
    auto [what, ours, theirs] = both(args);
    EXPECT_EQ(theirs.exit_code, 0) << what << ": " << theirs.err;
    const std::string diff =
        Compare(ParsePromtoolJson(type, ours.out), ParsePromtoolJson(type, theirs.out), false);
    EXPECT_EQ(diff, "") << what;
  };
  const auto same_error = [&](const std::vector<std::string>& args, const std::string& prefix) {
    auto [what, ours, theirs] = both(args);
    EXPECT_EQ(theirs.exit_code, 1) << what;
    EXPECT_EQ(ours.err.rfind(prefix, 0), 0u) << what << "\nours: " << ours.err;
    EXPECT_EQ(theirs.err.rfind(prefix, 0), 0u) << what << "\nprometheus: " << theirs.err;
  };

  // Stored values, printed by promtool.
  same_text({"instant", "--time=" + At(31), "node_temperature_celsius{sensor=\"cpu\"}"}, true);
  same_text({"instant", "--time=" + At(45), "weird_gauge"}, true);
  same_text({"instant", "--time=" + At(45), "memory_bytes{instance=~\"i[12]\"}[2m]"}, false);
  same_text({"instant", "--time=" + At(60), "count by (job) (up)"}, true);
  same_text({"instant", "--time=" + At(60), "scalar(count(up))"}, false);
  same_text({"range", "--start=" + At(26), "--end=" + At(50), "--step=90s", "up{instance=\"i3\"}"},
            false);
  same_text(
      {"range", "--start=" + At(26), "--end=" + At(65), "--step=1m", "max by (job) (memory_bytes)"},
      false);
  // Computed values, compared within the tolerance.
  same_json({"instant", "-o", "json", "--time=" + At(45),
             "sum by (code) (rate(http_requests_total[5m]))"},
            "vector");
  same_json({"range", "-o", "json", "--start=" + At(27), "--end=" + At(50), "--step=90s",
             "histogram_quantile(0.9, sum by (le) (rate(request_duration_seconds_bucket[5m])))"},
            "matrix");
  // Series and label lookups over the history's time range.
  const std::string start = "--start=" + At(0), end = "--end=" + At(60);
  same_text({"series", start, end, "--match=up", "--match=memory_bytes{instance=\"i1\"}"}, true);
  same_text({"series", "-o", "json", start, end, "--match=weird_gauge{kind=~\"n.*\"}"}, false);
  same_text({"labels", start, end, "instance"}, false);
  same_text({"labels", start, end, "--match=up{job=\"node\"}", "instance"}, false);
  same_text({"labels", "-o", "json", start, end, "__name__"}, false);
  // Errors reach promtool with their type.
  same_error({"instant", "--time=" + At(30), "sum("},
             "query error: bad_data: invalid parameter \"query\": 1:5: parse error:");
  same_error({"instant", "--time=" + At(30), "http_requests_total + on() up"},
             "query error: execution:");
  same_error({"range", "--start=" + At(0), "--end=" + At(60), "--step=100ms", "up"},
             "query error: bad_data: exceeded maximum resolution of 11,000 points per timeseries");
  EXPECT_GE(with_output, 14);
}

// /api/v1/format_query: the same text from both for every query above, and for longer ones that
// the formatter splits over lines.
TEST_F(PrometheusCompatTest, FormatQueryAsPrometheus) {
  std::vector<std::string> exprs;
  for (const Query& q : Queries()) exprs.push_back(q.expr);
  for (const std::string& q : ErrorQueries()) exprs.push_back(q);
  for (const char* q : {
           "sum by (job, instance) (rate(http_requests_total{job=\"api-server\",code=~\"5..\","
           "method!=\"GET\"}[5m])) / sum by (job, instance) (rate(http_requests_total{job=\"api-"
           "server\"}[5m]))",
           "histogram_quantile(0.99, sum by (le, job) (rate(http_request_duration_seconds_bucket{"
           "job=\"api-server\",handler=\"/api/v1/query\"}[5m])))",
           "-sum(rate(some_really_long_metric_name_for_testing_purposes_total{label_one=\"value "
           "one\",label_two=\"value two\"}[5m]))",
           "max_over_time(sum by (namespace) (rate(container_cpu_usage_seconds_total{namespace="
           "\"kube-system\",container!=\"\"}[5m]))[1h:1m])",
           "(sum by (job) (rate(http_requests_total{job=\"api-server\",code=~\"5..\"}[5m])) > bool "
           "0.5) * on (job) group_left (team) max by (job, team) (team_info{team!=\"\"})",
           "sum(max_over_time(rate(some_really_long_metric_name_for_testing_purposes_total{label_"
           "one=\"value one\"}[5m])[1h:1m] offset -5m))",
           "((((sum by (job) (rate(http_requests_total{job=\"api-server\",code=~\"5..\"}[5m] @ "
           "start())))))) > 0",
           "a_very_long_metric_name_number_one ignoring (instance, job) group_right (extra_label) "
           "a_very_long_metric_name_number_two + 1",
           "count(count by (a) (metric_one{long_label=\"long value number one\"}) or count by (a) "
           "(metric_two{long_label=\"long value two\"}))",
           "1 + 2 * 3 ^ 4 ^ 5 % 6 - -7 == bool 8 and 9 or 10 unless 11 atan2 12",
           "sum(rate(x[5m])) # a comment long enough to push the whole line past the one hundred "
           "character limit",
       }) {
    exprs.push_back(q);
  }
  int multi_line = 0;
  for (const std::string& q : exprs) {
    const std::string target = "/api/v1/format_query?query=" + UrlEncode(q);
    const HttpReply a = GetAnswer(our_port_, target);
    const HttpReply b = GetAnswer(prom_port_, target);
    EXPECT_EQ(a.status, b.status) << q << "\nours: " << a.body << "\nprometheus: " << b.body;
    if (b.status != 200) continue;
    const json::value ours = json::parse(a.body), theirs = json::parse(b.body);
    EXPECT_EQ(json::serialize(ours.at("data")), json::serialize(theirs.at("data"))) << q;
    if (theirs.at("data").as_string().find('\n') != std::string::npos) ++multi_line;
  }
  EXPECT_GE(multi_line, 6);
}

}  // namespace
