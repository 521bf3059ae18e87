// Storage engine benchmarks. Each reports its figure as a counter:
//   BM_AppendExistingSeries   samples/s appended (WAL on, fsync once a second) into existing series
//   BM_MemoryPerSeries        heap bytes per active series (labels, index, series, open chunk)
//   BM_SelectRegexOnePercent  time to select 1% of 1M series with a regex matcher
//   BM_WalReplay              samples/s replayed from the WAL at open (wall time: replay decodes
//                             on a second thread)
//
// Chunk encoding size and speed are measured on their own by chunk_bench.
//
// Reproduce: build/release/bench/tsdb_bench  (see docs/benchmarks.md for the recorded figures)
#include <malloc.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "benchmark/benchmark.h"
#include "tsdb/db.h"
#include "tsdb/matcher.h"

namespace tsdb {
namespace {

class BenchDir {
 public:
  BenchDir() {
    std::string tmpl = "/tmp/ma-bench-XXXXXX";
    path_ = ::mkdtemp(tmpl.data());
  }
  ~BenchDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A label set shaped like a Kubernetes pod's application metric.
Labels PodSeries(int i) {
  char pod[32], instance[32];
  std::snprintf(pod, sizeof(pod), "pod-%07d", i);
  std::snprintf(instance, sizeof(instance), "10.%d.%d.%d:8080", (i >> 16) & 255, (i >> 8) & 255,
                i & 255);
  return Labels({{"__name__", "http_requests_total"},
                 {"namespace", "ns-" + std::to_string(i % 20)},
                 {"job", "app-" + std::to_string(i % 50)},
                 {"pod", pod},
                 {"instance", instance},
                 {"method", i % 3 == 0 ? "POST" : "GET"}});
}

std::unique_ptr<DB> MustOpen(const std::string& dir, DBOptions opts = {}) {
  auto db = DB::Open(dir, std::move(opts));
  if (!db.ok()) {
    std::fprintf(stderr, "open: %s\n", std::string(db.status().message()).c_str());
    std::abort();
  }
  return *std::move(db);
}

void BM_AppendExistingSeries(benchmark::State& state) {
  BenchDir dir;
  auto db = MustOpen(dir.path());
  const int series = static_cast<int>(state.range(0));
  std::vector<Labels> labels;
  std::vector<SeriesRef> refs(series, 0);
  for (int i = 0; i < series; ++i) labels.push_back(PodSeries(i));
  int64_t t = 0;
  auto append_round = [&] {
    auto app = db->NewAppender();
    for (int i = 0; i < series; ++i) {
      refs[i] = *app->Append(refs[i], labels[i], t, static_cast<double>(t + i));
    }
    (void)app->Commit();
    t += 15000;
  };
  append_round();  // create the series
  int64_t samples = 0;
  for (auto _ : state) {
    append_round();
    samples += series;
  }
  state.counters["samples_per_second"] =
      benchmark::Counter(static_cast<double>(samples), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_AppendExistingSeries)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_MemoryPerSeries(benchmark::State& state) {
  const int series = static_cast<int>(state.range(0));
  for (auto _ : state) {
    BenchDir dir;
    DBOptions opts;
    opts.disable_wal = true;
    auto db = MustOpen(dir.path(), opts);
    std::vector<Labels> labels;
    labels.reserve(series);
    for (int i = 0; i < series; ++i) labels.push_back(PodSeries(i));
    malloc_trim(0);
    size_t before = mallinfo2().uordblks;
    auto app = db->NewAppender();
    for (int i = 0; i < series; ++i) (void)app->Append(0, labels[i], 1000, i);
    (void)app->Commit();
    auto app2 = db->NewAppender();
    for (int i = 0; i < series; ++i) (void)app2->Append(0, labels[i], 16000, i);
    (void)app2->Commit();
    app.reset();
    app2.reset();
    size_t after = mallinfo2().uordblks;
    state.counters["bytes_per_series"] =
        static_cast<double>(after - before) / static_cast<double>(series);
  }
}
BENCHMARK(BM_MemoryPerSeries)->Arg(1000000)->Iterations(1)->Unit(benchmark::kSecond);

void BM_SelectRegexOnePercent(benchmark::State& state) {
  BenchDir dir;
  DBOptions opts;
  opts.disable_wal = true;
  auto db = MustOpen(dir.path(), opts);
  constexpr int kSeries = 1000000;
  {
    auto app = db->NewAppender();
    for (int i = 0; i < kSeries; ++i) (void)app->Append(0, PodSeries(i), 1000, i);
    (void)app->Commit();
  }
  // pod-0010000 .. pod-0019999: 10,000 of 1,000,000 series.
  auto m = *LabelMatcher::Make(LabelMatcher::Type::kRegexMatch, "pod", "pod-001.*");
  auto name = *LabelMatcher::Make(LabelMatcher::Type::kEqual, "__name__", "http_requests_total");
  size_t found = 0;
  for (auto _ : state) {
    auto q = db->NewQuerier(kMinTime, kMaxTime);
    auto series = q->Select({name, m});
    found = series->size();
    benchmark::DoNotOptimize(series);
  }
  state.counters["series_selected"] = static_cast<double>(found);
}
BENCHMARK(BM_SelectRegexOnePercent)->Unit(benchmark::kMillisecond);

void BM_WalReplay(benchmark::State& state) {
  BenchDir dir;
  constexpr int kSeries = 10000;
  constexpr int kRounds = 300;
  {
    DBOptions opts;
    opts.wal_fsync_interval_ms = -1;
    auto db = MustOpen(dir.path(), opts);
    std::vector<SeriesRef> refs(kSeries, 0);
    std::vector<Labels> labels;
    for (int i = 0; i < kSeries; ++i) labels.push_back(PodSeries(i));
    for (int r = 0; r < kRounds; ++r) {
      auto app = db->NewAppender();
      for (int i = 0; i < kSeries; ++i) {
        refs[i] = *app->Append(refs[i], labels[i], int64_t{r} * 15000, r * 3.0 + i);
      }
      (void)app->Commit();
    }
  }
  for (auto _ : state) {
    auto db = MustOpen(dir.path());
    benchmark::DoNotOptimize(db);
  }
  state.counters["samples_per_second"] = benchmark::Counter(
      static_cast<double>(int64_t{kSeries} * kRounds) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}
BENCHMARK(BM_WalReplay)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tsdb

BENCHMARK_MAIN();
