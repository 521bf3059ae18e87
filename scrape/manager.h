// The scrape manager: turns a scrape configuration into running scrape loops, one scrape pool per
// job (Prometheus' scrape.Manager and scrapePool as of v2.42).
//
// A pool's targets come from its static_configs and file_sd_configs; each target's labels are
// built by PopulateTargetLabels (relabel_configs applied). Targets that relabelling drops are
// kept, with their discovered labels, for /api/v1/targets. Identical targets (same labels and
// URL) are scraped once. With target_limit exceeded, every target of the pool fails its scrapes
// with "target_limit exceeded" instead of being scraped.
//
// file_sd files are read when the configuration is applied, then checked for changes (file set,
// modification time, size) every ManagerOptions::file_sd_check and re-read in any case every
// refresh_interval. A file that cannot be read or parsed contributes no targets until it can
// (the error is logged), as in Prometheus.
//
// kubernetes_sd_configs: when a pool is created (first configuration, or its job changed) it
// subscribes to ManagerOptions::target_provider for each entry, and the subscription ends with
// the pool. Each update from the provider wakes the discovery thread at once, which re-syncs the
// pool's targets: a new pod is scraped as soon as the provider reports it, without waiting for
// file_sd_check. A failed subscription, or no provider at all, leaves the entry without targets
// and logs an error (once per manager when there is no provider).
//
// Reload (ApplyConfig with a new configuration):
//   * a job whose configuration is unchanged keeps its pool and loops as they are: no scrape is
//     skipped and no sample lost;
//   * a job that is gone retires its loops: their series get staleness markers (see
//     scrape_loop.h for when);
//   * a changed job restarts its loops with the new configuration. A target that is still there
//     (same public labels and URL) continues with the cache (series refs, staleness state) of its
//     old loop when only the interval, timeout, limits or HTTP settings changed; otherwise its
//     old loop retires with markers and a new loop starts from scratch. Targets that disappear
//     retire.
//
// Thread safety: every method may be called from any thread. Scrapes run on the manager's
// HttpClient pool; the caller's thread only does the bookkeeping of a reload.
#ifndef METRICS_ADAPTER_SCRAPE_MANAGER_H_
#define METRICS_ADAPTER_SCRAPE_MANAGER_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "scrape/config.h"
#include "scrape/discovery_provider.h"
#include "scrape/http_client.h"
#include "scrape/metadata.h"
#include "scrape/scrape_loop.h"
#include "tsdb/labels.h"

namespace tsdb {
class DB;
}

namespace scrape {

enum class LogSeverity { kDebug, kInfo, kWarn, kError };

struct ManagerOptions {
  // Threads of the HTTP client pool that runs every scrape.
  int threads = 2;
  std::string user_agent = "metrics-adapter";
  // How often file_sd files are checked for changes.
  std::chrono::milliseconds file_sd_check{1000};
  // Receives log events: severity, message and key/value fields. May be null.
  std::function<void(LogSeverity, std::string_view msg,
                     const std::vector<std::pair<std::string, std::string>>& fields)>
      log;
  // For tests: every new loop scrapes at once instead of at its target's offset.
  bool start_immediately = false;
  // Serves kubernetes_sd_configs; not owned, must outlive the manager. Null: such entries yield
  // no targets.
  TargetProvider* target_provider = nullptr;
};

struct ActiveTargetInfo {
  std::string scrape_pool;
  Target target;
  TargetStatus status;
  std::shared_ptr<const TargetMetadata> metadata;  // what its scrapes announced (never null)
};

struct DroppedTargetInfo {
  std::string scrape_pool;
  tsdb::Labels discovered;
};

struct TargetsSnapshot {
  std::vector<std::string> pools;          // every configured scrape pool (job), in order
  std::vector<ActiveTargetInfo> active;    // by pool (configuration order), then by labels
  std::vector<DroppedTargetInfo> dropped;  // by pool, in discovery order
};

class Manager : public MetadataStore {
 public:
  // db must stay open until Stop() returns.
  Manager(tsdb::DB* db, ManagerOptions options);
  // Calls Stop().
  ~Manager() override;

  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  // Applies a configuration (the first one or a reload; see the file comment). Problems with
  // single targets or files are logged and leave those targets out; the call fails only after
  // Stop().
  absl::Status ApplyConfig(const Config& config);

  // Stops every loop (no staleness markers: the data stays as it is for the next start) and the
  // HTTP client. Idempotent.
  void Stop();

  TargetsSnapshot Targets() const;

  // MetadataStore.
  std::map<std::string, std::vector<MetricMetadata>> ListMetadata(
      std::string_view metric) const override;

  // The running loops of a pool (tests, diagnostics).
  std::vector<std::shared_ptr<ScrapeLoop>> Loops(std::string_view job) const;
  // Loops that were retired and are still waiting to write their staleness markers.
  size_t RetiringLoops() const;

 private:
  struct FileWatch;
  struct KubeState;
  struct KubeWatch;
  struct Pool;

  void SyncPool(Pool* pool);
  void RetireLoop(std::shared_ptr<ScrapeLoop> loop);
  bool RefreshFiles(Pool* pool, bool force);
  void SubscribeKube(Pool* pool);
  // Takes the provider updates that arrived since the last call; whether any did.
  bool TakeKubeUpdates(Pool* pool);
  void Wake();
  void DiscoveryLoop();
  void Log(LogSeverity severity, std::string_view msg,
           const std::vector<std::pair<std::string, std::string>>& fields = {}) const;

  tsdb::DB* const db_;
  const ManagerOptions options_;
  HttpClient http_;

  mutable std::mutex mu_;
  bool stopped_ = false;
  uint64_t jitter_seed_ = 0;
  std::vector<std::string> job_order_;
  std::map<std::string, std::unique_ptr<Pool>> pools_;
  std::vector<std::shared_ptr<ScrapeLoop>> retiring_;
  bool logged_no_provider_ = false;

  // Wakes the discovery thread: by Stop() and by provider updates, which must not take mu_ (they
  // may arrive while ApplyConfig holds it, from inside Subscribe()).
  std::mutex wake_mu_;
  bool wake_ = false;
  std::condition_variable cv_;
  std::thread discovery_;
};

// Whether two scrape configurations are the same in every field that matters for scraping.
bool SameScrapeConfig(const ScrapeConfig& a, const ScrapeConfig& b);

}  // namespace scrape

#endif  // METRICS_ADAPTER_SCRAPE_MANAGER_H_
