#include "scrape/manager.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "scrape/file_sd.h"
#include "scrape/target_labels.h"

namespace scrape {
namespace {

using Clock = std::chrono::steady_clock;

bool SameRules(const std::vector<RelabelRule>& a, const std::vector<RelabelRule>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const RelabelRule& x = a[i];
    const RelabelRule& y = b[i];
    if (x.source_labels != y.source_labels || x.separator != y.separator ||
        x.target_label != y.target_label || x.regex != y.regex || x.modulus != y.modulus ||
        x.replacement != y.replacement || x.action != y.action) {
      return false;
    }
  }
  return true;
}

bool SameFileSD(const std::vector<FileSDConfig>& a, const std::vector<FileSDConfig>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].files != b[i].files || a[i].refresh_interval_ms != b[i].refresh_interval_ms) {
      return false;
    }
  }
  return true;
}

// Whether a loop's cache (series refs, dropped series, staleness state) stays right under the
// new configuration: what turns exposed series into stored ones is unchanged (Prometheus'
// reusableCache ignores the interval, timeout, limits and HTTP settings the same way).
bool ReusableCache(const ScrapeConfig& a, const ScrapeConfig& b) {
  return a.honor_labels == b.honor_labels && a.honor_timestamps == b.honor_timestamps &&
         SameRules(a.metric_relabel_configs, b.metric_relabel_configs);
}

uint64_t Fnv1a(uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

uint64_t IdentityHash(const tsdb::Labels& public_labels, const std::string& url) {
  return Fnv1a(public_labels.Hash(), url);
}

bool SameKubernetesSD(const std::vector<KubernetesSDConfig>& a,
                      const std::vector<KubernetesSDConfig>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    KubernetesSDConfig x = a[i];
    KubernetesSDConfig y = b[i];
    x.line = y.line = 0;  // where the entry is written does not matter
    if (!(x == y)) return false;
  }
  return true;
}

}  // namespace

bool SameScrapeConfig(const ScrapeConfig& a, const ScrapeConfig& b) {
  return a.job_name == b.job_name && a.scrape_interval_ms == b.scrape_interval_ms &&
         a.scrape_timeout_ms == b.scrape_timeout_ms && a.metrics_path == b.metrics_path &&
         a.scheme == b.scheme && a.params == b.params && a.honor_labels == b.honor_labels &&
         a.honor_timestamps == b.honor_timestamps && a.static_configs == b.static_configs &&
         SameFileSD(a.file_sd_configs, b.file_sd_configs) &&
         SameKubernetesSD(a.kubernetes_sd_configs, b.kubernetes_sd_configs) &&
         SameRules(a.relabel_configs, b.relabel_configs) &&
         SameRules(a.metric_relabel_configs, b.metric_relabel_configs) &&
         a.sample_limit == b.sample_limit && a.target_limit == b.target_limit &&
         a.label_limit == b.label_limit && a.label_name_length_limit == b.label_name_length_limit &&
         a.label_value_length_limit == b.label_value_length_limit &&
         a.body_size_limit == b.body_size_limit && a.tls_config.ca_file == b.tls_config.ca_file &&
         a.tls_config.cert_file == b.tls_config.cert_file &&
         a.tls_config.key_file == b.tls_config.key_file &&
         a.tls_config.server_name == b.tls_config.server_name &&
         a.tls_config.insecure_skip_verify == b.tls_config.insecure_skip_verify &&
         a.has_basic_auth == b.has_basic_auth && a.basic_auth.username == b.basic_auth.username &&
         a.basic_auth.password == b.basic_auth.password &&
         a.basic_auth.password_file == b.basic_auth.password_file &&
         a.has_authorization == b.has_authorization &&
         a.authorization.type == b.authorization.type &&
         a.authorization.credentials == b.authorization.credentials &&
         a.authorization.credentials_file == b.authorization.credentials_file &&
         a.follow_redirects == b.follow_redirects && a.enable_http2 == b.enable_http2;
}

struct Manager::FileWatch {
  FileSDConfig config;
  // path -> (modification time, size) when last read
  std::map<std::string, std::pair<int64_t, int64_t>> stamps;
  Clock::time_point last_read{};
  std::vector<TargetGroup> groups;
};

// What a provider's updates leave for the discovery thread; shared with the update callback,
// which only ever takes `mu` (never the manager's).
struct Manager::KubeState {
  std::mutex mu;
  bool changed = false;
  std::vector<TargetGroup> latest;
};

struct Manager::KubeWatch {
  std::shared_ptr<KubeState> state;
  std::unique_ptr<TargetSubscription> subscription;  // null when Subscribe failed
  std::vector<TargetGroup> groups;                   // what SyncPool uses
};

struct Manager::Pool {
  std::string job;
  std::shared_ptr<const ScrapeConfig> config;
  std::vector<FileWatch> files;
  // One per kubernetes_sd_configs entry; the subscriptions end when the pool goes.
  std::vector<KubeWatch> kube;
  std::vector<std::shared_ptr<ScrapeLoop>> loops;  // sorted by target labels
  std::vector<tsdb::Labels> dropped;
};

Manager::Manager(tsdb::DB* db, ManagerOptions options)
    : db_(db),
      options_(std::move(options)),
      http_(HttpClientOptions{options_.threads, options_.user_agent}) {}

Manager::~Manager() { Stop(); }

void Manager::Log(LogSeverity severity, std::string_view msg,
                  const std::vector<std::pair<std::string, std::string>>& fields) const {
  if (options_.log) options_.log(severity, msg, fields);
}

bool Manager::RefreshFiles(Pool* pool, bool force) {
  bool changed = false;
  const Clock::time_point now = Clock::now();
  for (FileWatch& w : pool->files) {
    std::map<std::string, std::pair<int64_t, int64_t>> stamps;
    for (const std::string& path : ExpandFileSDPatterns(w.config.files)) {
      std::error_code ec;
      auto mtime = std::filesystem::last_write_time(path, ec);
      int64_t m = ec ? 0 : mtime.time_since_epoch().count();
      auto size = std::filesystem::file_size(path, ec);
      stamps[path] = {m, ec ? -1 : static_cast<int64_t>(size)};
    }
    bool due = force || stamps != w.stamps ||
               now - w.last_read >= std::chrono::milliseconds(w.config.refresh_interval_ms);
    if (!due) continue;
    std::vector<TargetGroup> groups;
    for (const auto& [path, stamp] : stamps) {
      absl::StatusOr<std::vector<TargetGroup>> read = ReadFileSD(path);
      if (!read.ok()) {
        Log(LogSeverity::kError, "cannot read file_sd file",
            {{"scrape_pool", pool->job},
             {"file", path},
             {"err", std::string(read.status().message())}});
        continue;
      }
      for (TargetGroup& g : *read) groups.push_back(std::move(g));
    }
    w.stamps = std::move(stamps);
    w.last_read = now;
    if (groups != w.groups) {
      w.groups = std::move(groups);
      changed = true;
    }
  }
  return changed;
}

void Manager::Wake() {
  {
    std::lock_guard lock(wake_mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

void Manager::SubscribeKube(Pool* pool) {
  for (size_t i = 0; i < pool->config->kubernetes_sd_configs.size(); ++i) {
    const KubernetesSDConfig& kc = pool->config->kubernetes_sd_configs[i];
    KubeWatch w;
    w.state = std::make_shared<KubeState>();
    if (options_.target_provider == nullptr) {
      if (!logged_no_provider_) {
        logged_no_provider_ = true;
        Log(LogSeverity::kError,
            "kubernetes_sd_configs: no Kubernetes discovery in this process; those entries "
            "yield no targets",
            {{"scrape_pool", pool->job}});
      }
      pool->kube.push_back(std::move(w));
      continue;
    }
    // The callback takes only the state's mutex and wake_mu_, so it may run inside Subscribe
    // (mu_ is held here) and while the subscription is being destroyed under mu_.
    std::weak_ptr<KubeState> weak = w.state;
    absl::StatusOr<std::unique_ptr<TargetSubscription>> sub =
        options_.target_provider->Subscribe(kc, [this, weak](std::vector<TargetGroup> groups) {
          std::shared_ptr<KubeState> state = weak.lock();
          if (state == nullptr) return;
          {
            std::lock_guard lock(state->mu);
            state->latest = std::move(groups);
            state->changed = true;
          }
          Wake();
        });
    if (!sub.ok()) {
      Log(LogSeverity::kError, "kubernetes_sd_configs: cannot start discovery",
          {{"scrape_pool", pool->job},
           {"role", std::string(KubernetesRoleName(kc.role))},
           {"line", absl::StrCat(kc.line)},
           {"err", std::string(sub.status().message())}});
    } else {
      w.subscription = std::move(*sub);
    }
    pool->kube.push_back(std::move(w));
  }
  TakeKubeUpdates(pool);
}

bool Manager::TakeKubeUpdates(Pool* pool) {
  bool changed = false;
  for (KubeWatch& w : pool->kube) {
    std::lock_guard lock(w.state->mu);
    if (!w.state->changed) continue;
    w.state->changed = false;
    if (w.state->latest != w.groups) {
      w.groups = std::move(w.state->latest);
      changed = true;
    }
    w.state->latest.clear();
  }
  return changed;
}

void Manager::RetireLoop(std::shared_ptr<ScrapeLoop> loop) {
  loop->Retire();
  if (!loop->finished()) retiring_.push_back(std::move(loop));
}

void Manager::SyncPool(Pool* pool) {
  const std::shared_ptr<const ScrapeConfig>& config = pool->config;
  std::vector<const TargetGroup*> groups;
  for (const TargetGroup& g : config->static_configs) groups.push_back(&g);
  for (const FileWatch& w : pool->files) {
    for (const TargetGroup& g : w.groups) groups.push_back(&g);
  }
  for (const KubeWatch& w : pool->kube) {
    for (const TargetGroup& g : w.groups) groups.push_back(&g);
  }

  std::vector<Target> targets;
  std::vector<tsdb::Labels> dropped;
  std::multimap<uint64_t, size_t> seen;  // identity -> index in targets
  std::vector<std::string> errors;
  for (const TargetGroup* g : groups) {
    for (PopulatedTarget& pt : TargetsFromGroup(*g, *config, &errors)) {
      if (pt.dropped) {
        dropped.push_back(std::move(pt.discovered));
        continue;
      }
      Target t;
      t.public_labels = PublicTargetLabels(pt.labels);
      t.url = TargetScrapeURL(pt.labels, *config);
      t.labels = std::move(pt.labels);
      t.discovered = std::move(pt.discovered);
      t.interval_ms = pt.scrape_interval_ms;
      t.timeout_ms = pt.scrape_timeout_ms;
      uint64_t id = IdentityHash(t.public_labels, t.url);
      bool duplicate = false;
      for (auto [it, end] = seen.equal_range(id); it != end; ++it) {
        const Target& other = targets[it->second];
        if (other.public_labels == t.public_labels && other.url == t.url) duplicate = true;
      }
      if (duplicate) continue;  // scraped once, as Prometheus does
      seen.emplace(id, targets.size());
      targets.push_back(std::move(t));
    }
  }
  for (const std::string& e : errors) {
    Log(LogSeverity::kError, "creating target failed", {{"scrape_pool", pool->job}, {"err", e}});
  }

  // Match the new targets with the running loops by identity.
  std::multimap<uint64_t, size_t> old_index;
  for (size_t i = 0; i < pool->loops.size(); ++i) {
    const Target& t = pool->loops[i]->target();
    old_index.emplace(IdentityHash(t.public_labels, t.url), i);
  }
  std::vector<bool> matched(pool->loops.size(), false);
  std::string forced_error;
  if (config->target_limit > 0 && targets.size() > config->target_limit) {
    forced_error = absl::StrCat("target_limit exceeded (number of targets: ", targets.size(),
                                ", limit: ", config->target_limit, ")");
  }
  std::vector<std::shared_ptr<ScrapeLoop>> loops;
  loops.reserve(targets.size());
  ScrapeLoop::Options loop_options;
  loop_options.db = db_;
  loop_options.http = &http_;
  loop_options.jitter_seed = jitter_seed_;
  loop_options.start_immediately = options_.start_immediately;
  loop_options.log = [this, job = pool->job](std::string_view msg, const Target& t) {
    Log(LogSeverity::kWarn, msg, {{"scrape_pool", job}, {"target", t.url}});
  };
  for (Target& t : targets) {
    std::shared_ptr<ScrapeLoop> old;
    for (auto [it, end] = old_index.equal_range(IdentityHash(t.public_labels, t.url)); it != end;
         ++it) {
      const Target& o = pool->loops[it->second]->target();
      if (!matched[it->second] && o.public_labels == t.public_labels && o.url == t.url) {
        matched[it->second] = true;
        old = pool->loops[it->second];
        break;
      }
    }
    if (old != nullptr && old->config() == config && old->target().labels == t.labels) {
      old->SetForcedError(forced_error);
      loops.push_back(std::move(old));  // unchanged: keeps running undisturbed
      continue;
    }
    std::unique_ptr<ScrapeIngester> cache;
    if (old != nullptr) {
      if (ReusableCache(*old->config(), *config)) {
        old->Stop();
        cache = old->TakeIngester();
      } else {
        RetireLoop(std::move(old));
      }
    }
    auto loop = std::make_shared<ScrapeLoop>(std::move(t), config, loop_options, std::move(cache));
    loop->SetForcedError(forced_error);
    loop->Start();
    loops.push_back(std::move(loop));
  }
  for (size_t i = 0; i < pool->loops.size(); ++i) {
    if (!matched[i]) RetireLoop(pool->loops[i]);
  }
  std::sort(loops.begin(), loops.end(),
            [](const auto& a, const auto& b) { return a->target().labels < b->target().labels; });
  pool->loops = std::move(loops);
  pool->dropped = std::move(dropped);
  std::erase_if(retiring_, [](const auto& l) { return l->finished(); });
}

absl::Status Manager::ApplyConfig(const Config& config) {
  std::unique_lock lock(mu_);
  if (stopped_) return absl::FailedPreconditionError("the scrape manager is stopped");

  // The phase seed, as Prometheus derives it: this host and the external labels.
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  jitter_seed_ =
      Fnv1a(Fnv1a(14695981039346656037ULL, host), config.global.external_labels.ToString());

  std::map<std::string, std::unique_ptr<Pool>> next;
  std::vector<std::string> order;
  for (const ScrapeConfig& sc : config.scrape_configs) {
    order.push_back(sc.job_name);
    auto it = pools_.find(sc.job_name);
    if (it != pools_.end() && SameScrapeConfig(*it->second->config, sc)) {
      next[sc.job_name] = std::move(it->second);
      pools_.erase(it);
      continue;
    }
    auto pool = std::make_unique<Pool>();
    pool->job = sc.job_name;
    pool->config = std::make_shared<const ScrapeConfig>(sc);
    for (const FileSDConfig& f : sc.file_sd_configs) {
      FileWatch w;
      w.config = f;
      pool->files.push_back(std::move(w));
    }
    RefreshFiles(pool.get(), true);
    SubscribeKube(pool.get());
    if (it != pools_.end()) {
      // Changed: SyncPool restarts the loops with the new configuration.
      pool->loops = std::move(it->second->loops);
      pools_.erase(it);
      Log(LogSeverity::kInfo, "scrape pool configuration changed; restarting its loops",
          {{"scrape_pool", sc.job_name}});
    }
    SyncPool(pool.get());
    next[sc.job_name] = std::move(pool);
  }
  for (auto& [job, pool] : pools_) {
    Log(LogSeverity::kInfo, "scrape pool removed", {{"scrape_pool", job}});
    for (auto& loop : pool->loops) RetireLoop(loop);
  }
  pools_ = std::move(next);
  job_order_ = std::move(order);
  if (!discovery_.joinable()) discovery_ = std::thread([this] { DiscoveryLoop(); });
  return absl::OkStatus();
}

void Manager::DiscoveryLoop() {
  Clock::time_point next_files = Clock::now() + options_.file_sd_check;
  while (true) {
    {
      std::unique_lock wake(wake_mu_);
      cv_.wait_until(wake, next_files, [&] { return wake_; });
      wake_ = false;
    }
    std::unique_lock lock(mu_);
    if (stopped_) break;
    const bool check_files = Clock::now() >= next_files;
    if (check_files) next_files = Clock::now() + options_.file_sd_check;
    for (auto& [job, pool] : pools_) {
      bool changed = false;
      if (check_files && !pool->files.empty() && RefreshFiles(pool.get(), false)) {
        Log(LogSeverity::kInfo, "file_sd targets changed", {{"scrape_pool", job}});
        changed = true;
      }
      if (!pool->kube.empty() && TakeKubeUpdates(pool.get())) {
        Log(LogSeverity::kDebug, "kubernetes_sd targets changed", {{"scrape_pool", job}});
        changed = true;
      }
      if (changed) SyncPool(pool.get());
    }
    std::erase_if(retiring_, [](const auto& l) { return l->finished(); });
  }
}

void Manager::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  Wake();
  if (discovery_.joinable()) discovery_.join();
  std::vector<std::shared_ptr<ScrapeLoop>> loops;
  {
    std::lock_guard lock(mu_);
    for (auto& [job, pool] : pools_) {
      for (auto& l : pool->loops) loops.push_back(l);
    }
    for (auto& l : retiring_) loops.push_back(l);
    pools_.clear();
    retiring_.clear();
  }
  for (auto& l : loops) l->Stop();
  loops.clear();
  http_.Stop();
}

TargetsSnapshot Manager::Targets() const {
  std::lock_guard lock(mu_);
  TargetsSnapshot out;
  out.pools = job_order_;
  for (const std::string& job : job_order_) {
    auto it = pools_.find(job);
    if (it == pools_.end()) continue;
    for (const auto& loop : it->second->loops) {
      out.active.push_back(ActiveTargetInfo{job, loop->target(), loop->status(), loop->metadata()});
    }
    for (const tsdb::Labels& d : it->second->dropped) {
      out.dropped.push_back(DroppedTargetInfo{job, d});
    }
  }
  return out;
}

std::map<std::string, std::vector<MetricMetadata>> Manager::ListMetadata(
    std::string_view metric) const {
  std::map<std::string, std::vector<MetricMetadata>> out;
  std::lock_guard lock(mu_);
  for (const std::string& job : job_order_) {
    auto it = pools_.find(job);
    if (it == pools_.end()) continue;
    for (const auto& loop : it->second->loops) loop->metadata()->AppendTo(metric, &out);
  }
  return out;
}

std::vector<std::shared_ptr<ScrapeLoop>> Manager::Loops(std::string_view job) const {
  std::lock_guard lock(mu_);
  auto it = pools_.find(std::string(job));
  if (it == pools_.end()) return {};
  return it->second->loops;
}

size_t Manager::RetiringLoops() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& l : retiring_) n += l->finished() ? 0 : 1;
  return n;
}

}  // namespace scrape
