#include "adapter/discovery/objects.h"

#include <boost/json.hpp>
#include <cmath>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace discovery {
namespace {

namespace json = boost::json;

// Decoding with the path of the current value, for messages.
class Reader {
 public:
  absl::Status Error(const std::string& path, std::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", absl::string_view(what.data(), what.size())));
  }

  // The member key of obj, or null when absent or JSON null.
  static const json::value* Member(const json::object& obj, std::string_view key) {
    const json::value* v = obj.if_contains(json::string_view(key.data(), key.size()));
    if (v == nullptr || v->is_null()) return nullptr;
    return v;
  }

  static std::string Join(const std::string& path, std::string_view key) {
    if (path.empty()) return std::string(key);
    return absl::StrCat(path, ".", absl::string_view(key.data(), key.size()));
  }

  absl::Status Object(const json::object& obj, std::string_view key, const std::string& path,
                      const json::object** out) const {
    *out = nullptr;
    const json::value* v = Member(obj, key);
    if (v == nullptr) return absl::OkStatus();
    if (!v->is_object()) return Error(Join(path, key), "expected an object");
    *out = &v->get_object();
    return absl::OkStatus();
  }

  absl::Status Array(const json::object& obj, std::string_view key, const std::string& path,
                     const json::array** out) const {
    *out = nullptr;
    const json::value* v = Member(obj, key);
    if (v == nullptr) return absl::OkStatus();
    if (!v->is_array()) return Error(Join(path, key), "expected an array");
    *out = &v->get_array();
    return absl::OkStatus();
  }

  absl::Status String(const json::object& obj, std::string_view key, const std::string& path,
                      std::optional<std::string>* out) const {
    out->reset();
    const json::value* v = Member(obj, key);
    if (v == nullptr) return absl::OkStatus();
    if (!v->is_string()) return Error(Join(path, key), "expected a string");
    *out = std::string(v->get_string());
    return absl::OkStatus();
  }

  absl::Status String(const json::object& obj, std::string_view key, const std::string& path,
                      std::string* out) const {
    std::optional<std::string> s;
    if (absl::Status st = String(obj, key, path, &s); !st.ok()) return st;
    *out = s.value_or("");
    return absl::OkStatus();
  }

  absl::Status Int(const json::object& obj, std::string_view key, const std::string& path,
                   std::optional<int64_t>* out) const {
    out->reset();
    const json::value* v = Member(obj, key);
    if (v == nullptr) return absl::OkStatus();
    if (v->is_int64()) {
      *out = v->get_int64();
    } else if (v->is_uint64() && v->get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
      *out = static_cast<int64_t>(v->get_uint64());
    } else if (v->is_double() && std::trunc(v->get_double()) == v->get_double() &&
               std::fabs(v->get_double()) < 9.2e18) {
      *out = static_cast<int64_t>(v->get_double());
    } else {
      return Error(Join(path, key), "expected an integer");
    }
    return absl::OkStatus();
  }

  absl::Status Int(const json::object& obj, std::string_view key, const std::string& path,
                   int64_t* out) const {
    std::optional<int64_t> i;
    if (absl::Status st = Int(obj, key, path, &i); !st.ok()) return st;
    *out = i.value_or(0);
    return absl::OkStatus();
  }

  absl::Status Bool(const json::object& obj, std::string_view key, const std::string& path,
                    std::optional<bool>* out) const {
    out->reset();
    const json::value* v = Member(obj, key);
    if (v == nullptr) return absl::OkStatus();
    if (!v->is_bool()) return Error(Join(path, key), "expected a boolean");
    *out = v->get_bool();
    return absl::OkStatus();
  }

  absl::Status StringMap(const json::object& obj, std::string_view key, const std::string& path,
                         std::map<std::string, std::string>* out) const {
    out->clear();
    const json::object* m = nullptr;
    if (absl::Status st = Object(obj, key, path, &m); !st.ok() || m == nullptr) return st;
    for (const auto& [k, v] : *m) {
      if (!v.is_string()) {
        return Error(Join(Join(path, key), std::string_view(k.data(), k.size())),
                     "expected a string");
      }
      (*out)[std::string(k)] = std::string(v.get_string());
    }
    return absl::OkStatus();
  }

  // Calls fn(element object, element path) for each element of the array at key; every element
  // must be an object.
  template <typename Fn>
  absl::Status ForEach(const json::object& obj, std::string_view key, const std::string& path,
                       Fn fn) const {
    const json::array* arr = nullptr;
    if (absl::Status st = Array(obj, key, path, &arr); !st.ok() || arr == nullptr) return st;
    for (size_t i = 0; i < arr->size(); ++i) {
      const std::string p = absl::StrCat(Join(path, key), "[", i, "]");
      if (!(*arr)[i].is_object()) return Error(p, "expected an object");
      if (absl::Status st = fn((*arr)[i].get_object(), p); !st.ok()) return st;
    }
    return absl::OkStatus();
  }
};

absl::StatusOr<json::object> ParseRoot(const kubeclient::Object& object) {
  boost::system::error_code ec;
  json::value root = json::parse(object.json, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("object ", object.Key(), ": invalid JSON: ", ec.message()));
  }
  if (!root.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat("object ", object.Key(), ": not an object"));
  }
  return std::move(root.get_object());
}

absl::Status Annotate(const kubeclient::Object& object, absl::Status st) {
  if (st.ok()) return st;
  return absl::InvalidArgumentError(absl::StrCat(object.kind.empty() ? "object" : object.kind, " ",
                                                 object.Key(), ": ", std::string(st.message())));
}

absl::Status DecodeContainers(const Reader& r, const json::object& spec, std::string_view key,
                              std::vector<Container>* out) {
  return r.ForEach(spec, key, "spec", [&](const json::object& c, const std::string& p) {
    Container container;
    if (absl::Status st = r.String(c, "name", p, &container.name); !st.ok()) return st;
    if (absl::Status st = r.String(c, "image", p, &container.image); !st.ok()) return st;
    absl::Status st =
        r.ForEach(c, "ports", p, [&](const json::object& port, const std::string& pp) {
          ContainerPort cp;
          if (absl::Status s = r.String(port, "name", pp, &cp.name); !s.ok()) return s;
          if (absl::Status s = r.Int(port, "containerPort", pp, &cp.container_port); !s.ok())
            return s;
          if (absl::Status s = r.String(port, "protocol", pp, &cp.protocol); !s.ok()) return s;
          container.ports.push_back(std::move(cp));
          return absl::OkStatus();
        });
    if (!st.ok()) return st;
    out->push_back(std::move(container));
    return absl::OkStatus();
  });
}

absl::Status DecodeReference(const Reader& r, const json::object& obj, const std::string& path,
                             std::optional<ObjectReference>* out) {
  out->reset();
  const json::object* ref = nullptr;
  if (absl::Status st = r.Object(obj, "targetRef", path, &ref); !st.ok() || ref == nullptr) {
    return st;
  }
  const std::string p = Reader::Join(path, "targetRef");
  ObjectReference o;
  if (absl::Status st = r.String(*ref, "kind", p, &o.kind); !st.ok()) return st;
  if (absl::Status st = r.String(*ref, "namespace", p, &o.namespace_); !st.ok()) return st;
  if (absl::Status st = r.String(*ref, "name", p, &o.name); !st.ok()) return st;
  *out = std::move(o);
  return absl::OkStatus();
}

absl::Status DecodeAddresses(const Reader& r, const json::object& subset, std::string_view key,
                             const std::string& path, std::vector<EndpointAddress>* out) {
  return r.ForEach(subset, key, path, [&](const json::object& a, const std::string& p) {
    EndpointAddress addr;
    if (absl::Status st = r.String(a, "ip", p, &addr.ip); !st.ok()) return st;
    if (absl::Status st = r.String(a, "hostname", p, &addr.hostname); !st.ok()) return st;
    if (absl::Status st = r.String(a, "nodeName", p, &addr.node_name); !st.ok()) return st;
    if (absl::Status st = DecodeReference(r, a, p, &addr.target_ref); !st.ok()) return st;
    out->push_back(std::move(addr));
    return absl::OkStatus();
  });
}

}  // namespace

absl::StatusOr<Pod> DecodePod(const kubeclient::Object& object) {
  absl::StatusOr<json::object> root = ParseRoot(object);
  if (!root.ok()) return root.status();
  Reader r;
  Pod pod;
  pod.meta = object.meta;
  auto decode = [&]() -> absl::Status {
    const json::object* spec = nullptr;
    if (absl::Status st = r.Object(*root, "spec", "", &spec); !st.ok()) return st;
    if (spec != nullptr) {
      if (absl::Status st = r.String(*spec, "nodeName", "spec", &pod.node_name); !st.ok()) {
        return st;
      }
      if (absl::Status st = DecodeContainers(r, *spec, "containers", &pod.containers); !st.ok()) {
        return st;
      }
      if (absl::Status st = DecodeContainers(r, *spec, "initContainers", &pod.init_containers);
          !st.ok()) {
        return st;
      }
    }
    const json::object* status = nullptr;
    if (absl::Status st = r.Object(*root, "status", "", &status); !st.ok()) return st;
    if (status != nullptr) {
      if (absl::Status st = r.String(*status, "phase", "status", &pod.phase); !st.ok()) return st;
      if (absl::Status st = r.String(*status, "podIP", "status", &pod.pod_ip); !st.ok()) return st;
      if (absl::Status st = r.String(*status, "hostIP", "status", &pod.host_ip); !st.ok()) {
        return st;
      }
      return r.ForEach(*status, "conditions", "status",
                       [&](const json::object& c, const std::string& p) {
                         PodCondition cond;
                         if (absl::Status st = r.String(c, "type", p, &cond.type); !st.ok()) {
                           return st;
                         }
                         if (absl::Status st = r.String(c, "status", p, &cond.status); !st.ok()) {
                           return st;
                         }
                         pod.conditions.push_back(std::move(cond));
                         return absl::OkStatus();
                       });
    }
    return absl::OkStatus();
  };
  if (absl::Status st = Annotate(object, decode()); !st.ok()) return st;
  return pod;
}

absl::StatusOr<Service> DecodeService(const kubeclient::Object& object) {
  absl::StatusOr<json::object> root = ParseRoot(object);
  if (!root.ok()) return root.status();
  Reader r;
  Service svc;
  svc.meta = object.meta;
  auto decode = [&]() -> absl::Status {
    const json::object* spec = nullptr;
    if (absl::Status st = r.Object(*root, "spec", "", &spec); !st.ok() || spec == nullptr) {
      return st;
    }
    if (absl::Status st = r.String(*spec, "type", "spec", &svc.type); !st.ok()) return st;
    if (absl::Status st = r.String(*spec, "clusterIP", "spec", &svc.cluster_ip); !st.ok()) {
      return st;
    }
    if (absl::Status st = r.String(*spec, "externalName", "spec", &svc.external_name); !st.ok()) {
      return st;
    }
    return r.ForEach(*spec, "ports", "spec", [&](const json::object& p, const std::string& path) {
      ServicePort port;
      if (absl::Status st = r.String(p, "name", path, &port.name); !st.ok()) return st;
      if (absl::Status st = r.String(p, "protocol", path, &port.protocol); !st.ok()) return st;
      if (absl::Status st = r.Int(p, "port", path, &port.port); !st.ok()) return st;
      svc.ports.push_back(std::move(port));
      return absl::OkStatus();
    });
  };
  if (absl::Status st = Annotate(object, decode()); !st.ok()) return st;
  return svc;
}

absl::StatusOr<Endpoints> DecodeEndpoints(const kubeclient::Object& object) {
  absl::StatusOr<json::object> root = ParseRoot(object);
  if (!root.ok()) return root.status();
  Reader r;
  Endpoints eps;
  eps.meta = object.meta;
  absl::Status st =
      r.ForEach(*root, "subsets", "", [&](const json::object& s, const std::string& path) {
        EndpointSubset subset;
        if (absl::Status st = DecodeAddresses(r, s, "addresses", path, &subset.addresses);
            !st.ok()) {
          return st;
        }
        if (absl::Status st =
                DecodeAddresses(r, s, "notReadyAddresses", path, &subset.not_ready_addresses);
            !st.ok()) {
          return st;
        }
        absl::Status pst =
            r.ForEach(s, "ports", path, [&](const json::object& p, const std::string& pp) {
              EndpointPort port;
              if (absl::Status st = r.String(p, "name", pp, &port.name); !st.ok()) return st;
              if (absl::Status st = r.Int(p, "port", pp, &port.port); !st.ok()) return st;
              if (absl::Status st = r.String(p, "protocol", pp, &port.protocol); !st.ok()) {
                return st;
              }
              subset.ports.push_back(std::move(port));
              return absl::OkStatus();
            });
        if (!pst.ok()) return pst;
        eps.subsets.push_back(std::move(subset));
        return absl::OkStatus();
      });
  if (absl::Status a = Annotate(object, st); !a.ok()) return a;
  return eps;
}

absl::StatusOr<EndpointSlice> DecodeEndpointSlice(const kubeclient::Object& object) {
  absl::StatusOr<json::object> root = ParseRoot(object);
  if (!root.ok()) return root.status();
  Reader r;
  EndpointSlice slice;
  slice.meta = object.meta;
  auto decode = [&]() -> absl::Status {
    if (absl::Status st = r.String(*root, "addressType", "", &slice.address_type); !st.ok()) {
      return st;
    }
    absl::Status st =
        r.ForEach(*root, "endpoints", "", [&](const json::object& e, const std::string& path) {
          SliceEndpoint ep;
          const json::array* addrs = nullptr;
          if (absl::Status st = r.Array(e, "addresses", path, &addrs); !st.ok()) return st;
          if (addrs != nullptr) {
            for (size_t i = 0; i < addrs->size(); ++i) {
              if (!(*addrs)[i].is_string()) {
                return r.Error(absl::StrCat(path, ".addresses[", i, "]"), "expected a string");
              }
              ep.addresses.emplace_back((*addrs)[i].get_string());
            }
          }
          const json::object* cond = nullptr;
          if (absl::Status st = r.Object(e, "conditions", path, &cond); !st.ok()) return st;
          if (cond != nullptr) {
            const std::string cp = Reader::Join(path, "conditions");
            if (absl::Status st = r.Bool(*cond, "ready", cp, &ep.ready); !st.ok()) return st;
            if (absl::Status st = r.Bool(*cond, "serving", cp, &ep.serving); !st.ok()) return st;
            if (absl::Status st = r.Bool(*cond, "terminating", cp, &ep.terminating); !st.ok()) {
              return st;
            }
          }
          if (absl::Status st = r.String(e, "hostname", path, &ep.hostname); !st.ok()) return st;
          if (absl::Status st = r.String(e, "nodeName", path, &ep.node_name); !st.ok()) return st;
          if (absl::Status st = r.String(e, "zone", path, &ep.zone); !st.ok()) return st;
          if (absl::Status st = DecodeReference(r, e, path, &ep.target_ref); !st.ok()) return st;
          if (absl::Status st = r.StringMap(e, "deprecatedTopology", path, &ep.deprecated_topology);
              !st.ok()) {
            return st;
          }
          slice.endpoints.push_back(std::move(ep));
          return absl::OkStatus();
        });
    if (!st.ok()) return st;
    return r.ForEach(*root, "ports", "", [&](const json::object& p, const std::string& path) {
      SlicePort port;
      if (absl::Status st = r.String(p, "name", path, &port.name); !st.ok()) return st;
      if (absl::Status st = r.String(p, "protocol", path, &port.protocol); !st.ok()) return st;
      if (absl::Status st = r.String(p, "appProtocol", path, &port.app_protocol); !st.ok()) {
        return st;
      }
      if (absl::Status st = r.Int(p, "port", path, &port.port); !st.ok()) return st;
      slice.ports.push_back(std::move(port));
      return absl::OkStatus();
    });
  };
  if (absl::Status st = Annotate(object, decode()); !st.ok()) return st;
  return slice;
}

absl::StatusOr<Node> DecodeNode(const kubeclient::Object& object) {
  absl::StatusOr<json::object> root = ParseRoot(object);
  if (!root.ok()) return root.status();
  Reader r;
  Node node;
  node.meta = object.meta;
  auto decode = [&]() -> absl::Status {
    const json::object* spec = nullptr;
    if (absl::Status st = r.Object(*root, "spec", "", &spec); !st.ok()) return st;
    if (spec != nullptr) {
      if (absl::Status st = r.String(*spec, "providerID", "spec", &node.provider_id); !st.ok()) {
        return st;
      }
    }
    const json::object* status = nullptr;
    if (absl::Status st = r.Object(*root, "status", "", &status); !st.ok() || status == nullptr) {
      return st;
    }
    absl::Status st =
        r.ForEach(*status, "addresses", "status", [&](const json::object& a, const std::string& p) {
          NodeAddress addr;
          if (absl::Status st = r.String(a, "type", p, &addr.type); !st.ok()) return st;
          if (absl::Status st = r.String(a, "address", p, &addr.address); !st.ok()) return st;
          node.addresses.push_back(std::move(addr));
          return absl::OkStatus();
        });
    if (!st.ok()) return st;
    const json::object* daemon = nullptr;
    if (absl::Status st = r.Object(*status, "daemonEndpoints", "status", &daemon);
        !st.ok() || daemon == nullptr) {
      return st;
    }
    const json::object* kubelet = nullptr;
    if (absl::Status st = r.Object(*daemon, "kubeletEndpoint", "status.daemonEndpoints", &kubelet);
        !st.ok() || kubelet == nullptr) {
      return st;
    }
    // The API spells this one field with a capital P.
    return r.Int(*kubelet, "Port", "status.daemonEndpoints.kubeletEndpoint", &node.kubelet_port);
  };
  if (absl::Status st = Annotate(object, decode()); !st.ok()) return st;
  return node;
}

}  // namespace discovery
