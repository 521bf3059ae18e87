#include "adapter/rules/registry.h"

#include <memory>
#include <string>
#include <vector>

#include "adapter/k8s/resources.h"
#include "adapter/k8s/selector.h"
#include "adapter/rules/config.h"
#include "adapter/rules/naming.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rules {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::shared_ptr<const k8s::ResourceMapper> Mapper() {
  return std::shared_ptr<const k8s::ResourceMapper>(k8s::NewBuiltinResourceMapper());
}

RuleSet MustRuleSet(std::string_view yaml) {
  auto mapper = Mapper();
  auto config = ParseConfig(yaml, "test.yaml", *mapper);
  EXPECT_TRUE(config.ok()) << config.status();
  if (!config.ok()) std::abort();
  auto rules = RuleSet::Create(*std::move(config), mapper);
  EXPECT_TRUE(rules.ok()) << rules.status();
  if (!rules.ok()) std::abort();
  return *std::move(rules);
}

k8s::LabelSelector Selector(std::string_view text) {
  auto sel = k8s::LabelSelector::Parse(text);
  EXPECT_TRUE(sel.ok()) << text << ": " << sel.status();
  return sel.ok() ? *sel : k8s::LabelSelector();
}

CustomMetricInfo Info(std::string group, std::string resource, bool namespaced, std::string name) {
  return CustomMetricInfo{{std::move(group), std::move(resource)}, namespaced, std::move(name)};
}

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

constexpr char kHttpQuery[] = R"(http_requests_total{namespace!="",pod!=""})";

// A registry for the walkthrough rule with http_requests_total seen on pods.
std::shared_ptr<const MetricRegistry> WalkthroughRegistry(const RuleSet& rules) {
  return rules.Discover(
      {{kHttpQuery, {{"http_requests_total", {"__name__", "namespace", "pod", "instance"}}}}});
}

CustomQueryRequest PodsRequest(std::vector<std::string> names) {
  CustomQueryRequest req;
  req.resource = {"", "pods"};
  req.metric = "http_requests_per_second";
  req.namespace_ = "somens";
  req.names = std::move(names);
  return req;
}

TEST(RulesRegistryTest, WalkthroughExampleQuery) {
  RuleSet rules = MustRuleSet(kWalkthrough);
  EXPECT_TRUE(rules.has_custom());
  EXPECT_FALSE(rules.has_external());
  EXPECT_FALSE(rules.has_resource());
  EXPECT_THAT(rules.SeriesQueries(), ElementsAre(kHttpQuery));
  auto registry = WalkthroughRegistry(rules);
  EXPECT_THAT(registry->CustomMetrics(),
              ElementsAre(Info("", "namespaces", false, "http_requests_per_second"),
                          Info("", "pods", true, "http_requests_per_second")));

  auto q = registry->BuildCustomQuery(PodsRequest({"p1", "p2"}));
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->promql,
            R"(sum(rate(http_requests_total{namespace="somens",pod=~"p1|p2"}[2m])) by (pod))");
  EXPECT_EQ(q->series, "http_requests_total");
  EXPECT_EQ(q->resource_label, "pod");
  EXPECT_EQ(q->namespace_label, "namespace");
  EXPECT_EQ(q->rule_path, "rules[0]");
  ASSERT_NE(q->rule, nullptr);
  EXPECT_EQ(q->rule->metrics_query, rules.config().rules[0].metrics_query);

  // One name: an equality matcher.
  q = registry->BuildCustomQuery(PodsRequest({"p1"}));
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->promql,
            R"(sum(rate(http_requests_total{namespace="somens",pod="p1"}[2m])) by (pod))");

  // Every object.
  CustomQueryRequest all = PodsRequest({});
  all.names.reset();
  q = registry->BuildCustomQuery(all);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->promql,
            R"(sum(rate(http_requests_total{namespace="somens",pod!=""}[2m])) by (pod))");

  // The namespace itself: /namespaces/somens/metrics/http_requests_per_second.
  CustomQueryRequest ns;
  ns.resource = {"", "namespace"};
  ns.metric = "http_requests_per_second";
  ns.names = std::vector<std::string>{"somens"};
  q = registry->BuildCustomQuery(ns);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->promql, R"(sum(rate(http_requests_total{namespace="somens"}[2m])) by (namespace))");
  EXPECT_EQ(q->resource_label, "namespace");
  EXPECT_EQ(q->namespace_label, "");
}

TEST(RulesRegistryTest, PodNamesAreRegexEscapedAndValuesQuoted) {
  RuleSet rules = MustRuleSet(kWalkthrough);
  auto registry = WalkthroughRegistry(rules);
  auto q = registry->BuildCustomQuery(PodsRequest({"web.1", "a+b", "c(d)"}));
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(
      q->promql,
      R"q(sum(rate(http_requests_total{namespace="somens",pod=~"web\\.1|a\\+b|c\\(d\\)"}[2m])) by (pod))q");
  CustomQueryRequest req = PodsRequest({"we\"ird"});
  req.namespace_ = "a\\b";
  q = registry->BuildCustomQuery(req);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->promql,
            R"(sum(rate(http_requests_total{namespace="a\\b",pod="we\"ird"}[2m])) by (pod))");
}

TEST(RulesRegistryTest, MetricLabelSelectorRendering) {
  RuleSet rules = MustRuleSet(R"(rules:
- seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources: {template: <<.Resource>>}
  name: {matches: "^(.*)_total$"}
  metricsQuery: '<<.LabelMatchers>>'
)");
  auto registry = WalkthroughRegistry(rules);
  struct Case {
    const char* selector;
    const char* matchers;
  } cases[] = {
      {"verb=GET", R"(verb="GET",namespace="somens",pod="p1")"},
      {"verb==GET", R"(verb="GET",namespace="somens",pod="p1")"},
      {"verb!=GET", R"(verb!="GET",namespace="somens",pod="p1")"},
      {"verb in (GET,PUT)", R"(verb=~"GET|PUT",namespace="somens",pod="p1")"},
      {"verb in (GET)", R"(verb=~"GET",namespace="somens",pod="p1")"},
      {"verb notin (GET,PUT)", R"(verb!~"GET|PUT",namespace="somens",pod="p1")"},
      {"verb", R"(verb!="",namespace="somens",pod="p1")"},
      {"!verb", R"(verb="",namespace="somens",pod="p1")"},
      {"path in (a.b,c)", R"(path=~"a\\.b|c",namespace="somens",pod="p1")"},
      // Sorted by key, as Kubernetes orders requirements.
      {"zone=a,code!=500", R"(code!="500",zone="a",namespace="somens",pod="p1")"},
  };
  for (const Case& c : cases) {
    CustomQueryRequest req = PodsRequest({"p1"});
    req.metric = "http_requests";
    req.metric_selector = Selector(c.selector);
    auto q = registry->BuildCustomQuery(req);
    ASSERT_TRUE(q.ok()) << c.selector << ": " << q.status();
    EXPECT_EQ(q->promql, c.matchers) << c.selector;
  }
  for (const char* op : {"code>400", "code<400"}) {
    CustomQueryRequest req = PodsRequest({"p1"});
    req.metric = "http_requests";
    req.metric_selector = Selector(op);
    auto q = registry->BuildCustomQuery(req);
    ASSERT_FALSE(q.ok()) << op;
    EXPECT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument) << op;
    EXPECT_THAT(std::string(q.status().message()), HasSubstr("not supported by query builder"));
  }
  // Kubernetes keys that are not Prometheus label names.
  CustomQueryRequest req = PodsRequest({"p1"});
  req.metric = "http_requests";
  req.metric_selector = Selector("app.kubernetes.io/name=web");
  auto q = registry->BuildCustomQuery(req);
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument);

  // Local mode: the object selector follows the metric selector.
  req = PodsRequest({"p1", "p2"});
  req.metric = "http_requests";
  req.metric_selector = Selector("verb=GET");
  req.object_selector = Selector("app=web");
  q = registry->BuildCustomQuery(req);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->promql, R"(verb="GET",app="web",namespace="somens",pod=~"p1|p2")");
}

TEST(RulesRegistryTest, TemplateSeesEveryVariable) {
  RuleSet rules = MustRuleSet(R"(rules:
- seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pods}}}
  name: {matches: "^(.*)_total$"}
  metricsQuery: '<<.Series>>|<<index .LabelValuesByName "pod">>|<<index .LabelValuesByName "namespace">>|<<index .LabelValuesByName "verb">>|<<join ";" .GroupBySlice>>|<<.GroupBy>>'
)");
  auto registry = WalkthroughRegistry(rules);
  CustomQueryRequest req = PodsRequest({"a.1", "b"});
  req.metric = "http_requests";
  req.metric_selector = Selector("verb in (GET,PUT)");
  auto q = registry->BuildCustomQuery(req);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->promql, "http_requests_total|a.1|b|somens|GET|PUT|pod|pod");
}

TEST(RulesRegistryTest, NotFoundWithPrometheusAdapterMessages) {
  RuleSet rules = MustRuleSet(kWalkthrough);
  auto registry = WalkthroughRegistry(rules);
  CustomQueryRequest req = PodsRequest({"p1"});
  req.metric = "nope";
  auto q = registry->BuildCustomQuery(req);
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(std::string(q.status().message()),
            "the server could not find the metric nope for pods");

  // Registered for pods, not for services.
  req = PodsRequest({"p1"});
  req.resource = {"", "services"};
  q = registry->BuildCustomQuery(req);
  EXPECT_EQ(std::string(q.status().message()),
            "the server could not find the metric http_requests_per_second for services");
  // Unknown resource.
  req.resource = {"example.com", "widgets"};
  q = registry->BuildCustomQuery(req);
  EXPECT_EQ(
      std::string(q.status().message()),
      "the server could not find the metric http_requests_per_second for widgets.example.com");
  // Pods asked without a namespace: pods are namespaced.
  req = PodsRequest({"p1"});
  req.namespace_ = "";
  q = registry->BuildCustomQuery(req);
  EXPECT_EQ(q.status().code(), absl::StatusCode::kNotFound);
  // No objects matched.
  q = registry->BuildCustomQuery(PodsRequest({}));
  EXPECT_EQ(q.status().code(), absl::StatusCode::kNotFound);
  // The empty registry before the first discovery.
  MetricRegistry empty;
  EXPECT_EQ(empty.BuildCustomQuery(PodsRequest({"p1"})).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_THAT(empty.CustomMetrics(), IsEmpty());
  EXPECT_EQ(empty.BuildExternalQuery("x", "default", {}).status().code(),
            absl::StatusCode::kNotFound);
}

// docs/sample-config.yaml's custom rules with a pair of brand resources replaced by
// deployments (the built-in mapper has no cheese.io).
constexpr char kSampleRules[] = R"yaml(rules:
- seriesQuery: '{__name__=~"^container_.*",container!="POD",namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: "namespace"}
      pod: {resource: "pod"}
  name:
    matches: "^container_(.*)_seconds_total$"
  metricsQuery: "sum(rate(<<.Series>>{<<.LabelMatchers>>,container!='POD'}[2m])) by (<<.GroupBy>>)"
- seriesQuery: '{__name__=~"^container_.*_total",container!="POD",namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: "namespace"}
      pod: {resource: "pod"}
  seriesFilters:
  - isNot: "^container_.*_seconds_total$"
  name: {matches: "^container_(.*)_total$"}
  metricsQuery: "sum(rate(<<.Series>>{<<.LabelMatchers>>,container!='POD'}[2m])) by (<<.GroupBy>>)"
- seriesQuery: '{namespace!="",__name__!="^container_.*"}'
  name: {matches: "^(.*)_total$"}
  resources:
    template: "<<.Resource>>"
  metricsQuery: "sum(rate(<<.Series>>{<<.LabelMatchers>>,container!='POD'}[2m])) by (<<.GroupBy>>)"
- seriesQuery: 'cheddar{sharp="true"}'
  name: {as: "cheesy_goodness"}
  resources:
    overrides:
      microservice: {group: "apps", resource: "deployment"}
  metricsQuery: 'count(cheddar{sharp="true"})'
)yaml";

TEST(RulesRegistryTest, DiscoveryFiltersNamesAndAssociates) {
  RuleSet rules = MustRuleSet(kSampleRules);
  std::vector<std::string> queries = rules.SeriesQueries();
  ASSERT_EQ(queries.size(), 4u);
  const std::vector<std::string> cadvisor = {"__name__", "container", "namespace", "pod", "image"};
  SeriesByQuery found;
  found[queries[0]] = {
      {"container_cpu_usage_seconds_total", cadvisor},
      {"container_memory_usage_bytes", cadvisor},  // not matched by ^container_(.*)_seconds_total$
  };
  found[queries[1]] = {
      {"container_network_receive_bytes_total", cadvisor},
      {"container_cpu_usage_seconds_total", cadvisor},  // filtered out by isNot
  };
  found[queries[2]] = {
      // template <<.Resource>>: namespace, pod, service and job (jobs.batch) are resources;
      // instance and container are not.
      {"http_requests_total", {"__name__", "namespace", "pod", "service", "instance", "job"}},
      {"queue_length", {"namespace", "pod"}},  // gauge: not matched by ^(.*)_total$
  };
  found[queries[3]] = {{"cheddar", {"__name__", "microservice", "sharp"}}};
  auto registry = rules.Discover(found);
  EXPECT_THAT(
      registry->CustomMetrics(),
      ElementsAre(Info("", "namespaces", false, "cpu_usage"),
                  Info("", "namespaces", false, "http_requests"),
                  Info("", "namespaces", false, "network_receive_bytes"),
                  Info("", "pods", true, "cpu_usage"), Info("", "pods", true, "http_requests"),
                  Info("", "pods", true, "network_receive_bytes"),
                  Info("", "services", true, "http_requests"),
                  Info("apps", "deployments", true, "cheesy_goodness"),
                  Info("batch", "jobs", true, "http_requests")));

  // Resource labels from the template: the label named after the singular.
  CustomQueryRequest req;
  req.resource = {"", "services"};
  req.metric = "http_requests";
  req.namespace_ = "default";
  req.names = std::vector<std::string>{"frontend"};
  auto q = rules.Discover(found)->BuildCustomQuery(req);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(
      q->promql,
      R"(sum(rate(http_requests_total{namespace="default",service="frontend",container!='POD'}[2m])) by (service))");

  // The fixed-name rule: the query is written out, the object's label goes nowhere.
  req.resource = {"apps", "deployments"};
  req.metric = "cheesy_goodness";
  req.names = std::vector<std::string>{"web"};
  q = registry->BuildCustomQuery(req);
  ASSERT_FALSE(q.ok());  // no namespace label for this rule
  EXPECT_EQ(q.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(q.status().message()), HasSubstr("rules[3]"));
  EXPECT_THAT(std::string(q.status().message()),
              HasSubstr("unable to convert resource namespaces into label"));
}

TEST(RulesRegistryTest, FixedNameRuleRendersItsQuery) {
  RuleSet rules = MustRuleSet(R"(rules:
- seriesQuery: 'cheddar{sharp="true"}'
  name: {as: "cheesy_goodness"}
  resources:
    overrides:
      microservice: {group: "apps", resource: "deployment"}
      ns: {resource: "namespace"}
  metricsQuery: 'count(cheddar{sharp="true"})'
)");
  auto registry = rules.Discover(
      {{R"(cheddar{sharp="true"})", {{"cheddar", {"__name__", "microservice", "ns", "sharp"}}}}});
  CustomQueryRequest req;
  req.resource = {"apps", "deployment"};
  req.metric = "cheesy_goodness";
  req.namespace_ = "default";
  req.names = std::vector<std::string>{"web"};
  auto q = registry->BuildCustomQuery(req);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->promql, R"(count(cheddar{sharp="true"}))");
  EXPECT_EQ(q->resource_label, "microservice");
  EXPECT_EQ(q->namespace_label, "ns");
}

TEST(RulesRegistryTest, OverridesWinOverTheTemplate) {
  RuleSet rules = MustRuleSet(R"yaml(rules:
- seriesQuery: '{namespace!=""}'
  resources:
    template: "kube_<<.Group>>_<<.Resource>>"
    overrides:
      kubernetes_pod_name: {resource: pod}
      kube_apps_statefulset: {resource: service}
      namespace: {resource: namespace}
  name: {matches: "^(.*)$", as: "x_$1"}
  metricsQuery: '<<.LabelMatchers>> by <<.GroupBy>>'
)yaml");
  // kube_apps_widget names no known resource; kube__node does not match the template, whose
  // group part must not be empty (as in prometheus-adapter).
  auto registry =
      rules.Discover({{R"({namespace!=""})",
                       {{"m",
                         {"kubernetes_pod_name", "namespace", "kube_apps_deployment",
                          "kube_apps_statefulset", "kube_apps_widget", "kube__node"}}}}});
  EXPECT_THAT(
      registry->CustomMetrics(),
      ElementsAre(Info("", "namespaces", false, "x_m"), Info("", "pods", true, "x_m"),
                  Info("", "services", true, "x_m"), Info("apps", "deployments", true, "x_m")));
  CustomQueryRequest req;
  req.resource = {"", "pods"};
  req.metric = "x_m";
  req.namespace_ = "ns";
  req.names = std::vector<std::string>{"a"};
  auto q = registry->BuildCustomQuery(req);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->promql, R"(namespace="ns",kubernetes_pod_name="a" by kubernetes_pod_name)");
  req.resource = {"apps", "deployments"};
  q = registry->BuildCustomQuery(req);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->promql, R"(namespace="ns",kube_apps_deployment="a" by kube_apps_deployment)");
  req.resource = {"", "svc"};  // unknown name for the mapper
  EXPECT_EQ(registry->BuildCustomQuery(req).status().code(), absl::StatusCode::kNotFound);
  req.resource = {"", "Service"};
  q = registry->BuildCustomQuery(req);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->promql, R"(namespace="ns",kube_apps_statefulset="a" by kube_apps_statefulset)");
  req.resource = {"apps", "statefulsets"};
  EXPECT_EQ(registry->BuildCustomQuery(req).status().code(), absl::StatusCode::kNotFound);
}

TEST(RulesRegistryTest, ClusterScopedResourcesAreNotNamespaced) {
  RuleSet rules = MustRuleSet(R"yaml(rules:
- seriesQuery: '{node!=""}'
  resources: {template: "<<.Resource>>"}
  metricsQuery: '<<.LabelMatchers>> by <<.GroupBy>>'
)yaml");
  auto registry = rules.Discover(
      {{R"({node!=""})",
        {{"node_load1", {"node", "persistentvolume", "storageclass", "namespace"}}}}});
  EXPECT_THAT(registry->CustomMetrics(),
              ElementsAre(Info("", "namespaces", false, "node_load1"),
                          Info("", "nodes", false, "node_load1"),
                          Info("", "persistentvolumes", false, "node_load1"),
                          Info("storage.k8s.io", "storageclasses", false, "node_load1")));
  CustomQueryRequest req;
  req.resource = {"", "node"};
  req.metric = "node_load1";
  req.names = std::vector<std::string>{"n1", "n2"};
  auto q = registry->BuildCustomQuery(req);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->promql, R"(node=~"n1|n2" by node)");
  req.namespace_ = "ns";
  EXPECT_EQ(registry->BuildCustomQuery(req).status().code(), absl::StatusCode::kNotFound);
}

TEST(RulesRegistryTest, LastWriterWins) {
  RuleSet rules = MustRuleSet(R"(rules:
- seriesQuery: 'a_total'
  resources: {template: <<.Resource>>}
  name: {matches: "^(.*)_total$"}
  metricsQuery: 'first(<<.Series>>)'
- seriesQuery: '{__name__=~"a_.*"}'
  resources: {template: <<.Resource>>}
  name: {matches: "^(a)_.*$"}
  metricsQuery: 'second(<<.Series>>)'
)");
  EXPECT_THAT(rules.SeriesQueries(), ElementsAre("a_total", R"({__name__=~"a_.*"})"));
  auto registry = rules.Discover({
      {"a_total", {{"a_total", {"namespace", "pod"}}}},
      // Both become "a": the later name in sorted order wins within the rule, and this rule
      // wins over the first one.
      {R"({__name__=~"a_.*"})", {{"a_zzz", {"namespace", "pod"}}, {"a_bbb", {"pod", "namespace"}}}},
  });
  EXPECT_THAT(registry->CustomMetrics(),
              ElementsAre(Info("", "namespaces", false, "a"), Info("", "pods", true, "a")));
  CustomQueryRequest req;
  req.resource = {"", "pods"};
  req.metric = "a";
  req.namespace_ = "ns";
  auto q = registry->BuildCustomQuery(req);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->promql, "second(a_zzz)");
  EXPECT_EQ(q->rule_path, "rules[1]");

  // A query the caller did not answer selected nothing.
  auto partial = rules.Discover({{"a_total", {{"a_total", {"namespace", "pod"}}}}});
  q = partial->BuildCustomQuery(req);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->promql, "first(a_total)");
}

TEST(RulesRegistryTest, NamingExpandsLikeGo) {
  RuleSet rules = MustRuleSet(R"yaml(rules:
- seriesQuery: '{__name__=~".+"}'
  resources: {template: <<.Resource>>}
  name: {matches: "(?P<sub>[a-z]+)_(total|count)", as: "${sub}-$2-$$-$"}
  metricsQuery: 'x'
- seriesQuery: '{__name__=~".+"}'
  resources: {template: <<.Resource>>}
  name: {matches: "^b(x)?_"}
  metricsQuery: 'x'
)yaml");
  auto registry = rules.Discover(
      {{R"({__name__=~".+"})",
        {{"Xfoo_total_and_bar_count", {"pod"}}, {"b_gauge", {"pod"}}, {"nothing", {"pod"}}}}});
  // The first match counts and only the expansion of `as` is the name; an unmatched optional
  // group expands to "", and an empty name is skipped.
  EXPECT_THAT(registry->CustomMetrics(), ElementsAre(Info("", "pods", true, "foo-total-$-$")));
}

TEST(RulesRegistryTest, ExternalNamespacedAndNot) {
  RuleSet rules = MustRuleSet(R"(externalRules:
- seriesQuery: '{__name__="queue_consumer_lag",name!=""}'
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (name)
- seriesQuery: '{__name__="queue_depth",topic!=""}'
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (name)
  resources:
    namespaced: false
- seriesQuery: '{__name__=~"^jobs_.*",namespace!=""}'
  name: {matches: "^jobs_(.*)$", as: "jobs_$1"}
  resources: {overrides: {namespace: {resource: namespace}}}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)<<len .GroupBySlice>>
)");
  EXPECT_FALSE(rules.has_custom());
  EXPECT_TRUE(rules.has_external());
  auto registry = rules.Discover({
      {R"({__name__="queue_consumer_lag",name!=""})", {{"queue_consumer_lag", {"name"}}}},
      {R"({__name__="queue_depth",topic!=""})", {{"queue_depth", {"topic"}}}},
      {R"({__name__=~"^jobs_.*",namespace!=""})", {{"jobs_waiting", {"namespace", "queue"}}}},
  });
  EXPECT_THAT(registry->ExternalMetrics(),
              ElementsAre("jobs_waiting", "queue_consumer_lag", "queue_depth"));
  EXPECT_THAT(registry->CustomMetrics(), IsEmpty());

  auto q = registry->BuildExternalQuery("queue_depth", "default", Selector("topic=orders"));
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->promql, R"(sum(queue_depth{topic="orders"}) by (name))");
  EXPECT_EQ(q->namespace_label, "");

  q = registry->BuildExternalQuery("jobs_waiting", "team-a", Selector("queue in (x,y)"));
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->promql, R"(sum(jobs_waiting{queue=~"x|y",namespace="team-a"}) by ()0)");
  EXPECT_EQ(q->namespace_label, "namespace");
  EXPECT_EQ(q->rule_path, "externalRules[2]");

  // Namespaced (the default) without a namespace label: cannot be built.
  q = registry->BuildExternalQuery("queue_consumer_lag", "default", Selector("name=jobs"));
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(q.status().message()), HasSubstr("namespaced: false"));

  q = registry->BuildExternalQuery("queue_depth", "default", Selector("x>1"));
  EXPECT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument);

  q = registry->BuildExternalQuery("nope", "default", {});
  EXPECT_EQ(q.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(std::string(q.status().message()),
            "the server could not find the metric nope for namespaces");
  q = registry->BuildExternalQuery("nope", "other", {});
  EXPECT_EQ(std::string(q.status().message()), "the server could not find the metric nope for ");
}

constexpr char kDeployResourceRules[] = R"(resourceRules:
  cpu:
    containerQuery: |-
      sum by (<<.GroupBy>>) (irate(container_cpu_usage_seconds_total{<<.LabelMatchers>>,container!="",pod!=""}[4m]))
    nodeQuery: |-
      sum by (<<.GroupBy>>) (irate(node_cpu_usage_seconds_total{<<.LabelMatchers>>}[4m]))
    resources:
      overrides:
        node: {resource: node}
        namespace: {resource: namespace}
        pod: {resource: pod}
    containerLabel: container
  memory:
    containerQuery: |-
      sum by (<<.GroupBy>>) (container_memory_working_set_bytes{<<.LabelMatchers>>,container!="",pod!=""})
    nodeQuery: |-
      sum by (<<.GroupBy>>) (node_memory_working_set_bytes{<<.LabelMatchers>>})
    resources:
      template: "k_<<.Resource>>"
  window: 5m
)";

TEST(RulesRegistryTest, ResourceRuleQueries) {
  RuleSet rules = MustRuleSet(kDeployResourceRules);
  EXPECT_TRUE(rules.has_resource());
  EXPECT_FALSE(rules.has_custom());
  EXPECT_THAT(rules.SeriesQueries(), IsEmpty());
  EXPECT_EQ(rules.window_ms(), 300000);

  auto q = rules.BuildContainerQuery(ResourceKind::kCpu, "kube-system",
                                     std::vector<std::string>{"coredns-1", "etcd-0"});
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(
      q->promql,
      R"(sum by (pod,container) (irate(container_cpu_usage_seconds_total{namespace="kube-system",pod=~"coredns-1|etcd-0",container!="",pod!=""}[4m])))");
  EXPECT_EQ(q->resource_label, "pod");
  EXPECT_EQ(q->namespace_label, "namespace");
  EXPECT_EQ(q->container_label, "container");
  EXPECT_EQ(q->rule_path, "resourceRules.cpu");
  EXPECT_EQ(q->rule, nullptr);
  EXPECT_EQ(q->series, "");

  q = rules.BuildContainerQuery(ResourceKind::kCpu, "kube-system",
                                std::vector<std::string>{"etcd-0"});
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_THAT(q->promql, HasSubstr(R"({namespace="kube-system",pod="etcd-0",)"));

  // Every namespace: grouped by the namespace label too.
  q = rules.BuildContainerQuery(ResourceKind::kCpu, "", std::nullopt);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(
      q->promql,
      R"(sum by (pod,container,namespace) (irate(container_cpu_usage_seconds_total{pod!="",container!="",pod!=""}[4m])))");

  // Memory uses its own resources (a template) and has no container label.
  q = rules.BuildContainerQuery(ResourceKind::kMemory, "default",
                                std::vector<std::string>{"web-1"});
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(
      q->promql,
      R"(sum by (k_pod) (container_memory_working_set_bytes{k_namespace="default",k_pod="web-1",container!="",pod!=""}))");

  q = rules.BuildNodeQuery(ResourceKind::kCpu, std::vector<std::string>{"n1", "n2"});
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->promql, R"(sum by (node) (irate(node_cpu_usage_seconds_total{node=~"n1|n2"}[4m])))");
  EXPECT_EQ(q->resource_label, "node");
  q = rules.BuildNodeQuery(ResourceKind::kMemory, std::nullopt);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->promql, R"(sum by (k_node) (node_memory_working_set_bytes{k_node!=""}))");

  EXPECT_EQ(rules.BuildNodeQuery(ResourceKind::kCpu, std::vector<std::string>{}).status().code(),
            absl::StatusCode::kInvalidArgument);

  RuleSet none = MustRuleSet(kWalkthrough);
  EXPECT_FALSE(none.has_resource());
  EXPECT_EQ(none.window_ms(), 0);
  EXPECT_EQ(none.BuildNodeQuery(ResourceKind::kCpu, std::nullopt).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(RulesRegistryTest, ContainerLabelGoesIntoGroupBy) {
  RuleSet rules = MustRuleSet(kDeployResourceRules);
  auto q = rules.BuildContainerQuery(ResourceKind::kCpu, "ns", std::vector<std::string>{"p"});
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->container_label, "container");
  EXPECT_THAT(q->promql, HasSubstr("sum by (pod,container) ("));
}

TEST(RulesRegistryTest, RegistryOutlivesItsRuleSet) {
  std::shared_ptr<const MetricRegistry> registry;
  {
    RuleSet rules = MustRuleSet(kWalkthrough);
    registry = WalkthroughRegistry(rules);
  }
  auto q = registry->BuildCustomQuery(PodsRequest({"p1"}));
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_NE(q->rule, nullptr);
  EXPECT_EQ(q->rule->path, "rules[0]");
}

TEST(RulesNamingTest, ExpandStringSemantics) {
  struct Case {
    const char* matches;
    const char* as;
    const char* metric;
    std::optional<std::string> want;
  } cases[] = {
      {"", "", "up", "up"},                        // .* and $0
      {"^(.*)_total$", "", "http_total", "http"},  // one group: $1
      {"_total$", "", "http_total", "_total"},     // $0 is the match only
      {"^(.*)_total$", "${1}_per_second", "a_total", "a_per_second"},
      {"^(.*)_total$", "$1", "nope", std::nullopt},  // no match
      {"^(.*)_total$", "x$$1", "a_total", "x$1"},    // $$ is a literal $
      {"^(.*)_total$", "${1", "a_total", "${1"},     // malformed: kept literally
      {"^(.*)_total$", "cost$", "a_total", "cost$"},
      {"^(?P<n>.*)_total$", "$n-${n}", "a_total", "a-a"},
      {"^a(b)?(c)$", "[$1][$2]", "ac", "[][c]"},  // unmatched group: ""
      {"(?i)^HTTP_(.*)", "$1", "http_x", "x"},
  };
  for (const Case& c : cases) {
    auto namer = MetricNamer::Create(c.matches, c.as);
    ASSERT_TRUE(namer.ok()) << c.matches << " " << c.as << ": " << namer.status();
    EXPECT_EQ(namer->NameFor(c.metric), c.want) << c.matches << " " << c.as << " " << c.metric;
  }
  EXPECT_FALSE(MetricNamer::Create("^(.*)$", "$01").ok());  // leading zero: a name, not a group
  EXPECT_FALSE(MetricNamer::Create("(", "").ok());
}

TEST(RulesNamingTest, QuoteRegexEscapesOnlyMetacharacters) {
  EXPECT_EQ(QuoteRegex("web-1_a"), "web-1_a");
  EXPECT_EQ(QuoteRegex(R"(a.b+c*d?e(f)g|h[i]j{k}l^m$n\o)"),
            R"(a\.b\+c\*d\?e\(f\)g\|h\[i\]j\{k\}l\^m\$n\\o)");
  auto filter = SeriesFilter::Create("", "_seconds_total$");
  ASSERT_TRUE(filter.ok());
  EXPECT_TRUE(filter->Passes("container_memory_usage_bytes"));
  EXPECT_FALSE(filter->Passes("container_cpu_usage_seconds_total"));
  auto is = SeriesFilter::Create("cpu", "");
  ASSERT_TRUE(is.ok());
  EXPECT_TRUE(is->Passes("container_cpu_usage_seconds_total"));  // unanchored
  EXPECT_FALSE(is->Passes("memory"));
}

}  // namespace
}  // namespace rules
