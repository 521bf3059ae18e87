// Scraping with real peers: Debian's prometheus-node-exporter is the target (plus a closed port as
// a dead one), and Debian's Prometheus scrapes the same targets with the same configuration
// (relabel_configs and metric_relabel_configs included) next to `metrics-adapter serve
// --scrape-config`. After a few scrapes both must hold the same set of series (label sets) and the
// same `up` for the live and the dead target.
//
// Also the serve wiring: a bad --scrape-config exits 1 naming the problem, /api/v1/targets,
// /api/v1/metadata, SIGHUP and POST /-/reload (a bad new file keeps the old configuration and
// sets metrics_adapter_scrape_config_last_reload_successful to 0).
//
// The peer test is skipped when the binaries are missing (scripts/install-deps.sh installs them)
// or MA_BINARY is unset.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "adapter/http/server.h"
#include "boost/json.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"
#include "tsdb/db.h"
#include "tsdb/matcher.h"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
using testsupport::ChildProcess;
using testsupport::UrlEncode;

constexpr char kNodeExporter[] = "/usr/bin/prometheus-node-exporter";
constexpr char kPrometheus[] = "/usr/bin/prometheus";

using Reply = testsupport::HttpResult;

Reply Request(int port, const std::string& method, const std::string& target) {
  return testsupport::HttpRequest(port, method, target, std::chrono::seconds(10));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A label set as a sorted "name=value" text, for comparing sets of series.
std::string Key(const json::object& labels) {
  std::map<std::string, std::string> sorted;
  for (const auto& [k, v] : labels) sorted[std::string(k)] = std::string(v.as_string());
  std::string out = "{";
  for (const auto& [k, v] : sorted) absl::StrAppend(&out, k, "=\"", v, "\",");
  return out + "}";
}

// /api/v1/series for every series; nullopt when the endpoint is not there.
std::optional<std::set<std::string>> SeriesOverApi(int port) {
  Reply r = Request(port, "GET", "/api/v1/series?match%5B%5D=" + UrlEncode("{__name__=~\".+\"}"));
  if (r.status != 200) return std::nullopt;
  std::set<std::string> out;
  json::value v = json::parse(r.body);
  for (const auto& s : v.at("data").as_array()) out.insert(Key(s.as_object()));
  return out;
}

// up by instance over /api/v1/query; nullopt when the endpoint is not there.
std::optional<std::map<std::string, std::string>> UpOverApi(int port) {
  Reply r = Request(port, "GET", "/api/v1/query?query=up");
  if (r.status != 200) return std::nullopt;
  std::map<std::string, std::string> out;
  json::value v = json::parse(r.body);
  for (const auto& s : v.at("data").at("result").as_array()) {
    out[std::string(s.at("metric").at("instance").as_string())] =
        std::string(s.at("value").as_array()[1].as_string());
  }
  return out;
}

class ScrapeIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    binary_ = testsupport::BinaryPath();
    if (binary_.empty()) GTEST_SKIP() << "MA_BINARY is not set";
    char tmpl[] = "/tmp/ma-scrape-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  std::unique_ptr<ChildProcess> StartServe(int port, const std::string& config) {
    return std::make_unique<ChildProcess>(
        std::vector<std::string>{binary_, "serve", "--storage-path", dir_ + "/ma-data",
                                 "--http-listen-address", "127.0.0.1:" + std::to_string(port),
                                 "--secure-port", "0", "--scrape-config", config},
        dir_ + "/serve.log");
  }

  std::string binary_;
  std::string dir_;
};

// /api/v1/status/tsdb reduced to what two servers holding the same series agree on: the series
// and label pair counts, and the counts of each ranking (the order of names with equal counts is
// not specified).
std::string TsdbStatusFigures(int port) {
  const Reply r = Request(port, "GET", "/api/v1/status/tsdb");
  if (r.status != 200) return "HTTP " + std::to_string(r.status) + ": " + r.body;
  const json::value v = json::parse(r.body);
  if (!v.is_object() || !v.at("data").is_object()) return "unexpected answer: " + r.body;
  const json::object& data = v.at("data").as_object();
  std::string out =
      absl::StrCat("series ", data.at("headStats").at("numSeries").to_number<int64_t>(), ", pairs ",
                   data.at("headStats").at("numLabelPairs").to_number<int64_t>());
  for (const char* list : {"seriesCountByMetricName", "labelValueCountByLabelName",
                           "memoryInBytesByLabelName", "seriesCountByLabelValuePair"}) {
    absl::StrAppend(&out, "; ", list, ":");
    for (const json::value& e : data.at(list).as_array()) {
      absl::StrAppend(&out, " ", e.at("value").to_number<int64_t>());
    }
  }
  return out;
}

// /api/v1/targets/metadata as a set of entries (target labels, family, type, help, unit): the
// order of targets and families is not specified.
std::multiset<std::string> TargetMetadataEntries(int port, const std::string& metric) {
  std::multiset<std::string> out;
  const Reply r = Request(port, "GET",
                          "/api/v1/targets/metadata" + (metric.empty() ? "" : "?metric=" + metric));
  if (r.status != 200) {
    out.insert("HTTP " + std::to_string(r.status) + ": " + r.body);
    return out;
  }
  const json::value v = json::parse(r.body);
  if (!v.is_object() || !v.at("data").is_array()) {
    out.insert("unexpected answer: " + r.body.substr(0, 300));
    return out;
  }
  for (const json::value& e : v.at("data").as_array()) {
    out.insert(json::serialize(e.at("target")) + " " +
               (e.as_object().contains("metric") ? json::serialize(e.at("metric")) : "-") + " " +
               json::serialize(e.at("type")) + " " + json::serialize(e.at("help")) + " " +
               json::serialize(e.at("unit")));
  }
  return out;
}

TEST_F(ScrapeIntegrationTest, SameSeriesAndUpAsPrometheus) {
  if (!fs::exists(kNodeExporter) || !fs::exists(kPrometheus)) {
    GTEST_SKIP() << "prometheus or prometheus-node-exporter is not installed";
  }
  const int node_port = testsupport::FreePort();
  // A few collectors whose series set does not change from one scrape to the next.
  ChildProcess node(
      {kNodeExporter, "--web.listen-address=127.0.0.1:" + std::to_string(node_port),
       "--collector.disable-defaults", "--collector.cpu", "--collector.loadavg",
       "--collector.meminfo", "--collector.stat", "--collector.time", "--collector.uname"},
      dir_ + "/node.log");
  ASSERT_TRUE(testsupport::WaitForHttp200(node_port, "/metrics", 20s))
      << ReadFile(dir_ + "/node.log");
  const int dead_port = testsupport::FreePort();

  const std::string config = dir_ + "/scrape.yml";
  std::ofstream(config) << absl::StrCat(R"(global:
  scrape_interval: 1s
  scrape_timeout: 800ms
  external_labels: {replica: a}   # not stored by either
rule_files: []
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ['127.0.0.1:)",
                                        node_port, R"(']
        labels: {env: live}
      - targets: ['127.0.0.1:)",
                                        dead_port, R"(']
        labels: {env: dead}
    relabel_configs:
      - source_labels: [__address__]
        regex: '127\.0\.0\.1:(\d+)'
        target_label: port
        replacement: 'p${1}'
      - source_labels: [env]
        target_label: environment
      - regex: env
        action: labeldrop
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: 'go_memstats_.*|go_gc_.*'
        action: drop
      - source_labels: [__name__, mode]
        regex: 'node_cpu_seconds_total;(nice|irq|softirq|steal)'
        action: drop
      - source_labels: [__name__]
        regex: 'node_load(.*)'
        target_label: __name__
        replacement: 'renamed_load${1}'
      - source_labels: [cpu]
        target_label: core
      - regex: cpu
        action: labeldrop
      - source_labels: [__name__]
        regex: 'node_memory_(.*)_bytes'
        target_label: memory_kind
        replacement: '$1'
        action: replace
      - source_labels: [memory_kind]
        regex: '(.*)'
        action: lowercase
        target_label: memory_kind
  - job_name: idle   # a scrape pool without targets
    static_configs: []
)");

  const int prom_port = testsupport::FreePort();
  ChildProcess prometheus(
      {kPrometheus, "--config.file=" + config, "--storage.tsdb.path=" + dir_ + "/prom-data",
       "--web.listen-address=127.0.0.1:" + std::to_string(prom_port), "--log.level=warn"},
      dir_ + "/prometheus.log");
  const int ma_port = testsupport::FreePort();
  auto serve = StartServe(ma_port, config);
  ASSERT_TRUE(testsupport::WaitForHttp200(ma_port, "/-/ready", 30s))
      << ReadFile(dir_ + "/serve.log");
  ASSERT_TRUE(testsupport::WaitForHttp200(prom_port, "/-/ready", 30s))
      << ReadFile(dir_ + "/prometheus.log");

  // A few scrapes by both (the first scrape of each target is within one interval of start).
  auto prom_up_count = [&] {
    auto up = UpOverApi(prom_port);
    return up ? up->size() : 0;
  };
  ASSERT_TRUE([&] {
    for (int i = 0; i < 200 && prom_up_count() < 2; ++i) std::this_thread::sleep_for(50ms);
    return prom_up_count() == 2;
  }());
  std::this_thread::sleep_for(3s);

  // Our targets as the API shows them.
  Reply targets = Request(ma_port, "GET", "/api/v1/targets");
  ASSERT_EQ(targets.status, 200);
  json::value tv = json::parse(targets.body);
  ASSERT_EQ(tv.at("data").at("activeTargets").as_array().size(), 2u) << targets.body;
  for (const auto& t : tv.at("data").at("activeTargets").as_array()) {
    const auto& labels = t.at("labels").as_object();
    const std::string env(labels.at("environment").as_string());
    EXPECT_EQ(std::string(t.at("health").as_string()), env == "live" ? "up" : "down");
    if (env == "dead") {
      EXPECT_THAT(std::string(t.at("lastError").as_string()), HasSubstr("connection refused"));
    }
    EXPECT_EQ(labels.count("env"), 0u);
    EXPECT_EQ(std::string(t.at("scrapeInterval").as_string()), "1s");
  }
  // Prometheus shows the same labels for its targets.
  Reply prom_targets = Request(prom_port, "GET", "/api/v1/targets");
  ASSERT_EQ(prom_targets.status, 200);
  std::set<std::string> ours_t;
  std::set<std::string> theirs_t;
  for (const auto& t : tv.at("data").at("activeTargets").as_array()) {
    ours_t.insert(Key(t.at("labels").as_object()) + Key(t.at("discoveredLabels").as_object()));
  }
  const json::value prom_tv = json::parse(prom_targets.body);
  for (const auto& t : prom_tv.at("data").at("activeTargets").as_array()) {
    theirs_t.insert(Key(t.at("labels").as_object()) + Key(t.at("discoveredLabels").as_object()));
  }
  EXPECT_EQ(ours_t, theirs_t);
  // Both list the same scrape pools, the one without targets included.
  Reply our_pools = Request(ma_port, "GET", "/api/v1/scrape_pools");
  Reply their_pools = Request(prom_port, "GET", "/api/v1/scrape_pools");
  EXPECT_EQ(our_pools.status, 200);
  EXPECT_EQ(our_pools.body, their_pools.body);
  EXPECT_EQ(their_pools.body, R"({"status":"success","data":{"scrapePools":["idle","node"]}})");

  std::optional<std::set<std::string>> theirs = SeriesOverApi(prom_port);
  ASSERT_TRUE(theirs.has_value());
  std::optional<std::map<std::string, std::string>> their_up = UpOverApi(prom_port);
  ASSERT_TRUE(their_up.has_value());

  const std::string their_tsdb = TsdbStatusFigures(prom_port);
  const std::multiset<std::string> their_metadata = TargetMetadataEntries(prom_port, "");
  const std::multiset<std::string> their_load = TargetMetadataEntries(prom_port, "node_load1");

  std::optional<std::set<std::string>> ours = SeriesOverApi(ma_port);
  std::optional<std::map<std::string, std::string>> our_up = UpOverApi(ma_port);
  const std::string our_tsdb = TsdbStatusFigures(ma_port);
  // The metadata the live target announced, per target, as Prometheus keeps it.
  EXPECT_EQ(TargetMetadataEntries(ma_port, ""), their_metadata);
  EXPECT_EQ(TargetMetadataEntries(ma_port, "node_load1"), their_load);
  EXPECT_GT(their_metadata.size(), 50u);
  EXPECT_EQ(their_load.size(), 1u);
  // Holding the same series, both report the same cardinalities.
  if (ours == theirs) {
    EXPECT_EQ(our_tsdb, their_tsdb);
  }
  ASSERT_TRUE(serve->Signal(SIGTERM));
  ASSERT_EQ(serve->Wait(20s), 0) << ReadFile(dir_ + "/serve.log");
  if (!ours || !our_up) {
    // Without the query API: read our storage directly.
    auto db = tsdb::DB::Open(dir_ + "/ma-data", tsdb::DBOptions{});
    ASSERT_TRUE(db.ok()) << db.status();
    auto q = (*db)->NewQuerier(tsdb::kMinTime, tsdb::kMaxTime);
    auto series = q->Select(
        {*tsdb::LabelMatcher::Make(tsdb::LabelMatcher::Type::kRegexMatch, "__name__", ".+")});
    ASSERT_TRUE(series.ok());
    ours.emplace();
    our_up.emplace();
    for (const auto& s : *series) {
      json::object o;
      for (const tsdb::Label& l : s->labels()) o[l.name] = l.value;
      ours->insert(Key(o));
      if (s->labels().MetricName() == "up") {
        auto it = s->Iterator();
        double last = -1;
        while (it->Next()) last = it->At().v;
        (*our_up)[std::string(s->labels().Get("instance"))] = last == 1 ? "1" : "0";
      }
    }
  }

  std::vector<std::string> only_ours;
  std::vector<std::string> only_theirs;
  std::set_difference(ours->begin(), ours->end(), theirs->begin(), theirs->end(),
                      std::back_inserter(only_ours));
  std::set_difference(theirs->begin(), theirs->end(), ours->begin(), ours->end(),
                      std::back_inserter(only_theirs));
  EXPECT_TRUE(only_ours.empty()) << "only in metrics-adapter: "
                                 << ::testing::PrintToString(only_ours);
  EXPECT_TRUE(only_theirs.empty())
      << "only in Prometheus: " << ::testing::PrintToString(only_theirs);
  EXPECT_GT(ours->size(), 50u);  // the comparison covered a real exposition
  // The relabelling did something in both.
  EXPECT_TRUE(std::any_of(ours->begin(), ours->end(), [](const std::string& k) {
    return k.find("renamed_load1") != std::string::npos;
  }));
  EXPECT_FALSE(std::any_of(ours->begin(), ours->end(), [](const std::string& k) {
    return k.find("go_memstats") != std::string::npos;
  }));

  const std::string live = "127.0.0.1:" + std::to_string(node_port);
  const std::string dead = "127.0.0.1:" + std::to_string(dead_port);
  EXPECT_EQ((*their_up)[live], "1");
  EXPECT_EQ((*their_up)[dead], "0");
  EXPECT_EQ(*our_up, *their_up);
}

TEST_F(ScrapeIntegrationTest, BadScrapeConfigExitsOne) {
  const std::string config = dir_ + "/bad.yml";
  std::ofstream(config) << "scrape_configs:\n  - job_name: x\n    scrape_intervall: 5s\n";
  ChildProcess serve({binary_, "serve", "--storage-path", dir_ + "/data", "--http-listen-address",
                      "127.0.0.1:" + std::to_string(testsupport::FreePort()), "--secure-port", "0",
                      "--scrape-config", config},
                     dir_ + "/serve.log");
  EXPECT_EQ(serve.Wait(20s), 1);
  const std::string log = ReadFile(dir_ + "/serve.log");
  EXPECT_THAT(log, HasSubstr("scrape_intervall"));
  EXPECT_THAT(log, HasSubstr("bad.yml:3"));
  ChildProcess missing({binary_, "serve", "--storage-path", dir_ + "/data", "--http-listen-address",
                        "127.0.0.1:" + std::to_string(testsupport::FreePort()), "--secure-port",
                        "0", "--scrape-config", dir_ + "/nope.yml"},
                       dir_ + "/serve2.log");
  EXPECT_EQ(missing.Wait(20s), 1);
  EXPECT_THAT(ReadFile(dir_ + "/serve2.log"), HasSubstr("nope.yml"));
}

TEST_F(ScrapeIntegrationTest, TargetsMetadataAndReload) {
  http::Server exporter(http::ServerOptions{}, [](const http::Request&) {
    return http::Response::Text(
        "# HELP jobs_total Jobs done.\n# TYPE jobs_total counter\njobs_total 3\n");
  });
  const int exporter_port = *exporter.Listen("127.0.0.1:0");
  ASSERT_TRUE(exporter.Start().ok());
  const std::string config = dir_ + "/scrape.yml";
  auto write_config = [&](const std::string& jobs) {
    std::ofstream(config) << "global:\n  scrape_interval: 200ms\n  scrape_timeout: 100ms\n"
                             "scrape_configs:\n"
                          << jobs;
  };
  auto job = [&](const std::string& name) {
    return absl::StrCat("  - job_name: ", name,
                        "\n    static_configs: [{targets: ['127.0.0.1:", exporter_port, "']}]\n");
  };
  write_config(job("one") + job("two"));
  const int port = testsupport::FreePort();
  auto serve = StartServe(port, config);
  ASSERT_TRUE(testsupport::WaitForHttp200(port, "/-/ready", 30s)) << ReadFile(dir_ + "/serve.log");

  auto active_jobs = [&] {
    std::set<std::string> jobs;
    Reply r = Request(port, "GET", "/api/v1/targets");
    if (r.status != 200) return jobs;
    const json::value v = json::parse(r.body);
    for (const auto& t : v.at("data").at("activeTargets").as_array()) {
      if (std::string(t.at("health").as_string()) == "up") {
        jobs.insert(std::string(t.at("scrapePool").as_string()));
      }
    }
    return jobs;
  };
  auto wait_jobs = [&](const std::set<std::string>& want) {
    for (int i = 0; i < 200; ++i) {
      if (active_jobs() == want) return true;
      std::this_thread::sleep_for(25ms);
    }
    return false;
  };
  ASSERT_TRUE(wait_jobs({"one", "two"})) << ReadFile(dir_ + "/serve.log");
  EXPECT_THAT(Request(port, "GET", "/metrics").body,
              HasSubstr("metrics_adapter_scrape_config_last_reload_successful 1\n"));
  Reply meta = Request(port, "GET", "/api/v1/metadata");
  if (meta.status == 200) {  // when the query API is there
    EXPECT_THAT(meta.body,
                HasSubstr("\"jobs_total\":[{\"type\":\"counter\",\"help\":\"Jobs done.\""));
  }

  // A bad file: refused, the old configuration keeps running.
  std::ofstream(config) << "scrape_configs: [{job_name: x, nonsense: 1}]\n";
  Reply bad = Request(port, "POST", "/-/reload");
  EXPECT_EQ(bad.status, 500);
  EXPECT_THAT(bad.body, HasSubstr("nonsense"));
  EXPECT_THAT(Request(port, "GET", "/metrics").body,
              HasSubstr("metrics_adapter_scrape_config_last_reload_successful 0\n"));
  EXPECT_EQ(active_jobs(), (std::set<std::string>{"one", "two"}));
  EXPECT_EQ(Request(port, "GET", "/-/reload").status, 405);
  // /api/v1/status/config shows the configuration in effect, not the refused file.
  const auto config_status = [&] {
    const json::value v = json::parse(Request(port, "GET", "/api/v1/status/config").body);
    return std::string(v.at("data").at("yaml").as_string());
  };
  EXPECT_THAT(config_status(), HasSubstr("job_name: two"));
  EXPECT_THAT(config_status(), Not(HasSubstr("nonsense")));

  // A good one over POST, then another over SIGHUP.
  write_config(job("one"));
  EXPECT_EQ(Request(port, "POST", "/-/reload").status, 200);
  EXPECT_TRUE(wait_jobs({"one"}));
  EXPECT_THAT(config_status(), HasSubstr("job_name: one"));
  EXPECT_THAT(config_status(), Not(HasSubstr("job_name: two")));
  EXPECT_THAT(Request(port, "GET", "/metrics").body,
              HasSubstr("metrics_adapter_scrape_config_last_reload_successful 1\n"));
  write_config(job("one") + job("three"));
  ASSERT_TRUE(serve->Signal(SIGHUP));
  EXPECT_TRUE(wait_jobs({"one", "three"})) << ReadFile(dir_ + "/serve.log");

  ASSERT_TRUE(serve->Signal(SIGTERM));
  EXPECT_EQ(serve->Wait(20s), 0) << ReadFile(dir_ + "/serve.log");
  exporter.Stop(100ms);
}

}  // namespace
