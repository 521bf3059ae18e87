// metrics-adapter serve: the long-running server.
//
// Start-up order: parse and check flags -> block SIGTERM/SIGINT (before any thread exists, so
// that every thread inherits the mask and only sigwait() sees them) -> listen on the plain HTTP
// address (so /-/healthy answers while the WAL is replayed) -> open the storage -> start the
// scrape manager (with --scrape-config, loaded before anything else so that a bad file fails at
// once with exit code 1) -> ready.
// SIGHUP and POST /-/reload reload the scrape configuration; a bad new file keeps the old one
// running (logged, and metrics_adapter_scrape_config_last_reload_successful drops to 0).
// Shutdown on SIGTERM or SIGINT: stop the HTTP server (in-flight requests finish, bounded), stop
// the scrape loops (no staleness markers: the series continue after a restart), then close the
// storage (flushes and syncs the WAL), exit 0. A signal that arrives while the storage is being
// opened takes effect once it is open.
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstring>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "adapter/api/query_api.h"
#include "adapter/api/targets_api.h"
#include "adapter/apiserver/explain.h"
#include "adapter/apiserver/prometheus_backend.h"
#include "adapter/auth/status.h"
#include "adapter/cli/duration.h"
#include "adapter/cli/flags.h"
#include "adapter/cmd/cluster.h"
#include "adapter/cmd/cluster_options.h"
#include "adapter/cmd/commands.h"
#include "adapter/cmd/log.h"
#include "adapter/cmd/metrics_server.h"
#include "adapter/cmd/secure_serving.h"
#include "adapter/cmd/self_metrics.h"
#include "adapter/cmd/serve_options.h"
#include "adapter/http/server.h"
#include "adapter/k8s/status.h"
#include "adapter/kubeclient/config.h"
#include "scrape/config.h"
#include "scrape/manager.h"
#include "tsdb/db.h"
#include "tsdb/worker_pool.h"

namespace adapter {
namespace {

// How long in-flight requests may take to finish at shutdown.
constexpr std::chrono::milliseconds kShutdownGrace{5000};

std::string StatusText(const absl::Status& s) { return std::string(s.message()); }

// The Prometheus HTTP API on the plain listener, reading ctx->db per request.
void AddQueryApiRoutes(http::Router* router, ServeContext* ctx) {
  api::QueryApiOptions options;
  options.db = [ctx] { return ctx->db.load(); };
  options.metadata = ctx->metadata;
  options.engine = ctx->engine;
  options.build.version = kVersion;
  options.start_time_ns = ctx->start_time_ns;
  options.retention_ms = ctx->retention_ms;
  options.flags = ctx->flags;
  options.wal_replay = &ctx->wal_replay;
  options.config_yaml = [ctx] {
    std::lock_guard lock(ctx->config_mu);
    return ctx->config_text;
  };
  api::RegisterQueryApi(router, std::make_shared<api::QueryApi>(std::move(options)));
}

// The scrape manager's log events as server log lines (up to four fields).
void LogScrapeEvent(scrape::LogSeverity severity, std::string_view msg,
                    const std::vector<std::pair<std::string, std::string>>& f) {
  LogLevel level = severity == scrape::LogSeverity::kDebug  ? LogLevel::kDebug
                   : severity == scrape::LogSeverity::kInfo ? LogLevel::kInfo
                   : severity == scrape::LogSeverity::kWarn ? LogLevel::kWarn
                                                            : LogLevel::kError;
  using KV = std::pair<std::string_view, std::string_view>;
  auto kv = [&f](size_t i) { return KV(f[i].first, f[i].second); };
  const KV c{"component", "scrape"};
  switch (f.size()) {
    case 0:
      Log(level, msg, {c});
      break;
    case 1:
      Log(level, msg, {c, kv(0)});
      break;
    case 2:
      Log(level, msg, {c, kv(0), kv(1)});
      break;
    case 3:
      Log(level, msg, {c, kv(0), kv(1), kv(2)});
      break;
    default:
      Log(level, msg, {c, kv(0), kv(1), kv(2), kv(3)});
      break;
  }
}

// The scrape routes: /api/v1/targets and /-/reload.
void AddScrapeRoutes(http::Router* router, ServeContext* ctx) {
  api::RegisterTargetsApi(router, [ctx] {
    scrape::Manager* m = ctx->scrape.load();
    return m != nullptr ? m->Targets() : scrape::TargetsSnapshot{};
  });
  router->Handle("/-/reload", [ctx](const http::Request& req) {
    if (auto denied = http::CheckMethod(req, {"POST", "PUT"})) return *denied;
    if (!ctx->reload) {
      return http::Response::Text("no configuration to reload (no --scrape-config, no --config)\n");
    }
    absl::Status st = ctx->reload();
    if (!st.ok()) {
      return http::Response::Text(absl::StrCat("failed to reload config: ", st.message(), "\n"),
                                  500);
    }
    return http::Response::Text("");
  });
}

}  // namespace

http::Router BuildServeRouter(ServeContext* ctx) {
  http::Router router;
  router.Handle("/-/healthy", [](const http::Request& req) {
    if (auto denied = http::CheckMethod(req, {"GET", "HEAD"})) return *denied;
    return http::Response::Text("metrics-adapter is Healthy.\n");
  });
  router.Handle("/-/ready", [ctx](const http::Request& req) {
    if (auto denied = http::CheckMethod(req, {"GET", "HEAD"})) return *denied;
    if (ctx->db.load() == nullptr) {
      return http::Response::Text("metrics-adapter is not ready.\n", 503);
    }
    return http::Response::Text("metrics-adapter is Ready.\n");
  });
  router.Handle("/metrics", [ctx](const http::Request& req) {
    if (auto denied = http::CheckMethod(req, {"GET", "HEAD"})) return *denied;
    tsdb::DB* db = ctx->db.load();
    http::Response res;
    res.content_type = kTextFormatContentType;
    res.body = RenderSelfMetrics(kVersion, db != nullptr ? &db->stats() : nullptr);
    if (int reloaded = ctx->scrape_reload_successful.load(); reloaded >= 0) {
      TextWriter w(&res.body);
      w.Family("metrics_adapter_scrape_config_last_reload_successful", "gauge",
               "Whether the last scrape configuration (re)load attempt was successful.");
      w.Sample("metrics_adapter_scrape_config_last_reload_successful", reloaded);
    }
    if (ctx->append_metrics) ctx->append_metrics(&res.body);
    return res;
  });
  AddQueryApiRoutes(&router, ctx);
  AddScrapeRoutes(&router, ctx);
  return router;
}

int RunServe(const std::vector<std::string>& args) {
  cli::FlagSet flags("metrics-adapter serve",
                     "Runs the server: stores samples in an embedded time-series database and\n"
                     "serves health, readiness, self metrics and the Prometheus query API over\n"
                     "HTTP. Stops cleanly on SIGTERM or SIGINT.");
  ServeOptions options;
  RegisterServeFlags(&flags, &options);
  SecureServingOptions secure_options;
  RegisterSecureServingFlags(&flags, &secure_options);
  ClusterOptions cluster_options;
  RegisterClusterFlags(&flags, &cluster_options);
  std::vector<std::string> rest;
  if (std::optional<int> exit_code = flags.ParseCommand(args, &rest)) return *exit_code;
  if (!rest.empty()) {
    std::cerr << "Error: serve takes no arguments, got \"" << rest.front()
              << "\" (see 'metrics-adapter serve --help')\n";
    return 2;
  }
  if (absl::Status s = ValidateServeOptions(&options); !s.ok()) {
    std::cerr << "Error: " << s.message() << "\n";
    return 2;
  }
  if (absl::Status s = ValidateSecureServingOptions(secure_options); !s.ok()) {
    std::cerr << "Error: " << s.message() << "\n";
    return 2;
  }
  if (absl::Status s = ValidateClusterOptions(cluster_options); !s.ok()) {
    std::cerr << "Error: " << s.message() << "\n";
    return 2;
  }
  tsdb::WorkerPool::SetDefaultThreads(options.query_read_workers);

  SetLogLevel(*ParseLogLevel(options.log_level));

  std::optional<scrape::Config> scrape_config;
  if (!options.scrape_config.empty()) {
    absl::StatusOr<scrape::Config> loaded = scrape::LoadConfigFile(options.scrape_config);
    if (!loaded.ok()) {
      LogError("cannot load the scrape configuration",
               {{"file", options.scrape_config}, {"err", StatusText(loaded.status())}});
      return 1;
    }
    scrape_config = std::move(*loaded);
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  LogInfo("starting metrics-adapter",
          {{"version", kVersion},
           {"storage_path", options.storage_path},
           {"retention", cli::FormatDurationMs(options.retention_ms)},
           {"query_read_workers", std::to_string(options.query_read_workers)},
           {"wal_fsync", options.wal_fsync}});

  ServeContext ctx;
  ctx.start_time_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  ctx.retention_ms = options.retention_ms;
  ctx.engine.timeout_ms = options.query_timeout_ms;
  ctx.engine.lookback_delta_ms = options.query_lookback_delta_ms;
  ctx.engine.max_samples = options.query_max_samples;
  ctx.flags = {{"storage-path", options.storage_path},
               {"retention", cli::FormatDurationMs(options.retention_ms)},
               {"query-read-workers", std::to_string(options.query_read_workers)},
               {"wal-fsync", options.wal_fsync},
               {"http-listen-address", options.listen_address},
               {"secure-port", std::to_string(options.secure_port)},
               {"log-level", options.log_level},
               {"scrape-config", options.scrape_config},
               {"scrape-threads", std::to_string(options.scrape_threads)},
               {"query.timeout", cli::FormatDurationMs(options.query_timeout_ms)},
               {"query.lookback-delta", cli::FormatDurationMs(options.query_lookback_delta_ms)},
               {"query.max-samples", std::to_string(options.query_max_samples)},
               {"config", options.config},
               {"enable-external-metrics", options.enable_external_metrics ? "true" : "false"},
               {"metrics-max-age", cli::FormatDurationMs(options.metrics_max_age_ms)},
               {"bind-address", secure_options.bind_address},
               {"cert-dir", secure_options.cert_dir},
               {"lister-kubeconfig", cluster_options.lister_kubeconfig}};
  ctx.metadata = api::NewScrapeMetadataSource(
      [&ctx]() -> const scrape::MetadataStore* { return ctx.scrape.load(); });
  std::mutex reload_mu;  // SIGHUP and POST /-/reload, one at a time
  if (scrape_config) {
    ctx.config_text = scrape_config->text;
    ctx.scrape_reload_successful.store(1);
    ctx.reload = [&ctx, &reload_mu, path = options.scrape_config]() -> absl::Status {
      std::lock_guard lock(reload_mu);
      scrape::Manager* manager = ctx.scrape.load();
      if (manager == nullptr) {
        return absl::UnavailableError("the storage is not open yet; try again later");
      }
      absl::StatusOr<scrape::Config> loaded = scrape::LoadConfigFile(path);
      absl::Status st = loaded.ok() ? manager->ApplyConfig(*loaded) : loaded.status();
      ctx.scrape_reload_successful.store(st.ok() ? 1 : 0);
      if (!st.ok()) {
        LogError("reloading the scrape configuration failed; the previous one stays in effect",
                 {{"file", path}, {"err", StatusText(st)}});
      } else {
        {
          std::lock_guard config_lock(ctx.config_mu);
          ctx.config_text = loaded->text;
        }
        LogInfo("scrape configuration reloaded",
                {{"file", path}, {"jobs", std::to_string(loaded->scrape_configs.size())}});
      }
      return st;
    };
  }
  // Cluster mode: objects, resource names and authentication from the Kubernetes API.
  std::unique_ptr<Cluster> cluster;
  if (ClusterModeEnabled(cluster_options)) {
    absl::StatusOr<std::unique_ptr<Cluster>> started = Cluster::Start(cluster_options);
    if (!started.ok()) {
      LogError("cannot connect to the Kubernetes API", {{"err", StatusText(started.status())}});
      return 1;
    }
    cluster = std::move(*started);
  }
  MetricsServerOptions metrics_options;
  if (cluster != nullptr) {
    metrics_options.mapper = cluster->mapper();
    metrics_options.objects = cluster->objects();
    metrics_options.caches_synced = [c = cluster.get()] { return c->Synced(); };
  }
  metrics_options.config_path = options.config;
  metrics_options.enable_external_metrics = options.enable_external_metrics;
  metrics_options.metrics_max_age_ms = options.metrics_max_age_ms;
  if (!options.prometheus_url.empty()) {
    // A remote Prometheus-compatible server evaluates the metrics APIs' queries; discovery
    // relists it every --metrics-relist-interval, as prometheus-adapter does.
    apiserver::PrometheusBackendOptions remote;
    remote.url = options.prometheus_url;
    remote.ca_file = options.prometheus_ca_file;
    remote.cert_file = options.prometheus_client_tls_cert_file;
    remote.key_file = options.prometheus_client_tls_key_file;
    remote.token_file = options.prometheus_token_file;
    remote.headers = options.prometheus_header_fields;
    remote.verb = options.prometheus_verb;
    if (options.prometheus_auth_incluster || !options.prometheus_auth_config.empty()) {
      absl::StatusOr<kubeclient::ClientConfig> kube =
          options.prometheus_auth_incluster
              ? kubeclient::InClusterConfig()
              : kubeclient::LoadKubeconfig(options.prometheus_auth_config);
      if (!kube.ok()) {
        LogError("cannot load the credentials for --prometheus-url",
                 {{"err", StatusText(kube.status())}});
        return 1;
      }
      if (remote.ca_file.empty()) remote.ca_pem = kube->ca_pem;
      remote.cert_pem = kube->cert_pem;
      remote.key_pem = kube->key_pem;
      remote.insecure_skip_verify = kube->insecure;
      if (remote.token_file.empty()) {
        remote.bearer_token = kube->bearer_token;
        remote.rotating_token_file = kube->token_file;
      }
    }
    remote.timeout_ms = options.query_timeout_ms;
    absl::StatusOr<std::unique_ptr<apiserver::QueryBackend>> backend =
        apiserver::NewPrometheusBackend(std::move(remote));
    if (!backend.ok()) {
      LogError("cannot set up the --prometheus-url backend",
               {{"url", options.prometheus_url}, {"err", StatusText(backend.status())}});
      return 1;
    }
    metrics_options.backend = std::move(*backend);
    metrics_options.discovery_interval_ms = options.metrics_relist_interval_ms;
    LogInfo("the metrics APIs query a remote Prometheus-compatible server",
            {{"url", options.prometheus_url}});
  }
  absl::StatusOr<std::unique_ptr<MetricsServer>> metrics_server =
      MetricsServer::Create(&ctx, metrics_options);
  if (!metrics_server.ok()) {
    LogError("cannot load the rules configuration",
             {{"file", options.config}, {"err", StatusText(metrics_server.status())}});
    return 1;
  }
  ctx.append_metrics = [m = metrics_server->get(), c = cluster.get()](std::string* out) {
    m->AppendMetrics(out);
    if (c != nullptr) c->AppendMetrics(out);
  };
  if (!options.config.empty()) {
    // POST /-/reload and SIGHUP reload the rules too.
    ctx.reload = [scrape_reload = std::move(ctx.reload),
                  m = metrics_server->get()]() -> absl::Status {
      absl::Status st = scrape_reload ? scrape_reload() : absl::OkStatus();
      absl::Status rules = m->Reload();
      return st.ok() ? rules : st;
    };
  }
  http::ServerOptions server_options;
  server_options.log = [](std::string_view msg) { LogWarn(msg, {{"component", "http"}}); };
  http::Router plain_router = BuildServeRouter(&ctx);
  plain_router.Handle("/debug/explain", [m = metrics_server->get()](const http::Request& req) {
    return apiserver::ExplainHandler(*m->api(), req);
  });
  http::Server server(server_options, std::move(plain_router));
  absl::StatusOr<int> port = server.Listen(options.listen_address);
  if (!port.ok()) {
    LogError("cannot start the HTTP server", {{"err", StatusText(port.status())}});
    return 1;
  }
  if (absl::Status s = server.Start(); !s.ok()) {
    LogError("cannot start the HTTP server", {{"err", StatusText(s)}});
    return 1;
  }
  LogInfo("listening for HTTP",
          {{"address", options.listen_address}, {"port", std::to_string(*port)}});
  // The Kubernetes metrics APIs over HTTPS. Without a Kubernetes API to delegate
  // authentication to, requests are served anonymously.
  std::unique_ptr<http::Server> secure_server;
  if (options.secure_port != 0) {
    bool generated = false;
    absl::StatusOr<http::TlsConfig> tls = BuildTlsConfig(secure_options, &generated);
    if (!tls.ok()) {
      LogError("cannot set up TLS for the secure port", {{"err", StatusText(tls.status())}});
      server.Stop(kShutdownGrace);
      return 1;
    }
    if (generated) {
      LogInfo("generated a self-signed serving certificate",
              {{"cert", tls->cert_file}, {"key", tls->key_file}});
    }
    // The Kubernetes API listener answers even its own protocol errors (a malformed
    // percent-encoding, an oversized body) with metav1.Status objects.
    http::ServerOptions secure_options_http = server_options;
    secure_options_http.error_response = [](int status, std::string_view message) {
      return auth::StatusResponse(status, k8s::StatusReasonFor(status), message);
    };
    http::Handler handler = (*metrics_server)->BuildRouter();
    if (cluster != nullptr) {
      cluster->ConfigureTls(&*tls);
      handler = cluster->Secure(std::move(handler));
    }
    secure_server = std::make_unique<http::Server>(secure_options_http, std::move(handler));
    const std::string address = SecureListenAddress(secure_options, options.secure_port);
    absl::StatusOr<int> secure_port = secure_server->Listen(address, &*tls);
    absl::Status started = secure_port.ok() ? secure_server->Start() : secure_port.status();
    if (!started.ok()) {
      LogError("cannot start the HTTPS server", {{"err", StatusText(started)}});
      server.Stop(kShutdownGrace);
      return 1;
    }
    if (cluster != nullptr) {
      LogInfo("serving the Kubernetes metrics APIs over HTTPS with delegated authentication",
              {{"address", address}, {"port", std::to_string(*secure_port)}});
    } else {
      LogInfo(
          "serving the Kubernetes metrics APIs over HTTPS; no Kubernetes API to delegate "
          "authentication to, so requests are allowed anonymously",
          {{"address", address}, {"port", std::to_string(*secure_port)}});
    }
  }
  (*metrics_server)->Start();

  tsdb::DBOptions db_options;
  db_options.retention_ms = options.retention_ms;
  db_options.wal_fsync_interval_ms = options.wal_fsync_interval_ms;
  db_options.log = [](std::string_view msg) { LogInfo(msg, {{"component", "tsdb"}}); };
  db_options.replay_progress = &ctx.wal_replay;
  auto opened_at = std::chrono::steady_clock::now();
  absl::StatusOr<std::unique_ptr<tsdb::DB>> db = tsdb::DB::Open(options.storage_path, db_options);
  if (!db.ok()) {
    LogError("cannot open storage",
             {{"path", options.storage_path}, {"err", StatusText(db.status())}});
    server.Stop(kShutdownGrace);
    return 1;
  }
  ctx.db.store(db->get());
  auto open_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - opened_at)
                     .count();
  std::unique_ptr<scrape::Manager> manager;
  if (scrape_config) {
    scrape::ManagerOptions manager_options;
    manager_options.threads = options.scrape_threads;
    manager_options.user_agent = absl::StrCat("metrics-adapter/", kVersion);
    manager_options.log = LogScrapeEvent;
    if (cluster != nullptr) manager_options.target_provider = cluster->targets();
    manager = std::make_unique<scrape::Manager>(db->get(), std::move(manager_options));
    if (absl::Status s = manager->ApplyConfig(*scrape_config); !s.ok()) {
      LogError("cannot start scraping", {{"err", StatusText(s)}});
    }
    {
      std::lock_guard lock(reload_mu);
      ctx.scrape.store(manager.get());
    }
    LogInfo("scraping", {{"file", options.scrape_config},
                         {"jobs", std::to_string(scrape_config->scrape_configs.size())}});
  }
  LogInfo("storage open; server is ready",
          {{"path", options.storage_path}, {"duration", cli::FormatDurationMs(open_ms)}});

  int signal_number = 0;
  while (true) {
    sigwait(&signals, &signal_number);
    if (signal_number != SIGHUP) break;
    LogInfo("received SIGHUP, reloading the configuration");
    if (ctx.reload) ctx.reload().IgnoreError();  // each part logs its own failure
  }
  LogInfo("received a signal, shutting down",
          {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
  if (secure_server != nullptr) secure_server->Stop(kShutdownGrace);
  server.Stop(kShutdownGrace);
  (*metrics_server)->Stop();
  if (manager != nullptr) {
    ctx.scrape.store(nullptr);
    manager->Stop();
    manager.reset();
  }
  if (cluster != nullptr) cluster->Stop();
  ctx.db.store(nullptr);
  absl::Status closed = (*db)->Close();
  if (!closed.ok()) {
    LogError("closing storage failed", {{"err", StatusText(closed)}});
    return 1;
  }
  LogInfo("shutdown complete");
  return 0;
}

}  // namespace adapter
