#include "adapter/apiserver/metrics_api.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "adapter/api/json.h"
#include "adapter/apiserver/status.h"
#include "adapter/k8s/quantity.h"
#include "adapter/k8s/resources.h"
#include "adapter/k8s/selector.h"
#include "adapter/rules/registry.h"

namespace apiserver {

constexpr char kCustomGroup[] = "custom.metrics.k8s.io";
constexpr char kExternalGroup[] = "external.metrics.k8s.io";
constexpr char kResourceGroup[] = "metrics.k8s.io";

struct MetricsApi::State {
  std::shared_ptr<const rules::RuleSet> rules;
  std::shared_ptr<const rules::MetricRegistry> registry;  // null until discovery ran
};

// One parsed request on its way through the handlers.
struct MetricsApi::Call {
  const http::Request* request = nullptr;
  std::shared_ptr<const State> state;
  std::string version;                // "v1beta1"
  std::vector<std::string> segments;  // the path after /apis/<group>/<version>
  Explanation* explanation = nullptr;
  int64_t now = 0;
};

namespace {

absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// RFC 3339 with second precision, as metav1.Time marshals.
std::string FormatTime(int64_t ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

// Go's time.Duration.String() for whole milliseconds: "5m0s", "1h0m0s", "90ms", "1.5s".
std::string FormatGoDuration(int64_t ms) {
  if (ms == 0) return "0s";
  std::string sign = ms < 0 ? "-" : "";
  uint64_t u = ms < 0 ? -static_cast<uint64_t>(ms) : static_cast<uint64_t>(ms);
  if (u < 1000) return absl::StrCat(sign, u, "ms");
  std::string seconds = absl::StrCat((u / 1000) % 60);
  if (u % 1000 != 0) {
    std::string frac = absl::StrCat(1000 + u % 1000).substr(1);
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
    absl::StrAppend(&seconds, ".", frac);
  }
  uint64_t minutes = u / 60000;
  if (minutes == 0) return absl::StrCat(sign, seconds, "s");
  if (minutes < 60) return absl::StrCat(sign, minutes, "m", seconds, "s");
  return absl::StrCat(sign, minutes / 60, "h", minutes % 60, "m", seconds, "s");
}

http::Response JsonReply(std::string body) {
  body += "\n";
  return http::Response::Json(std::move(body));
}

void AppendField(std::string_view name, std::string_view value, std::string* out) {
  api::AppendJsonString(name, out);
  out->push_back(':');
  api::AppendJsonString(value, out);
}

std::string SampleLine(const promql::VectorSample& s) {
  std::string line;
  line += "{";
  bool first = true;
  for (const tsdb::Label& l : s.labels) {
    if (!first) line += ",";
    first = false;
    absl::StrAppend(&line, l.name, "=", api::GoQuote(l.value));
  }
  absl::StrAppend(&line, "} ", api::FormatSampleValue(s.v), " @", s.t / 1000, ".",
                  absl::StrCat(1000 + (s.t % 1000 + 1000) % 1000).substr(1));
  return line;
}

// The samples of a query result: a vector as it is, a scalar as one sample without labels.
absl::StatusOr<promql::Vector> AsVector(const promql::QueryResult& result, bool allow_scalar) {
  if (const auto* v = std::get_if<promql::Vector>(&result.value)) return *v;
  if (allow_scalar) {
    if (const auto* s = std::get_if<promql::Scalar>(&result.value)) {
      return promql::Vector{promql::VectorSample{tsdb::Labels(), s->t, s->v}};
    }
  }
  return absl::InternalError(absl::StrCat("the query returned a ",
                                          AV(promql::ValueTypeName(result.type())),
                                          " where a vector was expected"));
}

// The kinds a resource list names: "pods" -> {"pods", "Pod", namespaced}.
struct GroupVersionInfo {
  std::string group;
  std::vector<std::string> versions;
};

void AppendGroup(const GroupVersionInfo& g, std::string* out) {
  absl::StrAppend(out, R"({"name":)");
  api::AppendJsonString(g.group, out);
  *out += R"(,"versions":[)";
  for (size_t i = 0; i < g.versions.size(); ++i) {
    if (i > 0) *out += ",";
    absl::StrAppend(out, R"({"groupVersion":")", g.group, "/", g.versions[i], R"(","version":")",
                    g.versions[i], R"("})");
  }
  absl::StrAppend(out, R"(],"preferredVersion":{"groupVersion":")", g.group, "/",
                  g.versions.front(), R"(","version":")", g.versions.front(), R"("}})");
}

void AppendResource(std::string_view name, bool namespaced, std::string_view kind,
                    std::initializer_list<std::string_view> verbs, std::string* out) {
  *out += R"({"name":)";
  api::AppendJsonString(name, out);
  absl::StrAppend(out, R"(,"singularName":"","namespaced":)", namespaced ? "true" : "false",
                  R"(,"kind":")", AV(kind), R"(","verbs":[)");
  bool first = true;
  for (std::string_view v : verbs) {
    if (!first) *out += ",";
    first = false;
    api::AppendJsonString(v, out);
  }
  *out += "]}";
}

}  // namespace

MetricsApi::MetricsApi(MetricsApiOptions options) : options_(std::move(options)) {
  state_ = std::make_shared<const State>();
}

MetricsApi::~MetricsApi() = default;

int64_t MetricsApi::Now() const {
  if (options_.now_ms) return options_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::shared_ptr<const MetricsApi::State> MetricsApi::state() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

void MetricsApi::SetRules(std::shared_ptr<const rules::RuleSet> rules) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto next = std::make_shared<State>();
    next->rules = std::move(rules);
    // The old registry belongs to the old rules; until discovery runs nothing is served.
    state_ = std::move(next);
  }
  (void)Discover();
}

absl::Status MetricsApi::Discover() {
  std::lock_guard<std::mutex> discover_lock(discover_mu_);
  std::shared_ptr<const State> current = state();
  if (current->rules == nullptr) return absl::OkStatus();
  ++stats_.discovery_runs;
  const int64_t now = Now();
  std::map<std::string, std::vector<rules::SeriesSummary>, std::less<>> by_query;
  for (const std::string& query : current->rules->SeriesQueries()) {
    absl::StatusOr<std::vector<DiscoveredMetric>> found =
        options_.backend->DiscoverSeries(query, now - options_.discovery_max_age_ms, now);
    if (!found.ok()) {
      ++stats_.discovery_failures;
      return absl::Status(found.status().code(),
                          absl::StrCat("discovery of ", query, ": ", found.status().message()));
    }
    std::vector<rules::SeriesSummary>& summaries = by_query[query];
    for (DiscoveredMetric& m : *found) {
      summaries.push_back(rules::SeriesSummary{std::move(m.name), std::move(m.label_names)});
    }
  }
  std::shared_ptr<const rules::MetricRegistry> registry = current->rules->Discover(by_query);
  stats_.discovered_custom_metrics = static_cast<int64_t>(registry->CustomMetrics().size());
  stats_.discovered_external_metrics = static_cast<int64_t>(registry->ExternalMetrics().size());
  std::lock_guard<std::mutex> lock(mu_);
  if (state_ != current) return absl::OkStatus();  // the rules changed meanwhile
  auto next = std::make_shared<State>(*current);
  next->registry = std::move(registry);
  state_ = std::move(next);
  return absl::OkStatus();
}

std::vector<std::string> MetricsApi::CustomMetricNames() const {
  std::vector<std::string> out;
  std::shared_ptr<const State> s = state();
  if (s->registry == nullptr) return out;
  for (const rules::CustomMetricInfo& m : s->registry->CustomMetrics()) {
    out.push_back(absl::StrCat(m.resource.String(), "/", m.name));
  }
  return out;
}

void MetricsApi::Register(http::Router* router) const {
  router->Handle("/apis", [this](const http::Request& r) { return Handle(r); });
  router->HandlePrefix("/apis/", [this](const http::Request& r) { return Handle(r); });
}

http::Response MetricsApi::Handle(const http::Request& request) const {
  return Serve(request, nullptr);
}

http::Response MetricsApi::Explain(const http::Request& request, Explanation* explanation) const {
  return Serve(request, explanation);
}

http::Response MetricsApi::Serve(const http::Request& request, Explanation* explanation) const {
  ++stats_.requests;
  if (request.method != "GET" && request.method != "HEAD") {
    ++stats_.errors;
    return MethodNotAllowed(request.method);
  }
  Call call;
  call.request = &request;
  call.state = state();
  call.explanation = explanation;
  call.now = Now();
  const rules::RuleSet* rules = call.state->rules.get();
  const bool custom = rules != nullptr && rules->has_custom();
  const bool external =
      rules != nullptr && rules->has_external() && options_.enable_external_metrics;
  const bool resource = rules != nullptr && rules->has_resource();

  std::vector<std::string> parts = absl::StrSplit(request.path, '/', absl::SkipEmpty());
  // parts[0] == "apis"
  if (parts.size() == 1) {
    std::vector<GroupVersionInfo> groups;
    if (custom) groups.push_back({kCustomGroup, {"v1beta1", "v1beta2"}});
    if (external) groups.push_back({kExternalGroup, {"v1beta1"}});
    if (resource) groups.push_back({kResourceGroup, {"v1beta1"}});
    std::string body = R"({"kind":"APIGroupList","apiVersion":"v1","groups":[)";
    for (size_t i = 0; i < groups.size(); ++i) {
      if (i > 0) body += ",";
      AppendGroup(groups[i], &body);
    }
    body += "]}";
    return JsonReply(std::move(body));
  }
  const std::string& group = parts[1];
  std::vector<std::string> versions;
  if (group == kCustomGroup && custom) versions = {"v1beta1", "v1beta2"};
  if (group == kExternalGroup && external) versions = {"v1beta1"};
  if (group == kResourceGroup && resource) versions = {"v1beta1"};
  if (versions.empty()) return NotFound("the server could not find the requested resource");
  if (parts.size() == 2) {
    std::string body = R"({"kind":"APIGroup","apiVersion":"v1",)";
    std::string g;
    AppendGroup({group, versions}, &g);
    body += g.substr(1);  // the group object's fields, inside APIGroup
    return JsonReply(std::move(body));
  }
  call.version = parts[2];
  if (std::find(versions.begin(), versions.end(), call.version) == versions.end()) {
    return NotFound("the server could not find the requested resource");
  }
  call.segments.assign(parts.begin() + 3, parts.end());
  if (call.segments.empty()) {
    std::string body =
        absl::StrCat(R"({"kind":"APIResourceList","apiVersion":"v1","groupVersion":")", group, "/",
                     call.version, R"(","resources":[)");
    bool first = true;
    auto add = [&](std::string_view name, bool namespaced, std::string_view kind,
                   std::initializer_list<std::string_view> verbs) {
      if (!first) body += ",";
      first = false;
      AppendResource(name, namespaced, kind, verbs, &body);
    };
    if (group == kResourceGroup) {
      add("nodes", false, "NodeMetrics", {"get", "list"});
      add("pods", true, "PodMetrics", {"get", "list"});
    } else if (call.state->registry != nullptr && group == kCustomGroup) {
      for (const rules::CustomMetricInfo& m : call.state->registry->CustomMetrics()) {
        add(absl::StrCat(m.resource.String(), "/", m.name), m.namespaced, "MetricValueList",
            {"get"});
      }
    } else if (call.state->registry != nullptr) {
      for (const std::string& name : call.state->registry->ExternalMetrics()) {
        add(name, true, "ExternalMetricValueList", {"get"});
      }
    }
    body += "]}";
    return JsonReply(std::move(body));
  }
  http::Response response;
  if (group == kCustomGroup) {
    response = ServeCustom(call);
  } else if (group == kExternalGroup) {
    response = ServeExternal(call);
  } else {
    response = ServeResource(call);
  }
  if (response.status >= 400) ++stats_.errors;
  return response;
}

absl::StatusOr<promql::Vector> MetricsApi::Evaluate(const Call& call,
                                                    const rules::BuiltQuery& query,
                                                    bool allow_scalar) const {
  if (call.explanation != nullptr) {
    if (!query.rule_path.empty()) call.explanation->rule = query.rule_path;
    call.explanation->queries.push_back(query.promql);
  }
  absl::StatusOr<promql::QueryResult> result = options_.backend->Query(query.promql, call.now);
  if (!result.ok()) {
    // A query the rules rendered that fails (even to parse) is the server's problem, not the
    // request's: 500 with the cause; only an unavailable backend stays 503.
    if (result.status().code() == absl::StatusCode::kUnavailable) return result.status();
    return absl::InternalError(result.status().message());
  }
  absl::StatusOr<promql::Vector> samples = AsVector(*result, allow_scalar);
  if (samples.ok() && call.explanation != nullptr) {
    for (const promql::VectorSample& s : *samples) {
      call.explanation->samples.push_back(SampleLine(s));
    }
  }
  return samples;
}

http::Response MetricsApi::ServeCustom(const Call& call) const {
  const std::vector<std::string>& seg = call.segments;
  std::string ns, resource, name, metric;
  if (seg.size() < 3) return BadRequest("invalid custom metrics path: too few segments");
  if (seg.size() == 3) {
    resource = seg[0];
    name = seg[1];
    metric = seg[2];
  } else if (seg.size() == 4 && seg[0] == "namespaces" && seg[2] == "metrics") {
    resource = "namespaces";
    name = seg[1];
    metric = seg[3];
  } else if (seg.size() == 5 && seg[0] == "namespaces") {
    ns = seg[1];
    resource = seg[2];
    name = seg[3];
    metric = seg[4];
  } else {
    return NotFound("the server could not find the requested resource");
  }
  const std::string resource_for_message = resource;
  std::optional<k8s::ResourceInfo> info = options_.mapper->Find(resource, "");
  if (!info.has_value()) {
    return NotFound(absl::StrCat("the server could not find the metric ", metric, " for ",
                                 resource_for_message));
  }
  const http::Request& request = *call.request;
  absl::StatusOr<k8s::LabelSelector> object_selector =
      k8s::LabelSelector::Parse(request.Get("labelSelector"));
  if (!object_selector.ok()) {
    return BadRequest(absl::StrCat("invalid labelSelector: ", object_selector.status().message()));
  }
  absl::StatusOr<k8s::LabelSelector> metric_selector =
      k8s::LabelSelector::Parse(request.Get("metricLabelSelector"));
  if (!metric_selector.ok()) {
    return BadRequest(
        absl::StrCat("invalid metricLabelSelector: ", metric_selector.status().message()));
  }
  const std::string what = info->group_resource.String();
  if (call.state->registry == nullptr) {
    return NotFound(absl::StrCat("the server could not find the metric ", metric, " for ", what));
  }
  const bool wildcard = name == "*";
  rules::CustomQueryRequest query_request;
  query_request.resource = info->group_resource;
  query_request.metric = metric;
  query_request.namespace_ = ns;
  if (!wildcard) query_request.names = std::vector<std::string>{name};
  query_request.metric_selector = *metric_selector;
  if (wildcard && options_.objects != nullptr) {
    absl::StatusOr<std::vector<ObjectRef>> refs =
        options_.objects->List(*info, ns, *object_selector);
    if (!refs.ok()) return FromStatus(refs.status());
    std::vector<std::string> names;
    names.reserve(refs->size());
    for (ObjectRef& r : *refs) names.push_back(std::move(r.name));
    query_request.names = std::move(names);
  } else if (wildcard) {
    query_request.object_selector = *object_selector;
  }
  absl::StatusOr<rules::BuiltQuery> query = call.state->registry->BuildCustomQuery(query_request);
  if (!query.ok()) return FromStatus(query.status());
  absl::StatusOr<promql::Vector> samples = Evaluate(call, *query, /*allow_scalar=*/false);
  if (!samples.ok()) return FromStatus(samples.status());

  // Object name -> value; a later sample for the same object replaces an earlier one.
  std::map<std::string, double> values;
  for (const promql::VectorSample& s : *samples) {
    std::string_view object = s.labels.Get(query->resource_label);
    if (object.empty()) continue;
    if (!wildcard && object != name) continue;
    values[std::string(object)] = s.v;
  }
  auto note = [&](const std::string& text) {
    if (options_.debug_log) options_.debug_log(text);
    if (call.explanation != nullptr) call.explanation->notes.push_back(text);
  };
  if (!wildcard && values.empty()) {
    ++stats_.objects_missing;
    note(absl::StrCat("no sample of ", metric, " for ", what, " ", name, " (label ",
                      query->resource_label, ")"));
    return NotFound(
        absl::StrCat("the server could not find the metric ", metric, " for ", what, " ", name));
  }
  const bool v1beta2 = call.version == "v1beta2";
  const std::string timestamp = FormatTime(call.now);
  const std::string selector_json = metric_selector->ToJson();
  std::string body =
      absl::StrCat(R"({"kind":"MetricValueList","apiVersion":"custom.metrics.k8s.io/)",
                   call.version, R"(","metadata":{},"items":[)");
  bool first = true;
  for (const auto& [object, v] : values) {
    std::optional<int64_t> milli = k8s::ToMilli(v);
    if (!milli.has_value()) {
      ++stats_.objects_dropped_bad_value;
      note(absl::StrCat(what, " ", object, ": value ", api::FormatSampleValue(v), " of ", metric,
                        " is not a number a Quantity can carry; left out"));
      continue;
    }
    if (!first) body += ",";
    first = false;
    body += R"({"describedObject":{"kind":)";
    api::AppendJsonString(info->kind, &body);
    if (info->namespaced && !ns.empty()) {
      body += R"(,"namespace":)";
      api::AppendJsonString(ns, &body);
    }
    body += R"(,"name":)";
    api::AppendJsonString(object, &body);
    body += R"(,"apiVersion":)";
    api::AppendJsonString(info->ApiVersion(), &body);
    body += "},";
    if (v1beta2) {
      body += R"("metric":{"name":)";
      api::AppendJsonString(metric, &body);
      absl::StrAppend(&body, R"(,"selector":)", selector_json, "},");
      AppendField("timestamp", timestamp, &body);
      body += ",";
      AppendField("value", k8s::FormatMilliDecimal(*milli), &body);
    } else {
      AppendField("metricName", metric, &body);
      body += ",";
      AppendField("timestamp", timestamp, &body);
      body += ",";
      AppendField("value", k8s::FormatMilliDecimal(*milli), &body);
      absl::StrAppend(&body, R"(,"selector":)", selector_json);
    }
    body += "}";
  }
  body += "]}";
  return JsonReply(std::move(body));
}

http::Response MetricsApi::ServeExternal(const Call& call) const {
  const std::vector<std::string>& seg = call.segments;
  if (seg.size() != 3 || seg[0] != "namespaces") {
    return NotFound("the server could not find the requested resource");
  }
  const std::string& ns = seg[1];
  const std::string& metric = seg[2];
  absl::StatusOr<k8s::LabelSelector> selector =
      k8s::LabelSelector::Parse(call.request->Get("labelSelector"));
  if (!selector.ok()) {
    return BadRequest(absl::StrCat("invalid labelSelector: ", selector.status().message()));
  }
  if (call.state->registry == nullptr) {
    return NotFound(absl::StrCat("the server could not find the metric ", metric, " for ",
                                 ns == "default" ? "namespaces" : ""));
  }
  absl::StatusOr<rules::BuiltQuery> query =
      call.state->registry->BuildExternalQuery(metric, ns, *selector);
  if (!query.ok()) return FromStatus(query.status());
  absl::StatusOr<promql::Vector> samples = Evaluate(call, *query, /*allow_scalar=*/true);
  if (!samples.ok()) return FromStatus(samples.status());
  std::string body =
      R"({"kind":"ExternalMetricValueList","apiVersion":"external.metrics.k8s.io/v1beta1","metadata":{},"items":[)";
  bool first = true;
  for (const promql::VectorSample& s : *samples) {
    std::optional<int64_t> milli = k8s::ToMilli(s.v);
    if (!milli.has_value()) {
      ++stats_.objects_dropped_bad_value;
      std::string text = absl::StrCat("external metric ", metric, ": value ",
                                      api::FormatSampleValue(s.v), " left out");
      if (options_.debug_log) options_.debug_log(text);
      if (call.explanation != nullptr) call.explanation->notes.push_back(text);
      continue;
    }
    if (!first) body += ",";
    first = false;
    body += "{";
    AppendField("metricName", metric, &body);
    body += R"(,"metricLabels":)";
    api::AppendLabelsObject(s.labels, &body);
    body += ",";
    AppendField("timestamp", FormatTime(s.t), &body);
    body += ",";
    AppendField("value", k8s::FormatMilliDecimal(*milli), &body);
    body += "}";
  }
  body += "]}";
  return JsonReply(std::move(body));
}

namespace {

// CPU and memory of one container, or of one node.
struct Usage {
  std::optional<double> cpu;
  std::optional<double> memory;
};

struct ObjectUsage {
  int64_t timestamp = 0;                    // earliest sample time
  std::map<std::string, Usage> containers;  // "" for nodes
};

void AppendUsage(const Usage& u, std::string* out) {
  // Negative and NaN readings (counter resets, missing data) count as zero, as metrics-server.
  auto clean = [](std::optional<double> v) {
    double x = v.value_or(0);
    return std::isnan(x) || x < 0 ? 0.0 : x;
  };
  const double cores = clean(u.cpu);
  const double bytes = clean(u.memory);
  const std::string cpu = k8s::FormatMilliDecimal(k8s::ToMilli(cores).value_or(0));
  const std::string memory =
      k8s::FormatBinary(bytes >= 9.2e18 ? INT64_MAX : static_cast<int64_t>(bytes));
  *out += R"("usage":{)";
  AppendField("cpu", cpu, out);
  *out += ",";
  AppendField("memory", memory, out);
  *out += "}";
}

}  // namespace

http::Response MetricsApi::ServeResource(const Call& call) const {
  const std::vector<std::string>& seg = call.segments;
  const http::Request& request = *call.request;
  // nodes[/name], pods, namespaces/{ns}/pods[/name]
  bool nodes = false;
  std::string ns;
  std::string name;
  if (!seg.empty() && seg[0] == "nodes" && seg.size() <= 2) {
    nodes = true;
    if (seg.size() == 2) name = seg[1];
  } else if (seg.size() == 1 && seg[0] == "pods") {
  } else if ((seg.size() == 3 || seg.size() == 4) && seg[0] == "namespaces" && seg[2] == "pods") {
    ns = seg[1];
    if (seg.size() == 4) name = seg[3];
  } else {
    return NotFound("the server could not find the requested resource");
  }
  absl::StatusOr<k8s::LabelSelector> selector =
      k8s::LabelSelector::Parse(request.Get("labelSelector"));
  if (!selector.ok()) {
    return BadRequest(absl::StrCat("invalid labelSelector: ", selector.status().message()));
  }
  const rules::RuleSet& rules = *call.state->rules;
  std::optional<std::vector<std::string>> names;
  if (!name.empty()) names = std::vector<std::string>{name};
  // Cluster mode lists the existing objects the selector matches and reports only those.
  std::optional<std::set<std::pair<std::string, std::string>>> existing;
  if (name.empty() && options_.objects != nullptr) {
    std::optional<k8s::ResourceInfo> info = options_.mapper->Find(nodes ? "nodes" : "pods", "");
    if (!info.has_value()) return NotFound("the server could not find the requested resource");
    absl::StatusOr<std::vector<ObjectRef>> refs = options_.objects->List(*info, ns, *selector);
    if (!refs.ok()) return FromStatus(refs.status());
    existing.emplace();
    std::set<std::string> distinct;
    for (const ObjectRef& r : *refs) {
      existing->emplace(nodes ? "" : r.namespace_, r.name);
      distinct.insert(r.name);
    }
    names = std::vector<std::string>(distinct.begin(), distinct.end());
    if (names->empty()) {
      return JsonReply(absl::StrCat(R"({"kind":")", nodes ? "NodeMetricsList" : "PodMetricsList",
                                    R"(","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},)",
                                    R"("items":[]})"));
    }
  }

  // (namespace, object) -> usage, sorted as the lists are.
  std::map<std::pair<std::string, std::string>, ObjectUsage> objects;
  auto run = [&](rules::ResourceKind kind, std::string_view query_ns) -> absl::Status {
    absl::StatusOr<rules::BuiltQuery> query =
        nodes ? rules.BuildNodeQuery(kind, names)
              : rules.BuildContainerQuery(kind, query_ns, names);
    if (!query.ok()) return query.status();
    absl::StatusOr<promql::Vector> samples = Evaluate(call, *query, /*allow_scalar=*/false);
    if (!samples.ok()) return samples.status();
    for (const promql::VectorSample& s : *samples) {
      std::string_view object = s.labels.Get(query->resource_label);
      if (object.empty()) continue;
      std::string container = nodes ? "" : std::string(s.labels.Get(query->container_label));
      if (!nodes && container.empty()) continue;
      std::string object_ns(query_ns);
      if (!nodes && object_ns.empty())
        object_ns = std::string(s.labels.Get(query->namespace_label));
      ObjectUsage& o = objects[{std::move(object_ns), std::string(object)}];
      if (o.timestamp == 0 || s.t < o.timestamp) o.timestamp = s.t;
      Usage& u = o.containers[container];
      (kind == rules::ResourceKind::kCpu ? u.cpu : u.memory) = s.v;
    }
    return absl::OkStatus();
  };
  // An empty namespace asks for every namespace at once; the namespace then comes from each
  // sample's namespace label.
  for (rules::ResourceKind kind : {rules::ResourceKind::kCpu, rules::ResourceKind::kMemory}) {
    if (absl::Status st = run(kind, ns); !st.ok()) return FromStatus(st);
  }
  // Objects must have both readings: one without CPU or without memory is left out.
  for (auto it = objects.begin(); it != objects.end();) {
    bool cpu = false;
    bool memory = false;
    for (const auto& [c, u] : it->second.containers) {
      cpu |= u.cpu.has_value();
      memory |= u.memory.has_value();
    }
    if (existing.has_value() && !existing->contains(it->first)) {
      it = objects.erase(it);
    } else if (cpu && memory) {
      ++it;
    } else {
      if (call.explanation != nullptr) {
        call.explanation->notes.push_back(
            absl::StrCat(it->first.second, ": no ", cpu ? "memory" : "CPU", " reading; left out"));
      }
      it = objects.erase(it);
    }
  }
  const std::string now = FormatTime(call.now);
  const std::string window = FormatGoDuration(rules.window_ms());
  auto append_object = [&](const std::pair<std::string, std::string>& key, const ObjectUsage& o,
                           std::string* out) {
    absl::StrAppend(out, R"({"kind":")", nodes ? "NodeMetrics" : "PodMetrics",
                    R"(","apiVersion":"metrics.k8s.io/v1beta1","metadata":{"name":)");
    api::AppendJsonString(key.second, out);
    if (!nodes) {
      *out += R"(,"namespace":)";
      api::AppendJsonString(key.first, out);
    }
    *out += R"(,"creationTimestamp":)";
    api::AppendJsonString(now, out);
    *out += "},";
    AppendField("timestamp", FormatTime(o.timestamp), out);
    *out += ",";
    AppendField("window", window, out);
    *out += ",";
    if (nodes) {
      AppendUsage(o.containers.begin()->second, out);
    } else {
      *out += R"("containers":[)";
      bool first = true;
      for (const auto& [container, usage] : o.containers) {
        if (!first) *out += ",";
        first = false;
        *out += "{";
        AppendField("name", container, out);
        *out += ",";
        AppendUsage(usage, out);
        *out += "}";
      }
      *out += "]";
    }
    *out += "}";
  };
  // In local mode objects carry no labels of their own, so a selector matches as it would match
  // an object without labels; in cluster mode the lister applied it already.
  const bool selected =
      existing.has_value() || selector->Matches([](std::string_view) { return std::nullopt; });
  if (!name.empty()) {
    auto it = objects.begin();
    if (it == objects.end()) {
      return NotFound(
          nodes ? absl::StrCat(R"(nodemetrics.metrics.k8s.io ")", name, R"(" not found)")
                : absl::StrCat(R"(podmetrics.metrics.k8s.io ")", ns, "/", name, R"(" not found)"));
    }
    std::string body;
    append_object(it->first, it->second, &body);
    return JsonReply(std::move(body));
  }
  std::string body =
      absl::StrCat(R"({"kind":")", nodes ? "NodeMetricsList" : "PodMetricsList",
                   R"(","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},"items":[)");
  bool first = true;
  if (selected) {
    for (const auto& [key, o] : objects) {
      if (!first) body += ",";
      first = false;
      append_object(key, o, &body);
    }
  }
  body += "]}";
  return JsonReply(std::move(body));
}

}  // namespace apiserver
