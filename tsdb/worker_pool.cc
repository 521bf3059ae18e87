#include "tsdb/worker_pool.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace tsdb {
namespace {

// Pieces per participating thread: a few, so a thread that started late or was descheduled by
// another process does not leave the others idle at the end of the loop.
constexpr size_t kPiecesPerThread = 4;
constexpr int kMaxDefaultThreads = 7;

std::atomic<int> default_threads{-1};

int CpusAvailable() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// One ParallelFor call. Shared by the caller and the workers that picked it up; the caller's
// function is only called for a claimed piece, and every piece is claimed before the caller
// returns, so a worker holding the job afterwards never touches the (gone) function.
struct Job {
  Job(size_t n, size_t pieces, absl::FunctionRef<void(size_t, size_t)> fn)
      : n(n), pieces(pieces), fn(fn) {}

  // Claims and runs pieces until none is left.
  void RunPieces() {
    while (true) {
      const size_t piece = next.fetch_add(1, std::memory_order_relaxed);
      if (piece >= pieces) return;
      fn(n * piece / pieces, n * (piece + 1) / pieces);
      if (done.fetch_add(1, std::memory_order_acq_rel) + 1 == pieces) {
        std::lock_guard lock(mu);
        finished = true;
        cv.notify_all();
      }
    }
  }
  bool Claimable() const { return next.load(std::memory_order_relaxed) < pieces; }

  const size_t n;
  const size_t pieces;
  absl::FunctionRef<void(size_t, size_t)> fn;
  std::atomic<size_t> next{0};
  std::atomic<size_t> done{0};
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
};

}  // namespace

struct WorkerPool::Impl {
  std::mutex mu;
  std::condition_variable wake;
  std::deque<std::shared_ptr<Job>> queue;  // jobs with pieces left to claim
  bool stopping = false;
  std::vector<std::thread> threads;

  void WorkerLoop() {
    std::unique_lock lock(mu);
    while (true) {
      wake.wait(lock, [&] { return stopping || !queue.empty(); });
      if (stopping) return;
      std::shared_ptr<Job> job = queue.front();
      if (!job->Claimable()) {
        queue.pop_front();
        continue;
      }
      lock.unlock();
      job->RunPieces();
      lock.lock();
      if (!queue.empty() && queue.front() == job) queue.pop_front();
    }
  }
};

WorkerPool::WorkerPool(int threads) : impl_(std::make_unique<Impl>()) {
  for (int i = 0; i < threads; ++i) impl_->threads.emplace_back([this] { impl_->WorkerLoop(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  for (std::thread& t : impl_->threads) t.join();
}

WorkerPool& WorkerPool::Default() {
  static WorkerPool* pool = [] {
    int threads = default_threads.load();
    if (threads < 0) threads = std::min(CpusAvailable() - 1, kMaxDefaultThreads);
    return new WorkerPool(threads);  // never destroyed: queries may run until exit
  }();
  return *pool;
}

void WorkerPool::SetDefaultThreads(int threads) { default_threads.store(threads); }

int WorkerPool::threads() const { return static_cast<int>(impl_->threads.size()); }

void WorkerPool::ParallelFor(size_t n, size_t grain, absl::FunctionRef<void(size_t, size_t)> fn) {
  grain = std::max<size_t>(grain, 1);
  const size_t participants = impl_->threads.size() + 1;
  if (participants == 1 || n < 2 * grain) {
    if (n > 0) fn(0, n);
    return;
  }
  const size_t pieces = std::min(n / grain, participants * kPiecesPerThread);
  auto job = std::make_shared<Job>(n, pieces, fn);
  {
    std::lock_guard lock(impl_->mu);
    impl_->queue.push_back(job);
  }
  impl_->wake.notify_all();
  job->RunPieces();
  {
    // Every piece is claimed now: take the job off the queue unless a worker already did.
    std::lock_guard lock(impl_->mu);
    auto it = std::find(impl_->queue.begin(), impl_->queue.end(), job);
    if (it != impl_->queue.end()) impl_->queue.erase(it);
  }
  std::unique_lock lock(job->mu);
  job->cv.wait(lock, [&] { return job->finished; });
}

}  // namespace tsdb
