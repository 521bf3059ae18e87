// The target groups Prometheus' Kubernetes discovery (discovery/kubernetes, v2.42) makes of each
// object, with the same "__meta_kubernetes_*" labels. Pure functions of the typed objects
// (objects.h); the provider (kubernetes_provider.h) feeds them from the informer caches.
//
// Per role (one group per object, source "<prefix>/<namespace>/<name>"):
//   pod ("pod/"): group labels namespace, pod name/ip/ready/phase/node_name/host_ip/uid,
//     controller kind/name (the owner reference with controller=true), and every label and
//     annotation as pod_label_<name>/pod_labelpresent_<name> (and annotation...). One target per
//     container port (address podIP:port, container name/image/port name/number/protocol/init),
//     or one per container without ports (address podIP, no port labels); init containers after
//     the others. A pod without IP has no targets.
//   service ("svc/"): namespace, service name, labels/annotations; one target per port, address
//     "<name>.<namespace>.svc:<port>", port name/number/protocol, type, and cluster_ip — or
//     external_name for ExternalName services.
//   endpoints ("endpoints/"): namespace, endpoints name, endpoints labels, and the service
//     labels of the service of the same name when it exists. One target per port and address
//     (ready ones, then not ready ones): ip:port, port name/protocol, ready, target kind/name,
//     node name, hostname; addresses backed by a known pod get the pod labels and, when a
//     container declares that port, its container labels; then the declared ports of those pods
//     that no endpoint port covered become targets too (podIP:port with the pod labels).
//   endpointslice ("endpointslice/"): namespace, slice name, address type, and the service
//     labels of the service named by the kubernetes.io/service-name label. One target per
//     endpoint, port and address: port/port name/protocol/app protocol, conditions
//     ready/serving/terminating, hostname, node name, zone, target kind/name, deprecated
//     topology (topology_<key>/topology_present_<key>); pods as for endpoints.
//   node ("node/"): node name, provider id, labels/annotations; one target at the node's first
//     address by priority (InternalIP, InternalDNS, ExternalIP, ExternalDNS, LegacyHostIP,
//     Hostname) and kubelet port, with instance=<node name> and node_address_<type> (first
//     address of each type). A node without addresses has no group.
// attach_metadata.node adds node_name and the node's labels (not its annotations) to pod groups
// and endpoints/endpointslice targets, when the node is known.
//
// Labels with empty values are absent (tsdb::Labels), which relabelling cannot tell apart.
#ifndef METRICS_ADAPTER_ADAPTER_DISCOVERY_TARGETS_H_
#define METRICS_ADAPTER_ADAPTER_DISCOVERY_TARGETS_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "adapter/discovery/objects.h"
#include "scrape/config.h"

namespace discovery {

// The other objects a group may need, by namespace and name (nodes: name only). Each returns
// null when the object is unknown (or filtered out). A null function means "never known".
struct Lookups {
  std::function<const Pod*(std::string_view ns, std::string_view name)> pod;
  std::function<const Service*(std::string_view ns, std::string_view name)> service;
  // Set only with attach_metadata.node.
  std::function<const Node*(std::string_view name)> node;
};

// Prometheus' strutil.SanitizeLabelName: every character outside [a-zA-Z0-9_] becomes '_'.
std::string SanitizeLabelName(std::string_view name);

// The sources, as Prometheus names them.
std::string PodSource(std::string_view ns, std::string_view name);
std::string ServiceSource(std::string_view ns, std::string_view name);
std::string EndpointsSource(std::string_view ns, std::string_view name);
std::string EndpointSliceSource(std::string_view ns, std::string_view name);
std::string NodeSource(std::string_view name);

scrape::TargetGroup PodGroup(const Pod& pod, const Lookups& lookups);
scrape::TargetGroup ServiceGroup(const Service& service);
scrape::TargetGroup EndpointsGroup(const Endpoints& endpoints, const Lookups& lookups);
scrape::TargetGroup EndpointSliceGroup(const EndpointSlice& slice, const Lookups& lookups);
// nullopt when the node has no usable address (Prometheus sends nothing then).
std::optional<scrape::TargetGroup> NodeGroup(const Node& node);

// The service an endpoint slice belongs to (its kubernetes.io/service-name label), or "".
std::string SliceServiceName(const EndpointSlice& slice);

}  // namespace discovery

#endif  // METRICS_ADAPTER_ADAPTER_DISCOVERY_TARGETS_H_
