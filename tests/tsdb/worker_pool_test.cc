#include "tsdb/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace tsdb {
namespace {

// Runs a ParallelFor and checks that every index was visited exactly once, in ranges of at least
// `grain` (but the last), and returns the threads that took part.
std::set<std::thread::id> CheckCovers(WorkerPool& pool, size_t n, size_t grain) {
  std::vector<std::atomic<int>> hits(n);
  std::mutex mu;
  std::set<std::thread::id> threads;
  std::vector<std::pair<size_t, size_t>> ranges;
  pool.ParallelFor(n, grain, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) hits[i].fetch_add(1);
    std::lock_guard lock(mu);
    threads.insert(std::this_thread::get_id());
    ranges.emplace_back(b, e);
  });
  for (size_t i = 0; i < n; ++i) EXPECT_EQ(hits[i].load(), 1) << "index " << i << " of " << n;
  std::sort(ranges.begin(), ranges.end());
  for (size_t k = 0; k + 1 < ranges.size(); ++k) {
    EXPECT_EQ(ranges[k].second, ranges[k + 1].first);
    EXPECT_GE(ranges[k].second - ranges[k].first, grain);
  }
  return threads;
}

TEST(WorkerPoolTest, EveryIndexOnceForManySizes) {
  WorkerPool pool(3);
  EXPECT_EQ(pool.threads(), 3);
  for (size_t n : {0, 1, 7, 63, 64, 65, 100, 1000, 4097, 100000}) {
    for (size_t grain : {1, 16, 64, 1000}) CheckCovers(pool, n, grain);
  }
}

TEST(WorkerPoolTest, SmallLoopsAndPoolsWithoutThreadsRunOnTheCaller) {
  WorkerPool pool(2);
  auto threads = CheckCovers(pool, 100, 64);  // fewer than 2 * grain
  EXPECT_EQ(threads, std::set<std::thread::id>{std::this_thread::get_id()});

  WorkerPool none(0);
  threads = CheckCovers(none, 100000, 1);
  EXPECT_EQ(threads, std::set<std::thread::id>{std::this_thread::get_id()});
}

TEST(WorkerPoolTest, WorkersTakePartInLargeLoops) {
  WorkerPool pool(1);
  // Pieces that wait for a second participant: the caller cannot finish alone before the worker
  // joins, so the worker must take a piece (or the test times out).
  std::atomic<int> inside{0};
  std::set<std::thread::id> threads;
  std::mutex mu;
  pool.ParallelFor(8, 1, [&](size_t, size_t) {
    {
      std::lock_guard lock(mu);
      threads.insert(std::this_thread::get_id());
    }
    if (inside.fetch_add(1) == 0) {
      while (true) {
        std::lock_guard lock(mu);
        if (threads.size() == 2) break;
      }
    }
  });
  EXPECT_EQ(threads.size(), 2u);
}

TEST(WorkerPoolTest, ConcurrentCallersShareThePool) {
  WorkerPool pool(2);
  std::vector<std::thread> callers;
  std::atomic<size_t> total{0};
  for (int c = 0; c < 6; ++c) {
    callers.emplace_back([&] {
      for (int round = 0; round < 50; ++round) {
        std::atomic<size_t> sum{0};
        pool.ParallelFor(5000, 32, [&](size_t b, size_t e) {
          size_t local = 0;
          for (size_t i = b; i < e; ++i) local += i;
          sum.fetch_add(local);
        });
        EXPECT_EQ(sum.load(), size_t{5000} * 4999 / 2);
        total.fetch_add(1);
      }
    });
  }
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(total.load(), 300u);
}

TEST(WorkerPoolTest, DefaultPoolLeavesOneCpuToTheCaller) {
  const int threads = WorkerPool::Default().threads();
  EXPECT_GE(threads, 0);
  EXPECT_LE(threads, 7);
  EXPECT_LT(threads, static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));
  CheckCovers(WorkerPool::Default(), 10000, 100);
}

}  // namespace
}  // namespace tsdb
