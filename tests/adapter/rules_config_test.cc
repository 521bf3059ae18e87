#include "adapter/rules/config.h"

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "adapter/k8s/resources.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rules {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// The built-in resources plus a custom resource brands.cheese.io, as docs/sample-config.yaml
// expects in "our cluster".
class CheeseMapper : public k8s::ResourceMapper {
 public:
  std::optional<k8s::ResourceInfo> Find(std::string_view resource,
                                        std::string_view group) const override {
    if ((resource == "brand" || resource == "brands" || resource == "brands.cheese.io") &&
        (group.empty() || group == "cheese.io")) {
      return Brand();
    }
    return builtin_->Find(resource, group);
  }
  std::vector<k8s::ResourceInfo> All() const override {
    auto all = builtin_->All();
    all.push_back(Brand());
    return all;
  }

 private:
  static k8s::ResourceInfo Brand() {
    k8s::ResourceInfo info;
    info.group_resource = {"cheese.io", "brands"};
    info.singular = "brand";
    info.kind = "Brand";
    info.version = "v1";
    info.namespaced = true;
    return info;
  }
  std::unique_ptr<k8s::ResourceMapper> builtin_ = k8s::NewBuiltinResourceMapper();
};

// prometheus-adapter's deploy/manifests config (kubelet /metrics/resource).
constexpr char kDeployResourceRules[] = R"(resourceRules:
  cpu:
    containerQuery: |
      sum by (<<.GroupBy>>) (
        irate (
            container_cpu_usage_seconds_total{<<.LabelMatchers>>,container!="",pod!=""}[4m]
        )
      )
    nodeQuery: |
      sum by (<<.GroupBy>>) (
        irate(
            node_cpu_usage_seconds_total{<<.LabelMatchers>>}[4m]
        )
      )
    resources:
      overrides:
        node:
          resource: node
        namespace:
          resource: namespace
        pod:
          resource: pod
    containerLabel: container
  memory:
    containerQuery: |
      sum by (<<.GroupBy>>) (
        container_memory_working_set_bytes{<<.LabelMatchers>>,container!="",pod!=""}
      )
    nodeQuery: |
      sum by (<<.GroupBy>>) (
        node_memory_working_set_bytes{<<.LabelMatchers>>}
      )
    resources:
      overrides:
        node:
          resource: node
        namespace:
          resource: namespace
        pod:
          resource: pod
    containerLabel: container
  window: 5m
)";

// docs/sample-config.yaml.
constexpr char kSampleConfig[] = R"yaml(rules:
# this rule matches cumulative cAdvisor metrics measured in seconds
- seriesQuery: '{__name__=~"^container_.*",container!="POD",namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: "namespace"}
      pod: {resource: "pod"}
  name:
    matches: "^container_(.*)_seconds_total$"
  metricsQuery: "sum(rate(<<.Series>>{<<.LabelMatchers>>,container!='POD'}[2m])) by (<<.GroupBy>>)"

# this rule matches cumulative cAdvisor metrics not measured in seconds
- seriesQuery: '{__name__=~"^container_.*_total",container!="POD",namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: "namespace"}
      pod: {resource: "pod"}
  seriesFilters:
  - isNot: "^container_.*_seconds_total$"
  name: {matches: "^container_(.*)_total$"}
  metricsQuery: "sum(rate(<<.Series>>{<<.LabelMatchers>>,container!='POD'}[2m])) by (<<.GroupBy>>)"

# this rule matches cumulative non-cAdvisor metrics
- seriesQuery: '{namespace!="",__name__!="^container_.*"}'
  name: {matches: "^(.*)_total$"}
  resources:
    template: "<<.Resource>>"
  metricsQuery: "sum(rate(<<.Series>>{<<.LabelMatchers>>,container!='POD'}[2m])) by (<<.GroupBy>>)"

# this rule matches only a single metric, explicitly naming it something else
- seriesQuery: 'cheddar{sharp="true"}'
  name: {as: "cheesy_goodness"}
  resources:
    overrides:
      brand: {group: "cheese.io", resource: "brand"}
  metricsQuery: 'count(cheddar{sharp="true"})'

externalRules:
- seriesQuery: '{__name__="queue_consumer_lag",name!=""}'
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (name)
- seriesQuery: '{__name__="queue_depth",topic!=""}'
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (name)
  resources:
    namespaced: false
)yaml";

// cmd/config-gen's default rules (rate interval 5m, no label prefix).
constexpr char kConfigGenRules[] = R"(rules:
- seriesQuery: '{__name__=~"^container_.*",container!="POD",namespace!="",pod!=""}'
  seriesFilters: []
  resources:
    overrides:
      namespace:
        resource: namespace
      pod:
        resource: pod
  name:
    matches: ^container_(.*)_seconds_total$
    as: ""
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>,container!="POD"}[5m])) by (<<.GroupBy>>)
- seriesQuery: '{__name__=~"^container_.*",container!="POD",namespace!="",pod!=""}'
  seriesFilters:
  - isNot: ^container_.*_seconds_total$
  resources:
    overrides:
      namespace:
        resource: namespace
      pod:
        resource: pod
  name:
    matches: ^container_(.*)_total$
    as: ""
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>,container!="POD"}[5m])) by (<<.GroupBy>>)
- seriesQuery: '{__name__=~"^container_.*",container!="POD",namespace!="",pod!=""}'
  seriesFilters:
  - isNot: ^container_.*_total$
  resources:
    overrides:
      namespace:
        resource: namespace
      pod:
        resource: pod
  name:
    matches: ^container_(.*)$
    as: ""
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>,container!="POD"}) by (<<.GroupBy>>)
- seriesQuery: '{namespace!="",__name__!~"^container_.*"}'
  seriesFilters:
  - isNot: .*_total$
  resources:
    template: <<.Resource>>
  name:
    matches: ""
    as: ""
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
- seriesQuery: '{namespace!="",__name__!~"^container_.*"}'
  seriesFilters:
  - isNot: .*_seconds_total
  resources:
    template: <<.Resource>>
  name:
    matches: ^(.*)_total$
    as: ""
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[5m])) by (<<.GroupBy>>)
- seriesQuery: '{namespace!="",__name__!~"^container_.*"}'
  seriesFilters: []
  resources:
    template: <<.Resource>>
  name:
    matches: ^(.*)_seconds_total$
    as: ""
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[5m])) by (<<.GroupBy>>)
)";

// docs/walkthrough.md.
constexpr char kWalkthrough[] = R"(rules:
- seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: "namespace"}
      pod: {resource: "pod"}
  name:
    matches: "^(.*)_total"
    as: "${1}_per_second"
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)'
)";

class RulesConfigTest : public ::testing::Test {
 protected:
  absl::StatusOr<Config> Parse(std::string_view yaml) {
    return ParseConfig(yaml, "cfg.yaml", mapper_);
  }
  // The error message of a configuration that must not load.
  std::string Error(std::string_view yaml) {
    auto config = Parse(yaml);
    if (config.ok()) return "<loaded>";
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(config.status().message());
  }
  CheeseMapper mapper_;
};

TEST_F(RulesConfigTest, LoadsDeployResourceRules) {
  auto config = Parse(kDeployResourceRules);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->rules.empty());
  EXPECT_TRUE(config->external_rules.empty());
  ASSERT_TRUE(config->resource_rules.has_value());
  const ResourceRules& rr = *config->resource_rules;
  EXPECT_EQ(rr.window, "5m");
  EXPECT_EQ(rr.window_ms, 5 * 60 * 1000);
  EXPECT_THAT(rr.cpu.container_query, StartsWith("sum by (<<.GroupBy>>) (\n  irate (\n"));
  EXPECT_THAT(rr.memory.node_query, HasSubstr("node_memory_working_set_bytes{<<.LabelMatchers>>}"));
  EXPECT_EQ(rr.cpu.container_label, "container");
  ASSERT_EQ(rr.cpu.resources.overrides.size(), 3u);
  // File order is kept; resources are resolved to their plural form.
  EXPECT_EQ(rr.cpu.resources.overrides[0].label, "node");
  EXPECT_EQ(rr.cpu.resources.overrides[0].resource, "node");
  EXPECT_EQ(rr.cpu.resources.overrides[0].resolved, (k8s::GroupResource{"", "nodes"}));
  EXPECT_EQ(rr.cpu.resources.overrides[1].resolved, (k8s::GroupResource{"", "namespaces"}));
  EXPECT_EQ(rr.cpu.resources.overrides[2].resolved, (k8s::GroupResource{"", "pods"}));
}

TEST_F(RulesConfigTest, LoadsSampleConfig) {
  auto config = Parse(kSampleConfig);
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->rules.size(), 4u);
  ASSERT_EQ(config->external_rules.size(), 2u);
  EXPECT_FALSE(config->resource_rules.has_value());
  EXPECT_EQ(config->filename, "cfg.yaml");

  const DiscoveryRule& first = config->rules[0];
  EXPECT_EQ(first.path, "rules[0]");
  EXPECT_EQ(first.position.line, 3);
  EXPECT_EQ(first.position.column, 3);
  EXPECT_EQ(first.series_query,
            R"({__name__=~"^container_.*",container!="POD",namespace!="",pod!=""})");
  EXPECT_EQ(first.name.matches, "^container_(.*)_seconds_total$");
  EXPECT_EQ(first.name.as, "");
  EXPECT_EQ(first.metrics_query,
            "sum(rate(<<.Series>>{<<.LabelMatchers>>,container!='POD'}[2m])) by (<<.GroupBy>>)");

  const DiscoveryRule& second = config->rules[1];
  ASSERT_EQ(second.series_filters.size(), 1u);
  EXPECT_EQ(second.series_filters[0].is, "");
  EXPECT_EQ(second.series_filters[0].is_not, "^container_.*_seconds_total$");

  EXPECT_EQ(config->rules[2].resources.label_template, "<<.Resource>>");
  EXPECT_TRUE(config->rules[2].resources.overrides.empty());

  const DiscoveryRule& cheese = config->rules[3];
  EXPECT_EQ(cheese.name.as, "cheesy_goodness");
  ASSERT_EQ(cheese.resources.overrides.size(), 1u);
  EXPECT_EQ(cheese.resources.overrides[0].label, "brand");
  EXPECT_EQ(cheese.resources.overrides[0].group, "cheese.io");
  EXPECT_EQ(cheese.resources.overrides[0].resolved, (k8s::GroupResource{"cheese.io", "brands"}));

  EXPECT_EQ(config->external_rules[0].path, "externalRules[0]");
  EXPECT_FALSE(config->external_rules[0].resources.namespaced.has_value());
  EXPECT_EQ(config->external_rules[1].resources.namespaced, std::optional<bool>(false));
  EXPECT_EQ(config->external_rules[1].metrics_query,
            "sum(<<.Series>>{<<.LabelMatchers>>}) by (name)");
}

TEST_F(RulesConfigTest, LoadsConfigGenDefaultsAndWalkthrough) {
  auto gen = Parse(kConfigGenRules);
  ASSERT_TRUE(gen.ok()) << gen.status();
  ASSERT_EQ(gen->rules.size(), 6u);
  EXPECT_EQ(gen->rules[3].name.matches, "");
  EXPECT_EQ(gen->rules[3].series_filters[0].is_not, ".*_total$");
  EXPECT_TRUE(gen->rules[0].series_filters.empty());

  auto walk = Parse(kWalkthrough);
  ASSERT_TRUE(walk.ok()) << walk.status();
  ASSERT_EQ(walk->rules.size(), 1u);
  EXPECT_EQ(walk->rules[0].name.as, "${1}_per_second");
}

TEST_F(RulesConfigTest, EmptyDocumentsAreEmptyConfigs) {
  for (const char* yaml : {"", "# nothing\n", "rules:\nexternalRules: []\n", "---\n"}) {
    auto config = Parse(yaml);
    ASSERT_TRUE(config.ok()) << yaml << ": " << config.status();
    EXPECT_TRUE(config->rules.empty());
    EXPECT_TRUE(config->external_rules.empty());
    EXPECT_FALSE(config->resource_rules.has_value());
  }
}

TEST_F(RulesConfigTest, AcceptsNamespacedBooleanSpellings) {
  auto config = Parse(R"(externalRules:
- seriesQuery: 'queue_depth'
  metricsQuery: 'sum(<<.Series>>)'
  resources: {namespaced: true}
)");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->external_rules[0].resources.namespaced, std::optional<bool>(true));
}

TEST_F(RulesConfigTest, RejectsUnknownKeys) {
  EXPECT_EQ(Error("rulez: []\n"),
            "cfg.yaml:1:1: config: unknown field \"rulez\" (known: rules, externalRules, "
            "resourceRules)");
  EXPECT_EQ(Error(R"(rules:
- seriesQuery: 'up'
  metricQuery: 'sum(up)'
)"),
            "cfg.yaml:3:3: rules[0]: unknown field \"metricQuery\" (known: seriesQuery, "
            "seriesFilters, resources, name, metricsQuery)");
  EXPECT_THAT(Error(R"(rules:
- seriesQuery: 'up'
  metricsQuery: 'sum(up)'
  name: {matches: "^(.*)$", az: "x"}
)"),
              StartsWith("cfg.yaml:4:29: rules[0].name: unknown field \"az\""));
  EXPECT_THAT(Error(R"(rules:
- seriesQuery: 'up'
  metricsQuery: 'sum(up)'
  resources:
    overrides:
      pod: {resource: pod, version: v1}
)"),
              StartsWith("cfg.yaml:6:28: rules[0].resources.overrides.pod: unknown field "
                         "\"version\""));
  EXPECT_THAT(Error(R"(resourceRules:
  cpu: {containerQuery: a, nodeQuery: b}
  memory: {containerQuery: a, nodeQuery: b}
  window: 5m
  windowSize: 1m
)"),
              StartsWith("cfg.yaml:5:3: resourceRules: unknown field \"windowSize\""));
}

TEST_F(RulesConfigTest, RejectsDuplicateKeys) {
  EXPECT_EQ(Error(R"(rules:
- seriesQuery: 'up'
  metricsQuery: 'sum(up)'
  seriesQuery: 'down'
)"),
            "cfg.yaml:4:3: rules[0].seriesQuery: duplicate key");
}

TEST_F(RulesConfigTest, RejectsWrongTypes) {
  EXPECT_EQ(Error("rules: {seriesQuery: up}\n"),
            "cfg.yaml:1:8: rules: expected a list, got a mapping");
  EXPECT_EQ(Error("- a\n- b\n"), "cfg.yaml:1:1: config: expected a mapping, got a list");
  EXPECT_EQ(Error(R"(rules:
- seriesQuery: [up]
  metricsQuery: 'sum(up)'
)"),
            "cfg.yaml:2:16: rules[0].seriesQuery: expected a string, got a list");
  EXPECT_EQ(Error(R"(rules:
- seriesQuery: up
  metricsQuery: 'sum(up)'
  seriesFilters: {is: up}
)"),
            "cfg.yaml:4:18: rules[0].seriesFilters: expected a list, got a mapping");
  EXPECT_EQ(Error(R"(externalRules:
- seriesQuery: up
  metricsQuery: 'sum(up)'
  resources: {namespaced: maybe}
)"),
            "cfg.yaml:4:27: externalRules[0].resources.namespaced: expected true or false, got "
            "\"maybe\"");
  EXPECT_EQ(Error("rules:\n- up\n"), "cfg.yaml:2:3: rules[0]: expected a mapping, got a scalar");
  EXPECT_EQ(Error(R"(resourceRules:
  cpu: [a]
  memory: {containerQuery: a, nodeQuery: b}
  window: 5m
)"),
            "cfg.yaml:2:8: resourceRules.cpu: expected a mapping, got a list");
}

TEST_F(RulesConfigTest, RejectsMissingRequiredFields) {
  EXPECT_EQ(Error(R"(rules:
- metricsQuery: 'sum(up)'
)"),
            "cfg.yaml:2:3: rules[0].seriesQuery: missing required field");
  EXPECT_EQ(Error(R"(rules:
- seriesQuery: up
  metricsQuery: 'sum(up)'
- seriesQuery: up
  name: {as: x}
)"),
            "cfg.yaml:4:3: rules[1].metricsQuery: missing required field");
  EXPECT_EQ(Error(R"(externalRules:
- seriesQuery: ''
  metricsQuery: 'sum(up)'
)"),
            "cfg.yaml:2:16: externalRules[0].seriesQuery: missing required field");
  const char* no_window = R"(resourceRules:
  cpu: {containerQuery: a, nodeQuery: b, resources: {template: <<.Resource>>}}
  memory: {containerQuery: a, nodeQuery: b, resources: {template: <<.Resource>>}}
)";
  EXPECT_EQ(Error(no_window), "cfg.yaml:2:3: resourceRules.window: missing required field");
  EXPECT_EQ(Error(R"(resourceRules:
  cpu: {containerQuery: a, resources: {template: <<.Resource>>}}
  memory: {containerQuery: a, nodeQuery: b}
  window: 5m
)"),
            "cfg.yaml:2:8: resourceRules.cpu.nodeQuery: missing required field");
  EXPECT_EQ(Error(R"(resourceRules:
  cpu: {containerQuery: a, nodeQuery: b, resources: {template: <<.Resource>>}}
  window: 5m
)"),
            "cfg.yaml:2:3: resourceRules.memory: missing required field");
  EXPECT_EQ(Error(R"(rules:
- seriesQuery: up
  metricsQuery: 'sum(up)'
  resources: {overrides: {pod: {group: ""}}}
)"),
            "cfg.yaml:4:32: rules[0].resources.overrides.pod: missing required field "
            "\"resource\"");
}

TEST_F(RulesConfigTest, RejectsBadRegexes) {
  EXPECT_EQ(Error(R"(rules:
- seriesQuery: up
  metricsQuery: 'sum(up)'
- seriesQuery: up
  metricsQuery: 'sum(up)'
- seriesQuery: up
  metricsQuery: 'sum(up)'
  name:
    matches: "^(abc"
)"),
            "cfg.yaml:9:14: rules[2].name.matches: error parsing regexp: missing closing ): "
            "`^(abc`");
  EXPECT_EQ(Error(R"(rules:
- seriesQuery: up
  metricsQuery: 'sum(up)'
  seriesFilters:
  - is: ok
  - isNot: "a**"
)"),
            "cfg.yaml:6:12: rules[0].seriesFilters[1].isNot: error parsing regexp: invalid "
            "nested repetition operator: `**`");
  // Perl lookaheads are not RE2 (nor Go) syntax.
  EXPECT_THAT(Error(R"yaml(rules:
- seriesQuery: up
  metricsQuery: 'sum(up)'
  seriesFilters: [{is: "(?!x)"}]
)yaml"),
              StartsWith("cfg.yaml:4:24: rules[0].seriesFilters[0].is: error parsing regexp: "
                         "invalid or unsupported Perl syntax"));
}

TEST_F(RulesConfigTest, FiltersNeedExactlyOneOfIsAndIsNot) {
  EXPECT_EQ(Error(R"(rules:
- seriesQuery: up
  metricsQuery: 'sum(up)'
  seriesFilters: [{is: a, isNot: b}]
)"),
            "cfg.yaml:4:19: rules[0].seriesFilters[0]: cannot have both is (a) and isNot (b) in "
            "a single filter");
  EXPECT_EQ(Error(R"(rules:
- seriesQuery: up
  metricsQuery: 'sum(up)'
  seriesFilters: [{}]
)"),
            "cfg.yaml:4:19: rules[0].seriesFilters[0]: must have either is or isNot");
}

TEST_F(RulesConfigTest, RejectsBadSeriesQueries) {
  EXPECT_THAT(Error(R"(rules:
- seriesQuery: '{foo=""}'
  metricsQuery: 'sum(up)'
)"),
              StartsWith("cfg.yaml:2:16: rules[0].seriesQuery: invalid series selector: "));
  EXPECT_THAT(Error(R"(rules:
- seriesQuery: 'up{'
  metricsQuery: 'sum(up)'
)"),
              StartsWith("cfg.yaml:2:16: rules[0].seriesQuery: invalid series selector: "));
  EXPECT_THAT(Error(R"(rules:
- seriesQuery: 'rate(up[5m])'
  metricsQuery: 'sum(up)'
)"),
              StartsWith("cfg.yaml:2:16: rules[0].seriesQuery: invalid series selector: "));
}

TEST_F(RulesConfigTest, RejectsTemplatesThatDoNotParse) {
  EXPECT_THAT(Error(R"(rules:
- seriesQuery: up
  metricsQuery: 'sum(<<.Serie>>)'
)"),
              StartsWith("cfg.yaml:3:17: rules[0].metricsQuery: template: 1:"));
  EXPECT_THAT(Error(R"(rules:
- seriesQuery: up
  metricsQuery: 'sum(<<.Series>>'
  resources: {template: "<<.Series>>"}
)"),
              StartsWith("cfg.yaml:4:25: rules[0].resources.template: unable to parse label "
                         "template: "));
  EXPECT_THAT(Error(R"(rules:
- seriesQuery: up
  metricsQuery: 'sum(<<if .Series>>x)'
)"),
              StartsWith("cfg.yaml:3:17: rules[0].metricsQuery: template: "));
  EXPECT_THAT(Error(R"(resourceRules:
  cpu:
    containerQuery: '<<.Group>>'
    nodeQuery: b
    resources: {template: <<.Resource>>}
  memory: {containerQuery: a, nodeQuery: b}
  window: 5m
)"),
              StartsWith("cfg.yaml:3:21: resourceRules.cpu.containerQuery: template: "));
  // Every query field is known to every query template.
  auto ok = Parse(R"(rules:
- seriesQuery: up
  metricsQuery: '<<.Series>> <<.LabelMatchers>> <<.GroupBy>> <<index .LabelValuesByName "pod">> <<join "," .GroupBySlice>>'
  resources: {template: "<<.Group>>_<<.Resource>>"}
)");
  EXPECT_TRUE(ok.ok()) << ok.status();
}

TEST_F(RulesConfigTest, RejectsAsReferencesToMissingGroups) {
  EXPECT_EQ(Error(R"(rules:
- seriesQuery: up
  metricsQuery: 'sum(up)'
  name: {matches: "^(.*)_total$", as: "$2"}
)"),
            "cfg.yaml:4:39: rules[0].name.as: $2 refers to group 2 but ^(.*)_total$ has 1 group");
  EXPECT_THAT(Error(R"(rules:
- seriesQuery: up
  metricsQuery: 'sum(up)'
  name: {matches: "^(.*)_total$", as: "$1_per_second"}
)"),
              StartsWith("cfg.yaml:4:39: rules[0].name.as: $1_per_second refers to no group "
                         "named \"1_per_second\""));
  EXPECT_THAT(Error(R"(rules:
- seriesQuery: up
  metricsQuery: 'sum(up)'
  name: {as: "${x}"}
)"),
              StartsWith("cfg.yaml:4:14: rules[0].name.as: ${x} refers to no group named"));
  EXPECT_THAT(Error(R"(rules:
- seriesQuery: up
  metricsQuery: 'sum(up)'
  name: {matches: "^(a)(b)$"}
)"),
              StartsWith("cfg.yaml:4:19: rules[0].name.as: must specify an 'as' value"));
  // Named groups, $$ and a $ that starts no reference are fine.
  auto ok = Parse(R"(rules:
- seriesQuery: up
  metricsQuery: 'sum(up)'
  name: {matches: "^(?P<base>.*)_(total)$", as: "${base}_$2$$ $"}
)");
  EXPECT_TRUE(ok.ok()) << ok.status();
}

TEST_F(RulesConfigTest, RejectsUnknownResourcesAndLabels) {
  EXPECT_EQ(Error(R"(rules:
- seriesQuery: up
  metricsQuery: 'sum(up)'
  resources:
    overrides:
      microservice: {group: apps, resource: microservice}
)"),
            "cfg.yaml:6:21: rules[0].resources.overrides.microservice: unknown resource "
            "\"microservice\" in group \"apps\"");
  EXPECT_EQ(Error(R"(rules:
- seriesQuery: up
  metricsQuery: 'sum(up)'
  resources:
    overrides:
      pod: {resource: pods, group: apps}
)"),
            "cfg.yaml:6:12: rules[0].resources.overrides.pod: unknown resource \"pods\" in group "
            "\"apps\"");
  EXPECT_EQ(Error(R"(rules:
- seriesQuery: up
  metricsQuery: 'sum(up)'
  resources:
    overrides:
      kube-pod: {resource: pod}
)"),
            "cfg.yaml:6:7: rules[0].resources.overrides.kube-pod: invalid label name \"kube-pod\"");
  auto ok = Parse(R"(rules:
- seriesQuery: up
  metricsQuery: 'sum(up)'
  resources:
    overrides:
      microservice: {group: apps, resource: deployment}
      svc: {resource: Service}
)");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->rules[0].resources.overrides[0].resolved,
            (k8s::GroupResource{"apps", "deployments"}));
  EXPECT_EQ(ok->rules[0].resources.overrides[1].resolved, (k8s::GroupResource{"", "services"}));
}

TEST_F(RulesConfigTest, RejectsBadResourceRules) {
  EXPECT_EQ(Error(R"(resourceRules:
  cpu: {containerQuery: a, nodeQuery: b, resources: {template: <<.Resource>>}}
  memory: {containerQuery: a, nodeQuery: b, resources: {template: <<.Resource>>}}
  window: 5
)"),
            "cfg.yaml:4:11: resourceRules.window: not a valid duration string: \"5\"");
  EXPECT_EQ(Error(R"(resourceRules:
  cpu: {containerQuery: a, nodeQuery: b, resources: {template: <<.Resource>>}}
  memory: {containerQuery: a, nodeQuery: b, resources: {template: <<.Resource>>}}
  window: 0s
)"),
            "cfg.yaml:4:11: resourceRules.window: window must be positive");
  EXPECT_THAT(Error(R"(resourceRules:
  cpu:
    containerQuery: a
    nodeQuery: b
    resources: {overrides: {pod: {resource: pod}, namespace: {resource: namespace}}}
  memory: {containerQuery: a, nodeQuery: b}
  window: 5m
)"),
              StartsWith("cfg.yaml:3:5: resourceRules.cpu.resources: unable to convert resource "
                         "nodes into label: no generic resource label form specified"));
  EXPECT_EQ(Error(R"(resourceRules:
  cpu: {containerQuery: a, nodeQuery: b, containerLabel: "a b", resources: {template: <<.Resource>>}}
  memory: {containerQuery: a, nodeQuery: b}
  window: 5m
)"),
            "cfg.yaml:2:58: resourceRules.cpu.containerLabel: invalid label name \"a b\"");
}

TEST_F(RulesConfigTest, ReportsYamlSyntaxErrorsWithTheirLine) {
  std::string err = Error("rules: [a\n");
  EXPECT_THAT(err, StartsWith("cfg.yaml:"));
  EXPECT_THAT(err, HasSubstr("yaml: "));
  EXPECT_THAT(Error("rules:\n  - a: b\n - c\n"), StartsWith("cfg.yaml:3:"));
}

TEST_F(RulesConfigTest, OddDocumentsAreErrorsNotCrashes) {
  for (const char* yaml :
       {"{[a]: b}\n", "rules: *missing\n", "a: &x [*x]\n", "rules: [[[[\n", "!!binary aGVsbG8=\n",
        "rules:\n- {seriesQuery: up, metricsQuery: x, resources: {overrides: {pod: 5}}}\n",
        "rules:\n- {seriesQuery: up, metricsQuery: x, seriesFilters: [5]}\n", "resourceRules: 5m\n",
        "\t- x\n", "rules: !!map {}\n", "---\na: 1\n---\nb: 2\n"}) {
    auto config = Parse(yaml);
    EXPECT_FALSE(config.ok()) << yaml;
    if (!config.ok()) {
      EXPECT_THAT(std::string(config.status().message()), StartsWith("cfg.yaml:")) << yaml;
    }
  }
}

TEST_F(RulesConfigTest, LoadConfigFileNamesThePath) {
  auto missing = LoadConfigFile("/nonexistent/rules.yaml", mapper_);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("/nonexistent/rules.yaml"));

  std::string path = ::testing::TempDir() + "/rules_config_test.yaml";
  {
    std::ofstream out(path);
    out << kWalkthrough;
  }
  auto config = LoadConfigFile(path, mapper_);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->filename, path);
  EXPECT_EQ(config->rules.size(), 1u);
  {
    std::ofstream out(path);
    out << "rules:\n- seriesQuery: up\n";
  }
  auto bad = LoadConfigFile(path, mapper_);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(std::string(bad.status().message()),
            path + ":2:3: rules[0].metricsQuery: missing required field");
  std::remove(path.c_str());
}

TEST_F(RulesConfigTest, HelpersAcceptOnlyLabelNames) {
  EXPECT_TRUE(IsValidLabelName("pod"));
  EXPECT_TRUE(IsValidLabelName("_x9"));
  EXPECT_FALSE(IsValidLabelName(""));
  EXPECT_FALSE(IsValidLabelName("9x"));
  EXPECT_FALSE(IsValidLabelName("app.kubernetes.io/name"));
  EXPECT_THAT(QueryTemplateFields(), ElementsAre("Series", "LabelMatchers", "LabelValuesByName",
                                                 "GroupBy", "GroupBySlice"));
  EXPECT_THAT(ResourceTemplateFields(), ElementsAre("Group", "Resource"));
}

}  // namespace
}  // namespace rules
