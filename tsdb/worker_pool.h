// WorkerPool: spreads one loop of independent iterations over the calling thread and a few
// background threads, for the read paths whose cost grows with the number of series (copying
// series out of the head, decoding their chunks). A query over tens of thousands of series then
// uses the machine's cores instead of one.
//
// Contract: ParallelFor returns only when every iteration has run. The calling thread always
// takes part and claims pieces like any worker, so a pool whose threads are all busy with other
// callers costs nothing but the claim: the caller then runs the whole loop itself, never waiting
// for a worker to become free. `fn` must not throw, and must be safe to call concurrently for
// disjoint ranges.
//
// Thread-safety: all methods may be called from any thread, concurrently.
#ifndef METRICS_ADAPTER_TSDB_WORKER_POOL_H_
#define METRICS_ADAPTER_TSDB_WORKER_POOL_H_

#include <cstddef>
#include <memory>

#include "absl/functional/function_ref.h"

namespace tsdb {

class WorkerPool {
 public:
  // A pool with `threads` background threads (0: every loop runs on its caller).
  explicit WorkerPool(int threads);
  ~WorkerPool();  // joins the threads; no ParallelFor may be running
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // The process' pool for read paths: one thread fewer than the CPUs the process may use (at most
  // 7), created on first use. SetDefaultThreads before that first use changes the count.
  static WorkerPool& Default();
  // Background threads of the default pool; call once at start-up, before any query runs.
  // Negative means the CPU-based default.
  static void SetDefaultThreads(int threads);

  // Calls fn(begin, end) over consecutive ranges covering [0, n), each of at least `grain`
  // iterations (except the last), on this thread and idle workers. Loops of fewer than 2 * grain
  // iterations run directly on the caller.
  void ParallelFor(size_t n, size_t grain, absl::FunctionRef<void(size_t, size_t)> fn);

  int threads() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tsdb

#endif  // METRICS_ADAPTER_TSDB_WORKER_POOL_H_
