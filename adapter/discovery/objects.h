// Typed views of the Kubernetes objects service discovery reads (Pod, Service, Endpoints,
// EndpointSlice discovery.k8s.io/v1, Node): only the fields Prometheus' Kubernetes discovery uses,
// decoded from the JSON text a kubeclient::Object carries. Fields the API may leave out stay empty
// (or unset where Prometheus tells "absent" from "empty": the optional ones). A field of the wrong
// JSON type is an error naming its path ("spec.containers[0].ports[1].containerPort: expected an
// integer"); unknown fields are ignored, as a client must for forward compatibility.
#ifndef METRICS_ADAPTER_ADAPTER_DISCOVERY_OBJECTS_H_
#define METRICS_ADAPTER_ADAPTER_DISCOVERY_OBJECTS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "adapter/kubeclient/store.h"

namespace discovery {

struct ContainerPort {
  std::string name;
  int64_t container_port = 0;
  std::string protocol;
};

struct Container {
  std::string name;
  std::string image;
  std::vector<ContainerPort> ports;
};

struct PodCondition {
  std::string type;    // "Ready", ...
  std::string status;  // "True", "False", "Unknown"
};

struct Pod {
  kubeclient::ObjectMeta meta;
  std::string node_name;  // spec.nodeName
  std::vector<Container> containers;
  std::vector<Container> init_containers;
  std::string phase;   // status.phase
  std::string pod_ip;  // status.podIP
  std::string host_ip;
  std::vector<PodCondition> conditions;
};

struct ServicePort {
  std::string name;
  std::string protocol;
  int64_t port = 0;
};

struct Service {
  kubeclient::ObjectMeta meta;
  std::string type;  // spec.type: "ClusterIP", "NodePort", "LoadBalancer", "ExternalName"
  std::string cluster_ip;
  std::string external_name;
  std::vector<ServicePort> ports;
};

struct ObjectReference {
  std::string kind;
  std::string namespace_;
  std::string name;
};

struct EndpointAddress {
  std::string ip;
  std::string hostname;
  std::optional<std::string> node_name;
  std::optional<ObjectReference> target_ref;
};

struct EndpointPort {
  std::string name;
  int64_t port = 0;
  std::string protocol;
};

struct EndpointSubset {
  std::vector<EndpointAddress> addresses;
  std::vector<EndpointAddress> not_ready_addresses;
  std::vector<EndpointPort> ports;
};

struct Endpoints {
  kubeclient::ObjectMeta meta;
  std::vector<EndpointSubset> subsets;
};

struct SliceEndpoint {
  std::vector<std::string> addresses;
  std::optional<bool> ready;
  std::optional<bool> serving;
  std::optional<bool> terminating;
  std::optional<std::string> hostname;
  std::optional<std::string> node_name;
  std::optional<std::string> zone;
  std::optional<ObjectReference> target_ref;
  std::map<std::string, std::string> deprecated_topology;
};

struct SlicePort {
  std::optional<std::string> name;
  std::optional<std::string> protocol;
  std::optional<std::string> app_protocol;
  std::optional<int64_t> port;
};

struct EndpointSlice {
  kubeclient::ObjectMeta meta;
  std::string address_type;  // "IPv4", "IPv6", "FQDN"
  std::vector<SliceEndpoint> endpoints;
  std::vector<SlicePort> ports;
};

struct NodeAddress {
  std::string type;  // "InternalIP", "ExternalIP", "Hostname", ...
  std::string address;
};

struct Node {
  kubeclient::ObjectMeta meta;
  std::string provider_id;  // spec.providerID
  std::vector<NodeAddress> addresses;
  int64_t kubelet_port = 0;  // status.daemonEndpoints.kubeletEndpoint.Port
};

// Each decodes object.json; the metadata is object.meta as the store decoded it.
absl::StatusOr<Pod> DecodePod(const kubeclient::Object& object);
absl::StatusOr<Service> DecodeService(const kubeclient::Object& object);
absl::StatusOr<Endpoints> DecodeEndpoints(const kubeclient::Object& object);
absl::StatusOr<EndpointSlice> DecodeEndpointSlice(const kubeclient::Object& object);
absl::StatusOr<Node> DecodeNode(const kubeclient::Object& object);

}  // namespace discovery

#endif  // METRICS_ADAPTER_ADAPTER_DISCOVERY_OBJECTS_H_
