// Metric discovery and query building for the three metrics APIs, with prometheus-adapter's
// semantics (pkg/naming, pkg/custom-provider, pkg/external-provider, pkg/resourceprovider).
//
// Life cycle: a RuleSet is compiled once from a loaded Config. Every relist, the caller runs each
// of RuleSet::SeriesQueries() against the series index (Prometheus' /api/v1/series with
// start = now - metrics-max-age), summarises the answer per metric name (SeriesSummary) and hands
// the summaries to RuleSet::Discover, which returns a new immutable MetricRegistry; the caller
// swaps it in atomically (a failed relist keeps the previous one). A registry answers the
// discovery documents (CustomMetrics, ExternalMetrics) and turns API requests into PromQL.
// RuleSet and MetricRegistry are immutable after construction: every method is const and safe to
// call from many threads at once; a registry keeps the compiled rules it came from alive.
//
// Discovery, per rule in file order, per metric name (sorted):
//   - every seriesFilters entry must pass (is: must match, isNot: must not; unanchored), and
//     name.matches must match;
//   - the API name is the expansion of name.as (Go's Regexp.ExpandString on the first match);
//     an empty expansion is skipped;
//   - each label name is associated with a resource: an override for that label, else the
//     resources.template pattern (the template rendered with "(.+?)" for .Group and .Resource,
//     anchored) resolved through the ResourceMapper; labels naming no known resource are skipped;
//   - one custom metric per associated resource, keyed by (resource, api name): a later rule or
//     metric name with the same key replaces the earlier one (last writer wins); external metrics
//     are keyed by api name alone, last writer wins.
//
// Query building (custom): the rule's metricsQuery is executed with
//   .Series             the Prometheus metric name the API name came from
//   .LabelMatchers      comma-joined, in this order: the metric selector's requirements (sorted by
//                       key), the object selector's requirements, <namespace label>="<ns>" for a
//                       namespaced request, then the resource label: `pod="a"` for one name,
//                       `pod=~"a|b"` for several, `pod!=""` for every object
//   .LabelValuesByName  label -> "|"-joined raw values (not escaped) of the matchers above
//   .GroupBy            the resource label; .GroupBySlice the same as a list
// Requirement rendering: k=v and k==v -> k="v"; k!=v -> k!="v"; k in (a,b) -> k=~"a|b";
// k notin (a,b) -> k!~"a|b"; k -> k!=""; !k -> k=""; k>N and k<N -> InvalidArgument.
//
// Deliberate differences from prometheus-adapter (fixes):
//   - values inside regex matchers (several object names, in / notin values) are escaped with
//     Go's QuoteMeta, so "web-1.a" matches only itself; all values are quoted as PromQL strings
//     (Go %q);
//   - a custom metric's `namespaced` is the resource's scope from the ResourceMapper (so nodes,
//     namespaces, persistentvolumes, storageclasses and other cluster-scoped resources are
//     false, everything namespaced is true) instead of "has a namespace label, except
//     namespaces/nodes/persistentvolumes";
//   - label keys of selectors must be valid Prometheus label names (InvalidArgument otherwise)
//     instead of producing a query Prometheus rejects;
//   - a query that cannot be built although the metric is registered (no namespace label for a
//     namespaced request, a failing template) is FailedPrecondition with the reason, not a 404;
//   - resource rules: an empty namespace queries every namespace and then also groups by the
//     namespace label; an empty containerLabel is left out of GroupBy.
#ifndef METRICS_ADAPTER_ADAPTER_RULES_REGISTRY_H_
#define METRICS_ADAPTER_ADAPTER_RULES_REGISTRY_H_

#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "adapter/k8s/resources.h"
#include "adapter/k8s/selector.h"
#include "adapter/rules/config.h"

namespace rules {

// What the series index holds for one metric name under one seriesQuery: the label names of all
// its series (their union; order does not matter).
struct SeriesSummary {
  std::string name;
  std::vector<std::string> label_names;
};

// seriesQuery text -> the metric names it selected.
using SeriesByQuery = std::map<std::string, std::vector<SeriesSummary>, std::less<>>;

// One entry of the custom metrics discovery document ("pods/http_requests").
struct CustomMetricInfo {
  k8s::GroupResource resource;
  bool namespaced = true;
  std::string name;

  auto operator<=>(const CustomMetricInfo&) const = default;
  bool operator==(const CustomMetricInfo&) const = default;
};

// A custom metrics API request (GetMetricByName / GetMetricBySelector).
struct CustomQueryRequest {
  k8s::GroupResource resource;  // as requested; normalized through the mapper
  std::string metric;
  // The request's namespace; empty for root-scoped resources and for `namespaces` itself.
  std::string namespace_;
  // The objects' names; nullopt = every object (the resource label matcher becomes label!="").
  // An empty list selects nothing and is NotFound, as prometheus-adapter answers when no object
  // matches.
  std::optional<std::vector<std::string>> names;
  k8s::LabelSelector metric_selector;  // metricLabelSelector
  // Local mode (objects are known from series labels only): the object labelSelector, rendered as
  // series matchers after the metric selector's. Leave empty in cluster mode.
  k8s::LabelSelector object_selector;
};

// A query ready to run, and what the caller needs to map samples back to objects.
struct BuiltQuery {
  std::string promql;
  std::string series;           // .Series ("" for resource rules)
  std::string resource_label;   // label whose values name the objects ("" for external)
  std::string namespace_label;  // label of the namespace matcher or grouping, "" if none
  std::string container_label;  // resource rules: the containerLabel
  // The rule that built it (points into the RuleSet's Config, valid while the RuleSet or a
  // registry from it lives); nullptr for resource rules.
  const DiscoveryRule* rule = nullptr;
  std::string rule_path;  // "rules[2]", "externalRules[0]", "resourceRules.cpu"
};

enum class ResourceKind { kCpu, kMemory };

class MetricRegistry;

// The compiled rules of a Config. Immutable and cheap to copy (shared state).
class RuleSet {
 public:
  // Compiles the rules of an already validated configuration (ParseConfig); errors only for a
  // Config built in code with invalid parts.
  static absl::StatusOr<RuleSet> Create(Config config,
                                        std::shared_ptr<const k8s::ResourceMapper> mapper);

  const Config& config() const;

  // The distinct seriesQuery texts of rules and externalRules, in file order.
  std::vector<std::string> SeriesQueries() const;

  bool has_custom() const;    // rules present: serve custom.metrics.k8s.io
  bool has_external() const;  // externalRules present: serve external.metrics.k8s.io
  bool has_resource() const;  // resourceRules present: serve metrics.k8s.io

  // Builds the registry from the series each seriesQuery selected. A query missing from
  // `by_query` counts as having selected nothing.
  std::shared_ptr<const MetricRegistry> Discover(const SeriesByQuery& by_query) const;

  // Resource rules (metrics.k8s.io). containerQuery with .Series "",
  // .LabelMatchers <ns>="<ns>",<pod label>=~"p1|p2" (pod!="" for nullopt), .GroupBy
  // <pod label>,<container label>; an empty namespace_ means every namespace (no namespace
  // matcher; the namespace label is appended to GroupBy when there is one). FailedPrecondition
  // without resourceRules; InvalidArgument for an empty list of names.
  absl::StatusOr<BuiltQuery> BuildContainerQuery(
      ResourceKind kind, std::string_view namespace_,
      std::optional<std::vector<std::string>> pods) const;
  // nodeQuery with .LabelMatchers <node label>=~"n1|n2" and .GroupBy <node label>.
  absl::StatusOr<BuiltQuery> BuildNodeQuery(ResourceKind kind,
                                            std::optional<std::vector<std::string>> nodes) const;
  // resourceRules.window in milliseconds, 0 without resourceRules.
  int64_t window_ms() const;

  struct State;

 private:
  explicit RuleSet(std::shared_ptr<const State> state) : state_(std::move(state)) {}
  std::shared_ptr<const State> state_;
};

// The metrics one discovery found. Immutable; a default-constructed registry is empty (every
// lookup NotFound), which is what the API serves before the first discovery succeeded.
class MetricRegistry {
 public:
  MetricRegistry() = default;

  // Every custom metric, sorted by (resource, namespaced, name).
  std::vector<CustomMetricInfo> CustomMetrics() const;
  // Every external metric name, sorted.
  std::vector<std::string> ExternalMetrics() const;

  // NotFound "the server could not find the metric M for <resource>" when the resource is
  // unknown, the metric is not registered for it, the request's namespacing does not match the
  // resource's scope, or `names` is empty. InvalidArgument for unsupported selector operators
  // (> <) or keys that are not label names. FailedPrecondition when the query cannot be built.
  absl::StatusOr<BuiltQuery> BuildCustomQuery(const CustomQueryRequest& request) const;

  // External metrics (section 2.4 of prometheus-adapter's behaviour): .LabelMatchers = the
  // selector's requirements, then <namespace label>="<ns>" unless the rule says
  // `namespaced: false` (or namespace_ is empty); .GroupBy and .GroupBySlice are empty.
  // NotFound for an unknown metric, with prometheus-adapter's message: "... for namespaces" when
  // namespace_ is "default", else "... for " (sic). FailedPrecondition when a namespaced rule has
  // no namespace label.
  absl::StatusOr<BuiltQuery> BuildExternalQuery(std::string_view metric,
                                                std::string_view namespace_,
                                                const k8s::LabelSelector& selector) const;

 private:
  friend class RuleSet;
  struct CustomEntry {
    int rule = 0;
    std::string series;
    bool namespaced = true;
  };
  struct ExternalEntry {
    int rule = 0;
    std::string series;
  };
  std::shared_ptr<const RuleSet::State> state_;
  std::map<std::pair<k8s::GroupResource, std::string>, CustomEntry> custom_;
  std::map<std::string, ExternalEntry, std::less<>> external_;
};

}  // namespace rules

#endif  // METRICS_ADAPTER_ADAPTER_RULES_REGISTRY_H_
