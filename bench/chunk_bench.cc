// XOR chunk benchmarks: append and iterate throughput (items_per_second = samples/s) and the
// encoded size (bytes_per_sample counter) on realistic scrape data, one 120-sample chunk (the cut
// rule's length: 30 minutes at a 15 s interval) per series, 256 series per data set.
//
// Data model:
//   Timestamps: each scrape starts 0-2 ms after its scheduled time, 2% of scrapes 3-20 ms late.
//   As Prometheus does (scrape.timestamp-tolerance, 2 ms), the scraper stores last + interval
//   when the actual time is within 2 ms of it and the actual time otherwise. The
//   "mix_unaligned_timestamps" set stores the actual times instead, to show what alignment saves.
//   Values:
//     counters  integer events at a rate log-uniform in [0.001, 100]/s, Poisson per scrape
//     gauges    3:2 integer gauges (bytes in use, changing by whole pages in half of the scrapes)
//               and gauges with 2 decimals (temperatures, ratios; changing in half the scrapes)
//     mix       a node-exporter-plus-application target: 40% idle series (info metrics, limits,
//               error counters that never fire, empty histogram buckets), 35% counters,
//               15% integer gauges, 10% decimal gauges
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <numbers>
#include <random>
#include <vector>

#include "tsdb/chunk/xor_chunk.h"

namespace tsdb {
namespace {

constexpr int kSeries = 256;
constexpr int kSamplesPerSeries = XorChunk::kMaxSamplesPerChunk;

class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  double Uniform() { return static_cast<double>(gen_() >> 11) * 0x1.0p-53; }
  int64_t Range(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(gen_() % static_cast<uint64_t>(hi - lo + 1));
  }
  double Gaussian() {
    double u1 = Uniform(), u2 = Uniform();
    return std::sqrt(-2.0 * std::log(1.0 - u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }
  int64_t Poisson(double lambda) {
    if (lambda >= 30) {
      return std::max<int64_t>(0, std::llround(lambda + std::sqrt(lambda) * Gaussian()));
    }
    const double limit = std::exp(-lambda);
    int64_t k = 0;
    for (double p = Uniform(); p > limit; p *= Uniform()) ++k;
    return k;
  }

 private:
  std::mt19937_64 gen_;
};

enum class Kind { kIdle, kCounter, kIntGauge, kDecimalGauge };
enum class DataSet { kCounters, kGauges, kMix, kMixUnalignedTimestamps };

struct Series {
  std::vector<int64_t> t;
  std::vector<double> v;
};

std::vector<int64_t> ScrapeTimes(Rng& rng, bool align) {
  std::vector<int64_t> times;
  const int64_t start = 1'700'000'000'000 + rng.Range(0, 14'999);
  int64_t last = 0;
  for (int i = 0; i < kSamplesPerSeries; ++i) {
    const int64_t delay = rng.Uniform() < 0.02 ? rng.Range(3, 20) : rng.Range(0, 2);
    const int64_t actual = start + 15'000 * int64_t{i} + delay;
    const bool aligned = align && i > 0 && std::llabs(actual - (last + 15'000)) <= 2;
    last = aligned ? last + 15'000 : actual;
    times.push_back(last);
  }
  return times;
}

std::vector<double> Values(Rng& rng, Kind kind) {
  std::vector<double> values;
  double v = 0;
  double rate = 0;
  switch (kind) {
    case Kind::kIdle:
      v = static_cast<double>(rng.Range(0, 1000));
      break;
    case Kind::kCounter:
      v = static_cast<double>(rng.Range(0, 1'000'000));
      rate = std::pow(10.0, -3 + 5 * rng.Uniform());
      break;
    case Kind::kIntGauge:
      v = 4096.0 * static_cast<double>(rng.Range(100'000, 200'000));
      break;
    case Kind::kDecimalGauge:
      v = static_cast<double>(rng.Range(0, 10'000)) / 100;
      break;
  }
  for (int i = 0; i < kSamplesPerSeries; ++i) {
    switch (kind) {
      case Kind::kIdle:
        break;
      case Kind::kCounter:
        v += static_cast<double>(rng.Poisson(rate * 15));
        break;
      case Kind::kIntGauge:
        if (rng.Uniform() < 0.5) v += 4096.0 * static_cast<double>(rng.Range(-1000, 1000));
        break;
      case Kind::kDecimalGauge:
        if (rng.Uniform() < 0.5) v = std::round((v + rng.Uniform() - 0.5) * 100) / 100;
        break;
    }
    values.push_back(v);
  }
  return values;
}

Kind KindOf(DataSet set, int series) {
  switch (set) {
    case DataSet::kCounters:
      return Kind::kCounter;
    case DataSet::kGauges:
      return series % 5 < 3 ? Kind::kIntGauge : Kind::kDecimalGauge;
    case DataSet::kMix:
    case DataSet::kMixUnalignedTimestamps: {
      const int slot = series % 20;
      if (slot < 8) return Kind::kIdle;
      if (slot < 15) return Kind::kCounter;
      if (slot < 18) return Kind::kIntGauge;
      return Kind::kDecimalGauge;
    }
  }
  return Kind::kIdle;
}

std::vector<Series> Generate(DataSet set) {
  Rng rng(12345);
  std::vector<Series> data;
  for (int i = 0; i < kSeries; ++i) {
    Series s;
    s.t = ScrapeTimes(rng, set != DataSet::kMixUnalignedTimestamps);
    s.v = Values(rng, KindOf(set, i));
    data.push_back(std::move(s));
  }
  return data;
}

std::vector<XorChunk> Encode(const std::vector<Series>& data) {
  std::vector<XorChunk> chunks;
  for (const Series& s : data) {
    XorChunk c;
    for (int i = 0; i < kSamplesPerSeries; ++i) c.Append(s.t[i], s.v[i]);
    c.ShrinkToFit();
    chunks.push_back(std::move(c));
  }
  return chunks;
}

double BytesPerSample(const std::vector<XorChunk>& chunks) {
  size_t bytes = 0, samples = 0;
  for (const XorChunk& c : chunks) {
    bytes += c.size_bytes();
    samples += c.num_samples();
  }
  return static_cast<double>(bytes) / static_cast<double>(samples);
}

void BM_Append(benchmark::State& state, DataSet set) {
  const std::vector<Series> data = Generate(set);
  for (auto _ : state) {
    for (const Series& s : data) {
      XorChunk c;
      for (int i = 0; i < kSamplesPerSeries; ++i) c.Append(s.t[i], s.v[i]);
      benchmark::DoNotOptimize(c.bytes().data());
    }
  }
  state.SetItemsProcessed(state.iterations() * kSeries * kSamplesPerSeries);
  state.counters["bytes_per_sample"] = BytesPerSample(Encode(data));
}

void BM_Iterate(benchmark::State& state, DataSet set) {
  const std::vector<XorChunk> chunks = Encode(Generate(set));
  for (auto _ : state) {
    for (const XorChunk& c : chunks) {
      XorIterator it = c.Iterator();
      double sum = 0;
      while (it.Next()) sum += it.At().v;
      benchmark::DoNotOptimize(sum);
    }
  }
  state.SetItemsProcessed(state.iterations() * kSeries * kSamplesPerSeries);
  state.counters["bytes_per_sample"] = BytesPerSample(chunks);
}

// The engine's read path: every sample of each chunk copied out in one AppendRange call.
void BM_AppendRange(benchmark::State& state, DataSet set) {
  const std::vector<XorChunk> chunks = Encode(Generate(set));
  std::vector<Sample> out;
  for (auto _ : state) {
    for (const XorChunk& c : chunks) {
      out.clear();
      XorIterator it = c.Iterator();
      it.AppendRange(kMinTime, kMaxTime, &out);
      benchmark::DoNotOptimize(out.data());
    }
  }
  state.SetItemsProcessed(state.iterations() * kSeries * kSamplesPerSeries);
}

// Seek to the middle of each chunk, as a range query starting inside it does.
void BM_SeekMiddle(benchmark::State& state, DataSet set) {
  const std::vector<Series> data = Generate(set);
  const std::vector<XorChunk> chunks = Encode(data);
  for (auto _ : state) {
    for (size_t i = 0; i < chunks.size(); ++i) {
      XorIterator it = chunks[i].Iterator();
      benchmark::DoNotOptimize(it.Seek(data[i].t[kSamplesPerSeries / 2]));
    }
  }
  state.SetItemsProcessed(state.iterations() * kSeries);
}

BENCHMARK_CAPTURE(BM_Append, counters, DataSet::kCounters);
BENCHMARK_CAPTURE(BM_Append, gauges, DataSet::kGauges);
BENCHMARK_CAPTURE(BM_Append, mix, DataSet::kMix);
BENCHMARK_CAPTURE(BM_Append, mix_unaligned_timestamps, DataSet::kMixUnalignedTimestamps);
BENCHMARK_CAPTURE(BM_Iterate, counters, DataSet::kCounters);
BENCHMARK_CAPTURE(BM_Iterate, gauges, DataSet::kGauges);
BENCHMARK_CAPTURE(BM_Iterate, mix, DataSet::kMix);
BENCHMARK_CAPTURE(BM_AppendRange, counters, DataSet::kCounters);
BENCHMARK_CAPTURE(BM_AppendRange, gauges, DataSet::kGauges);
BENCHMARK_CAPTURE(BM_SeekMiddle, mix, DataSet::kMix);

}  // namespace
}  // namespace tsdb

BENCHMARK_MAIN();
