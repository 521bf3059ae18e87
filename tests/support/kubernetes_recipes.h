// Test support: Prometheus' scrape configuration recipes for Kubernetes, as users copy them.
#ifndef METRICS_ADAPTER_TESTS_SUPPORT_KUBERNETES_RECIPES_H_
#define METRICS_ADAPTER_TESTS_SUPPORT_KUBERNETES_RECIPES_H_

namespace testsupport {

// The pod recipe of Prometheus' example configuration (documentation/examples/
// prometheus-kubernetes.yml), with its commented annotation rules enabled, in the common
// prometheus.io spelling.
inline constexpr char kPodScrapeRecipe[] = R"(
scrape_configs:
  - job_name: "kubernetes-pods"
    kubernetes_sd_configs:
      - role: pod
    relabel_configs:
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape]
        action: keep
        regex: true
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_path]
        action: replace
        target_label: __metrics_path__
        regex: (.+)
      - source_labels: [__address__, __meta_kubernetes_pod_annotation_prometheus_io_port]
        action: replace
        regex: ([^:]+)(?::\d+)?;(\d+)
        replacement: $1:$2
        target_label: __address__
      - action: labelmap
        regex: __meta_kubernetes_pod_label_(.+)
      - source_labels: [__meta_kubernetes_namespace]
        action: replace
        target_label: namespace
      - source_labels: [__meta_kubernetes_pod_name]
        action: replace
        target_label: pod
)";

}  // namespace testsupport

#endif  // METRICS_ADAPTER_TESTS_SUPPORT_KUBERNETES_RECIPES_H_
