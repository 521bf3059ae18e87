// DB: the embedded time-series database. An in-memory head of compressed chunks and an inverted
// index, made durable by a write-ahead log and periodic checkpoints in one directory:
//
//   DIR/lock             held while open (one process per directory)
//   DIR/wal/NNNNNNNN     WAL segments, CRC-checked records
//   DIR/checkpoint.NNNNNNNN/
//                        a snapshot of every series and chunk covering the WAL below segment N
//
// Open replays the newest checkpoint and the WAL after it; a torn or corrupt WAL tail is cut at
// the last good record and what was dropped is logged.
#ifndef METRICS_ADAPTER_TSDB_DB_H_
#define METRICS_ADAPTER_TSDB_DB_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tsdb/env.h"
#include "tsdb/index/postings.h"
#include "tsdb/stats.h"
#include "tsdb/storage.h"
#include "tsdb/wal_replay_progress.h"

namespace tsdb {

struct DBOptions {
  Env* env = Env::Default();
  // Samples older than (newest sample - retention) are dropped; then series left empty.
  int64_t retention_ms = 24 * 3600 * 1000;
  // WAL fsync policy: 0 = fsync on every commit; > 0 = a background fsync at least this often
  // (and on Close); < 0 = never (only on Close).
  int64_t wal_fsync_interval_ms = 1000;
  // A WAL segment is cut when it reaches this size.
  uint64_t wal_segment_bytes = 64 << 20;
  // A checkpoint is written once the WAL since the last one exceeds this size.
  uint64_t checkpoint_after_wal_bytes = 256 << 20;
  // Without a WAL, nothing is durable until Checkpoint() (used by bulk import).
  bool disable_wal = false;
  // Receives human-readable notes about recovery (what a damaged WAL tail dropped, ...).
  std::function<void(std::string_view)> log = nullptr;
  // Updated while the WAL is replayed; null: not reported. Must outlive Open.
  WalReplayProgress* replay_progress = nullptr;
};

// What the head holds, for /api/v1/status/tsdb: its size and its largest label cardinalities
// (each ranking largest first, as PostingsStats).
struct HeadCardinality {
  uint64_t series = 0;
  uint64_t chunks = 0;
  int64_t min_time = kMaxTime;  // kMaxTime/kMinTime when empty
  int64_t max_time = kMinTime;
  PostingsStats index;  // label pairs and the rankings, with __name__ as the metric label
};

class DB {
 public:
  virtual ~DB() = default;

  // Opens (creating when absent) the database in dir and replays its data.
  static absl::StatusOr<std::unique_ptr<DB>> Open(const std::string& dir, DBOptions options);

  virtual std::unique_ptr<Appender> NewAppender() = 0;
  // A read view over [mint, maxt].
  virtual std::unique_ptr<Querier> NewQuerier(int64_t mint, int64_t maxt) = 0;

  // Writes a checkpoint of the whole head and drops the WAL segments it covers.
  virtual absl::Status Checkpoint() = 0;
  // Applies retention now (also done in the background).
  virtual void ApplyRetention() = 0;
  // Syncs the WAL now.
  virtual absl::Status SyncWal() = 0;
  // Stops background work and flushes and syncs the WAL. Idempotent; the destructor calls it.
  virtual absl::Status Close() = 0;

  virtual const Stats& stats() const = 0;
  // Newest and oldest sample timestamps in the head (kMinTime/kMaxTime when empty).
  virtual int64_t MinTime() const = 0;
  virtual int64_t MaxTime() const = 0;
  // The head's size and its `limit` largest cardinalities of each kind.
  virtual HeadCardinality Cardinality(size_t limit) const = 0;
};

}  // namespace tsdb

#endif  // METRICS_ADAPTER_TSDB_DB_H_
