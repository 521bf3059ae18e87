// metrics-adapter in a cluster, against the fake Kubernetes API server (tests/fake_apiserver):
// the aggregator's front-proxy certificates and bearer tokens (TokenReview) with authorization by
// SubjectAccessReview; pods discovered by kubernetes_sd_configs and scraped; wildcard answers
// from the informer caches following watch events; and the HPA's scaling decisions computed from
// the answers, so the whole chain exporter -> scrape -> storage -> rule -> API -> decision runs.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "boost/json.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/fake_apiserver.h"
#include "tests/support/kubernetes_recipes.h"
#include "tests/support/process.h"
#include "tests/support/sample_apps.h"

namespace {

namespace json = boost::json;
using ::testing::HasSubstr;
using testsupport::ChildProcess;
using testsupport::RunResult;
using testsupport::ShellQuote;
using namespace std::chrono_literals;

constexpr char kHpaUser[] = "system:serviceaccount:kube-system:horizontal-pod-autoscaler";
constexpr char kCustom[] = "/apis/custom.metrics.k8s.io/v1beta1";

// A pod as the kubelet reports it: running, ready, IP 127.0.0.1 (the sample app's address).
// With scrape_port > 0 it carries the prometheus.io/scrape annotations of Prometheus' example
// configuration.
std::string PodJson(const std::string& name, const std::string& app, int scrape_port) {
  json::object pod{{"apiVersion", "v1"}, {"kind", "Pod"}};
  json::object meta{{"name", name}, {"namespace", "default"}, {"labels", {{"app", app}}}};
  json::object container{{"name", "app"}, {"image", "sample-app:1"}};
  if (scrape_port > 0) {
    meta["annotations"] = {{"prometheus.io/scrape", "true"},
                           {"prometheus.io/port", std::to_string(scrape_port)}};
    container["ports"] =
        json::array{{{"name", "http"}, {"containerPort", scrape_port}, {"protocol", "TCP"}}};
  }
  pod["metadata"] = std::move(meta);
  pod["spec"] = {{"nodeName", "node-1"}, {"containers", json::array{container}}};
  pod["status"] = {{"phase", "Running"},
                   {"podIP", "127.0.0.1"},
                   {"hostIP", "127.0.0.1"},
                   {"conditions", json::array{{{"type", "Ready"}, {"status", "True"}}}}};
  return json::serialize(pod);
}

// Who may read what: the HPA controller reads every metrics API; the group "devs" reads custom
// metrics of pods in "default"; nobody else anything.
constexpr char kPolicy[] = R"([
  {"user": "system:serviceaccount:kube-system:horizontal-pod-autoscaler", "verb": "*",
   "group_api": "*", "resource": "*"},
  {"user": "system:serviceaccount:kube-system:horizontal-pod-autoscaler", "verb": "get",
   "nonResourcePath": "/apis*"},
  {"group": "devs", "verb": "get", "group_api": "custom.metrics.k8s.io", "resource": "pods/*",
   "namespace": "default"}
])";

// The HPA controller's replica calculation (autoscaling/v2, tolerance 0.1), for the three metric
// source types the adapter serves, clamped to [1, 10].
constexpr double kTolerance = 0.1;
int Clamp(int replicas) { return std::clamp(replicas, 1, 10); }

// Pods metric, AverageValue target. values: the API's answer per pod; pods: the ready pods of
// the scale target (the controller lists them itself). Pods without a value are "missing": they
// count as 0 when scaling up and as the target when scaling down, and a decision they would
// reverse is not taken.
int PodsReplicas(const std::map<std::string, double>& values, const std::vector<std::string>& pods,
                 double target, int current) {
  double sum = 0;
  int with_value = 0;
  std::vector<std::string> missing;
  for (const std::string& pod : pods) {
    auto it = values.find(pod);
    if (it == values.end()) {
      missing.push_back(pod);
    } else {
      sum += it->second;
      ++with_value;
    }
  }
  if (with_value == 0) return current;
  const double ratio = sum / with_value / target;
  if (missing.empty()) {
    if (std::abs(1 - ratio) <= kTolerance) return current;
    return Clamp(static_cast<int>(std::ceil(ratio * with_value)));
  }
  const double assumed = ratio < 1 ? target : 0;
  const double new_ratio = (sum + assumed * static_cast<double>(missing.size())) /
                           static_cast<double>(pods.size()) / target;
  if (std::abs(1 - new_ratio) <= kTolerance || (ratio < 1 && new_ratio > 1) ||
      (ratio > 1 && new_ratio < 1)) {
    return current;
  }
  const int desired = static_cast<int>(std::ceil(new_ratio * static_cast<double>(pods.size())));
  if ((new_ratio < 1 && desired > current) || (new_ratio > 1 && desired < current)) return current;
  return Clamp(desired);
}

// Object and External metrics, Value target: the ratio scales the ready pods.
int ValueReplicas(double value, double target, int ready_pods, int current) {
  const double ratio = value / target;
  if (std::abs(1 - ratio) <= kTolerance) return current;
  return Clamp(static_cast<int>(std::ceil(ratio * ready_pods)));
}

TEST(HpaAlgorithmTest, FollowsTheControllersRules) {
  // Within tolerance: no change.
  EXPECT_EQ(PodsReplicas({{"a", 1.05}, {"b", 0.95}}, {"a", "b"}, 1, 2), 2);
  // Plain scale up and down.
  EXPECT_EQ(PodsReplicas({{"a", 3}, {"b", 3}}, {"a", "b"}, 1, 2), 6);
  EXPECT_EQ(PodsReplicas({{"a", 0.25}, {"b", 0.25}}, {"a", "b"}, 1, 2), 1);
  // A missing pod counts as 0 when scaling up: (2+3+0)/3 / 0.769 * 3 = 6.5 -> 7.
  EXPECT_EQ(PodsReplicas({{"a", 2}, {"b", 3}}, {"a", "b", "c"}, 0.769, 3), 7);
  // ... and as the target when scaling down: (0.5+0.5+1)/3 = 0.667 -> 2.
  EXPECT_EQ(PodsReplicas({{"a", 0.5}, {"b", 0.5}}, {"a", "b", "c"}, 1, 3), 2);
  // A missing pod that would reverse the direction keeps the current count.
  EXPECT_EQ(PodsReplicas({{"a", 1.2}}, {"a", "b", "c"}, 1, 3), 3);
  EXPECT_EQ(ValueReplicas(60, 20, 3, 3), 9);
  EXPECT_EQ(ValueReplicas(60, 58, 3, 3), 3);
  EXPECT_EQ(ValueReplicas(1000, 1, 3, 3), 10);
}

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    binary_ = testsupport::BinaryPath();
    if (binary_.empty()) GTEST_SKIP() << "MA_BINARY is not set";
    for (const char* tool : {"python3", "openssl", "curl"}) {
      if (std::system(("command -v " + std::string(tool) + " >/dev/null 2>&1").c_str()) != 0) {
        GTEST_SKIP() << tool << " is not installed";
      }
    }
    dir_ = testsupport::MakeTempDir("ma-cluster");
    ASSERT_FALSE(dir_.empty());
    // Apps a and b are pods from the start; c becomes one during a test.
    apps_ = std::make_unique<testsupport::SampleApps>(
        dir_, std::vector<testsupport::SampleAppSpec>{
                  {"sample-a", 2, {"--steady-queue", "--queue-depth", "30"}},
                  {"sample-b", 3, {"--steady-queue", "--queue-depth", "30"}},
                  {"sample-c", 1, {"--steady-queue", "--queue-depth", "30"}}});
    testsupport::FakeApiServerOptions fake;
    // sample-idle runs without metrics: the HPA finds no value for it.
    fake.fixtures_json = "[" + PodJson("sample-a", "sample", apps_->port(0)) + "," +
                         PodJson("sample-b", "sample", apps_->port(1)) + "," +
                         PodJson("sample-idle", "sample", 0) + "]";
    fake.policy_json = kPolicy;
    fake.tokens = {"jane-token=jane:devs", std::string("hpa-token=") + kHpaUser,
                   "mallory-token=mallory"};
    cluster_ = std::make_unique<testsupport::FakeApiServer>(dir_, fake);
    ASSERT_TRUE(cluster_->ok()) << cluster_->log();

    // Prometheus' pod recipe, scraping every second.
    testsupport::WriteFileText(dir_ + "/scrape.yml",
                               std::string("global: {scrape_interval: 1s, scrape_timeout: 900ms}") +
                                   testsupport::kPodScrapeRecipe);
    std::string rules = testsupport::DemoRulesWithShortWindows();
    ASSERT_FALSE(rules.empty());
    testsupport::WriteFileText(dir_ + "/rules.yaml", rules);
    http_port_ = testsupport::FreePort();
    secure_port_ = testsupport::FreePort();
    serve_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{binary_,
                                 "serve",
                                 "--storage-path",
                                 dir_ + "/data",
                                 "--http-listen-address",
                                 "127.0.0.1:" + std::to_string(http_port_),
                                 "--secure-port",
                                 std::to_string(secure_port_),
                                 "--bind-address",
                                 "127.0.0.1",
                                 "--cert-dir",
                                 dir_ + "/serving",
                                 "--lister-kubeconfig",
                                 cluster_->kubeconfig(),
                                 "--scrape-config",
                                 dir_ + "/scrape.yml",
                                 "--config",
                                 dir_ + "/rules.yaml",
                                 "--log-level",
                                 "debug"},
        dir_ + "/serve.log");
    // /readyz needs no credentials and passes once the storage is open and the caches synced.
    bool ready = false;
    for (int i = 0; i < 200 && !ready; ++i) {
      ready = Curl({}, "/readyz").code == 200;
      if (!ready) std::this_thread::sleep_for(100ms);
    }
    ASSERT_TRUE(ready) << Log();
  }

  void TearDown() override {
    serve_.reset();
    cluster_.reset();
    apps_.reset();
    std::error_code ec;
    if (!dir_.empty() && !HasFailure()) std::filesystem::remove_all(dir_, ec);
  }

  std::string Log() const {
    return "serve log:\n" + testsupport::ReadFileText(dir_ + "/serve.log") + "\napiserver log:\n" +
           testsupport::ReadFileText(dir_ + "/apiserver.log");
  }

  struct Reply {
    int code = 0;
    std::string body;
  };

  // curl against the secure port with extra arguments (certificates, headers).
  Reply Curl(const std::vector<std::string>& args, const std::string& path) {
    const std::string body_file = dir_ + "/body.out";
    std::string cmd =
        "curl -sS -k --max-time 10 -o " + ShellQuote(body_file) + " -w '%{http_code}'";
    for (const std::string& a : args) cmd += " " + ShellQuote(a);
    cmd += " " + ShellQuote("https://127.0.0.1:" + std::to_string(secure_port_) + path);
    RunResult r = testsupport::RunShell(cmd, dir_);
    Reply reply;
    reply.code = std::atoi(r.out.c_str());
    reply.body = testsupport::ReadFileText(body_file);
    return reply;
  }

  // As the aggregator forwards a request: its front-proxy certificate and the user's identity
  // in X-Remote-* headers.
  std::vector<std::string> AsAggregator(const std::string& user, const std::string& group,
                                        const std::string& cert = "front-proxy-client") {
    return {"--cert", cluster_->cert_dir() + "/" + cert + ".crt",
            "--key",  cluster_->cert_dir() + "/" + cert + ".key",
            "-H",     "X-Remote-User: " + user,
            "-H",     "X-Remote-Group: " + group,
            "-H",     "X-Remote-Extra-Scopes: a%2Fb"};
  }

  // The values of a custom metrics answer by object name; empty on any error.
  std::map<std::string, double> Values(const std::string& path) {
    std::map<std::string, double> out;
    Reply r = Curl(AsAggregator(kHpaUser, "system:serviceaccounts"), path);
    if (r.code != 200) return out;
    json::value doc = json::parse(r.body);
    for (const json::value& item : doc.at("items").as_array()) {
      out[std::string(item.at("describedObject").at("name").as_string())] =
          Quantity(item.at("value"));
    }
    return out;
  }

  static double Quantity(const json::value& v) {
    std::string q(v.as_string());
    if (!q.empty() && q.back() == 'm') return std::stod(q.substr(0, q.size() - 1)) / 1000;
    if (!q.empty() && q.back() == 'k') return std::stod(q.substr(0, q.size() - 1)) * 1000;
    return std::stod(q);
  }

  // The names of the active scrape targets' pods (plain listener's /api/v1/targets).
  std::set<std::string> TargetPods() {
    std::set<std::string> out;
    testsupport::HttpResult r = testsupport::HttpGet(http_port_, "/api/v1/targets");
    if (r.status != 200) return out;
    json::value doc = json::parse(r.body);
    for (const json::value& t : doc.at("data").at("activeTargets").as_array()) {
      const json::object& labels = t.at("labels").as_object();
      if (const json::value* pod = labels.if_contains("pod"))
        out.insert(std::string(pod->as_string()));
    }
    return out;
  }

  // Polls until pred holds (true) or timeout passes (false).
  template <typename Pred>
  static bool Eventually(Pred pred, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred()) return true;
      std::this_thread::sleep_for(50ms);
    }
    return pred();
  }

  std::string binary_, dir_;
  int http_port_ = 0;
  int secure_port_ = 0;
  std::unique_ptr<testsupport::SampleApps> apps_;
  std::unique_ptr<testsupport::FakeApiServer> cluster_;
  std::unique_ptr<ChildProcess> serve_;
};

TEST_F(ClusterTest, AggregatorCertificatesTokensAndSubjectAccessReviews) {
  const std::string pods = std::string(kCustom) + "/namespaces/default/pods/*/http_requests";
  // The aggregator for an allowed user.
  Reply allowed = Curl(AsAggregator(kHpaUser, "system:serviceaccounts"), kCustom);
  EXPECT_EQ(allowed.code, 200) << allowed.body << Log();
  EXPECT_THAT(allowed.body, HasSubstr(R"("kind":"APIResourceList")"));
  // ... and for a user the policy does not allow.
  Reply denied = Curl(AsAggregator("mallory", "others"), pods);
  EXPECT_EQ(denied.code, 403) << denied.body;
  EXPECT_THAT(denied.body, HasSubstr(R"("reason":"Forbidden")"));
  EXPECT_THAT(denied.body, HasSubstr("mallory"));
  // No credentials, a certificate of another CA, a front-proxy name not allowed: 401.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{},
        AsAggregator(kHpaUser, "system:serviceaccounts", "rogue-client"),
        AsAggregator(kHpaUser, "system:serviceaccounts", "front-proxy-other")}) {
    Reply r = Curl(args, pods);
    EXPECT_EQ(r.code, 401) << r.body;
    EXPECT_THAT(r.body, HasSubstr(R"("reason":"Unauthorized")"));
  }
  // Health endpoints need nothing.
  EXPECT_EQ(Curl({}, "/livez").code, 200);

  // A bearer token goes through TokenReview, then SubjectAccessReview with jane's groups.
  ASSERT_EQ(cluster_->Control("DELETE", "/fake/requests").status, 200);
  Reply jane = Curl({"-H", "Authorization: Bearer jane-token"}, pods);
  EXPECT_NE(jane.code, 401) << jane.body;
  EXPECT_NE(jane.code, 403) << jane.body;
  EXPECT_EQ(Curl({"-H", "Authorization: Bearer mallory-token"}, pods).code, 403);
  EXPECT_EQ(Curl({"-H", "Authorization: Bearer no-such-token"}, pods).code, 401);
  // An x509 user of the cluster CA (--client-ca-file from the ConfigMap): CN jane, O devs.
  Reply x509 = Curl({"--cert", cluster_->cert_dir() + "/user-client.crt", "--key",
                     cluster_->cert_dir() + "/user-client.key"},
                    pods);
  EXPECT_NE(x509.code, 401) << x509.body;
  EXPECT_NE(x509.code, 403) << x509.body;

  json::value log = json::parse(cluster_->Control("GET", "/fake/requests").body);
  int token_reviews = 0;
  bool saw_jane_review = false;
  for (const json::value& entry : log.as_array()) {
    const std::string path(entry.at("path").as_string());
    if (path == "/apis/authentication.k8s.io/v1/tokenreviews") ++token_reviews;
    if (path != "/apis/authorization.k8s.io/v1/subjectaccessreviews") continue;
    const json::object& spec = entry.at("body").at("spec").as_object();
    if (spec.at("user").as_string() != "jane") continue;
    saw_jane_review = true;
    const json::object& attrs = spec.at("resourceAttributes").as_object();
    EXPECT_EQ(attrs.at("group").as_string(), "custom.metrics.k8s.io");
    EXPECT_EQ(attrs.at("version").as_string(), "v1beta1");
    EXPECT_EQ(attrs.at("resource").as_string(), "pods");
    EXPECT_EQ(attrs.at("subresource").as_string(), "http_requests");
    EXPECT_EQ(attrs.at("name").as_string(), "*");
    EXPECT_EQ(attrs.at("namespace").as_string(), "default");
    EXPECT_EQ(attrs.at("verb").as_string(), "get");
    bool devs = false;
    for (const json::value& g : spec.at("groups").as_array()) devs |= g.as_string() == "devs";
    EXPECT_TRUE(devs) << json::serialize(spec);
  }
  // Three different tokens, each reviewed once (answers are cached).
  EXPECT_EQ(token_reviews, 3) << json::serialize(log);
  EXPECT_TRUE(saw_jane_review) << json::serialize(log);

  // The API server changes the front-proxy settings in its ConfigMap: the watch applies them
  // (the cached allow of the first request does not matter: authentication comes first).
  json::value configmaps = json::parse(
      cluster_->Control("GET", "/fake/objects?apiVersion=v1&kind=ConfigMap&namespace=kube-system")
          .body);
  json::object auth_configmap;
  for (const json::value& cm : configmaps.at("items").as_array()) {
    if (cm.at("metadata").at("name").as_string() == "extension-apiserver-authentication") {
      auth_configmap = cm.as_object();
    }
  }
  ASSERT_FALSE(auth_configmap.empty()) << json::serialize(configmaps);
  auth_configmap["apiVersion"] = "v1";
  auth_configmap["kind"] = "ConfigMap";
  auth_configmap["data"].as_object()["requestheader-allowed-names"] = R"(["someone-else"])";
  ASSERT_TRUE(cluster_->Apply(json::serialize(auth_configmap)));
  EXPECT_TRUE(Eventually(
      [&] {
        return Curl(AsAggregator(kHpaUser, "system:serviceaccounts"), kCustom).code == 401 &&
               Curl(AsAggregator(kHpaUser, "system:serviceaccounts", "front-proxy-other"), kCustom)
                       .code == 200;
      },
      3s))
      << Log();
}

TEST_F(ClusterTest, PodsFollowWatchEventsInTargetsAndWildcardAnswers) {
  const std::string gauge =
      std::string(kCustom) + "/namespaces/default/pods/*/queue_depth?labelSelector=app%3Dsample";
  ASSERT_TRUE(Eventually(
      [&] {
        std::map<std::string, double> v = Values(gauge);
        return v.count("sample-a") == 1 && v.count("sample-b") == 1;
      },
      20s))
      << Log();
  EXPECT_EQ(TargetPods(), (std::set<std::string>{"sample-a", "sample-b"}));

  // Answers come from the caches: no LIST of pods per request.
  auto pod_lists = [&] {
    json::value log = json::parse(cluster_->Control("GET", "/fake/requests").body);
    int n = 0;
    for (const json::value& e : log.as_array()) {
      if (e.at("method").as_string() == "GET" && e.at("path").as_string() == "/api/v1/pods" &&
          !e.as_object().contains("watch")) {
        ++n;
      }
    }
    return n;
  };
  const int lists_before = pod_lists();
  for (int i = 0; i < 5; ++i) Values(gauge);
  EXPECT_EQ(pod_lists(), lists_before);

  // A new pod: a scrape target within a second, then in the answers.
  ASSERT_TRUE(cluster_->Apply(PodJson("sample-c", "sample", apps_->port(2))));
  EXPECT_TRUE(Eventually([&] { return TargetPods().count("sample-c") == 1; }, 1000ms)) << Log();
  EXPECT_TRUE(Eventually([&] { return Values(gauge).count("sample-c") == 1; }, 5s)) << Log();

  // A label change takes the pod out of the selector's answer within a second.
  ASSERT_TRUE(cluster_->Apply(PodJson("sample-a", "other", apps_->port(0))));
  EXPECT_TRUE(Eventually([&] { return Values(gauge).count("sample-a") == 0; }, 1000ms)) << Log();
  EXPECT_EQ(Values(gauge).count("sample-b"), 1u);

  // A deleted pod leaves the answers and the targets.
  ASSERT_TRUE(cluster_->Delete("v1", "Pod", "default", "sample-b"));
  EXPECT_TRUE(Eventually([&] { return Values(gauge).count("sample-b") == 0; }, 1000ms)) << Log();
  EXPECT_TRUE(Eventually([&] { return TargetPods().count("sample-b") == 0; }, 1000ms)) << Log();

  // Dropped watches recover: a change after the drop still arrives.
  ASSERT_EQ(cluster_->Control("POST", "/fake/drop-watches").status, 200);
  ASSERT_TRUE(cluster_->Apply(PodJson("sample-a", "sample", apps_->port(0))));
  EXPECT_TRUE(Eventually([&] { return Values(gauge).count("sample-a") == 1; }, 10s)) << Log();
}

TEST_F(ClusterTest, HpaDecisionsFromPodsObjectAndExternalMetrics) {
  // The scale target's pods as the HPA controller lists them: app=sample, ready.
  const std::vector<std::string> pods = {"sample-a", "sample-b", "sample-idle"};
  const int current = 3;
  const std::string rates =
      std::string(kCustom) + "/namespaces/default/pods/*/http_requests?labelSelector=app%3Dsample";
  // Wait until both rates are measured over full windows (2 and 3 requests per second).
  std::map<std::string, double> values;
  ASSERT_TRUE(Eventually(
      [&] {
        values = Values(rates);
        return values.size() == 2 && std::abs(values["sample-a"] - 2) < 0.2 &&
               std::abs(values["sample-b"] - 3) < 0.3;
      },
      30s))
      << Log();
  EXPECT_EQ(values.count("sample-idle"), 0u);
  // Pods metric, target averageValue 769m: (2 + 3 + 0 for the missing pod) / 0.769 = 6.5.
  EXPECT_EQ(PodsReplicas(values, pods, 0.769, current), 7);

  // Object metric: the namespace's request rate, target value 2: 5 / 2 x 3 pods = 7.5.
  std::map<std::string, double> ns =
      Values(std::string(kCustom) + "/namespaces/default/metrics/http_requests");
  ASSERT_EQ(ns.count("default"), 1u) << Log();
  EXPECT_EQ(ValueReplicas(ns["default"], 2, 3, current), 8) << ns["default"];

  // External metric: queue_depth of queue "jobs" summed over both apps (30 + 30).
  Reply external = Curl(AsAggregator(kHpaUser, "system:serviceaccounts"),
                        "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth"
                        "?labelSelector=queue%3Djobs");
  ASSERT_EQ(external.code, 200) << external.body << Log();
  double total = 0;
  const json::value external_doc = json::parse(external.body);
  for (const json::value& item : external_doc.at("items").as_array()) {
    total += Quantity(item.at("value"));
  }
  EXPECT_EQ(total, 60);
  EXPECT_EQ(ValueReplicas(total, 20, 3, current), 9);        // ratio 3
  EXPECT_EQ(ValueReplicas(total, 58, 3, current), current);  // within the tolerance
}

}  // namespace
