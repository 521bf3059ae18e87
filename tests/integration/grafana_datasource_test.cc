// The requests Grafana's Prometheus data source sends, against the real binary: its "Save & test"
// health check, version detection, the query editor's metric and label browser, the exemplar and
// rule lookups it makes alongside panels and alert views, and panel queries, in the shapes
// Grafana sends them (form-encoded POSTs for queries and label names, start/end/step in whole
// seconds aligned to the step). Grafana itself is not packaged in Debian, so this replays what
// it asks and checks that every answer is one it can read.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "boost/json.hpp"
#include "gtest/gtest.h"
#include "tests/support/process.h"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using testsupport::UrlEncode;

// One hour of samples every 15 s, ending at kEnd. Counters grow by a fixed amount per scrape, so
// every rate is known exactly: code 200 gets 0.2/s from instance a and 0.4/s from b, code 500
// 0.1/s from each.
constexpr int64_t kEnd = 1699999995;  // a multiple of 15
constexpr int64_t kStart = kEnd - 3600;

std::string History() {
  struct Counter {
    const char* labels;
    double per_scrape;
  };
  const Counter counters[] = {{R"(code="200",instance="a")", 3},
                              {R"(code="200",instance="b")", 6},
                              {R"(code="500",instance="a")", 1.5},
                              {R"(code="500",instance="b")", 1.5}};
  std::string out = "# TYPE grafana_requests counter\n# HELP grafana_requests Requests served.\n";
  for (const Counter& c : counters) {
    for (int64_t t = kStart, k = 0; t <= kEnd; t += 15, ++k) {
      out += "grafana_requests_total{" + std::string(c.labels) + "} " +
             std::to_string(c.per_scrape * static_cast<double>(k)) + " " + std::to_string(t) + "\n";
    }
  }
  out += "# TYPE grafana_temperature gauge\n";
  for (int64_t t = kStart; t <= kEnd; t += 15) {
    out += "grafana_temperature{room=\"lab\"} 21.5 " + std::to_string(t) + "\n";
  }
  out += "# EOF\n";
  return out;
}

class GrafanaDataSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testsupport::BinaryPath().empty()) GTEST_SKIP() << "MA_BINARY is not set";
    dir_ = testsupport::MakeTempDir("ma-grafana");
    const std::string data = dir_ + "/history.om";
    testsupport::WriteFileText(data, History());
    const testsupport::RunResult import =
        testsupport::RunShell(testsupport::ShellQuote(testsupport::BinaryPath()) +
                                  " import openmetrics " + testsupport::ShellQuote(data) +
                                  " --storage-path " + testsupport::ShellQuote(dir_ + "/storage"),
                              dir_);
    ASSERT_EQ(import.exit_code, 0) << import.err;
    port_ = testsupport::FreePort();
    serve_ = std::make_unique<testsupport::ChildProcess>(
        std::vector<std::string>{testsupport::BinaryPath(), "serve", "--storage-path",
                                 dir_ + "/storage", "--retention", "100y", "--http-listen-address",
                                 "127.0.0.1:" + std::to_string(port_), "--secure-port", "0"},
        dir_ + "/serve.log");
    ASSERT_TRUE(testsupport::WaitForHttp200(port_, "/-/ready", 60s))
        << testsupport::ReadFileText(dir_ + "/serve.log");
  }

  void TearDown() override {
    serve_.reset();
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // A form-encoded POST, as Grafana sends queries; returns the parsed body, checking the status.
  json::value Post(const std::string& path, const std::string& form, int want_status = 200) {
    const testsupport::HttpResult r = testsupport::HttpRequestWithBody(
        port_, "POST", path, form, 10s, "application/x-www-form-urlencoded");
    EXPECT_EQ(r.status, want_status) << path << " " << form << ": " << r.body;
    return Parse(r.body);
  }
  json::value Get(const std::string& target, int want_status = 200) {
    const testsupport::HttpResult r = testsupport::HttpGet(port_, target);
    EXPECT_EQ(r.status, want_status) << target << ": " << r.body;
    return Parse(r.body);
  }
  static json::value Parse(const std::string& body) {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    EXPECT_FALSE(ec) << "not JSON: " << body;
    return v;
  }
  static std::set<std::string> Strings(const json::value& data) {
    std::set<std::string> out;
    for (const json::value& v : data.as_array()) out.insert(std::string(v.as_string()));
    return out;
  }
  static std::string Range() {
    return "start=" + std::to_string(kStart) + "&end=" + std::to_string(kEnd);
  }

  std::string dir_;
  int port_ = 0;
  std::unique_ptr<testsupport::ChildProcess> serve_;
};

TEST_F(GrafanaDataSourceTest, HealthCheckAndVersionDetection) {
  // "Save & test" evaluates 1+1 as an instant query.
  const json::value health =
      Post("/api/v1/query", "query=" + UrlEncode("1+1") + "&time=" + std::to_string(kEnd));
  EXPECT_EQ(health.at("status"), "success");
  EXPECT_EQ(health.at("data").at("resultType"), "scalar");
  EXPECT_EQ(health.at("data").at("result").at(1), "2");

  // The data source reads the version to decide which API features to use.
  const json::value info = Get("/api/v1/status/buildinfo");
  EXPECT_EQ(info.at("status"), "success");
  EXPECT_FALSE(info.at("data").at("version").as_string().empty());
}

TEST_F(GrafanaDataSourceTest, MetricBrowserAndLabelLookups) {
  const json::value names = Post("/api/v1/labels", Range());
  EXPECT_EQ(Strings(names.at("data")),
            (std::set<std::string>{"__name__", "code", "instance", "room"}));

  const json::value metrics = Get("/api/v1/label/__name__/values?" + Range());
  EXPECT_EQ(Strings(metrics.at("data")),
            (std::set<std::string>{"grafana_requests_total", "grafana_temperature"}));

  const json::value instances =
      Get("/api/v1/label/instance/values?match[]=" + UrlEncode("grafana_requests_total") + "&" +
          Range());
  EXPECT_EQ(Strings(instances.at("data")), (std::set<std::string>{"a", "b"}));

  const json::value series =
      Post("/api/v1/series",
           "match[]=" + UrlEncode(R"(grafana_requests_total{code="500"})") + "&" + Range());
  ASSERT_EQ(series.at("data").as_array().size(), 2u);
  EXPECT_EQ(series.at("data").at(0).at("__name__"), "grafana_requests_total");
  EXPECT_EQ(series.at("data").at(0).at("code"), "500");

  // Type and help for the editor's hints; the answer must be an object even when empty.
  const json::value metadata = Get("/api/v1/metadata");
  EXPECT_EQ(metadata.at("status"), "success");
  EXPECT_TRUE(metadata.at("data").is_object());
}

TEST_F(GrafanaDataSourceTest, PanelQueriesExemplarsAndRules) {
  // A time series panel: a range query over the last half hour at a 15 s step.
  const std::string expr = "sum by (code) (rate(grafana_requests_total[1m0s]))";
  const json::value range = Post(
      "/api/v1/query_range", "query=" + UrlEncode(expr) + "&start=" + std::to_string(kEnd - 1800) +
                                 "&end=" + std::to_string(kEnd) + "&step=15");
  ASSERT_EQ(range.at("status"), "success") << range;
  EXPECT_EQ(range.at("data").at("resultType"), "matrix");
  const json::array& result = range.at("data").at("result").as_array();
  ASSERT_EQ(result.size(), 2u);
  for (const json::value& s : result) {
    const std::string code(s.at("metric").at("code").as_string());
    const double want = code == "200" ? 0.6 : 0.2;
    const json::array& values = s.at("values").as_array();
    EXPECT_EQ(values.size(), 121u) << code;
    EXPECT_EQ(values.front().at(0).to_number<double>(), static_cast<double>(kEnd - 1800));
    for (const json::value& v : values) {
      EXPECT_NEAR(std::stod(std::string(v.at(1).as_string())), want, 1e-9) << code;
    }
  }

  // A stat panel: the same expression as an instant query.
  const json::value instant =
      Post("/api/v1/query", "query=" + UrlEncode(expr) + "&time=" + std::to_string(kEnd));
  EXPECT_EQ(instant.at("data").at("resultType"), "vector");
  EXPECT_EQ(instant.at("data").at("result").as_array().size(), 2u);

  // Exemplars are asked for alongside the panel query; none are stored.
  const json::value exemplars =
      Post("/api/v1/query_exemplars", "query=" + UrlEncode(expr) + "&" + Range());
  EXPECT_EQ(exemplars.at("status"), "success");
  EXPECT_TRUE(exemplars.at("data").as_array().empty());

  // Alert views list a Prometheus data source's rules and alerts.
  EXPECT_TRUE(Get("/api/v1/rules").at("data").at("groups").as_array().empty());
  EXPECT_TRUE(Get("/api/v1/alerts").at("data").at("alerts").as_array().empty());

  // A typing mistake comes back as bad_data with the position Grafana shows under the editor.
  const json::value bad =
      Post("/api/v1/query_range",
           "query=" + UrlEncode("sum(rate(grafana_requests_total[1m])") +
               "&start=" + std::to_string(kStart) + "&end=" + std::to_string(kEnd) + "&step=60",
           400);
  EXPECT_EQ(bad.at("errorType"), "bad_data");
  EXPECT_NE(bad.at("error").as_string().find("1:"), json::string::npos) << bad;
}

}  // namespace
