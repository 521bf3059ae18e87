#include "adapter/rules/registry.h"

#include <algorithm>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "adapter/rules/naming.h"
#include "adapter/rules/template.h"
#include "promql/parser/lexer.h"

namespace rules {
namespace registry_internal {

struct CompiledRule {
  const DiscoveryRule* rule;
  std::vector<SeriesFilter> filters;
  MetricNamer namer;
  Template query;
  ResourceConverter converter;
  bool namespaced;
};

struct CompiledResourceRule {
  const ResourceRule* rule;
  std::string path;
  Template container_query;
  Template node_query;
  ResourceConverter converter;
};

}  // namespace registry_internal

using registry_internal::CompiledResourceRule;
using registry_internal::CompiledRule;

struct RuleSet::State {
  Config config;  // the rules above point into it; a State never moves
  std::shared_ptr<const k8s::ResourceMapper> mapper;
  std::vector<CompiledRule> custom;
  std::vector<CompiledRule> external;
  std::optional<CompiledResourceRule> cpu;
  std::optional<CompiledResourceRule> memory;
};

namespace {

const k8s::GroupResource kNamespaces{"", "namespaces"};
const k8s::GroupResource kPods{"", "pods"};
const k8s::GroupResource kNodes{"", "nodes"};

absl::Status Annotate(std::string_view where, const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat(std::string(where), ": ", std::string(status.message())));
}

std::vector<std::pair<std::string, k8s::GroupResource>> OverridesOf(const ResourceMapping& m) {
  std::vector<std::pair<std::string, k8s::GroupResource>> out;
  for (const auto& ov : m.overrides) out.emplace_back(ov.label, ov.resolved);
  return out;
}

absl::StatusOr<CompiledRule> CompileRule(const DiscoveryRule& rule,
                                         const k8s::ResourceMapper& mapper) {
  std::vector<SeriesFilter> filters;
  for (size_t i = 0; i < rule.series_filters.size(); ++i) {
    auto f = SeriesFilter::Create(rule.series_filters[i].is, rule.series_filters[i].is_not);
    if (!f.ok()) return Annotate(absl::StrFormat("%s.seriesFilters[%d]", rule.path, i), f.status());
    filters.push_back(*std::move(f));
  }
  auto namer = MetricNamer::Create(rule.name.matches, rule.name.as);
  if (!namer.ok()) return Annotate(rule.path + ".name", namer.status());
  auto query = Template::Parse(rule.metrics_query, QueryTemplateFields());
  if (!query.ok()) return Annotate(rule.path + ".metricsQuery", query.status());
  std::vector<std::pair<std::string, k8s::GroupResource>> overrides;
  for (const auto& ov : rule.resources.overrides) {
    k8s::GroupResource gr = ov.resolved;
    if (gr.resource.empty()) {
      // A Config built in code: resolve here.
      auto info = mapper.Find(ov.resource, ov.group);
      if (!info) {
        return absl::InvalidArgumentError(
            absl::StrFormat("%s.resources.overrides.%s: unknown resource \"%s\"", rule.path,
                            ov.label, ov.resource));
      }
      gr = info->group_resource;
    }
    overrides.emplace_back(ov.label, gr);
  }
  auto conv = ResourceConverter::Create(rule.resources.label_template, std::move(overrides));
  if (!conv.ok()) return Annotate(rule.path + ".resources.template", conv.status());
  return CompiledRule{&rule,
                      std::move(filters),
                      *std::move(namer),
                      *std::move(query),
                      *std::move(conv),
                      rule.resources.namespaced.value_or(true)};
}

absl::StatusOr<CompiledResourceRule> CompileResourceRule(const ResourceRule& rule,
                                                         std::string path) {
  auto container = Template::Parse(rule.container_query, QueryTemplateFields());
  if (!container.ok()) return Annotate(path + ".containerQuery", container.status());
  auto node = Template::Parse(rule.node_query, QueryTemplateFields());
  if (!node.ok()) return Annotate(path + ".nodeQuery", node.status());
  auto conv = ResourceConverter::Create(rule.resources.label_template, OverridesOf(rule.resources));
  if (!conv.ok()) return Annotate(path + ".resources.template", conv.status());
  return CompiledResourceRule{&rule, std::move(path), *std::move(container), *std::move(node),
                              *std::move(conv)};
}

std::string Quote(std::string_view value) { return promql::parser::GoQuote(value); }

// The matcher for a set of object names: one name -> label="a"; several -> label=~"a|b" (each
// name regex-escaped); nullopt -> label!="".
std::string NamesMatcher(const std::string& label,
                         const std::optional<std::vector<std::string>>& names) {
  if (!names) return label + "!=\"\"";
  if (names->size() == 1) return label + "=" + Quote((*names)[0]);
  std::string alternation;
  for (const auto& n : *names) {
    if (!alternation.empty()) alternation += '|';
    alternation += QuoteRegex(n);
  }
  return label + "=~" + Quote(alternation);
}

std::string JoinRegex(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& v : values) {
    if (!out.empty()) out += '|';
    out += QuoteRegex(v);
  }
  return out;
}

// Appends the matchers of a Kubernetes selector's requirements (prometheus-adapter's
// processQueryParts).
absl::Status RenderSelector(const k8s::LabelSelector& selector, std::string_view what,
                            std::vector<std::string>* exprs,
                            std::map<std::string, std::string>* values_by_name) {
  for (const k8s::Requirement& req : selector.requirements()) {
    if (!IsValidLabelName(req.key)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: label \"%s\" is not a valid Prometheus label name", what, req.key));
    }
    const std::string& k = req.key;
    auto need_values = [&]() -> absl::Status {
      if (req.values.empty()) {
        return absl::InvalidArgumentError(
            absl::StrFormat("%s: requirement on \"%s\" has no values", what, k));
      }
      return absl::OkStatus();
    };
    switch (req.op) {
      case k8s::SelectorOp::kEquals:
      case k8s::SelectorOp::kDoubleEquals:
        if (auto st = need_values(); !st.ok()) return st;
        exprs->push_back(k + "=" + Quote(req.values[0]));
        break;
      case k8s::SelectorOp::kNotEquals:
        if (auto st = need_values(); !st.ok()) return st;
        exprs->push_back(k + "!=" + Quote(req.values[0]));
        break;
      case k8s::SelectorOp::kIn:
        if (auto st = need_values(); !st.ok()) return st;
        exprs->push_back(k + "=~" + Quote(JoinRegex(req.values)));
        break;
      case k8s::SelectorOp::kNotIn:
        if (auto st = need_values(); !st.ok()) return st;
        exprs->push_back(k + "!~" + Quote(JoinRegex(req.values)));
        break;
      case k8s::SelectorOp::kExists:
        exprs->push_back(k + "!=\"\"");
        break;
      case k8s::SelectorOp::kDoesNotExist:
        exprs->push_back(k + "=\"\"");
        break;
      case k8s::SelectorOp::kGreaterThan:
      case k8s::SelectorOp::kLessThan:
        return absl::InvalidArgumentError(
            absl::StrFormat("%s: operator %s on \"%s\" not supported by query builder", what,
                            req.op == k8s::SelectorOp::kGreaterThan ? ">" : "<", k));
    }
    (*values_by_name)[k] = absl::StrJoin(req.values, "|");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Render(const Template& tmpl, const std::string& series,
                                   const std::vector<std::string>& exprs,
                                   std::map<std::string, std::string> values_by_name,
                                   const std::vector<std::string>& group_by,
                                   std::string_view where) {
  TemplateData data;
  data["Series"] = series;
  data["LabelMatchers"] = absl::StrJoin(exprs, ",");
  data["LabelValuesByName"] = std::move(values_by_name);
  data["GroupBy"] = absl::StrJoin(group_by, ",");
  data["GroupBySlice"] = group_by;
  auto out = tmpl.Execute(data);
  if (!out.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("unable to execute query template of ",
                                                      std::string(where), ": ",
                                                      std::string(out.status().message())));
  }
  return out;
}

absl::Status NotFound(std::string_view metric, std::string_view resource) {
  return absl::NotFoundError(absl::StrCat("the server could not find the metric ",
                                          std::string(metric), " for ", std::string(resource)));
}

}  // namespace

// ---- RuleSet ----

absl::StatusOr<RuleSet> RuleSet::Create(Config config,
                                        std::shared_ptr<const k8s::ResourceMapper> mapper) {
  if (!mapper) return absl::InvalidArgumentError("RuleSet needs a ResourceMapper");
  auto state = std::make_shared<State>();
  state->config = std::move(config);
  state->mapper = std::move(mapper);
  Config& cfg = state->config;
  for (size_t i = 0; i < cfg.rules.size(); ++i) {
    if (cfg.rules[i].path.empty()) cfg.rules[i].path = absl::StrFormat("rules[%d]", i);
  }
  for (size_t i = 0; i < cfg.external_rules.size(); ++i) {
    if (cfg.external_rules[i].path.empty()) {
      cfg.external_rules[i].path = absl::StrFormat("externalRules[%d]", i);
    }
  }
  for (const auto& rule : cfg.rules) {
    auto c = CompileRule(rule, *state->mapper);
    if (!c.ok()) return c.status();
    state->custom.push_back(*std::move(c));
  }
  for (const auto& rule : cfg.external_rules) {
    auto c = CompileRule(rule, *state->mapper);
    if (!c.ok()) return c.status();
    state->external.push_back(*std::move(c));
  }
  if (cfg.resource_rules) {
    auto cpu = CompileResourceRule(cfg.resource_rules->cpu, "resourceRules.cpu");
    if (!cpu.ok()) return cpu.status();
    state->cpu.emplace(*std::move(cpu));
    auto memory = CompileResourceRule(cfg.resource_rules->memory, "resourceRules.memory");
    if (!memory.ok()) return memory.status();
    state->memory.emplace(*std::move(memory));
  }
  return RuleSet(std::move(state));
}

const Config& RuleSet::config() const { return state_->config; }

std::vector<std::string> RuleSet::SeriesQueries() const {
  std::vector<std::string> out;
  auto add = [&](const std::vector<DiscoveryRule>& rules) {
    for (const auto& r : rules) {
      if (std::find(out.begin(), out.end(), r.series_query) == out.end()) {
        out.push_back(r.series_query);
      }
    }
  };
  add(state_->config.rules);
  add(state_->config.external_rules);
  return out;
}

bool RuleSet::has_custom() const { return !state_->custom.empty(); }
bool RuleSet::has_external() const { return !state_->external.empty(); }
bool RuleSet::has_resource() const { return state_->cpu.has_value(); }

int64_t RuleSet::window_ms() const {
  return state_->config.resource_rules ? state_->config.resource_rules->window_ms : 0;
}

std::shared_ptr<const MetricRegistry> RuleSet::Discover(const SeriesByQuery& by_query) const {
  auto registry = std::make_shared<MetricRegistry>();
  registry->state_ = state_;
  const k8s::ResourceMapper& mapper = *state_->mapper;

  // The series of one rule, in name order, that pass its filters, with their API names.
  auto matching = [&](const CompiledRule& rule, auto&& fn) {
    auto it = by_query.find(rule.rule->series_query);
    if (it == by_query.end()) return;
    std::vector<const SeriesSummary*> series;
    series.reserve(it->second.size());
    for (const auto& s : it->second) series.push_back(&s);
    std::stable_sort(
        series.begin(), series.end(),
        [](const SeriesSummary* a, const SeriesSummary* b) { return a->name < b->name; });
    for (const SeriesSummary* s : series) {
      bool pass = true;
      for (const auto& f : rule.filters) {
        if (!f.Passes(s->name)) {
          pass = false;
          break;
        }
      }
      if (!pass) continue;
      std::optional<std::string> name = rule.namer.NameFor(s->name);
      if (!name || name->empty()) continue;
      fn(*s, *name);
    }
  };

  for (size_t i = 0; i < state_->custom.size(); ++i) {
    const CompiledRule& rule = state_->custom[i];
    std::unordered_map<std::string, std::optional<k8s::ResourceInfo>> label_cache;
    matching(rule, [&](const SeriesSummary& s, const std::string& name) {
      for (const std::string& label : s.label_names) {
        auto cached = label_cache.find(label);
        if (cached == label_cache.end()) {
          cached = label_cache.emplace(label, rule.converter.ResourceForLabel(label, mapper)).first;
        }
        const std::optional<k8s::ResourceInfo>& info = cached->second;
        if (!info) continue;
        registry->custom_[{info->group_resource, name}] =
            MetricRegistry::CustomEntry{static_cast<int>(i), s.name, info->namespaced};
      }
    });
  }
  for (size_t i = 0; i < state_->external.size(); ++i) {
    matching(state_->external[i], [&](const SeriesSummary& s, const std::string& name) {
      registry->external_[name] = MetricRegistry::ExternalEntry{static_cast<int>(i), s.name};
    });
  }
  return registry;
}

absl::StatusOr<BuiltQuery> RuleSet::BuildContainerQuery(
    ResourceKind kind, std::string_view namespace_,
    std::optional<std::vector<std::string>> pods) const {
  const auto& rr = kind == ResourceKind::kCpu ? state_->cpu : state_->memory;
  if (!rr) return absl::FailedPreconditionError("no resourceRules configured");
  if (pods && pods->empty()) return absl::InvalidArgumentError("no pod names given");
  const k8s::ResourceMapper& mapper = *state_->mapper;
  auto pod_label = rr->converter.LabelForResource(kPods, mapper);
  if (!pod_label.ok()) return Annotate(rr->path, pod_label.status());
  auto ns_label = rr->converter.LabelForResource(kNamespaces, mapper);
  BuiltQuery q;
  q.rule_path = rr->path;
  q.resource_label = *pod_label;
  q.container_label = rr->rule->container_label;
  std::vector<std::string> exprs;
  std::map<std::string, std::string> values;
  std::vector<std::string> group_by = {*pod_label};
  if (!q.container_label.empty()) group_by.push_back(q.container_label);
  if (!namespace_.empty()) {
    if (!ns_label.ok()) return Annotate(rr->path, ns_label.status());
    q.namespace_label = *ns_label;
    exprs.push_back(*ns_label + "=" + Quote(namespace_));
    values[*ns_label] = std::string(namespace_);
  } else if (ns_label.ok()) {
    q.namespace_label = *ns_label;
    group_by.push_back(*ns_label);
  }
  exprs.push_back(NamesMatcher(*pod_label, pods));
  values[*pod_label] = pods ? absl::StrJoin(*pods, "|") : "";
  auto promql = Render(rr->container_query, "", exprs, std::move(values), group_by,
                       rr->path + ".containerQuery");
  if (!promql.ok()) return promql.status();
  q.promql = *std::move(promql);
  return q;
}

absl::StatusOr<BuiltQuery> RuleSet::BuildNodeQuery(
    ResourceKind kind, std::optional<std::vector<std::string>> nodes) const {
  const auto& rr = kind == ResourceKind::kCpu ? state_->cpu : state_->memory;
  if (!rr) return absl::FailedPreconditionError("no resourceRules configured");
  if (nodes && nodes->empty()) return absl::InvalidArgumentError("no node names given");
  auto node_label = rr->converter.LabelForResource(kNodes, *state_->mapper);
  if (!node_label.ok()) return Annotate(rr->path, node_label.status());
  BuiltQuery q;
  q.rule_path = rr->path;
  q.resource_label = *node_label;
  std::vector<std::string> exprs = {NamesMatcher(*node_label, nodes)};
  std::map<std::string, std::string> values = {
      {*node_label, nodes ? absl::StrJoin(*nodes, "|") : ""}};
  auto promql =
      Render(rr->node_query, "", exprs, std::move(values), {*node_label}, rr->path + ".nodeQuery");
  if (!promql.ok()) return promql.status();
  q.promql = *std::move(promql);
  return q;
}

// ---- MetricRegistry ----

std::vector<CustomMetricInfo> MetricRegistry::CustomMetrics() const {
  std::vector<CustomMetricInfo> out;
  out.reserve(custom_.size());
  for (const auto& [key, entry] : custom_) {
    out.push_back(CustomMetricInfo{key.first, entry.namespaced, key.second});
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> MetricRegistry::ExternalMetrics() const {
  std::vector<std::string> out;
  out.reserve(external_.size());
  for (const auto& [name, entry] : external_) out.push_back(name);
  return out;
}

absl::StatusOr<BuiltQuery> MetricRegistry::BuildCustomQuery(
    const CustomQueryRequest& request) const {
  if (!state_) return NotFound(request.metric, request.resource.String());
  const k8s::ResourceMapper& mapper = *state_->mapper;
  auto info = mapper.Find(request.resource.resource, request.resource.group);
  if (!info) return NotFound(request.metric, request.resource.String());
  const k8s::GroupResource& gr = info->group_resource;
  auto it = custom_.find({gr, request.metric});
  if (it == custom_.end()) return NotFound(request.metric, gr.String());
  const CustomEntry& entry = it->second;
  if (!request.namespace_.empty() != entry.namespaced) return NotFound(request.metric, gr.String());
  if (request.names && request.names->empty()) return NotFound(request.metric, gr.String());
  const CompiledRule& rule = state_->custom[entry.rule];

  BuiltQuery q;
  q.series = entry.series;
  q.rule = rule.rule;
  q.rule_path = rule.rule->path;
  std::vector<std::string> exprs;
  std::map<std::string, std::string> values;
  if (auto st = RenderSelector(request.metric_selector, "metricLabelSelector", &exprs, &values);
      !st.ok()) {
    return st;
  }
  if (auto st = RenderSelector(request.object_selector, "labelSelector", &exprs, &values);
      !st.ok()) {
    return st;
  }
  std::string where =
      absl::StrCat("metric ", request.metric, " for ", gr.String(), " (", rule.rule->path, ")");
  if (!request.namespace_.empty()) {
    auto ns_label = rule.converter.LabelForResource(kNamespaces, mapper);
    if (!ns_label.ok()) return Annotate("unable to build query for " + where, ns_label.status());
    q.namespace_label = *ns_label;
    exprs.push_back(*ns_label + "=" + Quote(request.namespace_));
    values[*ns_label] = request.namespace_;
  }
  auto label = rule.converter.LabelForResource(gr, mapper);
  if (!label.ok()) return Annotate("unable to build query for " + where, label.status());
  q.resource_label = *label;
  exprs.push_back(NamesMatcher(*label, request.names));
  values[*label] = request.names ? absl::StrJoin(*request.names, "|") : "";
  auto promql = Render(rule.query, entry.series, exprs, std::move(values), {*label}, where);
  if (!promql.ok()) return promql.status();
  q.promql = *std::move(promql);
  return q;
}

absl::StatusOr<BuiltQuery> MetricRegistry::BuildExternalQuery(
    std::string_view metric, std::string_view namespace_,
    const k8s::LabelSelector& selector) const {
  auto it = external_.find(metric);
  if (!state_ || it == external_.end()) {
    return NotFound(metric, namespace_ == "default" ? "namespaces" : "");
  }
  const ExternalEntry& entry = it->second;
  const CompiledRule& rule = state_->external[entry.rule];
  BuiltQuery q;
  q.series = entry.series;
  q.rule = rule.rule;
  q.rule_path = rule.rule->path;
  std::vector<std::string> exprs;
  std::map<std::string, std::string> values;
  if (auto st = RenderSelector(selector, "labelSelector", &exprs, &values); !st.ok()) return st;
  std::string where =
      absl::StrCat("external metric ", std::string(metric), " (", rule.rule->path, ")");
  if (rule.namespaced && !namespace_.empty()) {
    auto ns_label = rule.converter.LabelForResource(kNamespaces, *state_->mapper);
    if (!ns_label.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "unable to build query for ", where, ": ", std::string(ns_label.status().message()),
          " (map the namespace label or set resources.namespaced: false)"));
    }
    q.namespace_label = *ns_label;
    exprs.push_back(*ns_label + "=" + Quote(namespace_));
    values[*ns_label] = std::string(namespace_);
  }
  auto promql = Render(rule.query, entry.series, exprs, std::move(values), {}, where);
  if (!promql.ok()) return promql.status();
  q.promql = *std::move(promql);
  return q;
}

}  // namespace rules
