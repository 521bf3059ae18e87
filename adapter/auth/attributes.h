// What a request asks to do, in the terms of Kubernetes authorization (authorizer.Attributes),
// derived from the path and method as k8s.io/apiserver's RequestInfoFactory does:
//
//   /apis/<group>/<version>/[namespaces/<ns>/]<resource>[/<name>[/<subresource>]]
//   /api/<version>/[namespaces/<ns>/]<resource>[/<name>[/<subresource>]]
// are resource requests (at least /apis/<g>/<v>/<x> or /api/<v>/<x>); everything else,
// including discovery (/apis, /apis/<group>/<version>), is a non-resource request on the path
// with the verb = the lowercased method ("get", "post", "head", ...).
//
// Resource requests: verb from the method (GET and HEAD get, POST create, PUT update, PATCH
// patch, DELETE delete, other ""); a get without a name is list (watch with ?watch=<anything
// but 0/false>), a delete without a name deletecollection; on a list, fieldSelector
// metadata.name=<n> sets the name. /namespaces/<ns>/<x>... strips the namespace unless <x> is
// a namespace subresource (status, finalize); /namespaces/<ns> alone is resource namespaces,
// name <ns>. A path segment after the version of "watch" or "proxy" is the verb.
//
// For metrics-adapter's APIs:
//   GET /apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/http_requests
//       -> namespace default, resource pods, name *, subresource http_requests, verb get
//   GET /apis/custom.metrics.k8s.io/v1beta1/namespaces/default/metrics/m
//       -> namespace default, resource metrics, name m, verb get
//   GET /apis/custom.metrics.k8s.io/v1beta1/nodes/n1/m -> resource nodes, name n1, subresource m
//   GET /apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth
//       -> namespace default, resource queue_depth, verb list
//   GET /apis/metrics.k8s.io/v1beta1/nodes -> resource nodes, verb list
#ifndef METRICS_ADAPTER_ADAPTER_AUTH_ATTRIBUTES_H_
#define METRICS_ADAPTER_ADAPTER_AUTH_ATTRIBUTES_H_

#include <string>

#include "adapter/auth/user_info.h"
#include "adapter/http/server.h"

namespace auth {

struct Attributes {
  UserInfo user;
  bool resource_request = false;
  std::string path;  // the percent-decoded request path
  std::string verb;
  // Resource requests only.
  std::string api_group;  // "" for the core group (/api)
  std::string api_version;
  std::string namespace_name;
  std::string resource;
  std::string subresource;
  std::string name;

  friend bool operator==(const Attributes&, const Attributes&) = default;
};

Attributes AttributesFromRequest(const http::Request& request, UserInfo user);

}  // namespace auth

#endif  // METRICS_ADAPTER_ADAPTER_AUTH_ATTRIBUTES_H_
