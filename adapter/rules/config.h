// The rules configuration of prometheus-adapter (its `--config` ConfigMap), read strictly:
//
//   rules:            # custom.metrics.k8s.io
//   - seriesQuery: '{__name__=~"^container_.*",namespace!="",pod!=""}'
//     seriesFilters: [{isNot: "^container_.*_seconds_total$"}]
//     resources:
//       template: "<<.Resource>>"
//       overrides: {namespace: {resource: namespace}, microservice: {group: apps, resource:
//       deployment}} namespaced: false          # only consulted for externalRules
//     name: {matches: "^(.*)_total$", as: "${1}_per_second"}
//     metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)'
//   externalRules: [ ...the same DiscoveryRule shape... ]
//   resourceRules:    # metrics.k8s.io
//     cpu:    {containerQuery: ..., nodeQuery: ..., resources: {...}, containerLabel: container}
//     memory: {containerQuery: ..., nodeQuery: ..., resources: {...}, containerLabel: container}
//     window: 5m
//
// A file prometheus-adapter accepts loads here with the same meaning. Everything prometheus-adapter
// would only notice later (at discovery, at a request, or never) is checked when the file loads,
// so a broken rule fails the start instead of serving wrong numbers:
//   - unknown keys, duplicate keys and wrong node kinds (a list where a mapping belongs, ...);
//   - required fields: seriesQuery and metricsQuery of every rule; containerQuery, nodeQuery and
//     window when resourceRules is present;
//   - regexes (seriesFilters[].is/isNot, name.matches) are RE2, the syntax of Go's regexp, and
//     match unanchored like Go's MatchString; a filter has exactly one of is / isNot;
//   - seriesQuery must be a valid series selector (as Prometheus' /api/v1/series takes it);
//   - templates must parse (Go text/template with "<<" ">>", see template.h) using only the
//     fields they are given: metricsQuery/containerQuery/nodeQuery: Series, LabelMatchers,
//     LabelValuesByName, GroupBy, GroupBySlice; resources.template: Group, Resource;
//   - name.as may only refer to groups name.matches has: "$2" with one group, "$1_total" (Go reads
//     that as the group named "1_total", which silently expands to "") or "${x}" without a group
//     (?P<x>...) are errors; an empty `as` needs at most one group;
//   - overrides must name resources the ResourceMapper knows; override keys and containerLabel
//     must be valid Prometheus label names;
//   - resourceRules must be able to name the pod, node and namespace labels (by override or
//     template), which their queries need.
// Every error reads "FILE:LINE:COL: PATH: message", PATH being the key path of the offending
// value ("rules[2].name.matches", "resourceRules.window"); LINE:COL (1-based) point at that value,
// at the key for unknown keys, or at the enclosing mapping for a missing key.
// An empty file (or one with only comments) is an empty configuration.
#ifndef METRICS_ADAPTER_ADAPTER_RULES_CONFIG_H_
#define METRICS_ADAPTER_ADAPTER_RULES_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "adapter/k8s/resources.h"

namespace rules {

// Where a value sits in the configuration file; 1-based, 0 when unknown (a Config built in code).
struct Position {
  int line = 0;
  int column = 0;
};

// One seriesFilters entry: exactly one of the two is set.
struct RegexFilter {
  std::string is;      // the metric name must match
  std::string is_not;  // the metric name must not match
};

// One resources.overrides entry: the label `label` names objects of resource
// {group, resource} as written; `resolved` is the resource the mapper resolved it to (plural,
// lower case), set by the loader.
struct ResourceOverride {
  std::string label;
  std::string group;
  std::string resource;
  k8s::GroupResource resolved;
};

struct ResourceMapping {
  std::string label_template;               // resources.template
  std::vector<ResourceOverride> overrides;  // in file order
  std::optional<bool> namespaced;           // externalRules only; absent means true
};

struct NameMapping {
  std::string matches;  // empty means ".*"
  std::string as;       // empty means "$0" (no group) or "$1" (one group)
};

struct DiscoveryRule {
  std::string series_query;
  std::vector<RegexFilter> series_filters;
  ResourceMapping resources;
  NameMapping name;
  std::string metrics_query;
  // "rules[2]" or "externalRules[0]", and where the rule starts in the file: for messages and
  // for explaining which rule built a query.
  std::string path;
  Position position;
};

struct ResourceRule {
  std::string container_query;
  std::string node_query;
  ResourceMapping resources;
  std::string container_label;  // may be empty: results are then not split by container
};

struct ResourceRules {
  ResourceRule cpu;
  ResourceRule memory;
  std::string window;     // as written ("5m")
  int64_t window_ms = 0;  // parsed
};

struct Config {
  std::vector<DiscoveryRule> rules;             // custom.metrics.k8s.io
  std::vector<DiscoveryRule> external_rules;    // external.metrics.k8s.io
  std::optional<ResourceRules> resource_rules;  // metrics.k8s.io
  std::string filename;  // the name given to ParseConfig / the path given to LoadConfigFile
};

// Parses and validates yaml (the file's contents). `filename` only prefixes messages.
// Errors are InvalidArgument. Resources are resolved with `mapper`.
absl::StatusOr<Config> ParseConfig(std::string_view yaml, std::string_view filename,
                                   const k8s::ResourceMapper& mapper);

// Reads the file at `path` and parses it as ParseConfig does; an unreadable file is an error
// naming the path (NotFound when it does not exist).
absl::StatusOr<Config> LoadConfigFile(const std::string& path, const k8s::ResourceMapper& mapper);

// Field names the query templates may use, and the ones resources.template may use.
const std::vector<std::string>& QueryTemplateFields();
const std::vector<std::string>& ResourceTemplateFields();

// True for a valid Prometheus label name: [a-zA-Z_][a-zA-Z0-9_]*.
bool IsValidLabelName(std::string_view name);

}  // namespace rules

#endif  // METRICS_ADAPTER_ADAPTER_RULES_CONFIG_H_
