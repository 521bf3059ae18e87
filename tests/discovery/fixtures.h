// Test support for Kubernetes discovery: in-memory caches standing in for the informers, a
// recorder of provider updates, and fixture objects (as the API server sends them).
#ifndef METRICS_ADAPTER_TESTS_DISCOVERY_FIXTURES_H_
#define METRICS_ADAPTER_TESTS_DISCOVERY_FIXTURES_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "adapter/kubeclient/store.h"
#include "gtest/gtest.h"
#include "scrape/config.h"
#include "tsdb/labels.h"

namespace discovery_test {

// A StoreSource of MemoryStores, one per resource, created on first use.
class FakeStores : public kubeclient::StoreSource {
 public:
  std::shared_ptr<kubeclient::ObjectStore> Store(const kubeclient::ResourceType& type) override {
    return Memory(type.resource);
  }
  std::shared_ptr<kubeclient::MemoryStore> Memory(const std::string& resource) {
    std::lock_guard lock(mu_);
    auto& s = stores_[resource];
    if (s == nullptr) s = std::make_shared<kubeclient::MemoryStore>();
    return s;
  }
  // Adds or replaces an object given as JSON in the store of `resource`.
  void Upsert(const std::string& resource, std::string json) {
    absl::StatusOr<kubeclient::Object> o = kubeclient::ParseObject(std::move(json));
    ASSERT_TRUE(o.ok()) << o.status();
    Memory(resource)->Upsert(std::make_shared<const kubeclient::Object>(std::move(*o)));
  }
  void Delete(const std::string& resource, const std::string& key) {
    Memory(resource)->Delete(key);
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<kubeclient::MemoryStore>> stores_;
};

// Records every list a subscription sends.
class Recorder {
 public:
  std::function<void(std::vector<scrape::TargetGroup>)> Fn() {
    return [this](std::vector<scrape::TargetGroup> groups) {
      std::lock_guard lock(mu_);
      updates_.push_back(std::move(groups));
    };
  }
  size_t count() {
    std::lock_guard lock(mu_);
    return updates_.size();
  }
  std::vector<scrape::TargetGroup> last() {
    std::lock_guard lock(mu_);
    return updates_.empty() ? std::vector<scrape::TargetGroup>{} : updates_.back();
  }
  // The group of the last list with that source, or an empty group.
  scrape::TargetGroup Group(const std::string& source) {
    for (scrape::TargetGroup& g : last()) {
      if (g.source == source) return g;
    }
    return {};
  }

 private:
  std::mutex mu_;
  std::vector<std::vector<scrape::TargetGroup>> updates_;
};

// Labels from name/value pairs; "" values are left out (as tsdb::Labels does).
inline tsdb::Labels L(std::vector<std::pair<std::string, std::string>> pairs) {
  std::vector<tsdb::Label> out;
  for (auto& [k, v] : pairs) out.push_back(tsdb::Label{std::move(k), std::move(v)});
  return tsdb::Labels(std::move(out));
}

// Union of label sets; later ones win.
inline tsdb::Labels Merge(const std::vector<tsdb::Labels>& sets) {
  std::vector<tsdb::Label> out;
  for (const tsdb::Labels& s : sets) {
    for (const tsdb::Label& l : s) out.push_back(l);
  }
  return tsdb::Labels(std::move(out));
}

inline constexpr char kPodWeb1[] = R"({
  "apiVersion": "v1", "kind": "Pod",
  "metadata": {
    "name": "web-1", "namespace": "default", "uid": "uid-1", "resourceVersion": "1",
    "labels": {"app": "web", "app.kubernetes.io/name": "web"},
    "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "9102",
                    "prometheus.io/path": "/custom"},
    "ownerReferences": [
      {"apiVersion": "v1", "kind": "Node", "name": "node-1", "uid": "n"},
      {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-abc", "uid": "rs",
       "controller": true}]
  },
  "spec": {
    "nodeName": "node-1",
    "containers": [
      {"name": "app", "image": "example/app:1",
       "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"},
                 {"containerPort": 9102, "protocol": "UDP"}]},
      {"name": "sidecar", "image": "example/sidecar:2"}],
    "initContainers": [
      {"name": "init", "image": "example/init:3",
       "ports": [{"name": "setup", "containerPort": 7000, "protocol": "TCP"}]}]
  },
  "status": {
    "phase": "Running", "podIP": "10.0.0.5", "hostIP": "192.168.1.10",
    "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}]
  }
})";

// The labels Prometheus' podLabels gives web-1 (no namespace, no container).
inline tsdb::Labels PodWeb1Labels() {
  return L({{"__meta_kubernetes_pod_name", "web-1"},
            {"__meta_kubernetes_pod_ip", "10.0.0.5"},
            {"__meta_kubernetes_pod_ready", "true"},
            {"__meta_kubernetes_pod_phase", "Running"},
            {"__meta_kubernetes_pod_node_name", "node-1"},
            {"__meta_kubernetes_pod_host_ip", "192.168.1.10"},
            {"__meta_kubernetes_pod_uid", "uid-1"},
            {"__meta_kubernetes_pod_controller_kind", "ReplicaSet"},
            {"__meta_kubernetes_pod_controller_name", "web-abc"},
            {"__meta_kubernetes_pod_label_app", "web"},
            {"__meta_kubernetes_pod_labelpresent_app", "true"},
            {"__meta_kubernetes_pod_label_app_kubernetes_io_name", "web"},
            {"__meta_kubernetes_pod_labelpresent_app_kubernetes_io_name", "true"},
            {"__meta_kubernetes_pod_annotation_prometheus_io_scrape", "true"},
            {"__meta_kubernetes_pod_annotationpresent_prometheus_io_scrape", "true"},
            {"__meta_kubernetes_pod_annotation_prometheus_io_port", "9102"},
            {"__meta_kubernetes_pod_annotationpresent_prometheus_io_port", "true"},
            {"__meta_kubernetes_pod_annotation_prometheus_io_path", "/custom"},
            {"__meta_kubernetes_pod_annotationpresent_prometheus_io_path", "true"}});
}

// A pod of another namespace, not ready, without annotations or controller.
inline constexpr char kPodOther[] = R"({
  "kind": "Pod",
  "metadata": {"name": "db-0", "namespace": "data", "uid": "uid-2", "labels": {"app": "db"}},
  "spec": {"nodeName": "node-2",
           "containers": [{"name": "db", "image": "example/db:9",
                           "ports": [{"name": "sql", "containerPort": 5432, "protocol": "TCP"}]}]},
  "status": {"phase": "Pending", "podIP": "10.0.1.7", "hostIP": "192.168.1.20",
             "conditions": [{"type": "Ready", "status": "False"}]}
})";

inline constexpr char kServiceWeb[] = R"({
  "kind": "Service",
  "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"},
               "annotations": {"prometheus.io/scrape": "true"}},
  "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10", "selector": {"app": "web"},
           "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080},
                     {"name": "metrics", "port": 9102, "protocol": "TCP"}]}
})";

inline tsdb::Labels ServiceWebLabels() {
  return L({{"__meta_kubernetes_namespace", "default"},
            {"__meta_kubernetes_service_name", "web"},
            {"__meta_kubernetes_service_label_app", "web"},
            {"__meta_kubernetes_service_labelpresent_app", "true"},
            {"__meta_kubernetes_service_annotation_prometheus_io_scrape", "true"},
            {"__meta_kubernetes_service_annotationpresent_prometheus_io_scrape", "true"}});
}

inline constexpr char kEndpointsWeb[] = R"({
  "kind": "Endpoints",
  "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
  "subsets": [{
    "addresses": [{"ip": "10.0.0.5", "nodeName": "node-1",
                   "targetRef": {"kind": "Pod", "namespace": "default", "name": "web-1"}}],
    "notReadyAddresses": [{"ip": "10.0.0.9", "hostname": "legacy"}],
    "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]
  }]
})";

inline constexpr char kSliceWeb[] = R"({
  "kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
  "metadata": {"name": "web-abcde", "namespace": "default",
               "labels": {"kubernetes.io/service-name": "web",
                          "endpointslice.kubernetes.io/managed-by": "controller"}},
  "addressType": "IPv4",
  "endpoints": [
    {"addresses": ["10.0.0.5"], "conditions": {"ready": true, "serving": true, "terminating": false},
     "nodeName": "node-1", "zone": "zone-a",
     "targetRef": {"kind": "Pod", "namespace": "default", "name": "web-1"}},
    {"addresses": ["10.0.0.9"], "conditions": {"ready": false}, "hostname": "legacy",
     "deprecatedTopology": {"kubernetes.io/hostname": "node-2"}}],
  "ports": [{"name": "http", "port": 8080, "protocol": "TCP", "appProtocol": "http"}]
})";

inline constexpr char kNode1[] = R"({
  "kind": "Node",
  "metadata": {"name": "node-1",
               "labels": {"kubernetes.io/os": "linux", "topology.kubernetes.io/zone": "zone-a"},
               "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
  "spec": {"providerID": "aws:///zone-a/i-123"},
  "status": {"addresses": [{"type": "Hostname", "address": "node-1"},
                           {"type": "ExternalIP", "address": "203.0.113.5"},
                           {"type": "InternalIP", "address": "192.168.1.10"},
                           {"type": "InternalIP", "address": "192.168.1.11"}],
             "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}
})";

}  // namespace discovery_test

#endif  // METRICS_ADAPTER_TESTS_DISCOVERY_FIXTURES_H_
