// The rules the metrics API unit test and its fuzz target serve: custom metrics from counters
// (pods, namespaces), gauges (any resource by template), nodes; an external rule; resource rules.
#ifndef METRICS_ADAPTER_TESTS_ADAPTER_METRICS_API_RULES_H_
#define METRICS_ADAPTER_TESTS_ADAPTER_METRICS_API_RULES_H_

namespace testsupport {

inline constexpr char kMetricsApiRules[] = R"(
rules:
- seriesQuery: '{__name__=~"^http_.*_total$",namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  name: {matches: "^(.*)_total$", as: "${1}"}
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)'
- seriesQuery: '{__name__=~"gauge_.*",namespace!=""}'
  resources: {template: "<<.Resource>>"}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
- seriesQuery: '{__name__="node_temp"}'
  resources: {template: "<<.Resource>>"}
  metricsQuery: 'max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
externalRules:
- seriesQuery: '{__name__="queue_depth"}'
  resources: {namespaced: false}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)'
resourceRules:
  cpu:
    containerQuery: 'sum by (<<.GroupBy>>) (rate(cpu_seconds_total{<<.LabelMatchers>>}[1m]))'
    nodeQuery: 'sum by (<<.GroupBy>>) (rate(cpu_seconds_total{<<.LabelMatchers>>}[1m]))'
    resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}, node: {resource: node}}}
    containerLabel: container
  memory:
    containerQuery: 'sum by (<<.GroupBy>>) (memory_bytes{<<.LabelMatchers>>})'
    nodeQuery: 'sum by (<<.GroupBy>>) (memory_bytes{<<.LabelMatchers>>})'
    resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}, node: {resource: node}}}
    containerLabel: container
  window: 1m
)";

}  // namespace testsupport

#endif  // METRICS_ADAPTER_TESTS_ADAPTER_METRICS_API_RULES_H_
