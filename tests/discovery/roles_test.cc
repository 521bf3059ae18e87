// The target groups of each role, compared label for label with what Prometheus' Kubernetes
// discovery (v2.42) makes of the same objects.
#include <memory>
#include <string>
#include <vector>

#include "adapter/discovery/kubernetes_provider.h"
#include "adapter/discovery/objects.h"
#include "adapter/discovery/targets.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/discovery/fixtures.h"

namespace discovery {
namespace {

using discovery_test::FakeStores;
using discovery_test::L;
using discovery_test::Merge;
using discovery_test::PodWeb1Labels;
using discovery_test::Recorder;
using discovery_test::ServiceWebLabels;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class DiscoveryRolesTest : public testing::Test {
 protected:
  std::unique_ptr<scrape::TargetSubscription> Subscribe(scrape::KubernetesRole role,
                                                        bool attach_node = false) {
    scrape::KubernetesSDConfig config;
    config.role = role;
    config.attach_node_metadata = attach_node;
    auto sub = provider_.Subscribe(config, recorder_.Fn());
    EXPECT_TRUE(sub.ok()) << sub.status();
    return sub.ok() ? std::move(*sub) : nullptr;
  }

  FakeStores stores_;
  KubernetesTargetProvider provider_{&stores_};
  Recorder recorder_;
};

TEST_F(DiscoveryRolesTest, Pod) {
  stores_.Upsert("pods", discovery_test::kPodWeb1);
  auto sub = Subscribe(scrape::KubernetesRole::kPod);
  ASSERT_EQ(recorder_.count(), 1u);
  std::vector<scrape::TargetGroup> groups = recorder_.last();
  ASSERT_EQ(groups.size(), 1u);
  const scrape::TargetGroup& g = groups[0];
  EXPECT_EQ(g.source, "pod/default/web-1");
  EXPECT_EQ(g.labels, Merge({PodWeb1Labels(), L({{"__meta_kubernetes_namespace", "default"}})}));
  EXPECT_THAT(g.targets,
              ElementsAre(L({{"__address__", "10.0.0.5:8080"},
                             {"__meta_kubernetes_pod_container_name", "app"},
                             {"__meta_kubernetes_pod_container_image", "example/app:1"},
                             {"__meta_kubernetes_pod_container_port_name", "http"},
                             {"__meta_kubernetes_pod_container_port_number", "8080"},
                             {"__meta_kubernetes_pod_container_port_protocol", "TCP"},
                             {"__meta_kubernetes_pod_container_init", "false"}}),
                          L({{"__address__", "10.0.0.5:9102"},
                             {"__meta_kubernetes_pod_container_name", "app"},
                             {"__meta_kubernetes_pod_container_image", "example/app:1"},
                             {"__meta_kubernetes_pod_container_port_number", "9102"},
                             {"__meta_kubernetes_pod_container_port_protocol", "UDP"},
                             {"__meta_kubernetes_pod_container_init", "false"}}),
                          // No declared port: the pod IP alone.
                          L({{"__address__", "10.0.0.5"},
                             {"__meta_kubernetes_pod_container_name", "sidecar"},
                             {"__meta_kubernetes_pod_container_image", "example/sidecar:2"},
                             {"__meta_kubernetes_pod_container_init", "false"}}),
                          L({{"__address__", "10.0.0.5:7000"},
                             {"__meta_kubernetes_pod_container_name", "init"},
                             {"__meta_kubernetes_pod_container_image", "example/init:3"},
                             {"__meta_kubernetes_pod_container_port_name", "setup"},
                             {"__meta_kubernetes_pod_container_port_number", "7000"},
                             {"__meta_kubernetes_pod_container_port_protocol", "TCP"},
                             {"__meta_kubernetes_pod_container_init", "true"}})));
}

TEST_F(DiscoveryRolesTest, PodReadyPhaseAndIPv6) {
  stores_.Upsert("pods", R"({"kind": "Pod",
    "metadata": {"name": "v6", "namespace": "ns"},
    "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80}]}]},
    "status": {"phase": "Pending", "podIP": "fd00::5"}})");
  // Without an IP there is nothing to scrape: no group.
  stores_.Upsert("pods", R"({"kind": "Pod", "metadata": {"name": "new", "namespace": "ns"},
    "spec": {"containers": [{"name": "c"}]}, "status": {"phase": "Pending"}})");
  auto sub = Subscribe(scrape::KubernetesRole::kPod);
  std::vector<scrape::TargetGroup> groups = recorder_.last();
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].labels.Get("__meta_kubernetes_pod_ready"), "unknown");
  EXPECT_EQ(groups[0].labels.Get("__meta_kubernetes_pod_phase"), "Pending");
  EXPECT_FALSE(groups[0].labels.Has("__meta_kubernetes_pod_controller_kind"));
  ASSERT_EQ(groups[0].targets.size(), 1u);
  EXPECT_EQ(groups[0].targets[0].Get("__address__"), "[fd00::5]:80");
}

TEST_F(DiscoveryRolesTest, PodWithNodeMetadata) {
  stores_.Upsert("nodes", discovery_test::kNode1);
  stores_.Upsert("pods", discovery_test::kPodWeb1);
  stores_.Upsert("pods", discovery_test::kPodOther);  // on node-2, which is unknown
  auto sub = Subscribe(scrape::KubernetesRole::kPod, /*attach_node=*/true);
  const tsdb::Labels node_labels =
      L({{"__meta_kubernetes_node_name", "node-1"},
         {"__meta_kubernetes_node_label_kubernetes_io_os", "linux"},
         {"__meta_kubernetes_node_labelpresent_kubernetes_io_os", "true"},
         {"__meta_kubernetes_node_label_topology_kubernetes_io_zone", "zone-a"},
         {"__meta_kubernetes_node_labelpresent_topology_kubernetes_io_zone", "true"}});
  EXPECT_EQ(recorder_.Group("pod/default/web-1").labels,
            Merge({PodWeb1Labels(), L({{"__meta_kubernetes_namespace", "default"}}), node_labels}));
  const tsdb::Labels other = recorder_.Group("pod/data/db-0").labels;
  EXPECT_EQ(other.Get("__meta_kubernetes_pod_ready"), "false");
  EXPECT_FALSE(other.Has("__meta_kubernetes_node_name"));

  // The node changes: the pods on it are re-sent with its new labels.
  const size_t before = recorder_.count();
  std::string changed = discovery_test::kNode1;
  changed.replace(changed.find("\"linux\""), 7, "\"windows\"");
  stores_.Upsert("nodes", changed);
  EXPECT_EQ(recorder_.count(), before + 1);
  EXPECT_EQ(recorder_.Group("pod/default/web-1")
                .labels.Get("__meta_kubernetes_node_label_kubernetes_io_os"),
            "windows");
}

TEST_F(DiscoveryRolesTest, Service) {
  stores_.Upsert("services", discovery_test::kServiceWeb);
  stores_.Upsert("services", R"({"kind": "Service",
    "metadata": {"name": "ext", "namespace": "default"},
    "spec": {"type": "ExternalName", "externalName": "db.example.com",
             "ports": [{"port": 5432, "protocol": "TCP"}]}})");
  stores_.Upsert("services", R"({"kind": "Service",
    "metadata": {"name": "noports", "namespace": "default"}, "spec": {"type": "ClusterIP"}})");
  auto sub = Subscribe(scrape::KubernetesRole::kService);
  std::vector<scrape::TargetGroup> groups = recorder_.last();
  ASSERT_EQ(groups.size(), 2u);  // a service without ports has no targets
  EXPECT_EQ(groups[0].source, "svc/default/ext");
  EXPECT_EQ(groups[0].labels, L({{"__meta_kubernetes_namespace", "default"},
                                 {"__meta_kubernetes_service_name", "ext"}}));
  EXPECT_THAT(groups[0].targets,
              ElementsAre(L({{"__address__", "ext.default.svc:5432"},
                             {"__meta_kubernetes_service_port_number", "5432"},
                             {"__meta_kubernetes_service_port_protocol", "TCP"},
                             {"__meta_kubernetes_service_type", "ExternalName"},
                             {"__meta_kubernetes_service_external_name", "db.example.com"}})));
  EXPECT_EQ(groups[1].source, "svc/default/web");
  EXPECT_EQ(groups[1].labels, ServiceWebLabels());
  EXPECT_THAT(groups[1].targets,
              ElementsAre(L({{"__address__", "web.default.svc:80"},
                             {"__meta_kubernetes_service_port_name", "http"},
                             {"__meta_kubernetes_service_port_number", "80"},
                             {"__meta_kubernetes_service_port_protocol", "TCP"},
                             {"__meta_kubernetes_service_type", "ClusterIP"},
                             {"__meta_kubernetes_service_cluster_ip", "10.96.0.10"}}),
                          L({{"__address__", "web.default.svc:9102"},
                             {"__meta_kubernetes_service_port_name", "metrics"},
                             {"__meta_kubernetes_service_port_number", "9102"},
                             {"__meta_kubernetes_service_port_protocol", "TCP"},
                             {"__meta_kubernetes_service_type", "ClusterIP"},
                             {"__meta_kubernetes_service_cluster_ip", "10.96.0.10"}})));
}

tsdb::Labels ContainerLabels(const std::string& port_name, const std::string& number,
                             const std::string& protocol) {
  return L({{"__meta_kubernetes_pod_container_name", "app"},
            {"__meta_kubernetes_pod_container_image", "example/app:1"},
            {"__meta_kubernetes_pod_container_port_name", port_name},
            {"__meta_kubernetes_pod_container_port_number", number},
            {"__meta_kubernetes_pod_container_port_protocol", protocol}});
}

TEST_F(DiscoveryRolesTest, Endpoints) {
  stores_.Upsert("pods", discovery_test::kPodWeb1);
  stores_.Upsert("services", discovery_test::kServiceWeb);
  stores_.Upsert("endpoints", discovery_test::kEndpointsWeb);
  auto sub = Subscribe(scrape::KubernetesRole::kEndpoints);
  std::vector<scrape::TargetGroup> groups = recorder_.last();
  ASSERT_EQ(groups.size(), 1u);
  const scrape::TargetGroup& g = groups[0];
  EXPECT_EQ(g.source, "endpoints/default/web");
  EXPECT_EQ(g.labels, Merge({ServiceWebLabels(),
                             L({{"__meta_kubernetes_endpoints_name", "web"},
                                {"__meta_kubernetes_endpoints_label_app", "web"},
                                {"__meta_kubernetes_endpoints_labelpresent_app", "true"}})}));
  EXPECT_THAT(g.targets,
              ElementsAre(Merge({L({{"__address__", "10.0.0.5:8080"},
                                    {"__meta_kubernetes_endpoint_port_name", "http"},
                                    {"__meta_kubernetes_endpoint_port_protocol", "TCP"},
                                    {"__meta_kubernetes_endpoint_ready", "true"},
                                    {"__meta_kubernetes_endpoint_address_target_kind", "Pod"},
                                    {"__meta_kubernetes_endpoint_address_target_name", "web-1"},
                                    {"__meta_kubernetes_endpoint_node_name", "node-1"}}),
                                 PodWeb1Labels(), ContainerLabels("http", "8080", "TCP")}),
                          L({{"__address__", "10.0.0.9:8080"},
                             {"__meta_kubernetes_endpoint_port_name", "http"},
                             {"__meta_kubernetes_endpoint_port_protocol", "TCP"},
                             {"__meta_kubernetes_endpoint_ready", "false"},
                             {"__meta_kubernetes_endpoint_hostname", "legacy"}}),
                          // The pod's other declared port, not behind the service: a target too.
                          Merge({L({{"__address__", "10.0.0.5:9102"}}), PodWeb1Labels(),
                                 ContainerLabels("", "9102", "UDP")})));
}

TEST_F(DiscoveryRolesTest, EndpointSlice) {
  stores_.Upsert("pods", discovery_test::kPodWeb1);
  stores_.Upsert("services", discovery_test::kServiceWeb);
  stores_.Upsert("endpointslices", discovery_test::kSliceWeb);
  auto sub = Subscribe(scrape::KubernetesRole::kEndpointSlice);
  std::vector<scrape::TargetGroup> groups = recorder_.last();
  ASSERT_EQ(groups.size(), 1u);
  const scrape::TargetGroup& g = groups[0];
  EXPECT_EQ(g.source, "endpointslice/default/web-abcde");
  EXPECT_EQ(g.labels, Merge({ServiceWebLabels(),
                             L({{"__meta_kubernetes_endpointslice_name", "web-abcde"},
                                {"__meta_kubernetes_endpointslice_address_type", "IPv4"}})}));
  const tsdb::Labels port = L({{"__meta_kubernetes_endpointslice_port_name", "http"},
                               {"__meta_kubernetes_endpointslice_port_protocol", "TCP"},
                               {"__meta_kubernetes_endpointslice_port", "8080"},
                               {"__meta_kubernetes_endpointslice_port_app_protocol", "http"}});
  EXPECT_THAT(
      g.targets,
      ElementsAre(
          Merge({L({{"__address__", "10.0.0.5:8080"},
                    {"__meta_kubernetes_endpointslice_endpoint_conditions_ready", "true"},
                    {"__meta_kubernetes_endpointslice_endpoint_conditions_serving", "true"},
                    {"__meta_kubernetes_endpointslice_endpoint_conditions_terminating", "false"},
                    {"__meta_kubernetes_endpointslice_address_target_kind", "Pod"},
                    {"__meta_kubernetes_endpointslice_address_target_name", "web-1"},
                    {"__meta_kubernetes_endpointslice_endpoint_node_name", "node-1"},
                    {"__meta_kubernetes_endpointslice_endpoint_zone", "zone-a"}}),
                 port, PodWeb1Labels(), ContainerLabels("http", "8080", "TCP")}),
          Merge({L({{"__address__", "10.0.0.9:8080"},
                    {"__meta_kubernetes_endpointslice_endpoint_conditions_ready", "false"},
                    {"__meta_kubernetes_endpointslice_endpoint_hostname", "legacy"},
                    {"__meta_kubernetes_endpointslice_endpoint_topology_kubernetes_io_hostname",
                     "node-2"},
                    {"__meta_kubernetes_endpointslice_endpoint_topology_present_kubernetes_io_"
                     "hostname",
                     "true"}}),
                 port}),
          Merge({L({{"__address__", "10.0.0.5:9102"}}), PodWeb1Labels(),
                 ContainerLabels("", "9102", "UDP")})));
}

TEST_F(DiscoveryRolesTest, EndpointsWithNodeMetadata) {
  stores_.Upsert("nodes", discovery_test::kNode1);
  stores_.Upsert("endpoints", discovery_test::kEndpointsWeb);
  auto sub = Subscribe(scrape::KubernetesRole::kEndpoints, /*attach_node=*/true);
  std::vector<scrape::TargetGroup> groups = recorder_.last();
  ASSERT_EQ(groups.size(), 1u);
  // The pod and the service are unknown: no pod or service labels, but the node's.
  EXPECT_EQ(groups[0].labels, L({{"__meta_kubernetes_namespace", "default"},
                                 {"__meta_kubernetes_endpoints_name", "web"},
                                 {"__meta_kubernetes_endpoints_label_app", "web"},
                                 {"__meta_kubernetes_endpoints_labelpresent_app", "true"}}));
  ASSERT_EQ(groups[0].targets.size(), 2u);
  EXPECT_EQ(groups[0].targets[0],
            L({{"__address__", "10.0.0.5:8080"},
               {"__meta_kubernetes_endpoint_port_name", "http"},
               {"__meta_kubernetes_endpoint_port_protocol", "TCP"},
               {"__meta_kubernetes_endpoint_ready", "true"},
               {"__meta_kubernetes_endpoint_address_target_kind", "Pod"},
               {"__meta_kubernetes_endpoint_address_target_name", "web-1"},
               {"__meta_kubernetes_endpoint_node_name", "node-1"},
               {"__meta_kubernetes_node_name", "node-1"},
               {"__meta_kubernetes_node_label_kubernetes_io_os", "linux"},
               {"__meta_kubernetes_node_labelpresent_kubernetes_io_os", "true"},
               {"__meta_kubernetes_node_label_topology_kubernetes_io_zone", "zone-a"},
               {"__meta_kubernetes_node_labelpresent_topology_kubernetes_io_zone", "true"}}));
  EXPECT_FALSE(groups[0].targets[1].Has("__meta_kubernetes_node_name"));
}

TEST_F(DiscoveryRolesTest, Node) {
  stores_.Upsert("nodes", discovery_test::kNode1);
  stores_.Upsert("nodes", R"({"kind": "Node", "metadata": {"name": "lost"}})");
  auto sub = Subscribe(scrape::KubernetesRole::kNode);
  std::vector<scrape::TargetGroup> groups = recorder_.last();
  ASSERT_EQ(groups.size(), 1u);  // a node without addresses has no group
  EXPECT_EQ(groups[0].source, "node/node-1");
  EXPECT_EQ(groups[0].labels,
            L({{"__meta_kubernetes_node_name", "node-1"},
               {"__meta_kubernetes_node_provider_id", "aws:///zone-a/i-123"},
               {"__meta_kubernetes_node_label_kubernetes_io_os", "linux"},
               {"__meta_kubernetes_node_labelpresent_kubernetes_io_os", "true"},
               {"__meta_kubernetes_node_label_topology_kubernetes_io_zone", "zone-a"},
               {"__meta_kubernetes_node_labelpresent_topology_kubernetes_io_zone", "true"},
               {"__meta_kubernetes_node_annotation_node_alpha_kubernetes_io_ttl", "0"},
               {"__meta_kubernetes_node_annotationpresent_node_alpha_kubernetes_io_ttl", "true"}}));
  EXPECT_THAT(groups[0].targets,
              ElementsAre(L({{"__address__", "192.168.1.10:10250"},
                             {"instance", "node-1"},
                             {"__meta_kubernetes_node_address_InternalIP", "192.168.1.10"},
                             {"__meta_kubernetes_node_address_ExternalIP", "203.0.113.5"},
                             {"__meta_kubernetes_node_address_Hostname", "node-1"}})));
}

TEST(DiscoveryLabelsTest, SanitizeLabelName) {
  EXPECT_EQ(SanitizeLabelName("app.kubernetes.io/name"), "app_kubernetes_io_name");
  EXPECT_EQ(SanitizeLabelName("a-b_C9"), "a_b_C9");
  EXPECT_EQ(SanitizeLabelName("caf\xc3\xa9"), "caf_");  // one '_' per character
  EXPECT_EQ(SanitizeLabelName("x\xff\xfey"), "x__y");   // invalid bytes: one each
  EXPECT_EQ(SanitizeLabelName(""), "");
}

TEST(DiscoveryObjectsTest, WrongTypesNameThePath) {
  auto obj = [](std::string json) {
    absl::StatusOr<kubeclient::Object> o = kubeclient::ParseObject(std::move(json));
    EXPECT_TRUE(o.ok()) << o.status();
    return o.ok() ? *o : kubeclient::Object{};
  };
  absl::StatusOr<Pod> pod = DecodePod(obj(R"({"kind": "Pod", "metadata": {"name": "p",
      "namespace": "n"}, "spec": {"containers": [{"name": "c", "ports": [{"containerPort": "80"}]}]}})"));
  ASSERT_FALSE(pod.ok());
  EXPECT_THAT(std::string(pod.status().message()),
              HasSubstr("Pod n/p: spec.containers[0].ports[0].containerPort: expected an integer"));
  absl::StatusOr<EndpointSlice> slice = DecodeEndpointSlice(obj(R"({"metadata": {"name": "s",
      "namespace": "n"}, "endpoints": [{"addresses": [1]}]})"));
  ASSERT_FALSE(slice.ok());
  EXPECT_THAT(std::string(slice.status().message()), HasSubstr("endpoints[0].addresses[0]"));
  absl::StatusOr<Node> node =
      DecodeNode(obj(R"({"metadata": {"name": "x"}, "status": {"addresses": {}}})"));
  ASSERT_FALSE(node.ok());
  EXPECT_THAT(std::string(node.status().message()),
              HasSubstr("status.addresses: expected an array"));
  // Unknown fields and nulls are fine.
  EXPECT_TRUE(DecodeService(obj(R"({"metadata": {"name": "s", "namespace": "n"},
      "spec": {"ports": null, "future": 1}})"))
                  .ok());
}

}  // namespace
}  // namespace discovery
