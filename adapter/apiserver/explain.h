// `metrics-adapter explain PATH` and the /debug/explain endpoint: what serving one metrics API
// request does, for users whose HPA shows <unknown>:
//
//   request:  GET /apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/http_requests
//   rule:     rules[0]
//   query:    sum(rate(http_requests_total{namespace="default",pod!=""}[2m])) by (pod)
//   samples:  {pod="web-1"} 0.5 @1714557600.000
//   note:     ...
//   status:   200
//   answer:   {"kind":"MetricValueList",...}
#ifndef METRICS_ADAPTER_ADAPTER_APISERVER_EXPLAIN_H_
#define METRICS_ADAPTER_ADAPTER_APISERVER_EXPLAIN_H_

#include <string>
#include <string_view>

#include "adapter/apiserver/metrics_api.h"
#include "adapter/http/server.h"

namespace apiserver {

// Serves path_and_query ("/apis/...?labelSelector=app%3Dweb") through api and describes it.
// A path outside /apis or a malformed query string is described as the error it is.
std::string ExplainPath(const MetricsApi& api, std::string_view path_and_query);

// The /debug/explain handler: GET ?path=<path and query>, text/plain.
http::Response ExplainHandler(const MetricsApi& api, const http::Request& request);

}  // namespace apiserver

#endif  // METRICS_ADAPTER_ADAPTER_APISERVER_EXPLAIN_H_
