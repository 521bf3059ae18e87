// KubernetesTargetProvider: updates on changes of the objects and of what they refer to,
// namespaces and selectors, unsupported settings, and Prometheus' relabelling recipes applied to
// the discovered targets.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "adapter/discovery/kubernetes_provider.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scrape/config.h"
#include "scrape/target_labels.h"
#include "tests/discovery/fixtures.h"
#include "tests/support/kubernetes_recipes.h"

namespace discovery {
namespace {

using discovery_test::FakeStores;
using discovery_test::Recorder;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::vector<std::string> Sources(const std::vector<scrape::TargetGroup>& groups) {
  std::vector<std::string> out;
  for (const auto& g : groups) out.push_back(g.source);
  return out;
}

std::string PodJson(const std::string& ns, const std::string& name, const std::string& ip,
                    const std::string& labels = "{}", const std::string& node = "n1",
                    const std::string& phase = "Running") {
  return R"({"kind": "Pod", "metadata": {"name": ")" + name + R"(", "namespace": ")" + ns +
         R"(", "labels": )" + labels + R"(}, "spec": {"nodeName": ")" + node +
         R"(", "containers": [{"name": "c", "ports": [{"containerPort": 8080}]}]},
         "status": {"phase": ")" +
         phase + R"(", "podIP": ")" + ip + R"("}})";
}

scrape::KubernetesSDConfig Config(scrape::KubernetesRole role) {
  scrape::KubernetesSDConfig c;
  c.role = role;
  return c;
}

class DiscoveryProviderTest : public testing::Test {
 protected:
  std::unique_ptr<scrape::TargetSubscription> Subscribe(const scrape::KubernetesSDConfig& config) {
    auto sub = provider_.Subscribe(config, recorder_.Fn());
    EXPECT_TRUE(sub.ok()) << sub.status();
    return sub.ok() ? std::move(*sub) : nullptr;
  }

  FakeStores stores_;
  KubernetesTargetProviderOptions options_;
  KubernetesTargetProvider provider_{&stores_, options_};
  Recorder recorder_;
};

TEST_F(DiscoveryProviderTest, PodAddModifyDelete) {
  auto sub = Subscribe(Config(scrape::KubernetesRole::kPod));
  ASSERT_EQ(recorder_.count(), 1u);  // the initial (empty) list
  EXPECT_THAT(recorder_.last(), IsEmpty());

  stores_.Upsert("pods", PodJson("a", "p1", "10.0.0.1"));
  ASSERT_EQ(recorder_.count(), 2u);
  EXPECT_THAT(Sources(recorder_.last()), ElementsAre("pod/a/p1"));
  EXPECT_EQ(recorder_.last()[0].targets[0].Get("__address__"), "10.0.0.1:8080");

  stores_.Upsert("pods", PodJson("b", "p2", "10.0.0.2"));
  EXPECT_THAT(Sources(recorder_.last()), ElementsAre("pod/a/p1", "pod/b/p2"));

  // Modified: new IP.
  stores_.Upsert("pods", PodJson("a", "p1", "10.0.0.9"));
  EXPECT_EQ(recorder_.Group("pod/a/p1").targets[0].Get("__address__"), "10.0.0.9:8080");

  // A change that changes no label sends nothing.
  const size_t before = recorder_.count();
  std::string same = PodJson("a", "p1", "10.0.0.9");
  same.replace(same.find("\"kind\""), 6, "\"spare\": 1, \"kind\"");
  stores_.Upsert("pods", same);
  EXPECT_EQ(recorder_.count(), before);

  stores_.Delete("pods", "a/p1");
  EXPECT_THAT(Sources(recorder_.last()), ElementsAre("pod/b/p2"));

  // After the subscription ends, nothing is sent.
  sub.reset();
  const size_t after = recorder_.count();
  stores_.Upsert("pods", PodJson("a", "p3", "10.0.0.3"));
  EXPECT_EQ(recorder_.count(), after);
}

TEST_F(DiscoveryProviderTest, EndpointsFollowTheirPodsAndService) {
  stores_.Upsert("endpoints", discovery_test::kEndpointsWeb);
  auto sub = Subscribe(Config(scrape::KubernetesRole::kEndpoints));
  scrape::TargetGroup g = recorder_.Group("endpoints/default/web");
  ASSERT_EQ(g.targets.size(), 2u);
  EXPECT_FALSE(g.targets[0].Has("__meta_kubernetes_pod_name"));
  EXPECT_FALSE(g.labels.Has("__meta_kubernetes_service_name"));

  // The pod arrives after its endpoints: the group gets its labels and uncovered ports.
  stores_.Upsert("pods", discovery_test::kPodWeb1);
  g = recorder_.Group("endpoints/default/web");
  ASSERT_EQ(g.targets.size(), 3u);
  EXPECT_EQ(g.targets[0].Get("__meta_kubernetes_pod_name"), "web-1");
  EXPECT_EQ(g.targets[2].Get("__address__"), "10.0.0.5:9102");

  // The service arrives, then changes, then goes.
  stores_.Upsert("services", discovery_test::kServiceWeb);
  EXPECT_EQ(recorder_.Group("endpoints/default/web").labels.Get("__meta_kubernetes_service_name"),
            "web");
  std::string relabelled = discovery_test::kServiceWeb;
  relabelled.replace(relabelled.find("\"app\": \"web\""), 12, "\"app\": \"www\"");
  stores_.Upsert("services", relabelled);
  EXPECT_EQ(
      recorder_.Group("endpoints/default/web").labels.Get("__meta_kubernetes_service_label_app"),
      "www");
  stores_.Delete("services", "default/web");
  EXPECT_FALSE(
      recorder_.Group("endpoints/default/web").labels.Has("__meta_kubernetes_service_name"));

  // An unrelated service changes nothing.
  const size_t before = recorder_.count();
  stores_.Upsert("services", R"({"kind": "Service", "metadata": {"name": "other",
      "namespace": "default"}, "spec": {"ports": [{"port": 1}]}})");
  EXPECT_EQ(recorder_.count(), before);

  stores_.Delete("endpoints", "default/web");
  EXPECT_THAT(recorder_.last(), IsEmpty());
}

TEST_F(DiscoveryProviderTest, EndpointSliceFollowsItsService) {
  stores_.Upsert("pods", discovery_test::kPodWeb1);
  stores_.Upsert("endpointslices", discovery_test::kSliceWeb);
  auto sub = Subscribe(Config(scrape::KubernetesRole::kEndpointSlice));
  EXPECT_FALSE(recorder_.Group("endpointslice/default/web-abcde")
                   .labels.Has("__meta_kubernetes_service_name"));
  stores_.Upsert("services", discovery_test::kServiceWeb);
  EXPECT_EQ(recorder_.Group("endpointslice/default/web-abcde")
                .labels.Get("__meta_kubernetes_service_name"),
            "web");
  stores_.Delete("pods", "default/web-1");
  scrape::TargetGroup g = recorder_.Group("endpointslice/default/web-abcde");
  ASSERT_EQ(g.targets.size(), 2u);
  EXPECT_FALSE(g.targets[0].Has("__meta_kubernetes_pod_name"));
}

TEST_F(DiscoveryProviderTest, Namespaces) {
  stores_.Upsert("pods", PodJson("a", "p1", "10.0.0.1"));
  stores_.Upsert("pods", PodJson("b", "p2", "10.0.0.2"));
  stores_.Upsert("pods", PodJson("c", "p3", "10.0.0.3"));
  scrape::KubernetesSDConfig config = Config(scrape::KubernetesRole::kPod);
  config.namespaces = {"a", "c"};
  auto sub = Subscribe(config);
  EXPECT_THAT(Sources(recorder_.last()), ElementsAre("pod/a/p1", "pod/c/p3"));
  // A pod in a namespace outside the list sends nothing.
  const size_t before = recorder_.count();
  stores_.Upsert("pods", PodJson("b", "p4", "10.0.0.4"));
  EXPECT_EQ(recorder_.count(), before);
}

TEST_F(DiscoveryProviderTest, OwnNamespace) {
  const std::string file = ::testing::TempDir() + "/ns_" + std::to_string(getpid());
  std::ofstream(file) << "b\n";
  KubernetesTargetProviderOptions options;
  options.namespace_file = file;
  KubernetesTargetProvider provider(&stores_, options);
  stores_.Upsert("pods", PodJson("a", "p1", "10.0.0.1"));
  stores_.Upsert("pods", PodJson("b", "p2", "10.0.0.2"));
  stores_.Upsert("pods", PodJson("c", "p3", "10.0.0.3"));
  scrape::KubernetesSDConfig config = Config(scrape::KubernetesRole::kPod);
  config.own_namespace = true;
  auto sub = provider.Subscribe(config, recorder_.Fn());
  ASSERT_TRUE(sub.ok()) << sub.status();
  EXPECT_THAT(Sources(recorder_.last()), ElementsAre("pod/b/p2"));
  config.namespaces = {"c"};
  Recorder both;
  auto sub2 = provider.Subscribe(config, both.Fn());
  ASSERT_TRUE(sub2.ok());
  EXPECT_THAT(Sources(both.last()), ElementsAre("pod/b/p2", "pod/c/p3"));
  std::remove(file.c_str());

  options.namespace_file = file + ".missing";
  KubernetesTargetProvider missing(&stores_, options);
  auto failed = missing.Subscribe(config, recorder_.Fn());
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(std::string(failed.status().message()), HasSubstr("own_namespace"));
}

TEST_F(DiscoveryProviderTest, LabelAndFieldSelectors) {
  stores_.Upsert("pods", PodJson("a", "web-1", "10.0.0.1", R"({"app": "web"})", "n1"));
  stores_.Upsert("pods", PodJson("a", "web-2", "10.0.0.2", R"({"app": "web"})", "n2"));
  stores_.Upsert("pods", PodJson("a", "db-1", "10.0.0.3", R"({"app": "db"})", "n1"));
  stores_.Upsert("pods", PodJson("b", "web-3", "10.0.0.4", R"({"app": "web"})", "n1", "Failed"));
  scrape::KubernetesSDConfig config = Config(scrape::KubernetesRole::kPod);
  scrape::KubernetesSelector s;
  s.role = scrape::KubernetesRole::kPod;
  s.label = "app in (web)";
  s.fields = {{"spec.nodeName", true, "n1"}, {"status.phase", false, "Failed"}};
  config.selectors = {s};
  auto sub = Subscribe(config);
  EXPECT_THAT(Sources(recorder_.last()), ElementsAre("pod/a/web-1"));

  // A pod whose labels stop matching leaves the list.
  stores_.Upsert("pods", PodJson("a", "web-1", "10.0.0.1", R"({"app": "old"})", "n1"));
  EXPECT_THAT(recorder_.last(), IsEmpty());

  Recorder by_name;
  config.selectors[0] = {scrape::KubernetesRole::kPod, "", "", {{"metadata.name", true, "db-1"}}};
  auto sub2 = provider_.Subscribe(config, by_name.Fn());
  ASSERT_TRUE(sub2.ok());
  EXPECT_THAT(Sources(by_name.last()), ElementsAre("pod/a/db-1"));
  Recorder by_ns;
  config.selectors[0] = {
      scrape::KubernetesRole::kPod, "", "", {{"metadata.namespace", false, "a"}}};
  auto sub3 = provider_.Subscribe(config, by_ns.Fn());
  ASSERT_TRUE(sub3.ok());
  EXPECT_THAT(Sources(by_ns.last()), ElementsAre("pod/b/web-3"));
}

TEST_F(DiscoveryProviderTest, SelectorsOfOtherRoles) {
  stores_.Upsert("pods", discovery_test::kPodWeb1);
  stores_.Upsert("services", discovery_test::kServiceWeb);
  stores_.Upsert("endpoints", discovery_test::kEndpointsWeb);
  scrape::KubernetesSDConfig config = Config(scrape::KubernetesRole::kEndpoints);
  // Pods labelled app=db only: web-1 is not resolved; the service is excluded.
  config.selectors = {
      {scrape::KubernetesRole::kPod, "app=db", "", {}},
      {scrape::KubernetesRole::kService, "", "", {{"metadata.name", false, "web"}}}};
  auto sub = Subscribe(config);
  scrape::TargetGroup g = recorder_.Group("endpoints/default/web");
  ASSERT_EQ(g.targets.size(), 2u);
  EXPECT_FALSE(g.targets[0].Has("__meta_kubernetes_pod_name"));
  EXPECT_FALSE(g.labels.Has("__meta_kubernetes_service_name"));
  // An endpoints selector filters the endpoints themselves.
  config.selectors = {{scrape::KubernetesRole::kEndpoints, "app!=web", "", {}}};
  Recorder none;
  auto sub2 = provider_.Subscribe(config, none.Fn());
  ASSERT_TRUE(sub2.ok());
  EXPECT_EQ(none.count(), 1u);
  EXPECT_THAT(none.last(), IsEmpty());
}

TEST_F(DiscoveryProviderTest, UnsupportedSettingsFail) {
  scrape::KubernetesSDConfig config = Config(scrape::KubernetesRole::kService);
  config.selectors = {{scrape::KubernetesRole::kService,
                       "",
                       "spec.clusterIP=None",
                       {{"spec.clusterIP", true, "None"}}}};
  auto sub = provider_.Subscribe(config, recorder_.Fn());
  ASSERT_FALSE(sub.ok());
  EXPECT_THAT(std::string(sub.status().message()),
              HasSubstr("field \"spec.clusterIP\" is not supported"));
  config.selectors.clear();
  config.api_server = "https://elsewhere:6443";
  sub = provider_.Subscribe(config, recorder_.Fn());
  ASSERT_FALSE(sub.ok());
  EXPECT_EQ(sub.status().code(), absl::StatusCode::kUnimplemented);
  config.api_server.clear();
  config.kubeconfig_file = "/k";
  EXPECT_FALSE(provider_.Subscribe(config, recorder_.Fn()).ok());
  EXPECT_EQ(recorder_.count(), 0u);
}

TEST_F(DiscoveryProviderTest, UndecodableObjectsAreLeftOutAndLogged) {
  std::vector<std::string> logged;
  KubernetesTargetProviderOptions options;
  options.log = [&](std::string_view m) { logged.emplace_back(m); };
  KubernetesTargetProvider provider(&stores_, options);
  stores_.Upsert("pods", R"({"kind": "Pod", "metadata": {"name": "bad", "namespace": "a"},
      "status": {"podIP": 5}})");
  stores_.Upsert("pods", PodJson("a", "good", "10.0.0.1"));
  auto sub = provider.Subscribe(Config(scrape::KubernetesRole::kPod), recorder_.Fn());
  ASSERT_TRUE(sub.ok());
  EXPECT_THAT(Sources(recorder_.last()), ElementsAre("pod/a/good"));
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_THAT(logged[0], HasSubstr("Pod a/bad: status.podIP: expected a string"));
}

// Applies a job's relabelling to discovered groups, as the scrape manager does; returns the
// kept targets' final labels.
std::vector<tsdb::Labels> Scraped(const std::string& job_yaml,
                                  const std::vector<scrape::TargetGroup>& groups) {
  absl::StatusOr<scrape::Config> c = scrape::LoadConfigString(job_yaml, "recipe.yml");
  EXPECT_TRUE(c.ok()) << c.status();
  if (!c.ok()) return {};
  std::vector<tsdb::Labels> out;
  std::vector<std::string> errors;
  for (const scrape::TargetGroup& g : groups) {
    for (scrape::PopulatedTarget& t : scrape::TargetsFromGroup(g, c->scrape_configs[0], &errors)) {
      if (!t.dropped)
        out.push_back(t.labels.Without("__scrape_interval__").Without("__scrape_timeout__"));
    }
  }
  EXPECT_THAT(errors, IsEmpty());
  return out;
}

TEST_F(DiscoveryProviderTest, PrometheusPodRecipe) {
  stores_.Upsert("pods", discovery_test::kPodWeb1);   // annotated
  stores_.Upsert("pods", discovery_test::kPodOther);  // not annotated: dropped
  auto sub = Subscribe(Config(scrape::KubernetesRole::kPod));
  std::vector<tsdb::Labels> targets = Scraped(testsupport::kPodScrapeRecipe, recorder_.last());
  // Every container target of web-1 ends up at the annotated port and path (the manager scrapes
  // identical targets once).
  ASSERT_EQ(targets.size(), 4u);
  const tsdb::Labels want = discovery_test::L({{"__address__", "10.0.0.5:9102"},
                                               {"__metrics_path__", "/custom"},
                                               {"__scheme__", "http"},
                                               {"job", "kubernetes-pods"},
                                               {"instance", "10.0.0.5:9102"},
                                               {"app", "web"},
                                               {"app_kubernetes_io_name", "web"},
                                               {"namespace", "default"},
                                               {"pod", "web-1"}});
  for (const tsdb::Labels& t : targets) EXPECT_EQ(t, want) << t.ToString();
  EXPECT_EQ(scrape::TargetScrapeURL(targets[0], scrape::ScrapeConfig{}),
            "http://10.0.0.5:9102/custom");
}

// Prometheus' example "kubernetes-service-endpoints" style recipe: services annotated
// prometheus.io/scrape, scheme and port from annotations, targets from the endpoints role.
constexpr char kServiceEndpointsRecipe[] = R"(
scrape_configs:
  - job_name: "kubernetes-service-endpoints"
    kubernetes_sd_configs:
      - role: endpoints
    relabel_configs:
      - source_labels: [__meta_kubernetes_service_annotation_prometheus_io_scrape]
        action: keep
        regex: true
      - source_labels: [__meta_kubernetes_service_annotation_prometheus_io_scheme]
        action: replace
        target_label: __scheme__
        regex: (https?)
      - source_labels: [__meta_kubernetes_service_annotation_prometheus_io_path]
        action: replace
        target_label: __metrics_path__
        regex: (.+)
      - source_labels: [__address__, __meta_kubernetes_service_annotation_prometheus_io_port]
        action: replace
        target_label: __address__
        regex: ([^:]+)(?::\d+)?;(\d+)
        replacement: $1:$2
      - action: labelmap
        regex: __meta_kubernetes_service_label_(.+)
      - source_labels: [__meta_kubernetes_namespace]
        action: replace
        target_label: namespace
      - source_labels: [__meta_kubernetes_service_name]
        action: replace
        target_label: service
      - source_labels: [__meta_kubernetes_endpoint_ready]
        action: keep
        regex: true
)";

TEST_F(DiscoveryProviderTest, ServiceEndpointsRecipe) {
  stores_.Upsert("pods", discovery_test::kPodWeb1);
  stores_.Upsert("services", discovery_test::kServiceWeb);
  stores_.Upsert("endpoints", discovery_test::kEndpointsWeb);
  auto sub = Subscribe(Config(scrape::KubernetesRole::kEndpoints));
  std::vector<tsdb::Labels> targets = Scraped(kServiceEndpointsRecipe, recorder_.last());
  // The ready address on the service port; the not-ready one is dropped. The pod's uncovered
  // port has no endpoint_ready label and is dropped by the last rule.
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0], discovery_test::L({{"__address__", "10.0.0.5:8080"},
                                           {"__metrics_path__", "/metrics"},
                                           {"__scheme__", "http"},
                                           {"job", "kubernetes-service-endpoints"},
                                           {"instance", "10.0.0.5:8080"},
                                           {"app", "web"},
                                           {"namespace", "default"},
                                           {"service", "web"}}))
      << targets[0].ToString();
}

}  // namespace
}  // namespace discovery
