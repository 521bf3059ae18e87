// The Kubernetes metrics APIs over a real embedded storage and real rules: discovery, every path
// form, both custom metrics versions, external and resource metrics, errors and explain.
#include "adapter/apiserver/metrics_api.h"

#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapter/apiserver/backend.h"
#include "adapter/apiserver/explain.h"
#include "adapter/k8s/resources.h"
#include "adapter/rules/config.h"
#include "adapter/rules/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/adapter/metrics_api_rules.h"
#include "tests/support/process.h"
#include "tsdb/db.h"

namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kNow = 1'700'000'000'000;  // 2023-11-14T22:13:20Z

constexpr const char* kRules = testsupport::kMetricsApiRules;

class MetricsApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testsupport::MakeTempDir("ma-metrics-api-unit");
    ASSERT_FALSE(dir_.empty());
    tsdb::DBOptions options;
    options.retention_ms = int64_t{100} * 24 * 3600 * 1000;
    auto db = tsdb::DB::Open(dir_, options);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);

    // Ten minutes of samples every 15 s up to kNow.
    auto series = [&](tsdb::Labels labels, double start, double per_second) {
      std::unique_ptr<tsdb::Appender> app = db_->NewAppender();
      for (int64_t t = kNow - 600'000; t <= kNow; t += 15'000) {
        ASSERT_TRUE(
            app->Append(0, labels, t, start + per_second * (t - kNow + 600'000) / 1000.0).ok());
      }
      ASSERT_TRUE(app->Commit().ok());
    };
    series({{"__name__", "http_requests_total"},
            {"namespace", "ns1"},
            {"pod", "p1"},
            {"method", "get"}},
           0, 1);
    series({{"__name__", "http_requests_total"},
            {"namespace", "ns1"},
            {"pod", "p2"},
            {"method", "get"}},
           0, 0.5);
    series({{"__name__", "http_requests_total"},
            {"namespace", "ns2"},
            {"pod", "p3"},
            {"method", "post"}},
           0, 2);
    series({{"__name__", "gauge_bad"}, {"namespace", "ns1"}, {"pod", "p1"}}, NAN, 0);
    series({{"__name__", "gauge_bad"}, {"namespace", "ns1"}, {"pod", "p2"}}, 3, 0);
    series({{"__name__", "gauge_replicas"}, {"namespace", "ns1"}, {"deployment", "web"}}, 4, 0);
    series({{"__name__", "node_temp"}, {"node", "n1"}}, 41.5, 0);
    series({{"__name__", "queue_depth"}, {"queue", "a"}, {"namespace", "ns9"}}, 7, 0);
    series({{"__name__", "queue_depth"}, {"queue", "b"}}, 5, 0);
    series({{"__name__", "cpu_seconds_total"},
            {"namespace", "ns1"},
            {"pod", "p1"},
            {"container", "app"},
            {"node", "n1"}},
           0, 0.25);
    series({{"__name__", "cpu_seconds_total"},
            {"namespace", "ns1"},
            {"pod", "p1"},
            {"container", "side"},
            {"node", "n1"}},
           0, 0.01);
    series({{"__name__", "memory_bytes"},
            {"namespace", "ns1"},
            {"pod", "p1"},
            {"container", "app"},
            {"node", "n1"}},
           3538944, 0);
    series({{"__name__", "memory_bytes"},
            {"namespace", "ns1"},
            {"pod", "p1"},
            {"container", "side"},
            {"node", "n1"}},
           1048576, 0);
    // A pod with CPU only: left out of resource metrics.
    series({{"__name__", "cpu_seconds_total"},
            {"namespace", "ns1"},
            {"pod", "p2"},
            {"container", "app"},
            {"node", "n1"}},
           0, 0.5);

    mapper_ = k8s::NewBuiltinResourceMapper();
    api_ = NewApi([](apiserver::MetricsApiOptions*) {});
  }

  // An API over the test's storage and rules; adjust changes the options first.
  std::unique_ptr<apiserver::MetricsApi> NewApi(
      const std::function<void(apiserver::MetricsApiOptions*)>& adjust) {
    apiserver::MetricsApiOptions options;
    tsdb::DB* raw = db_.get();
    options.backend = apiserver::NewEmbeddedBackend([raw] { return raw; }, {});
    options.mapper = mapper_;
    options.now_ms = [] { return kNow; };
    adjust(&options);
    auto api = std::make_unique<apiserver::MetricsApi>(std::move(options));
    auto config = rules::ParseConfig(kRules, "rules.yaml", *mapper_);
    EXPECT_TRUE(config.ok()) << config.status();
    if (!config.ok()) return api;
    auto compiled = rules::RuleSet::Create(std::move(*config), mapper_);
    EXPECT_TRUE(compiled.ok()) << compiled.status();
    if (compiled.ok()) api->SetRules(std::make_shared<const rules::RuleSet>(std::move(*compiled)));
    return api;
  }

  void TearDown() override {
    api_.reset();
    if (db_ != nullptr) (void)db_->Close();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  http::Response Get(const std::string& path_and_query) {
    http::Request r;
    r.method = "GET";
    const size_t q = path_and_query.find('?');
    r.path = path_and_query.substr(0, q);
    if (q != std::string::npos) {
      std::string query = path_and_query.substr(q + 1);
      const size_t eq = query.find('=');
      r.params.emplace_back(query.substr(0, eq), query.substr(eq + 1));
    }
    return api_->Handle(r);
  }

  std::string dir_;
  std::unique_ptr<tsdb::DB> db_;
  std::shared_ptr<const k8s::ResourceMapper> mapper_;
  std::unique_ptr<apiserver::MetricsApi> api_;
};

constexpr char kCustom[] = "/apis/custom.metrics.k8s.io/";

TEST_F(MetricsApiTest, DiscoveryDocuments) {
  http::Response groups = Get("/apis");
  EXPECT_EQ(groups.status, 200);
  EXPECT_THAT(
      groups.body,
      HasSubstr(
          R"({"kind":"APIGroupList","apiVersion":"v1","groups":[{"name":"custom.metrics.k8s.io","versions":[{"groupVersion":"custom.metrics.k8s.io/v1beta1","version":"v1beta1"},{"groupVersion":"custom.metrics.k8s.io/v1beta2","version":"v1beta2"}],"preferredVersion":{"groupVersion":"custom.metrics.k8s.io/v1beta1","version":"v1beta1"}})"));
  EXPECT_THAT(groups.body, HasSubstr(R"("name":"external.metrics.k8s.io")"));
  EXPECT_THAT(groups.body, HasSubstr(R"("name":"metrics.k8s.io")"));
  EXPECT_THAT(Get("/apis/metrics.k8s.io").body,
              HasSubstr(R"({"kind":"APIGroup","apiVersion":"v1","name":"metrics.k8s.io")"));

  http::Response list = Get(std::string(kCustom) + "v1beta2");
  EXPECT_EQ(list.status, 200);
  EXPECT_THAT(list.body, HasSubstr(R"("groupVersion":"custom.metrics.k8s.io/v1beta2")"));
  EXPECT_THAT(
      list.body,
      HasSubstr(
          R"({"name":"pods/http_requests","singularName":"","namespaced":true,"kind":"MetricValueList","verbs":["get"]})"));
  EXPECT_THAT(
      list.body,
      HasSubstr(R"({"name":"namespaces/http_requests","singularName":"","namespaced":false)"));
  EXPECT_THAT(list.body, HasSubstr(R"("name":"deployments.apps/gauge_replicas")"));
  EXPECT_THAT(list.body,
              HasSubstr(R"({"name":"nodes/node_temp","singularName":"","namespaced":false)"));
  EXPECT_THAT(
      Get("/apis/external.metrics.k8s.io/v1beta1").body,
      HasSubstr(
          R"({"name":"queue_depth","singularName":"","namespaced":true,"kind":"ExternalMetricValueList","verbs":["get"]})"));
  EXPECT_THAT(
      Get("/apis/metrics.k8s.io/v1beta1").body,
      HasSubstr(
          R"({"name":"pods","singularName":"","namespaced":true,"kind":"PodMetrics","verbs":["get","list"]})"));
  EXPECT_EQ(Get("/apis/no.such.group").status, 404);
  EXPECT_EQ(Get(std::string(kCustom) + "v2").status, 404);
}

TEST_F(MetricsApiTest, WildcardPodsV1beta1) {
  http::Response r = Get(std::string(kCustom) + "v1beta1/namespaces/ns1/pods/*/http_requests");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(
      r.body,
      R"({"kind":"MetricValueList","apiVersion":"custom.metrics.k8s.io/v1beta1","metadata":{},"items":[)"
      R"({"describedObject":{"kind":"Pod","namespace":"ns1","name":"p1","apiVersion":"/v1"},"metricName":"http_requests","timestamp":"2023-11-14T22:13:20Z","value":"1","selector":null},)"
      R"({"describedObject":{"kind":"Pod","namespace":"ns1","name":"p2","apiVersion":"/v1"},"metricName":"http_requests","timestamp":"2023-11-14T22:13:20Z","value":"500m","selector":null}]})"
      "\n");
}

TEST_F(MetricsApiTest, OneObjectV1beta2WithMetricSelector) {
  http::Response r =
      Get(std::string(kCustom) +
          "v1beta2/namespaces/ns2/pods/p3/http_requests?metricLabelSelector=method=post");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(
      r.body,
      R"({"kind":"MetricValueList","apiVersion":"custom.metrics.k8s.io/v1beta2","metadata":{},"items":[)"
      R"({"describedObject":{"kind":"Pod","namespace":"ns2","name":"p3","apiVersion":"/v1"},"metric":{"name":"http_requests","selector":{"matchLabels":{"method":"post"}}},"timestamp":"2023-11-14T22:13:20Z","value":"2"}]})"
      "\n");
  // The selector excludes the only series: the object has no sample.
  http::Response none =
      Get(std::string(kCustom) +
          "v1beta2/namespaces/ns2/pods/p3/http_requests?metricLabelSelector=method=get");
  EXPECT_EQ(none.status, 404);
  EXPECT_THAT(none.body,
              HasSubstr("the server could not find the metric http_requests for pods p3"));
  EXPECT_THAT(none.body, HasSubstr(R"("reason":"NotFound","code":404)"));
}

TEST_F(MetricsApiTest, NamespacesDeploymentsAndNodes) {
  http::Response ns = Get(std::string(kCustom) + "v1beta1/namespaces/ns1/metrics/http_requests");
  ASSERT_EQ(ns.status, 200) << ns.body;
  EXPECT_THAT(
      ns.body,
      HasSubstr(
          R"({"describedObject":{"kind":"Namespace","name":"ns1","apiVersion":"/v1"},"metricName":"http_requests")"));
  EXPECT_THAT(ns.body, HasSubstr(R"("value":"1500m")"));
  http::Response all_ns = Get(std::string(kCustom) + "v1beta1/namespaces/*/metrics/http_requests");
  EXPECT_THAT(all_ns.body, HasSubstr(R"("name":"ns2")"));

  http::Response deploy =
      Get(std::string(kCustom) + "v1beta1/namespaces/ns1/deployments.apps/web/gauge_replicas");
  ASSERT_EQ(deploy.status, 200) << deploy.body;
  EXPECT_THAT(
      deploy.body,
      HasSubstr(R"({"kind":"Deployment","namespace":"ns1","name":"web","apiVersion":"apps/v1"})"));
  EXPECT_THAT(deploy.body, HasSubstr(R"("value":"4")"));
  // The singular spelling of the resource works too.
  EXPECT_EQ(
      Get(std::string(kCustom) + "v1beta1/namespaces/ns1/deployment/web/gauge_replicas").status,
      200);

  http::Response node = Get(std::string(kCustom) + "v1beta1/nodes/n1/node_temp");
  ASSERT_EQ(node.status, 200) << node.body;
  EXPECT_THAT(node.body, HasSubstr(R"({"kind":"Node","name":"n1","apiVersion":"/v1"})"));
  EXPECT_THAT(node.body, HasSubstr(R"("value":"41500m")"));
}

TEST_F(MetricsApiTest, LabelSelectorNarrowsTheSeriesInLocalMode) {
  EXPECT_THAT(Get(std::string(kCustom) +
                  "v1beta1/namespaces/ns1/pods/*/http_requests?labelSelector=method=get")
                  .body,
              HasSubstr(R"("name":"p2")"));
  http::Response none =
      Get(std::string(kCustom) +
          "v1beta1/namespaces/ns1/pods/*/http_requests?labelSelector=method=post");
  EXPECT_EQ(none.status, 200);
  EXPECT_THAT(none.body, HasSubstr(R"("items":[]})"));
}

TEST_F(MetricsApiTest, NanValuesAreLeftOut) {
  http::Response r = Get(std::string(kCustom) + "v1beta1/namespaces/ns1/pods/*/gauge_bad");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, Not(HasSubstr(R"("name":"p1")")));
  EXPECT_THAT(
      r.body,
      HasSubstr(
          R"("name":"p2","apiVersion":"/v1"},"metricName":"gauge_bad","timestamp":"2023-11-14T22:13:20Z","value":"3")"));
  EXPECT_EQ(api_->stats().objects_dropped_bad_value.load(), 1u);
}

TEST_F(MetricsApiTest, Errors) {
  http::Response unknown = Get(std::string(kCustom) + "v1beta1/namespaces/ns1/pods/*/nope");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(
      unknown.body,
      R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server could not find the metric nope for pods","reason":"NotFound","code":404})"
      "\n");
  EXPECT_EQ(Get(std::string(kCustom) + "v1beta1/namespaces/ns1/widgets/*/http_requests").status,
            404);
  http::Response bad =
      Get(std::string(kCustom) + "v1beta1/namespaces/ns1/pods/*/http_requests?labelSelector=a in");
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr(R"("reason":"BadRequest")"));
  EXPECT_EQ(Get(std::string(kCustom) +
                "v1beta1/namespaces/ns1/pods/*/http_requests?metricLabelSelector=a>1")
                .status,
            400);
  EXPECT_EQ(Get(std::string(kCustom) + "v1beta1/pods").status, 400);
  EXPECT_EQ(Get(std::string(kCustom) + "v1beta1/a/b/c/d/e/f/g").status, 404);
  http::Request post;
  post.method = "POST";
  post.path = "/apis";
  EXPECT_EQ(api_->Handle(post).status, 405);
}

TEST_F(MetricsApiTest, ExternalMetrics) {
  http::Response r = Get("/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(
      r.body,
      R"({"kind":"ExternalMetricValueList","apiVersion":"external.metrics.k8s.io/v1beta1","metadata":{},"items":[)"
      R"({"metricName":"queue_depth","metricLabels":{"queue":"a"},"timestamp":"2023-11-14T22:13:20Z","value":"7"},)"
      R"({"metricName":"queue_depth","metricLabels":{"queue":"b"},"timestamp":"2023-11-14T22:13:20Z","value":"5"}]})"
      "\n");
  http::Response one = Get(
      "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth?labelSelector=queue=b");
  EXPECT_THAT(one.body, Not(HasSubstr(R"("queue":"a")")));
  EXPECT_THAT(one.body, HasSubstr(R"("queue":"b")"));
  EXPECT_EQ(Get("/apis/external.metrics.k8s.io/v1beta1/namespaces/default/nope").status, 404);
}

TEST_F(MetricsApiTest, ResourceMetrics) {
  http::Response pods = Get("/apis/metrics.k8s.io/v1beta1/namespaces/ns1/pods");
  ASSERT_EQ(pods.status, 200) << pods.body;
  EXPECT_EQ(
      pods.body,
      R"({"kind":"PodMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},"items":[)"
      R"({"kind":"PodMetrics","apiVersion":"metrics.k8s.io/v1beta1","metadata":{"name":"p1","namespace":"ns1","creationTimestamp":"2023-11-14T22:13:20Z"},"timestamp":"2023-11-14T22:13:20Z","window":"1m0s","containers":[)"
      R"({"name":"app","usage":{"cpu":"250m","memory":"3456Ki"}},{"name":"side","usage":{"cpu":"10m","memory":"1Mi"}}]}]})"
      "\n");
  EXPECT_EQ(
      Get("/apis/metrics.k8s.io/v1beta1/pods").body.find(R"("name":"p1","namespace":"ns1")") !=
          std::string::npos,
      true);
  http::Response p2 = Get("/apis/metrics.k8s.io/v1beta1/namespaces/ns1/pods/p2");
  EXPECT_EQ(p2.status, 404);
  EXPECT_THAT(p2.body, HasSubstr(R"(podmetrics.metrics.k8s.io \"ns1/p2\" not found)"));
  http::Response node = Get("/apis/metrics.k8s.io/v1beta1/nodes/n1");
  ASSERT_EQ(node.status, 200) << node.body;
  EXPECT_THAT(node.body, HasSubstr(R"("kind":"NodeMetrics")"));
  EXPECT_THAT(node.body, HasSubstr(R"("usage":{"cpu":"760m","memory":"4480Ki"})"));
}

TEST_F(MetricsApiTest, DiscoveryFollowsNewSeries) {
  EXPECT_EQ(Get(std::string(kCustom) + "v1beta1/namespaces/ns1/pods/*/http_errors").status, 404);
  std::unique_ptr<tsdb::Appender> app = db_->NewAppender();
  ASSERT_TRUE(app->Append(0,
                          {{"__name__", "http_errors_total"}, {"namespace", "ns1"}, {"pod", "p1"}},
                          kNow - 30'000, 1)
                  .ok());
  ASSERT_TRUE(app->Append(0,
                          {{"__name__", "http_errors_total"}, {"namespace", "ns1"}, {"pod", "p1"}},
                          kNow, 31)
                  .ok());
  ASSERT_TRUE(app->Commit().ok());
  ASSERT_TRUE(api_->Discover().ok());
  http::Response r = Get(std::string(kCustom) + "v1beta1/namespaces/ns1/pods/*/http_errors");
  EXPECT_EQ(r.status, 200) << r.body;
  // Two samples 30 s apart, 1 then 31: Prometheus' extrapolation gives 31/60 per second.
  EXPECT_THAT(r.body, HasSubstr(R"("value":"516m")"));
}

TEST_F(MetricsApiTest, ExternalMetricsCanBeLeftToAnotherProvider) {
  std::unique_ptr<apiserver::MetricsApi> owned =
      NewApi([](apiserver::MetricsApiOptions* o) { o->enable_external_metrics = false; });
  apiserver::MetricsApi& api = *owned;
  http::Request groups;
  groups.method = "GET";
  groups.path = "/apis";
  EXPECT_THAT(api.Handle(groups).body, Not(HasSubstr("external.metrics.k8s.io")));
  EXPECT_THAT(api.Handle(groups).body, HasSubstr("custom.metrics.k8s.io"));
  http::Request external = groups;
  external.path = "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth";
  EXPECT_EQ(api.Handle(external).status, 404);
}

TEST_F(MetricsApiTest, ExplainShowsRuleQueryAndSamples) {
  std::string text = apiserver::ExplainPath(
      *api_, "/apis/custom.metrics.k8s.io/v1beta1/namespaces/ns1/pods/*/gauge_bad");
  EXPECT_THAT(text, HasSubstr("rule:     rules[1]\n"));
  EXPECT_THAT(text, HasSubstr(R"(query:    sum(gauge_bad{namespace="ns1",pod!=""}) by (pod))"));
  EXPECT_THAT(text, HasSubstr(R"(samples:  {pod="p1"} NaN @1700000000.000)"));
  EXPECT_THAT(text, HasSubstr("note:     pods p1: value NaN"));
  EXPECT_THAT(text, HasSubstr("status:   200\n"));
  EXPECT_THAT(apiserver::ExplainPath(*api_, "/metrics"), HasSubstr("not a metrics API path"));
}

}  // namespace

namespace {

// Cluster mode's objects: a fixed set of pods and nodes with labels, as the informer caches
// would hold them. Records what it was asked.
class FixedObjects : public apiserver::ObjectLister {
 public:
  struct Obj {
    std::string resource;
    std::string ns;
    std::string name;
    std::map<std::string, std::string> labels;
  };
  explicit FixedObjects(std::vector<Obj> objects) : objects_(std::move(objects)) {}

  absl::StatusOr<std::vector<apiserver::ObjectRef>> List(
      const k8s::ResourceInfo& resource, std::string_view ns,
      const k8s::LabelSelector& selector) const override {
    asked.push_back(resource.group_resource.String() + " " + std::string(ns) + " " +
                    selector.String());
    std::vector<apiserver::ObjectRef> out;
    for (const Obj& o : objects_) {
      if (o.resource != resource.group_resource.resource) continue;
      if (!ns.empty() && o.ns != ns) continue;
      auto lookup = [&o](std::string_view key) -> std::optional<std::string_view> {
        auto it = o.labels.find(std::string(key));
        if (it == o.labels.end()) return std::nullopt;
        return std::string_view(it->second);
      };
      if (selector.Matches(lookup)) out.push_back({o.ns, o.name});
    }
    return out;
  }

  mutable std::vector<std::string> asked;

 private:
  std::vector<Obj> objects_;
};

}  // namespace

TEST_F(MetricsApiTest, ClusterModeReportsExistingObjectsMatchingTheirOwnLabels) {
  // p1 and p2 have samples; p2 and p4 (no samples) carry app=web; p3 is elsewhere.
  auto objects = std::make_shared<FixedObjects>(std::vector<FixedObjects::Obj>{
      {"pods", "ns1", "p1", {{"app", "api"}}},
      {"pods", "ns1", "p2", {{"app", "web"}}},
      {"pods", "ns1", "p4", {{"app", "web"}}},
      {"pods", "ns2", "p3", {{"app", "web"}}},
      {"nodes", "", "n1", {{"zone", "a"}}},
  });
  std::unique_ptr<apiserver::MetricsApi> api =
      NewApi([&](apiserver::MetricsApiOptions* o) { o->objects = objects; });
  auto get = [&](const std::string& path, const std::string& selector) {
    http::Request r;
    r.method = "GET";
    r.path = path;
    if (!selector.empty()) r.params.emplace_back("labelSelector", selector);
    return api->Handle(r);
  };
  http::Response web =
      get(std::string(kCustom) + "v1beta1/namespaces/ns1/pods/*/http_requests", "app=web");
  ASSERT_EQ(web.status, 200) << web.body;
  EXPECT_THAT(web.body, HasSubstr(R"("name":"p2")"));
  EXPECT_THAT(web.body, Not(HasSubstr(R"("name":"p1")")));
  EXPECT_THAT(web.body, Not(HasSubstr(R"("name":"p4")")));  // no samples
  EXPECT_THAT(objects->asked, ElementsAre("pods ns1 app=web"));

  // The selector is about the objects' labels, not the series': the series have no app label.
  http::Response all =
      get(std::string(kCustom) + "v1beta1/namespaces/ns1/pods/*/http_requests", "app in (api,web)");
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_THAT(all.body, HasSubstr(R"("name":"p1")"));
  EXPECT_THAT(all.body, HasSubstr(R"("name":"p2")"));

  // No object matches: nothing to report, as prometheus-adapter answers.
  EXPECT_EQ(
      get(std::string(kCustom) + "v1beta1/namespaces/ns1/pods/*/http_requests", "app=none").status,
      404);

  // Resource metrics lists: only listed objects (p1 is app=api).
  http::Response pods = get("/apis/metrics.k8s.io/v1beta1/namespaces/ns1/pods", "app=api");
  ASSERT_EQ(pods.status, 200) << pods.body;
  EXPECT_THAT(pods.body, HasSubstr(R"("name":"p1","namespace":"ns1")"));
  http::Response none = get("/apis/metrics.k8s.io/v1beta1/namespaces/ns1/pods", "app=web");
  ASSERT_EQ(none.status, 200) << none.body;
  EXPECT_THAT(none.body, HasSubstr(R"("items":[])"));
  http::Response nodes = get("/apis/metrics.k8s.io/v1beta1/nodes", "zone=a");
  ASSERT_EQ(nodes.status, 200) << nodes.body;
  EXPECT_THAT(nodes.body, HasSubstr(R"("name":"n1")"));
  EXPECT_THAT(get("/apis/metrics.k8s.io/v1beta1/nodes", "zone=b").body, HasSubstr(R"("items":[])"));
}
