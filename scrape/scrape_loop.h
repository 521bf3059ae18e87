// The scrape loop: one per target, scraping it every scrape_interval and appending what it
// exposes to the storage, with Prometheus' semantics (scrape/scrape.go as of v2.42).
//
// Two parts:
//
// ScrapeIngester turns one scraped body into appended samples (Prometheus' scrapeLoop.append with
// its scrapeCache). For every sample line it looks the series' raw text (Entry::series_text) up
// in a cache of the refs it got from the storage, so that in the steady state a sample costs a
// hash lookup and Appender::Append(ref, ...) and no label set is built. On a cache miss the
// labels are built: the exposed labels, the target's labels added (honor_labels: exposed labels
// win; otherwise target labels win and conflicting exposed labels are renamed "exported_<name>",
// "exported_exported_<name>", ...), then metric_relabel_configs (a dropped series is cached as
// dropped), then checked: a metric name is required, names must be valid, values valid UTF-8,
// and label_limit, label_name_length_limit and label_value_length_limit hold. A failed check
// fails the whole scrape, as does passing sample_limit or a parse error; the samples of a failed
// scrape are rolled back and the scrape counts as failed (up 0). Samples are stamped with their
// exposed timestamp when honor_timestamps is set, otherwise with the scrape's time. A series that
// appears twice in one body keeps its first sample (the others are counted as duplicates).
// Storage rejections (out of order, duplicate timestamp, out of bounds) drop that sample only and
// are counted.
//
// Staleness: a series appended (without an exposed timestamp) by the previous successful scrape
// but not by this one gets a staleness marker (kStaleNaN) at this scrape's time; a failed scrape
// marks every series of the previous successful one. A stopped loop whose target went away
// writes markers for all its series and report series once the next scrape would have been due
// plus one more interval (so a target that comes back in another loop meanwhile makes them out
// of order, and they are dropped), as Prometheus does; a loop stopped at shutdown writes none.
//
// ScrapeLoop schedules the scrapes: the first one at an offset inside the interval derived from a
// hash of the target (so that targets spread evenly and a restart keeps each target's phase), then
// every interval; a scrape that overruns skips the ticks it missed. Each scrape is an HTTP GET
// with scrape_timeout as deadline; its samples and the report series (up,
// scrape_duration_seconds, scrape_samples_scraped, scrape_samples_post_metric_relabeling,
// scrape_series_added) go to the storage in one Appender commit. When the clock is within 2 ms of
// the scheduled time the scheduled time is stored instead (Prometheus' timestamp tolerance), so
// that the sample spacing is regular and compresses to a few bits.
#ifndef METRICS_ADAPTER_SCRAPE_SCRAPE_LOOP_H_
#define METRICS_ADAPTER_SCRAPE_SCRAPE_LOOP_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "scrape/config.h"
#include "scrape/http_client.h"
#include "scrape/metadata.h"
#include "scrape/relabel.h"
#include "scrape/textparse/parser.h"
#include "tsdb/labels.h"
#include "tsdb/stale.h"
#include "tsdb/storage.h"

namespace tsdb {
class DB;
}

namespace scrape {

using tsdb::IsStaleNaN;
using tsdb::kStaleNaNBits;
using tsdb::StaleNaN;

// The parser format for a response's Content-Type: OpenMetrics for
// "application/openmetrics-text", the text format for anything else (including a missing or
// unknown type), as Prometheus 2.42 decides.
textparse::Format FormatForContentType(std::string_view content_type);

// The settings of a ScrapeIngester, taken from the target and its scrape config.
struct IngestSettings {
  tsdb::Labels target_labels;  // the target's public labels, added to every series
  bool honor_labels = false;
  bool honor_timestamps = true;
  uint64_t sample_limit = 0;  // 0 = none, for each of the limits
  uint64_t label_limit = 0;
  uint64_t label_name_length_limit = 0;
  uint64_t label_value_length_limit = 0;
  std::vector<RelabelRule> metric_relabel_configs;  // compiled
};

// What one Append did.
struct IngestResult {
  uint64_t total = 0;         // sample lines in the body (scrape_samples_scraped)
  uint64_t added = 0;         // samples left after relabelling (..._post_metric_relabeling)
  uint64_t series_added = 0;  // series new to the cache (scrape_series_added)
  uint64_t stale_markers = 0;
  uint64_t duplicates_in_body = 0;
  uint64_t out_of_order = 0;  // refused by the storage, by reason
  uint64_t duplicate_timestamp = 0;
  uint64_t out_of_bounds = 0;
  // Why the scrape failed (parse error, a limit, invalid labels, a storage error); its samples
  // must then be rolled back.
  absl::Status error;
};

// The report series of one scrape.
struct ScrapeReport {
  bool up = false;
  double duration_seconds = 0;
  uint64_t samples_scraped = 0;
  uint64_t samples_post_relabeling = 0;
  uint64_t series_added = 0;
};

// Appends scraped bodies for one target (see the file comment). Not thread-safe: the loop calls
// it from one thread at a time.
class ScrapeIngester {
 public:
  explicit ScrapeIngester(IngestSettings settings,
                          std::shared_ptr<TargetMetadata> metadata = nullptr);

  // Replaces the settings; the cache is kept, which is right only when the target labels,
  // honor_labels and metric_relabel_configs did not change (a reload that changes only the
  // interval, timeout or limits).
  void UpdateSettings(IngestSettings settings);
  const IngestSettings& settings() const { return settings_; }

  // Appends the samples of body at default time t (ms). On success the staleness markers of
  // series that disappeared are appended too. On error (result.error) the caller must roll back
  // app and then call AppendFailure on a new appender.
  IngestResult Append(tsdb::Appender* app, std::string_view body, textparse::Format format,
                      int64_t t);
  // A failed scrape at t: staleness markers for every series of the last successful scrape.
  IngestResult AppendFailure(tsdb::Appender* app, int64_t t);
  // The report series at t.
  absl::Status AppendReport(tsdb::Appender* app, int64_t t, const ScrapeReport& report);
  // End of the target: staleness markers for the series of the last successful scrape and for
  // the report series, at t.
  IngestResult AppendEndOfRun(tsdb::Appender* app, int64_t t);

  // Whether a scrape has been appended since the last end of run (markers are then due).
  bool has_series() const {
    return (last_success_iter_ != 0 && prev_tracked_ > 0) || report_appended_;
  }
  size_t cache_size() const { return cache_.size(); }
  const std::shared_ptr<TargetMetadata>& metadata() const { return metadata_; }

 private:
  // Iterations count the scrapes (Append calls); 0 is "never".
  struct CacheEntry {
    tsdb::SeriesRef ref = 0;         // 0: dropped by relabelling
    uint64_t seen_iter = 0;          // the last scrape that exposed it
    uint64_t appended_iter = 0;      // the last scrape that appended a sample of it
    uint64_t tracked_iter = 0;       // the last scrape that appended it without a timestamp
    uint64_t prev_tracked_iter = 0;  // tracked_iter before that scrape
  };
  // Builds the labels of the current entry; false when relabelling dropped the series.
  absl::StatusOr<bool> BuildLabels(const textparse::Entry& entry, tsdb::Labels* out);
  void AppendStale(tsdb::Appender* app, tsdb::SeriesRef ref, int64_t t, IngestResult* result);

  IngestSettings settings_;
  std::shared_ptr<TargetMetadata> metadata_;
  LabelBuilder builder_;
  std::vector<tsdb::Label> scratch_;

  uint64_t iter_ = 0;
  // series_text -> ref and the scrape's bookkeeping; one lookup per sample does it all (a
  // second table keyed by ref would cost another cache miss per sample). Entries a successful
  // scrape did not see are dropped.
  absl::flat_hash_map<std::string, CacheEntry> cache_;
  uint64_t last_success_iter_ = 0;  // 0 after a failure: nothing is tracked
  size_t prev_tracked_ = 0;         // entries tracked by the last successful scrape
  size_t continued_ = 0;            // of those, appended again by the current scrape
  size_t tracked_now_ = 0;          // entries tracked by the current scrape
  size_t seen_ = 0;                 // cache entries seen by the current scrape
  size_t successful_size_ = 0;      // cache size after the last successful scrape
  bool failed_pending_ = false;     // Append failed; AppendFailure is due
  tsdb::SeriesRef report_refs_[5] = {0, 0, 0, 0, 0};
  bool report_appended_ = false;
};

enum class TargetHealth { kUnknown, kUp, kDown };
// "unknown", "up", "down" as /api/v1/targets spells them.
std::string_view TargetHealthName(TargetHealth health);

// One target of a scrape pool.
struct Target {
  tsdb::Labels labels;         // after relabelling, with the "__" labels saying how to scrape
  tsdb::Labels discovered;     // before relabelling
  tsdb::Labels public_labels;  // labels without "__" ones: attached to the series
  std::string url;
  int64_t interval_ms = 0;
  int64_t timeout_ms = 0;

  // Identity within its pool: same labels and URL.
  uint64_t Hash() const;
  friend bool operator==(const Target& a, const Target& b) {
    return a.labels == b.labels && a.url == b.url;
  }
};

// What /api/v1/targets shows about a target.
struct TargetStatus {
  TargetHealth health = TargetHealth::kUnknown;
  std::string last_error;
  int64_t last_scrape_unix_ns = 0;  // start of the last scrape; 0 = never
  double last_scrape_duration_s = 0;
  uint64_t last_samples = 0;
  uint64_t scrapes = 0;
  uint64_t failed_scrapes = 0;
};

class ScrapeLoop : public std::enable_shared_from_this<ScrapeLoop> {
 public:
  struct Options {
    tsdb::DB* db = nullptr;
    HttpClient* http = nullptr;
    uint64_t jitter_seed = 0;
    // Receives notes worth a log line (commit failures, refused samples); may be null.
    std::function<void(std::string_view msg, const Target& target)> log;
    // For tests: the first scrape at once instead of at the target's offset.
    bool start_immediately = false;
  };

  // cache: the ingester of a previous loop of the same target to continue with (its settings
  // are updated), or null for a fresh one.
  ScrapeLoop(Target target, std::shared_ptr<const ScrapeConfig> config, Options options,
             std::unique_ptr<ScrapeIngester> cache = nullptr);
  ~ScrapeLoop();

  ScrapeLoop(const ScrapeLoop&) = delete;
  ScrapeLoop& operator=(const ScrapeLoop&) = delete;

  // Starts scraping. Never fails: a target that cannot be set up (a bad TLS file) reports the
  // error as its lastError at each scrape.
  void Start();

  // Stops scraping and waits for a scrape in progress to end. No staleness markers: for a
  // shutdown, or to hand the cache to a new loop of the same target with TakeIngester().
  void Stop();
  std::unique_ptr<ScrapeIngester> TakeIngester();

  // Stops scraping because the target went away: the scrape in progress is abandoned and the
  // end-of-run staleness markers are written later (see the file comment); returns at once.
  // Stop() may still be called (e.g. at shutdown) and then no markers are written.
  void Retire();
  // True once a retired loop has written its markers (or had nothing to write) or was stopped.
  bool finished() const { return finished_.load(); }

  // Fails every scrape with this error instead of scraping, e.g. "target_limit exceeded";
  // empty clears it.
  void SetForcedError(std::string error);

  const Target& target() const { return target_; }
  const std::shared_ptr<const ScrapeConfig>& config() const { return config_; }
  TargetStatus status() const;
  std::shared_ptr<TargetMetadata> metadata() const { return metadata_; }

  // The first scrape's delay from now_unix_ns for a target with this hash (Prometheus'
  // Target.offset): the scrape happens when unix time modulo the interval equals
  // (hash ^ seed) % interval.
  static int64_t OffsetNs(uint64_t hash, uint64_t seed, int64_t interval_ns, int64_t now_unix_ns);

 private:
  enum class State { kNew, kRunning, kRetiring, kStopped };

  void ScheduleNext(std::chrono::steady_clock::time_point after);
  void OnTick();
  void OnFetched(absl::StatusOr<FetchResponse> response,
                 std::chrono::steady_clock::time_point start, int64_t start_unix_ns,
                 int64_t append_ms);
  void BeginRetire();
  void WriteEndOfRun(int64_t stale_ms);
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> AuthHeaders() const;

  const Target target_;
  const std::shared_ptr<const ScrapeConfig> config_;
  const Options options_;
  std::shared_ptr<TargetMetadata> metadata_;
  std::unique_ptr<ScrapeIngester> ingester_;
  std::shared_ptr<ScrapeClient> client_;
  std::string setup_error_;  // why client_ could not be made
  FetchRequest request_template_;

  std::mutex mu_;  // guards state_, forced_error_, status_, ingester_ hand-over
  State state_ = State::kNew;
  std::string forced_error_;
  TargetStatus status_;
  mutable std::mutex status_mu_;
  std::atomic<bool> finished_{false};

  // Loop-thread state (the client's callbacks run one at a time).
  std::chrono::steady_clock::time_point next_tick_{};
  int64_t next_tick_unix_ns_ = 0;  // the wall-clock time next_tick_ stands for
};

}  // namespace scrape

#endif  // METRICS_ADAPTER_SCRAPE_SCRAPE_LOOP_H_
