// Head: the in-memory part of the database: series with their compressed chunks, the symbol table
// and the inverted index, behind one reader/writer lock. Internal to tsdb/; DB adds durability.
//
// Locking: readers (Select, SelectSamplesInPieces, label listings, checkpoint snapshots) take the
// lock shared and copy out what they need (SelectSamplesInPieces decodes while copying, spread over
// the read workers), so a query never holds it while evaluating. Commits take it exclusively for
// the short time it takes to append a batch into chunks, so a reader sees a batch entirely or not
// at all.
#ifndef METRICS_ADAPTER_TSDB_HEAD_H_
#define METRICS_ADAPTER_TSDB_HEAD_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "tsdb/chunk/xor_chunk.h"
#include "tsdb/db.h"
#include "tsdb/index/postings.h"
#include "tsdb/index/symbols.h"
#include "tsdb/series_table.h"
#include "tsdb/stats.h"
#include "tsdb/storage.h"
#include "tsdb/wal/records.h"

namespace tsdb {

struct MemSeries {
  SeriesRef ref = 0;
  // Sorted by name; the strings are interned in the head's symbol table.
  std::vector<std::pair<std::string_view, std::string_view>> labels;
  int64_t max_time = kMinTime;  // newest committed sample
  double last_value = 0;
  // The chunk receiving appends, held inline: appends touch it on every sample, and one pointer
  // chase less per sample is measurable.
  XorChunk open;
  std::vector<XorChunk> closed;  // full chunks, oldest first
  uint64_t hash = 0;
  MemSeries* hash_next = nullptr;  // collision chain of the by-hash map
  // Uncommitted samples that refer to this series; retention never removes a pinned series.
  std::atomic<int32_t> pins{0};

  Labels ToLabels() const;
  bool empty() const { return closed.empty() && open.num_samples() == 0; }
  // Calls fn for every non-empty chunk, oldest first.
  template <typename Fn>
  void ForEachChunk(Fn&& fn) const {
    for (const XorChunk& c : closed) fn(c);
    if (open.num_samples() > 0) fn(open);
  }
};

// A sample waiting in an appender for its commit. Holds a pin on its series.
struct PendingSample {
  MemSeries* series;
  int64_t t;
  double v;
};

class Head {
 public:
  // Called, under the exclusive lock, when a series is created, before it becomes visible; a
  // non-OK status aborts the creation (used to log the series to the WAL first).
  using SeriesCreatedHook = std::function<absl::Status(SeriesRef, const Labels&)>;

  explicit Head(Stats* stats) : stats_(stats) {}
  ~Head();
  Head(const Head&) = delete;
  Head& operator=(const Head&) = delete;

  void set_series_created_hook(SeriesCreatedHook hook) { on_create_ = std::move(hook); }

  // Finds the series (by ref when non-zero and still present, otherwise by labels, creating it)
  // and checks that (t, v) may be appended to it now. On success the series is pinned and the
  // caller must pass it to Apply or Unpin. Rejections carry a RejectReason (GetRejectReason).
  // min_valid_time: samples older than this are out of bounds.
  absl::StatusOr<MemSeries*> Prepare(SeriesRef ref, const Labels& labels, int64_t t, double v,
                                     int64_t min_valid_time);
  // Appends the samples (in order) and unpins their series. A sample that became out of order or
  // duplicate since Prepare is dropped and counted. Returns how many were appended.
  size_t Apply(const std::vector<PendingSample>& samples);
  void Unpin(const std::vector<PendingSample>& samples);

  // Replay: creates a series with a given ref (no hook); returns the existing one when ref is
  // already known. Refs must be unique per label set.
  MemSeries* CreateWithRef(SeriesRef ref, const Labels& labels);
  MemSeries* GetByRef(SeriesRef ref);
  // Replay: appends samples of a WAL record; samples at or before their series' newest are
  // skipped silently (a checkpoint already had them), as are samples of unknown series (removed
  // by retention before the checkpoint).
  void ReplaySamples(const std::vector<RefSample>& samples);
  // Replay: adds a chunk (from a checkpoint) after the existing ones; the last one a series gets
  // continues as its open chunk.
  void ReplayChunk(MemSeries* s, XorChunk chunk);

  // Read side.
  std::vector<std::unique_ptr<SeriesData>> Select(const std::vector<LabelMatcher>& matchers,
                                                  int64_t mint, int64_t maxt) const;
  // Select's label sets without the chunks (Querier::SelectLabels).
  std::vector<Labels> SelectLabels(const std::vector<LabelMatcher>& matchers, int64_t mint,
                                   int64_t maxt) const;
  // Select's series with their samples in [mint, maxt] decoded, in pieces
  // (Querier::SelectSamplesInPieces). A selection of at most one piece is decoded under the shared
  // lock straight from the chunks; a larger one is copied out compressed under the lock and
  // decoded piece by piece after it is released, so that neither the lock nor the memory of
  // every decoded series is held while the reader works through the pieces.
  absl::Status SelectSamplesInPieces(
      const std::vector<LabelMatcher>& matchers, const SelectHints& hints, int64_t mint,
      int64_t maxt, std::chrono::steady_clock::time_point deadline, size_t piece_series,
      absl::FunctionRef<absl::Status(std::vector<SeriesSamples>& piece)> consume) const;
  std::vector<std::string> LabelNames(const std::vector<LabelMatcher>& matchers, int64_t mint,
                                      int64_t maxt) const;
  std::vector<std::string> LabelValues(std::string_view name,
                                       const std::vector<LabelMatcher>& matchers, int64_t mint,
                                       int64_t maxt) const;

  // Checkpoint side: calls fn for every series in ref order, in batches, under the shared lock;
  // fn must not call back into the head.
  void ForEachSeries(const std::function<void(const MemSeries&)>& fn) const;

  // Drops chunks whose samples are all older than cutoff, then series left empty and unpinned.
  // Returns the number of series removed.
  size_t Truncate(int64_t cutoff);

  int64_t MinTime() const;
  // DB::Cardinality.
  HeadCardinality Cardinality(size_t limit) const;
  int64_t MaxTime() const { return max_time_.load(std::memory_order_relaxed); }
  SeriesRef LastRef() const;
  void SetNextRef(SeriesRef next);

 private:
  MemSeries* FindByLabelsLocked(const Labels& labels, uint64_t hash) const;
  MemSeries* CreateLocked(SeriesRef ref, const Labels& labels, uint64_t hash);
  PostingsList PostingsForMatchers(const std::vector<LabelMatcher>& matchers) const;
  // Calls fn(const MemSeries&) for each series matching all matchers with samples in
  // [mint, maxt], in ref order. The caller holds the lock.
  template <typename Fn>
  void ForEachSelectedLocked(const std::vector<LabelMatcher>& matchers, int64_t mint, int64_t maxt,
                             Fn&& fn) const;
  // The same series, sorted by labels (the order Select promises). Requires mu_ held.
  std::vector<const MemSeries*> SelectSortedLocked(const std::vector<LabelMatcher>& matchers,
                                                   int64_t mint, int64_t maxt) const;
  // Counter deltas of a batch of appends, published to Stats once per batch: atomics per sample
  // would cost more than the append itself.
  struct Tally {
    int64_t chunk_bytes = 0;
    int64_t chunks = 0;
    uint64_t out_of_order = 0;
    uint64_t duplicate = 0;
    int64_t max_time = kMinTime;
  };
  // Appends one sample to s; the caller holds the exclusive lock. Returns false when refused.
  bool AppendLocked(MemSeries* s, int64_t t, double v, Tally* tally);
  void Publish(const Tally& tally);

  Stats* stats_;
  SeriesCreatedHook on_create_;
  mutable std::shared_mutex mu_;
  SymbolTable symbols_;
  MemPostings postings_;
  SeriesTable<MemSeries> series_;
  absl::flat_hash_map<uint64_t, MemSeries*> by_hash_;
  SeriesRef next_ref_ = 1;
  std::atomic<int64_t> max_time_{kMinTime};
};

}  // namespace tsdb

#endif  // METRICS_ADAPTER_TSDB_HEAD_H_
