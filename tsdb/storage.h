// The two seams of the storage engine, as in Prometheus' storage package: everything that writes
// (scrape loops, import) goes through an Appender, everything that reads (PromQL, the HTTP API,
// the adapter) through a Querier. Nothing outside tsdb/ sees a chunk or a posting list.
#ifndef METRICS_ADAPTER_TSDB_STORAGE_H_
#define METRICS_ADAPTER_TSDB_STORAGE_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tsdb/labels.h"
#include "tsdb/matcher.h"

namespace tsdb {

// Identifies a series within one open database; 0 means "unknown, look it up by labels".
using SeriesRef = uint64_t;

inline constexpr int64_t kMinTime = std::numeric_limits<int64_t>::min();
inline constexpr int64_t kMaxTime = std::numeric_limits<int64_t>::max();

struct Sample {
  int64_t t;  // milliseconds since the Unix epoch
  double v;

  friend bool operator==(const Sample&, const Sample&) = default;
};

// Why an Append was refused; also the label of the rejected-samples self-metric.
enum class RejectReason {
  kOutOfOrder,   // older than the newest sample of its series
  kDuplicate,    // same timestamp as the newest sample, different value
  kOutOfBounds,  // older than the retention window
  kInvalidLabels,
};
std::string_view RejectReasonName(RejectReason reason);
// The reason carried by a status returned from Appender::Append, if any. Append reports them with
// these codes: out of order FailedPrecondition, duplicate AlreadyExists, out of bounds OutOfRange,
// invalid labels InvalidArgument.
std::optional<RejectReason> GetRejectReason(const absl::Status& status);

// Collects samples and makes them visible and durable together on Commit. Not thread-safe: each
// writer (scrape loop) uses its own. Destroying an uncommitted Appender rolls it back.
class Appender {
 public:
  virtual ~Appender() = default;

  // Adds one sample. With ref != 0 (a ref returned earlier by this database) labels are not looked
  // at. Returns the series' ref for later calls. A refused sample (see RejectReason) leaves the
  // rest of the batch intact.
  virtual absl::StatusOr<SeriesRef> Append(SeriesRef ref, const Labels& labels, int64_t t,
                                           double v) = 0;
  // Writes the batch to the WAL and then makes it visible to readers atomically. On a WAL error
  // nothing of the batch is applied.
  virtual absl::Status Commit() = 0;
  virtual void Rollback() = 0;
};

// Iterates the samples of one series in time order.
class SampleIterator {
 public:
  virtual ~SampleIterator() = default;
  // Advances to the next sample; false at the end.
  virtual bool Next() = 0;
  // Advances to the first sample with timestamp >= t (never moves backwards); false when none.
  virtual bool Seek(int64_t t) = 0;
  virtual Sample At() const = 0;
};

// One series of a query result: a private snapshot, safe to read without locks.
class SeriesData {
 public:
  virtual ~SeriesData() = default;
  virtual const Labels& labels() const = 0;
  virtual std::unique_ptr<SampleIterator> Iterator() const = 0;
};

// One series with its samples copied out, as Querier::SelectSamplesInPieces hands them over.
struct SeriesSamples {
  Labels labels;
  std::vector<Sample> samples;  // ascending time
};

// Readers that take a deadline look at the clock once per this many series.
inline constexpr size_t kSeriesPerDeadlineCheck = 64;
// What they return when it has passed.
absl::Status DeadlineError();

// What a reader will use of a selection, so that the storage can leave the rest out (as
// Prometheus' storage.SelectHints). An implementation may ignore them and return everything.
struct SelectHints {
  // Only each series' newest sample in the querier's [mint, maxt] is used (an instant vector
  // selector evaluated at one time).
  bool newest_only = false;
};

// A consistent read view over [mint, maxt]: never shows half of a committed batch.
class Querier {
 public:
  virtual ~Querier() = default;
  // Series matching all matchers with at least one sample in [mint, maxt], sorted by labels,
  // holding only those samples. At least one matcher must not match the empty string.
  virtual absl::StatusOr<std::vector<std::unique_ptr<SeriesData>>> Select(
      const std::vector<LabelMatcher>& matchers) const = 0;
  // What Select returns with every series' samples copied out, leaving out series without
  // samples, handed to `consume` in order in pieces of at most `piece_series` series. A reader
  // that goes through the series once (the PromQL engine) then holds one piece decoded at a
  // time, not the whole selection. An implementation can decode straight from its own storage,
  // in parallel, without an intermediate copy; the default goes through Select. A piece is never
  // empty; consume may take its contents. An error from consume ends the stream and is returned.
  // Fails with DeadlineExceeded, dropping what was decoded, once `deadline` has passed (looked at
  // every few dozen series).
  virtual absl::Status SelectSamplesInPieces(
      const std::vector<LabelMatcher>& matchers, const SelectHints& hints,
      std::chrono::steady_clock::time_point deadline, size_t piece_series,
      absl::FunctionRef<absl::Status(std::vector<SeriesSamples>& piece)> consume) const;
  // The label sets of the series Select would return, in the same order, without their samples
  // (for /api/v1/series and other listings). The default goes through Select.
  virtual absl::StatusOr<std::vector<Labels>> SelectLabels(
      const std::vector<LabelMatcher>& matchers) const;
  // Sorted label names of series matching all matchers (all series when none).
  virtual absl::StatusOr<std::vector<std::string>> LabelNames(
      const std::vector<LabelMatcher>& matchers) const = 0;
  // Sorted distinct values of name among series matching all matchers (all series when none).
  virtual absl::StatusOr<std::vector<std::string>> LabelValues(
      std::string_view name, const std::vector<LabelMatcher>& matchers) const = 0;
};

}  // namespace tsdb

#endif  // METRICS_ADAPTER_TSDB_STORAGE_H_
