// End to end: exporter processes (examples/sample_app.py) -> scraper -> embedded storage -> rules
// (examples/rules.yaml) -> the HTTPS metrics APIs -> the real kubectl, for every API group and
// path form, errors, explain and the rules' hot reload.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "boost/json.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"
#include "tests/support/sample_apps.h"

namespace {

namespace json = boost::json;
using ::testing::HasSubstr;
using testsupport::ChildProcess;
using testsupport::RunResult;
using testsupport::ShellQuote;

class MetricsApiEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    binary_ = testsupport::BinaryPath();
    if (binary_.empty()) GTEST_SKIP() << "MA_BINARY is not set";
    if (std::system("command -v kubectl >/dev/null 2>&1") != 0) {
      GTEST_SKIP() << "kubectl is not installed";
    }
    root_ = testsupport::SourceRoot();
    dir_ = testsupport::MakeTempDir("ma-metrics-api");
    ASSERT_FALSE(dir_.empty());

    apps_ = std::make_unique<testsupport::SampleApps>(
        dir_, std::vector<testsupport::SampleAppSpec>{{"sample-app-1", 2, {}},
                                                      {"sample-app-2", 0.5, {}}});
    testsupport::WriteFileText(dir_ + "/scrape.yml", apps_->StaticScrapeConfig());
    rules_ = testsupport::DemoRulesWithShortWindows();
    ASSERT_FALSE(rules_.empty());
    testsupport::WriteFileText(dir_ + "/rules.yaml", rules_);

    http_port_ = testsupport::FreePort();
    secure_port_ = testsupport::FreePort();
    serve_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{binary_, "serve", "--storage-path", dir_ + "/data",
                                 "--http-listen-address", "127.0.0.1:" + std::to_string(http_port_),
                                 "--secure-port", std::to_string(secure_port_), "--bind-address",
                                 "127.0.0.1", "--cert-dir", dir_ + "/certs", "--scrape-config",
                                 dir_ + "/scrape.yml", "--config", dir_ + "/rules.yaml"},
        dir_ + "/serve.log");
    testsupport::WriteFileText(
        dir_ + "/kubeconfig",
        "apiVersion: v1\nkind: Config\nclusters:\n- name: ma\n  cluster:\n    server: "
        "https://127.0.0.1:" +
            std::to_string(secure_port_) +
            "\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user: {token: "
            "local}\ncontexts:\n"
            "- name: ma\n  context: {cluster: ma, user: u}\ncurrent-context: ma\n");
    ASSERT_TRUE(testsupport::WaitForHttp200(http_port_, "/-/ready", std::chrono::seconds(20)))
        << testsupport::ReadFileText(dir_ + "/serve.log");
  }

  void TearDown() override {
    serve_.reset();
    apps_.reset();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  // kubectl get --raw PATH against the adapter.
  RunResult Kubectl(const std::string& path) {
    return testsupport::RunShell("kubectl --kubeconfig " + ShellQuote(dir_ + "/kubeconfig") +
                                     " --request-timeout=10s get --raw " + ShellQuote(path),
                                 dir_);
  }

  // Polls PATH until it answers with at least n items, the first of them with a milli value of
  // at least min_first_milli.
  json::value WaitForItems(const std::string& path, size_t n, double min_first_milli = 0) {
    json::value last;
    for (int i = 0; i < 120; ++i) {
      RunResult r = Kubectl(path);
      if (r.exit_code == 0) {
        last = json::parse(r.out);
        const json::array& items = last.at("items").as_array();
        if (items.size() >= n &&
            (min_first_milli == 0 || Milli(items[0].at("value")) >= min_first_milli)) {
          return last;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    ADD_FAILURE() << "no " << n << " items at " << path << "; last: " << json::serialize(last)
                  << "\nlog:\n"
                  << testsupport::ReadFileText(dir_ + "/serve.log");
    return last;
  }

  // The milli value of a Quantity string written by the adapter ("1500m", "2", "3k").
  static double Milli(const json::value& quantity) {
    std::string q(quantity.as_string());
    if (!q.empty() && q.back() == 'm') return std::stod(q.substr(0, q.size() - 1));
    if (!q.empty() && q.back() == 'k') return std::stod(q.substr(0, q.size() - 1)) * 1e6;
    return std::stod(q) * 1000;
  }

  std::string binary_, root_, dir_, rules_;
  int http_port_ = 0;
  int secure_port_ = 0;
  std::unique_ptr<testsupport::SampleApps> apps_;
  std::unique_ptr<ChildProcess> serve_;
};

TEST_F(MetricsApiEndToEndTest, ServesEveryApiThroughKubectl) {
  const std::string custom = "/apis/custom.metrics.k8s.io/";
  // Wildcard over pods: both replicas, with their rates (2/s and 0.5/s simulated requests).
  // Once the first rate window is full, both replicas with their rates (2/s and 0.5/s).
  json::value list =
      WaitForItems(custom + "v1beta1/namespaces/default/pods/*/http_requests", 2, 1500);
  ASSERT_EQ(list.at("kind").as_string(), "MetricValueList");
  EXPECT_EQ(list.at("apiVersion").as_string(), "custom.metrics.k8s.io/v1beta1");
  const json::array& items = list.at("items").as_array();
  ASSERT_EQ(items.size(), 2u);
  const json::object& first = items[0].as_object();
  EXPECT_EQ(first.at("describedObject").at("kind").as_string(), "Pod");
  EXPECT_EQ(first.at("describedObject").at("namespace").as_string(), "default");
  EXPECT_EQ(first.at("describedObject").at("name").as_string(), "sample-app-1");
  EXPECT_EQ(first.at("describedObject").at("apiVersion").as_string(), "/v1");
  EXPECT_EQ(first.at("metricName").as_string(), "http_requests");
  EXPECT_TRUE(first.at("selector").is_null());
  EXPECT_NEAR(Milli(first.at("value")), 2000, 600);
  EXPECT_EQ(items[1].at("describedObject").at("name").as_string(), "sample-app-2");
  EXPECT_NEAR(Milli(items[1].at("value")), 500, 300);

  // One object by name in the v1beta2 shape, with a metric label selector.
  RunResult one = Kubectl(custom +
                          "v1beta2/namespaces/default/pods/sample-app-2/"
                          "http_requests?metricLabelSelector=method%3Dget");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  json::value v2 = json::parse(one.out);
  ASSERT_EQ(v2.at("items").as_array().size(), 1u);
  const json::value& item = v2.at("items").as_array()[0];
  EXPECT_EQ(item.at("metric").at("name").as_string(), "http_requests");
  EXPECT_EQ(item.at("metric").at("selector").at("matchLabels").at("method").as_string(), "get");
  EXPECT_EQ(item.at("describedObject").at("name").as_string(), "sample-app-2");

  // The namespace itself.
  json::value ns = WaitForItems(custom + "v1beta1/namespaces/default/metrics/http_requests", 1);
  EXPECT_EQ(ns.at("items").as_array()[0].at("describedObject").at("kind").as_string(), "Namespace");
  EXPECT_NEAR(Milli(ns.at("items").as_array()[0].at("value")), 2500, 800);

  // Every namespace, and a cluster-scoped object (the gauge rule maps the node label too).
  json::value all_ns = WaitForItems(custom + "v1beta1/namespaces/*/metrics/http_requests", 1);
  EXPECT_EQ(all_ns.at("items").as_array()[0].at("describedObject").at("name").as_string(),
            "default");
  json::value node = WaitForItems(custom + "v1beta1/nodes/demo-node/queue_depth", 1);
  EXPECT_EQ(node.at("items").as_array()[0].at("describedObject").at("kind").as_string(), "Node");
  EXPECT_FALSE(
      node.at("items").as_array()[0].at("describedObject").as_object().contains("namespace"));

  // Discovery lists what is served.
  RunResult discovery = Kubectl(custom + "v1beta1");
  ASSERT_EQ(discovery.exit_code, 0) << discovery.err;
  EXPECT_THAT(discovery.out, HasSubstr(R"("name":"pods/http_requests")"));
  EXPECT_THAT(discovery.out, HasSubstr(R"("name":"namespaces/http_requests")"));
  RunResult groups = Kubectl("/apis");
  EXPECT_THAT(groups.out, HasSubstr("external.metrics.k8s.io"));
  EXPECT_THAT(groups.out, HasSubstr(R"("name":"metrics.k8s.io")"));

  // External metrics: every series of the query, with its labels.
  json::value external =
      WaitForItems("/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth", 1);
  EXPECT_EQ(external.at("kind").as_string(), "ExternalMetricValueList");
  EXPECT_EQ(external.at("items").as_array()[0].at("metricLabels").at("queue").as_string(), "jobs");

  // Resource metrics, as kubectl top reads them.
  json::value pods = WaitForItems("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods", 2);
  EXPECT_EQ(pods.at("kind").as_string(), "PodMetricsList");
  const json::value& pod = pods.at("items").as_array()[0];
  EXPECT_EQ(pod.at("metadata").at("name").as_string(), "sample-app-1");
  EXPECT_EQ(pod.at("window").as_string(), "1m0s");
  EXPECT_EQ(pod.at("containers").as_array()[0].at("name").as_string(), "app");
  EXPECT_TRUE(pod.at("containers").as_array()[0].at("usage").as_object().contains("memory"));
  json::value nodes = WaitForItems("/apis/metrics.k8s.io/v1beta1/nodes", 1);
  EXPECT_EQ(nodes.at("items").as_array()[0].at("metadata").at("name").as_string(), "demo-node");

  // Errors come back as Status objects that kubectl reports.
  RunResult unknown = Kubectl(custom + "v1beta1/namespaces/default/pods/*/no_such_metric");
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_THAT(unknown.err, HasSubstr("NotFound"));
  RunResult missing = Kubectl(custom + "v1beta1/namespaces/default/pods/nobody/http_requests");
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_THAT(missing.err, HasSubstr("NotFound"));
  RunResult bad_selector =
      Kubectl(custom + "v1beta1/namespaces/default/pods/*/http_requests?labelSelector=a%20in");
  EXPECT_NE(bad_selector.exit_code, 0);
  EXPECT_THAT(bad_selector.err, HasSubstr("BadRequest"));

  // Explain on the plain listener.
  testsupport::HttpResult explain = testsupport::HttpGet(
      http_port_,
      "/debug/explain?path=/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/"
      "http_requests");
  EXPECT_EQ(explain.status, 200);
  EXPECT_THAT(explain.body, HasSubstr("http_requests_total{"));
  EXPECT_THAT(explain.body, HasSubstr("status:   200"));
}

TEST_F(MetricsApiEndToEndTest, RulesReloadWhenTheFileChanges) {
  const std::string path = "/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/";
  WaitForItems(path + "http_requests", 2);
  // A new name for the metric, written as a kubelet updates a ConfigMap (a new file renamed in).
  std::string renamed = rules_;
  const std::string from = R"(as: "${1}")";
  ASSERT_NE(renamed.find(from), std::string::npos);
  renamed.replace(renamed.find(from), from.size(), R"(as: "${1}_renamed")");
  testsupport::WriteFileText(dir_ + "/rules.yaml.new", renamed);
  std::filesystem::rename(dir_ + "/rules.yaml.new", dir_ + "/rules.yaml");
  WaitForItems(path + "http_requests_renamed", 2);

  // A broken file keeps the previous rules serving and says so in /metrics.
  testsupport::WriteFileText(dir_ + "/rules.yaml", "rules:\n- seriesQuery: '{'\n  bogus: 1\n");
  bool reported = false;
  for (int i = 0; i < 60 && !reported; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    reported = testsupport::HttpGet(http_port_, "/metrics")
                   .body.find("metrics_adapter_rules_config_last_reload_successful 0") !=
               std::string::npos;
  }
  EXPECT_TRUE(reported);
  RunResult still = Kubectl(path + "http_requests_renamed");
  EXPECT_EQ(still.exit_code, 0) << still.err;
  EXPECT_THAT(testsupport::ReadFileText(dir_ + "/serve.log"),
              HasSubstr("the previous rules keep serving"));
}

}  // namespace
