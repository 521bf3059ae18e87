// WalReplayProgress: how far DB::Open has got in replaying the WAL, readable from other threads
// while it runs (the server reports it at /api/v1/status/walreplay before the storage is open).
#ifndef METRICS_ADAPTER_TSDB_WAL_REPLAY_PROGRESS_H_
#define METRICS_ADAPTER_TSDB_WAL_REPLAY_PROGRESS_H_

#include <atomic>

namespace tsdb {

// The first and the last WAL segment to replay and the one being replayed. Once the database is
// open, current equals max; all stay 0 when there is no WAL to replay.
struct WalReplayProgress {
  std::atomic<int> min{0};
  std::atomic<int> max{0};
  std::atomic<int> current{0};
};

}  // namespace tsdb

#endif  // METRICS_ADAPTER_TSDB_WAL_REPLAY_PROGRESS_H_
