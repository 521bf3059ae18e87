// The remote backend with a real Prometheus: two exporter processes (examples/sample_app.py) are
// scraped by Debian's prometheus and by an embedded-mode metrics-adapter with the same scrape
// configuration; a second metrics-adapter evaluates the same rules (examples/rules.yaml) against
// that Prometheus (--prometheus-url). The custom, external and resource metrics answers of both
// adapters must agree (values within what different scrape instants explain).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
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
using testsupport::ChildProcess;
using testsupport::RunResult;
using testsupport::ShellQuote;
using namespace std::chrono_literals;

constexpr char kPrometheus[] = "/usr/bin/prometheus";

class PrometheusBackendEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    binary_ = testsupport::BinaryPath();
    if (binary_.empty()) GTEST_SKIP() << "MA_BINARY is not set";
    if (!std::filesystem::exists(kPrometheus)) GTEST_SKIP() << "prometheus is not installed";
    if (std::system("command -v curl >/dev/null 2>&1") != 0) GTEST_SKIP() << "no curl";
    root_ = testsupport::SourceRoot();
    dir_ = testsupport::MakeTempDir("ma-prom-backend");
    ASSERT_FALSE(dir_.empty());

    apps_ = std::make_unique<testsupport::SampleApps>(
        dir_, std::vector<testsupport::SampleAppSpec>{{"sample-app-1", 2, {}},
                                                      {"sample-app-2", 0.5, {}}});
    testsupport::WriteFileText(dir_ + "/scrape.yml", apps_->StaticScrapeConfig());
    std::string rules = testsupport::DemoRulesWithShortWindows();
    ASSERT_FALSE(rules.empty());
    testsupport::WriteFileText(dir_ + "/rules.yaml", rules);

    prom_port_ = testsupport::FreePort();
    prometheus_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{kPrometheus, "--config.file=" + dir_ + "/scrape.yml",
                                 "--storage.tsdb.path=" + dir_ + "/prom-data",
                                 "--web.listen-address=127.0.0.1:" + std::to_string(prom_port_),
                                 "--log.level=warn"},
        dir_ + "/prometheus.log");
    embedded_ = StartServe("embedded", {"--scrape-config", dir_ + "/scrape.yml"});
    remote_ = StartServe(
        "remote", {"--prometheus-url", "http://127.0.0.1:" + std::to_string(prom_port_) + "/",
                   "--metrics-relist-interval", "1s", "--metrics-max-age", "1m",
                   "--prometheus-header", "X-Scope-OrgID=demo"});
    ASSERT_TRUE(testsupport::WaitForHttp200(prom_port_, "/-/ready", 30s))
        << testsupport::ReadFileText(dir_ + "/prometheus.log");
    for (Adapter* a : {&embedded_, &remote_}) {
      ASSERT_TRUE(testsupport::WaitForHttp200(a->http_port, "/-/ready", 30s))
          << testsupport::ReadFileText(dir_ + "/" + a->name + ".log");
    }
  }

  void TearDown() override {
    remote_.process.reset();
    embedded_.process.reset();
    prometheus_.reset();
    apps_.reset();
    std::error_code ec;
    if (!dir_.empty() && !HasFailure()) std::filesystem::remove_all(dir_, ec);
  }

  struct Adapter {
    std::string name;
    int http_port = 0;
    int secure_port = 0;
    std::unique_ptr<ChildProcess> process;
  };

  Adapter StartServe(const std::string& name, std::vector<std::string> extra) {
    Adapter a;
    a.name = name;
    a.http_port = testsupport::FreePort();
    a.secure_port = testsupport::FreePort();
    std::vector<std::string> argv = {binary_,
                                     "serve",
                                     "--storage-path",
                                     dir_ + "/" + name + "-data",
                                     "--http-listen-address",
                                     "127.0.0.1:" + std::to_string(a.http_port),
                                     "--secure-port",
                                     std::to_string(a.secure_port),
                                     "--bind-address",
                                     "127.0.0.1",
                                     "--cert-dir",
                                     dir_ + "/" + name + "-certs",
                                     "--config",
                                     dir_ + "/rules.yaml"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    a.process = std::make_unique<ChildProcess>(argv, dir_ + "/" + name + ".log");
    return a;
  }

  // GET path over HTTPS; the parsed body when it answered 200.
  std::optional<json::value> Get(const Adapter& a, const std::string& path) {
    RunResult r = testsupport::RunShell(
        "curl -sk --max-time 10 -w '\\n%{http_code}' " +
            ShellQuote("https://127.0.0.1:" + std::to_string(a.secure_port) + path),
        dir_);
    if (r.exit_code != 0) return std::nullopt;
    size_t nl = r.out.rfind('\n');
    if (nl == std::string::npos || r.out.substr(nl + 1) != "200") return std::nullopt;
    boost::system::error_code ec;
    json::value v = json::parse(r.out.substr(0, nl), ec);
    if (ec) return std::nullopt;
    return v;
  }

  // Polls path on a until it answers with at least n items whose values pass ready.
  json::value WaitForItems(const Adapter& a, const std::string& path, size_t n,
                           double min_first_milli = 0) {
    std::optional<json::value> last;
    for (int i = 0; i < 160; ++i) {
      last = Get(a, path);
      if (last && last->is_object() && last->as_object().contains("items")) {
        const json::array& items = last->at("items").as_array();
        if (items.size() >= n &&
            (min_first_milli == 0 || Milli(items[0].at("value")) >= min_first_milli)) {
          return *last;
        }
      }
      std::this_thread::sleep_for(250ms);
    }
    ADD_FAILURE() << a.name << ": no " << n << " items at " << path
                  << "; last: " << (last ? json::serialize(*last) : "none") << "\nlog:\n"
                  << testsupport::ReadFileText(dir_ + "/" + a.name + ".log");
    return last ? *last : json::value();
  }

  // The milli value of a Quantity ("1500m", "2", "3k", "12Ki").
  static double Milli(const json::value& quantity) {
    std::string q(quantity.as_string());
    static const std::map<std::string, double> kSuffixes = {
        {"m", 1e-3},    {"k", 1e3},        {"M", 1e6},          {"G", 1e9},
        {"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0}};
    for (const auto& [suffix, factor] : kSuffixes) {
      if (q.size() > suffix.size() &&
          q.compare(q.size() - suffix.size(), suffix.size(), suffix) == 0) {
        return std::stod(q.substr(0, q.size() - suffix.size())) * factor * 1000;
      }
    }
    return std::stod(q) * 1000;
  }

  // The items' names (describedObject.name or metadata.name) mapped to their values in milli.
  static std::map<std::string, double> ByName(const json::value& list) {
    std::map<std::string, double> out;
    for (const json::value& item : list.at("items").as_array()) {
      out[std::string(item.at("describedObject").at("name").as_string())] = Milli(item.at("value"));
    }
    return out;
  }

  std::string binary_, root_, dir_;
  int prom_port_ = 0;
  std::unique_ptr<testsupport::SampleApps> apps_;
  std::unique_ptr<ChildProcess> prometheus_;
  Adapter embedded_, remote_;
};

TEST_F(PrometheusBackendEndToEndTest, RemoteAnswersEqualEmbeddedAnswers) {
  const std::string custom = "/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/";
  // Custom metrics: both replicas once the first rate windows are full (2/s and 0.5/s).
  const std::string pods_path = custom + "pods/*/http_requests";
  WaitForItems(embedded_, pods_path, 2, 1500);
  WaitForItems(remote_, pods_path, 2, 1500);
  json::value local = WaitForItems(embedded_, pods_path, 2, 1500);
  json::value remote = WaitForItems(remote_, pods_path, 2, 1500);
  std::map<std::string, double> local_values = ByName(local);
  std::map<std::string, double> remote_values = ByName(remote);
  ASSERT_EQ(local_values.size(), 2u);
  ASSERT_EQ(remote_values.size(), 2u);
  for (const auto& [name, value] : local_values) {
    ASSERT_TRUE(remote_values.contains(name))
        << name << " missing from " << json::serialize(remote);
    EXPECT_NEAR(remote_values[name], value, 0.3 * value + 300) << name;
  }
  EXPECT_NEAR(remote_values["sample-app-1"], 2000, 700);
  EXPECT_NEAR(remote_values["sample-app-2"], 500, 350);
  EXPECT_EQ(remote.at("items").as_array()[0].at("metricName").as_string(), "http_requests");
  EXPECT_EQ(remote.at("kind").as_string(), local.at("kind").as_string());

  // Discovery found the same custom metrics.
  std::optional<json::value> local_discovery =
      Get(embedded_, "/apis/custom.metrics.k8s.io/v1beta1");
  std::optional<json::value> remote_discovery = Get(remote_, "/apis/custom.metrics.k8s.io/v1beta1");
  ASSERT_TRUE(local_discovery && remote_discovery);
  auto names = [](const json::value& v) {
    std::vector<std::string> out;
    for (const json::value& r : v.at("resources").as_array()) {
      out.emplace_back(r.at("name").as_string());
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(names(*remote_discovery), names(*local_discovery));
  EXPECT_THAT(names(*remote_discovery), ::testing::Contains("pods/http_requests"));

  // One pod by name.
  json::value one_local = WaitForItems(embedded_, custom + "pods/sample-app-2/http_requests", 1);
  json::value one_remote = WaitForItems(remote_, custom + "pods/sample-app-2/http_requests", 1);
  EXPECT_EQ(ByName(one_remote).begin()->first, "sample-app-2");
  EXPECT_NEAR(ByName(one_remote).begin()->second, ByName(one_local).begin()->second,
              0.3 * ByName(one_local).begin()->second + 300);

  // External metrics: the queue_depth gauge summed per queue (a triangle wave of slope
  // <= 1.4/s per replica, so scrapes up to a second apart differ by a few units).
  const std::string external =
      "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth";
  json::value ext_local = WaitForItems(embedded_, external, 1);
  json::value ext_remote = WaitForItems(remote_, external, 1);
  ASSERT_EQ(ext_local.at("items").as_array().size(), ext_remote.at("items").as_array().size());
  const json::value& el = ext_local.at("items").as_array()[0];
  const json::value& er = ext_remote.at("items").as_array()[0];
  EXPECT_EQ(json::serialize(er.at("metricLabels")), json::serialize(el.at("metricLabels")));
  EXPECT_EQ(er.at("metricName").as_string(), "queue_depth");
  EXPECT_NEAR(Milli(er.at("value")), Milli(el.at("value")), 6000);

  // Resource metrics: the same pods and containers, memory alike.
  const std::string pods = "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods";
  json::value pods_local = WaitForItems(embedded_, pods, 2);
  json::value pods_remote = WaitForItems(remote_, pods, 2);
  ASSERT_EQ(pods_remote.at("items").as_array().size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const json::value& l = pods_local.at("items").as_array()[i];
    const json::value& r = pods_remote.at("items").as_array()[i];
    EXPECT_EQ(r.at("metadata").at("name").as_string(), l.at("metadata").at("name").as_string());
    const json::value& lc = l.at("containers").as_array()[0];
    const json::value& rc = r.at("containers").as_array()[0];
    EXPECT_EQ(rc.at("name").as_string(), lc.at("name").as_string());
    ASSERT_TRUE(rc.at("usage").as_object().contains("memory"));
    ASSERT_TRUE(rc.at("usage").as_object().contains("cpu"));
    const double lm = Milli(lc.at("usage").at("memory"));
    EXPECT_NEAR(Milli(rc.at("usage").at("memory")), lm, 0.2 * lm);
  }
  json::value nodes = WaitForItems(remote_, "/apis/metrics.k8s.io/v1beta1/nodes", 1);
  EXPECT_EQ(nodes.at("items").as_array()[0].at("metadata").at("name").as_string(), "demo-node");

  // An unknown metric is a 404 on both.
  EXPECT_FALSE(Get(remote_, custom + "pods/*/no_such_metric").has_value());
}

}  // namespace
