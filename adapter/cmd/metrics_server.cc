#include "adapter/cmd/metrics_server.h"

#include <chrono>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "adapter/api/json.h"
#include "adapter/apiserver/backend.h"
#include "adapter/apiserver/explain.h"
#include "adapter/cmd/log.h"
#include "adapter/cmd/self_metrics.h"
#include "adapter/k8s/resources.h"
#include "adapter/rules/config.h"
#include "adapter/rules/registry.h"
#include "tsdb/db.h"

namespace adapter {
namespace {

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("error reading ", path));
  return buffer.str();
}

// A named readiness condition of /readyz ("storage", "informer-sync").
struct HealthCheck {
  std::string name;
  std::function<bool()> ok;
};

// /healthz, /livez, /readyz and their per-check forms, as Kubernetes answers them: "ok", or a
// list of [+]/[-] lines with ?verbose or when a check fails; /<endpoint>/<check> asks one check.
// "ping" always passes.
http::Handler HealthHandler(std::string endpoint, std::vector<HealthCheck> checks) {
  checks.insert(checks.begin(), HealthCheck{"ping", nullptr});
  return [endpoint = std::move(endpoint), checks = std::move(checks)](const http::Request& req) {
    if (auto denied = http::CheckMethod(req, {"GET", "HEAD"})) return *denied;
    auto passes = [](const HealthCheck& c) { return c.ok == nullptr || c.ok(); };
    const std::string base = "/" + endpoint;
    if (req.path != base) {
      const std::string name = req.path.substr(base.size() + 1);
      for (const HealthCheck& c : checks) {
        if (c.name != name) continue;
        if (passes(c)) return http::Response::Text("ok");
        return http::Response::Text(absl::StrCat("[-]", name, " failed: reason withheld\n"), 500);
      }
      return http::Response::Text("404 page not found\n", 404);
    }
    std::string lines;
    bool all = true;
    for (const HealthCheck& c : checks) {
      const bool ok = passes(c);
      all &= ok;
      absl::StrAppend(&lines, ok ? "[+]" : "[-]", c.name,
                      ok ? " ok\n" : " failed: reason withheld\n");
    }
    if (all && !req.Has("verbose")) return http::Response::Text("ok");
    absl::StrAppend(&lines, endpoint, all ? " check passed\n" : " check failed\n");
    return http::Response::Text(lines, all ? 200 : 500);
  };
}

}  // namespace

absl::StatusOr<std::shared_ptr<const rules::RuleSet>> LoadRules(
    const std::string& path, const std::shared_ptr<const k8s::ResourceMapper>& mapper) {
  absl::StatusOr<rules::Config> config = rules::LoadConfigFile(path, *mapper);
  if (!config.ok()) return config.status();
  absl::StatusOr<rules::RuleSet> compiled = rules::RuleSet::Create(std::move(*config), mapper);
  if (!compiled.ok()) return compiled.status();
  return std::make_shared<const rules::RuleSet>(std::move(*compiled));
}

MetricsServer::MetricsServer(ServeContext* ctx, MetricsServerOptions options)
    : ctx_(ctx), options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Create(ServeContext* ctx,
                                                                     MetricsServerOptions options) {
  std::unique_ptr<MetricsServer> server(new MetricsServer(ctx, std::move(options)));
  server->mapper_ = server->options_.mapper != nullptr ? server->options_.mapper
                                                       : k8s::NewBuiltinResourceMapper();
  apiserver::MetricsApiOptions api_options;
  api_options.backend = server->options_.backend;
  if (api_options.backend == nullptr) {
    api_options.backend =
        apiserver::NewEmbeddedBackend([ctx] { return ctx->db.load(); }, ctx->engine);
  }
  api_options.mapper = server->mapper_;
  api_options.objects = server->options_.objects;
  api_options.enable_external_metrics = server->options_.enable_external_metrics;
  api_options.discovery_max_age_ms = server->options_.metrics_max_age_ms;
  api_options.debug_log = [](std::string_view msg) {
    LogDebug(msg, {{"component", "metrics-api"}});
  };
  server->api_ = std::make_unique<apiserver::MetricsApi>(std::move(api_options));
  if (!server->options_.config_path.empty()) {
    absl::StatusOr<std::string> text = ReadWholeFile(server->options_.config_path);
    if (!text.ok()) return text.status();
    absl::StatusOr<std::shared_ptr<const rules::RuleSet>> loaded =
        LoadRules(server->options_.config_path, server->mapper_);
    if (!loaded.ok()) return loaded.status();
    server->config_text_ = std::move(*text);
    server->api_->SetRules(std::move(*loaded));
  }
  return server;
}

MetricsServer::~MetricsServer() { Stop(); }

void MetricsServer::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void MetricsServer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

absl::Status MetricsServer::Reload() {
  std::lock_guard<std::mutex> lock(reload_mu_);
  if (options_.config_path.empty()) return absl::OkStatus();
  absl::StatusOr<std::string> text = ReadWholeFile(options_.config_path);
  absl::StatusOr<std::shared_ptr<const rules::RuleSet>> loaded =
      text.ok() ? LoadRules(options_.config_path, mapper_)
                : absl::StatusOr<std::shared_ptr<const rules::RuleSet>>(text.status());
  if (!loaded.ok()) {
    reload_successful_ = 0;
    if (text.ok()) config_text_ = *text;  // do not retry the same bad file every check
    LogError("reloading the rules configuration failed; the previous rules keep serving",
             {{"file", options_.config_path}, {"err", std::string(loaded.status().message())}});
    return loaded.status();
  }
  config_text_ = std::move(*text);
  reload_successful_ = 1;
  api_->SetRules(std::move(*loaded));
  LogInfo("rules configuration reloaded", {{"file", options_.config_path}});
  return absl::OkStatus();
}

void MetricsServer::Loop() {
  using std::chrono::milliseconds;
  auto next_discovery = std::chrono::steady_clock::now();
  auto next_check = next_discovery + milliseconds(options_.config_check_interval_ms);
  bool storage_seen = false;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    auto now = std::chrono::steady_clock::now();
    if (now >= next_check) {
      next_check = now + milliseconds(options_.config_check_interval_ms);
      lock.unlock();
      if (!options_.config_path.empty()) {
        absl::StatusOr<std::string> text = ReadWholeFile(options_.config_path);
        bool changed;
        {
          std::lock_guard<std::mutex> reload_lock(reload_mu_);
          changed = text.ok() && *text != config_text_;
        }
        if (changed) {
          LogInfo("the rules configuration file changed", {{"file", options_.config_path}});
          Reload().IgnoreError();  // logged
        }
      }
      lock.lock();
    }
    if (now >= next_discovery || (!storage_seen && ctx_->db.load() != nullptr)) {
      next_discovery = now + milliseconds(options_.discovery_interval_ms);
      storage_seen = options_.backend != nullptr || ctx_->db.load() != nullptr;
      lock.unlock();
      if (storage_seen) {
        absl::Status st = api_->Discover();
        if (!st.ok()) {
          LogWarn("metrics discovery failed; the previous metrics keep serving",
                  {{"err", std::string(st.message())}});
        }
      }
      lock.lock();
    }
    cv_.wait_until(lock, std::min(next_check, next_discovery), [this] { return stop_; });
  }
}

void MetricsServer::AppendMetrics(std::string* out) const {
  const apiserver::MetricsApiStats& s = api_->stats();
  TextWriter w(out);
  w.Family("metrics_adapter_api_requests_total", "counter",
           "Requests to the Kubernetes metrics APIs.");
  w.Sample("metrics_adapter_api_requests_total", static_cast<double>(s.requests.load()));
  w.Family("metrics_adapter_api_request_errors_total", "counter",
           "Requests to the Kubernetes metrics APIs answered with an error status.");
  w.Sample("metrics_adapter_api_request_errors_total", static_cast<double>(s.errors.load()));
  w.Family("metrics_adapter_api_objects_left_out_total", "counter",
           "Objects left out of metrics API replies, by reason.");
  w.Sample("metrics_adapter_api_objects_left_out_total",
           static_cast<double>(s.objects_dropped_bad_value.load()), {{"reason", "bad_value"}});
  w.Sample("metrics_adapter_api_objects_left_out_total",
           static_cast<double>(s.objects_missing.load()), {{"reason", "no_sample"}});
  w.Family("metrics_adapter_discovery_runs_total", "counter", "Metrics discovery runs.");
  w.Sample("metrics_adapter_discovery_runs_total", static_cast<double>(s.discovery_runs.load()));
  w.Family("metrics_adapter_discovery_failures_total", "counter",
           "Metrics discovery runs that failed.");
  w.Sample("metrics_adapter_discovery_failures_total",
           static_cast<double>(s.discovery_failures.load()));
  w.Family("metrics_adapter_discovered_metrics", "gauge",
           "Metrics served after the last discovery, by API.");
  w.Sample("metrics_adapter_discovered_metrics",
           static_cast<double>(s.discovered_custom_metrics.load()), {{"api", "custom"}});
  w.Sample("metrics_adapter_discovered_metrics",
           static_cast<double>(s.discovered_external_metrics.load()), {{"api", "external"}});
  if (!options_.config_path.empty()) {
    w.Family("metrics_adapter_rules_config_last_reload_successful", "gauge",
             "Whether the last rules configuration (re)load attempt was successful.");
    w.Sample("metrics_adapter_rules_config_last_reload_successful", reload_successful_.load());
  }
}

http::Router MetricsServer::BuildRouter() {
  http::Router router = BuildServeRouter(ctx_);
  api_->Register(&router);
  std::vector<HealthCheck> ready{{"storage", [ctx = ctx_] { return ctx->db.load() != nullptr; }}};
  if (options_.caches_synced != nullptr) ready.push_back({"informer-sync", options_.caches_synced});
  for (const char* endpoint : {"healthz", "livez"}) {
    router.Handle(absl::StrCat("/", endpoint), HealthHandler(endpoint, {}));
    router.HandlePrefix(absl::StrCat("/", endpoint, "/"), HealthHandler(endpoint, {}));
  }
  router.Handle("/readyz", HealthHandler("readyz", ready));
  router.HandlePrefix("/readyz/", HealthHandler("readyz", ready));
  router.Handle("/version", [](const http::Request& req) {
    if (auto denied = http::CheckMethod(req, {"GET", "HEAD"})) return *denied;
    std::string body = R"({"major":"0","minor":"1","gitVersion":)";
    api::AppendJsonString(absl::StrCat("v", kVersion), &body);
    body +=
        R"(,"gitCommit":"","gitTreeState":"","buildDate":"","goVersion":"","compiler":"gcc","platform":"linux/amd64"})";
    return http::Response::Json(body + "\n");
  });
  auto openapi = [this](const http::Request& req) {
    if (auto denied = http::CheckMethod(req, {"GET", "HEAD"})) return *denied;
    std::string body = R"({"swagger":"2.0","info":{"title":"metrics-adapter","version":)";
    api::AppendJsonString(kVersion, &body);
    body += R"(},"paths":{)";
    bool first = true;
    for (const char* p :
         {"/apis/custom.metrics.k8s.io/v1beta1/", "/apis/custom.metrics.k8s.io/v1beta2/",
          "/apis/external.metrics.k8s.io/v1beta1/", "/apis/metrics.k8s.io/v1beta1/"}) {
      if (!first) body += ",";
      first = false;
      api::AppendJsonString(p, &body);
      body +=
          R"(:{"get":{"produces":["application/json"],"responses":{"200":{"description":"OK"}}}})";
    }
    body += R"(},"definitions":{}})";
    (void)this;
    return http::Response::Json(body + "\n");
  };
  router.Handle("/openapi/v2", openapi);
  router.Handle("/openapi/v3", [](const http::Request& req) {
    if (auto denied = http::CheckMethod(req, {"GET", "HEAD"})) return *denied;
    return http::Response::Json(R"({"paths":{}})"
                                "\n");
  });
  router.Handle("/debug/explain",
                [this](const http::Request& req) { return apiserver::ExplainHandler(*api_, req); });
  return router;
}

}  // namespace adapter
