// Stats: the storage engine's self-metrics as plain atomic counters and gauges. The server renders
// them in the Prometheus text format; tsdb/ knows nothing of exposition formats.
#ifndef METRICS_ADAPTER_TSDB_STATS_H_
#define METRICS_ADAPTER_TSDB_STATS_H_

#include <atomic>
#include <cstdint>

namespace tsdb {

struct Stats {
  std::atomic<int64_t> series{0};                // gauge: series in the head
  std::atomic<uint64_t> series_created{0};       // counter
  std::atomic<uint64_t> series_removed{0};       // counter
  std::atomic<uint64_t> samples_appended{0};     // counter: committed samples
  std::atomic<int64_t> chunks{0};                // gauge
  std::atomic<int64_t> chunk_bytes{0};           // gauge: encoded bytes of all chunks
  std::atomic<int64_t> wal_bytes{0};             // gauge: size of the WAL directory's segments
  std::atomic<uint64_t> wal_fsyncs{0};           // counter
  std::atomic<uint64_t> wal_write_failures{0};   // counter
  std::atomic<uint64_t> wal_corruptions{0};      // counter: damaged tails cut at open
  std::atomic<uint64_t> checkpoints{0};          // counter
  std::atomic<uint64_t> checkpoint_failures{0};  // counter
  // counters of refused samples, by reason (see RejectReason)
  std::atomic<uint64_t> rejected_out_of_order{0};
  std::atomic<uint64_t> rejected_duplicate{0};
  std::atomic<uint64_t> rejected_out_of_bounds{0};
  std::atomic<uint64_t> rejected_invalid_labels{0};
};

}  // namespace tsdb

#endif  // METRICS_ADAPTER_TSDB_STATS_H_
