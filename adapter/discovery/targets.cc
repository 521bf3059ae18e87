#include "adapter/discovery/targets.h"

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace discovery {
namespace {

constexpr std::string_view kMeta = "__meta_kubernetes_";

// A label set under construction; a later Set of the same name wins, as Go's map assignment and
// LabelSet.Merge do.
using LabelMap = std::map<std::string, std::string>;

void Set(LabelMap* m, std::string_view name, std::string_view value) {
  (*m)[std::string(name)] = std::string(value);
}

std::string Meta(std::string_view suffix) {
  return absl::StrCat(absl::string_view(kMeta.data(), kMeta.size()),
                      absl::string_view(suffix.data(), suffix.size()));
}

void Merge(LabelMap* into, const LabelMap& from) {
  for (const auto& [k, v] : from) (*into)[k] = v;
}

tsdb::Labels ToLabels(const LabelMap& m) {
  std::vector<tsdb::Label> out;
  out.reserve(m.size());
  for (const auto& [k, v] : m) out.push_back(tsdb::Label{k, v});
  return tsdb::Labels(std::move(out));
}

// net.JoinHostPort: brackets around hosts containing ':' (IPv6).
std::string JoinHostPort(std::string_view host, int64_t port) {
  if (host.find(':') != std::string_view::npos) {
    return absl::StrCat("[", absl::string_view(host.data(), host.size()), "]:", port);
  }
  return absl::StrCat(absl::string_view(host.data(), host.size()), ":", port);
}

// <prefix>label_<name>, <prefix>labelpresent_<name> (and the same for annotations).
void AddMetaMap(LabelMap* m, std::string_view prefix, std::string_view kind,
                const std::map<std::string, std::string>& values) {
  for (const auto& [k, v] : values) {
    const std::string name = SanitizeLabelName(k);
    Set(m, absl::StrCat(Meta(prefix), absl::string_view(kind.data(), kind.size()), "_", name), v);
    Set(m,
        absl::StrCat(Meta(prefix), absl::string_view(kind.data(), kind.size()), "present_", name),
        "true");
  }
}

std::string PodReady(const Pod& pod) {
  for (const PodCondition& c : pod.conditions) {
    if (c.type == "Ready") return absl::AsciiStrToLower(c.status);
  }
  return "unknown";
}

// Prometheus' podLabels: everything about the pod but its namespace and containers.
LabelMap PodLabels(const Pod& pod) {
  LabelMap m;
  Set(&m, Meta("pod_name"), pod.meta.name);
  Set(&m, Meta("pod_ip"), pod.pod_ip);
  Set(&m, Meta("pod_ready"), PodReady(pod));
  Set(&m, Meta("pod_phase"), pod.phase);
  Set(&m, Meta("pod_node_name"), pod.node_name);
  Set(&m, Meta("pod_host_ip"), pod.host_ip);
  Set(&m, Meta("pod_uid"), pod.meta.uid);
  for (const kubeclient::OwnerReference& o : pod.meta.owner_references) {
    if (!o.controller) continue;
    if (!o.kind.empty()) Set(&m, Meta("pod_controller_kind"), o.kind);
    if (!o.name.empty()) Set(&m, Meta("pod_controller_name"), o.name);
    break;
  }
  AddMetaMap(&m, "pod_", "label", pod.meta.labels);
  AddMetaMap(&m, "pod_", "annotation", pod.meta.annotations);
  return m;
}

LabelMap ServiceLabels(const Service& svc) {
  LabelMap m;
  Set(&m, Meta("service_name"), svc.meta.name);
  Set(&m, Meta("namespace"), svc.meta.namespace_);
  AddMetaMap(&m, "service_", "label", svc.meta.labels);
  AddMetaMap(&m, "service_", "annotation", svc.meta.annotations);
  return m;
}

// addNodeLabels: the node's name and labels, when the node is known.
void AddNodeLabels(LabelMap* m, const Lookups& lookups, const std::optional<std::string>& name) {
  if (!lookups.node || !name.has_value()) return;
  const Node* node = lookups.node(*name);
  if (node == nullptr) return;
  Set(m, Meta("node_name"), *name);
  AddMetaMap(m, "node_", "label", node->meta.labels);
}

const Pod* ResolvePod(const Lookups& lookups, const std::optional<ObjectReference>& ref) {
  if (!lookups.pod || !ref.has_value() || ref->kind != "Pod") return nullptr;
  return lookups.pod(ref->namespace_, ref->name);
}

// The pods seen behind endpoint addresses, in first-seen order, with the ports that covered them.
struct SeenPods {
  std::vector<std::pair<const Pod*, std::set<int64_t>>> pods;

  std::set<int64_t>* Ports(const Pod* pod) {
    for (auto& [p, ports] : pods) {
      if (p == pod) return &ports;
    }
    pods.emplace_back(pod, std::set<int64_t>{});
    return &pods.back().second;
  }
};

// Targets for the declared container ports of the seen pods that no endpoint port covered.
void AddUncoveredPodPorts(const SeenPods& seen, std::vector<tsdb::Labels>* targets) {
  for (const auto& [pod, covered] : seen.pods) {
    if (pod->pod_ip.empty()) continue;  // starting or evicted
    for (const Container& c : pod->containers) {
      for (const ContainerPort& cp : c.ports) {
        if (covered.count(cp.container_port) > 0) continue;
        LabelMap t;
        Set(&t, "__address__", JoinHostPort(pod->pod_ip, cp.container_port));
        Set(&t, Meta("pod_container_name"), c.name);
        Set(&t, Meta("pod_container_image"), c.image);
        Set(&t, Meta("pod_container_port_name"), cp.name);
        Set(&t, Meta("pod_container_port_number"), absl::StrCat(cp.container_port));
        Set(&t, Meta("pod_container_port_protocol"), cp.protocol);
        Merge(&t, PodLabels(*pod));
        targets->push_back(ToLabels(t));
      }
    }
  }
}

}  // namespace

std::string SanitizeLabelName(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (size_t i = 0; i < name.size();) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    if (absl::ascii_isalnum(c) || c == '_') {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    out.push_back('_');
    // One '_' per character: skip the continuation bytes of a valid UTF-8 sequence (an invalid
    // byte counts as one character, as Go's regexp reads it).
    size_t len = 1;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
    }
    bool valid = i + len <= name.size();
    for (size_t k = 1; valid && k < len; ++k) {
      valid = (static_cast<unsigned char>(name[i + k]) & 0xC0) == 0x80;
    }
    i += valid ? len : 1;
  }
  return out;
}

std::string PodSource(std::string_view ns, std::string_view name) {
  return absl::StrCat("pod/", absl::string_view(ns.data(), ns.size()), "/",
                      absl::string_view(name.data(), name.size()));
}
std::string ServiceSource(std::string_view ns, std::string_view name) {
  return absl::StrCat("svc/", absl::string_view(ns.data(), ns.size()), "/",
                      absl::string_view(name.data(), name.size()));
}
std::string EndpointsSource(std::string_view ns, std::string_view name) {
  return absl::StrCat("endpoints/", absl::string_view(ns.data(), ns.size()), "/",
                      absl::string_view(name.data(), name.size()));
}
std::string EndpointSliceSource(std::string_view ns, std::string_view name) {
  return absl::StrCat("endpointslice/", absl::string_view(ns.data(), ns.size()), "/",
                      absl::string_view(name.data(), name.size()));
}
std::string NodeSource(std::string_view name) {
  return absl::StrCat("node/", absl::string_view(name.data(), name.size()));
}

scrape::TargetGroup PodGroup(const Pod& pod, const Lookups& lookups) {
  scrape::TargetGroup g;
  g.source = PodSource(pod.meta.namespace_, pod.meta.name);
  if (pod.pod_ip.empty()) return g;  // starting or evicted: nothing to scrape yet

  LabelMap labels = PodLabels(pod);
  Set(&labels, Meta("namespace"), pod.meta.namespace_);
  AddNodeLabels(&labels, lookups, pod.node_name);
  g.labels = ToLabels(labels);

  const size_t n = pod.containers.size();
  for (size_t i = 0; i < n + pod.init_containers.size(); ++i) {
    const bool init = i >= n;
    const Container& c = init ? pod.init_containers[i - n] : pod.containers[i];
    if (c.ports.empty()) {
      // No declared port: one target at the pod IP; relabelling has to add the port.
      LabelMap t;
      Set(&t, "__address__", pod.pod_ip);
      Set(&t, Meta("pod_container_name"), c.name);
      Set(&t, Meta("pod_container_image"), c.image);
      Set(&t, Meta("pod_container_init"), init ? "true" : "false");
      g.targets.push_back(ToLabels(t));
      continue;
    }
    for (const ContainerPort& p : c.ports) {
      LabelMap t;
      Set(&t, "__address__", JoinHostPort(pod.pod_ip, p.container_port));
      Set(&t, Meta("pod_container_name"), c.name);
      Set(&t, Meta("pod_container_image"), c.image);
      Set(&t, Meta("pod_container_port_number"), absl::StrCat(p.container_port));
      Set(&t, Meta("pod_container_port_name"), p.name);
      Set(&t, Meta("pod_container_port_protocol"), p.protocol);
      Set(&t, Meta("pod_container_init"), init ? "true" : "false");
      g.targets.push_back(ToLabels(t));
    }
  }
  return g;
}

scrape::TargetGroup ServiceGroup(const Service& svc) {
  scrape::TargetGroup g;
  g.source = ServiceSource(svc.meta.namespace_, svc.meta.name);
  g.labels = ToLabels(ServiceLabels(svc));
  for (const ServicePort& p : svc.ports) {
    LabelMap t;
    Set(&t, "__address__",
        JoinHostPort(absl::StrCat(svc.meta.name, ".", svc.meta.namespace_, ".svc"), p.port));
    Set(&t, Meta("service_port_name"), p.name);
    Set(&t, Meta("service_port_number"), absl::StrCat(p.port));
    Set(&t, Meta("service_port_protocol"), p.protocol);
    Set(&t, Meta("service_type"), svc.type);
    if (svc.type == "ExternalName") {
      Set(&t, Meta("service_external_name"), svc.external_name);
    } else {
      Set(&t, Meta("service_cluster_ip"), svc.cluster_ip);
    }
    g.targets.push_back(ToLabels(t));
  }
  return g;
}

namespace {

// The pod behind an endpoint (endpoints and endpointslice roles): its labels, and those of the
// container declaring port (the first such port of each container; a later container
// overrides). pod_container_port_protocol is *protocol when given (the endpoint port's, as the
// endpoints role has it), else the container port's (the endpointslice role). The pod counts as
// seen, and port as covered, for AddUncoveredPodPorts.
void AddEndpointPod(const Pod& pod, std::optional<int64_t> port, const std::string* protocol,
                    SeenPods* seen, LabelMap* t) {
  std::set<int64_t>* covered = seen->Ports(&pod);
  Merge(t, PodLabels(pod));
  if (!port.has_value()) return;
  for (const Container& c : pod.containers) {
    for (const ContainerPort& cp : c.ports) {
      if (cp.container_port != *port) continue;
      Set(t, Meta("pod_container_name"), c.name);
      Set(t, Meta("pod_container_image"), c.image);
      Set(t, Meta("pod_container_port_name"), cp.name);
      Set(t, Meta("pod_container_port_number"), absl::StrCat(*port));
      Set(t, Meta("pod_container_port_protocol"), protocol != nullptr ? *protocol : cp.protocol);
      break;
    }
  }
  covered->insert(*port);
}

}  // namespace

scrape::TargetGroup EndpointsGroup(const Endpoints& eps, const Lookups& lookups) {
  scrape::TargetGroup g;
  g.source = EndpointsSource(eps.meta.namespace_, eps.meta.name);
  LabelMap labels;
  Set(&labels, Meta("namespace"), eps.meta.namespace_);
  Set(&labels, Meta("endpoints_name"), eps.meta.name);
  if (lookups.service) {
    if (const Service* svc = lookups.service(eps.meta.namespace_, eps.meta.name)) {
      Merge(&labels, ServiceLabels(*svc));
    }
  }
  AddMetaMap(&labels, "endpoints_", "label", eps.meta.labels);
  g.labels = ToLabels(labels);

  SeenPods seen;
  auto add = [&](const EndpointAddress& addr, const EndpointPort& port, bool ready) {
    LabelMap t;
    Set(&t, "__address__", JoinHostPort(addr.ip, port.port));
    Set(&t, Meta("endpoint_port_name"), port.name);
    Set(&t, Meta("endpoint_port_protocol"), port.protocol);
    Set(&t, Meta("endpoint_ready"), ready ? "true" : "false");
    if (addr.target_ref.has_value()) {
      Set(&t, Meta("endpoint_address_target_kind"), addr.target_ref->kind);
      Set(&t, Meta("endpoint_address_target_name"), addr.target_ref->name);
    }
    if (addr.node_name.has_value()) Set(&t, Meta("endpoint_node_name"), *addr.node_name);
    if (!addr.hostname.empty()) Set(&t, Meta("endpoint_hostname"), addr.hostname);
    AddNodeLabels(&t, lookups, addr.node_name);

    if (const Pod* pod = ResolvePod(lookups, addr.target_ref)) {
      AddEndpointPod(*pod, port.port, &port.protocol, &seen, &t);
    }
    g.targets.push_back(ToLabels(t));
  };
  for (const EndpointSubset& ss : eps.subsets) {
    for (const EndpointPort& port : ss.ports) {
      for (const EndpointAddress& a : ss.addresses) add(a, port, true);
      for (const EndpointAddress& a : ss.not_ready_addresses) add(a, port, false);
    }
  }
  AddUncoveredPodPorts(seen, &g.targets);
  return g;
}

std::string SliceServiceName(const EndpointSlice& slice) {
  auto it = slice.meta.labels.find("kubernetes.io/service-name");
  return it == slice.meta.labels.end() ? "" : it->second;
}

scrape::TargetGroup EndpointSliceGroup(const EndpointSlice& slice, const Lookups& lookups) {
  scrape::TargetGroup g;
  g.source = EndpointSliceSource(slice.meta.namespace_, slice.meta.name);
  LabelMap labels;
  Set(&labels, Meta("namespace"), slice.meta.namespace_);
  Set(&labels, Meta("endpointslice_name"), slice.meta.name);
  Set(&labels, Meta("endpointslice_address_type"), slice.address_type);
  if (lookups.service && slice.meta.labels.count("kubernetes.io/service-name") > 0) {
    if (const Service* svc = lookups.service(slice.meta.namespace_, SliceServiceName(slice))) {
      Merge(&labels, ServiceLabels(*svc));
    }
  }
  g.labels = ToLabels(labels);

  SeenPods seen;
  auto add = [&](const std::string& addr, const SliceEndpoint& ep, const SlicePort& port) {
    LabelMap t;
    Set(&t, "__address__", port.port.has_value() ? JoinHostPort(addr, *port.port) : addr);
    if (port.name.has_value()) Set(&t, Meta("endpointslice_port_name"), *port.name);
    if (port.protocol.has_value()) Set(&t, Meta("endpointslice_port_protocol"), *port.protocol);
    if (port.port.has_value()) Set(&t, Meta("endpointslice_port"), absl::StrCat(*port.port));
    if (port.app_protocol.has_value()) {
      Set(&t, Meta("endpointslice_port_app_protocol"), *port.app_protocol);
    }
    if (ep.ready.has_value()) {
      Set(&t, Meta("endpointslice_endpoint_conditions_ready"), *ep.ready ? "true" : "false");
    }
    if (ep.serving.has_value()) {
      Set(&t, Meta("endpointslice_endpoint_conditions_serving"), *ep.serving ? "true" : "false");
    }
    if (ep.terminating.has_value()) {
      Set(&t, Meta("endpointslice_endpoint_conditions_terminating"),
          *ep.terminating ? "true" : "false");
    }
    if (ep.hostname.has_value()) Set(&t, Meta("endpointslice_endpoint_hostname"), *ep.hostname);
    if (ep.target_ref.has_value()) {
      Set(&t, Meta("endpointslice_address_target_kind"), ep.target_ref->kind);
      Set(&t, Meta("endpointslice_address_target_name"), ep.target_ref->name);
    }
    if (ep.node_name.has_value()) Set(&t, Meta("endpointslice_endpoint_node_name"), *ep.node_name);
    if (ep.zone.has_value()) Set(&t, Meta("endpointslice_endpoint_zone"), *ep.zone);
    for (const auto& [k, v] : ep.deprecated_topology) {
      const std::string name = SanitizeLabelName(k);
      Set(&t, Meta(absl::StrCat("endpointslice_endpoint_topology_", name)), v);
      Set(&t, Meta(absl::StrCat("endpointslice_endpoint_topology_present_", name)), "true");
    }
    AddNodeLabels(&t, lookups, ep.node_name);

    if (const Pod* pod = ResolvePod(lookups, ep.target_ref)) {
      AddEndpointPod(*pod, port.port, nullptr, &seen, &t);
    }
    g.targets.push_back(ToLabels(t));
  };
  for (const SliceEndpoint& ep : slice.endpoints) {
    for (const SlicePort& port : slice.ports) {
      for (const std::string& addr : ep.addresses) add(addr, ep, port);
    }
  }
  AddUncoveredPodPorts(seen, &g.targets);
  return g;
}

std::optional<scrape::TargetGroup> NodeGroup(const Node& node) {
  std::map<std::string, std::vector<std::string>> by_type;
  for (const NodeAddress& a : node.addresses) by_type[a.type].push_back(a.address);
  const std::vector<std::string>* chosen = nullptr;
  for (const char* type :
       {"InternalIP", "InternalDNS", "ExternalIP", "ExternalDNS", "LegacyHostIP", "Hostname"}) {
    auto it = by_type.find(type);
    if (it != by_type.end()) {
      chosen = &it->second;
      break;
    }
  }
  if (chosen == nullptr) return std::nullopt;  // "host address unknown"
  const std::string address = chosen->front();
  scrape::TargetGroup g;
  g.source = NodeSource(node.meta.name);
  LabelMap labels;
  Set(&labels, Meta("node_name"), node.meta.name);
  Set(&labels, Meta("node_provider_id"), node.provider_id);
  AddMetaMap(&labels, "node_", "label", node.meta.labels);
  AddMetaMap(&labels, "node_", "annotation", node.meta.annotations);
  g.labels = ToLabels(labels);

  LabelMap t;
  Set(&t, "__address__", JoinHostPort(address, node.kubelet_port));
  Set(&t, "instance", node.meta.name);
  for (const auto& [type, addrs] : by_type) {
    Set(&t, SanitizeLabelName(Meta(absl::StrCat("node_address_", type))), addrs.front());
  }
  g.targets.push_back(ToLabels(t));
  return g;
}

}  // namespace discovery
