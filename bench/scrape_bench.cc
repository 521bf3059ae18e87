// The scrape path without the network: the exposition parser alone, and parse + ScrapeIngester
// appending into a tsdb::DB (the work a scrape loop does per scrape), on a real node_exporter body
// (bench/testdata/node_exporter.prom, see bench/testdata/README.md) and on a synthetic body of 1M
// sample lines, in the text format and, for the synthetic body, in OpenMetrics too (the format
// the scraper asks for first).
//
// Reported per benchmark: bytes_per_second (exposition text; printed in MiB/s) and items_per_second
// (samples/s). The *Append benchmarks measure the steady state: the series exist and the scrape
// cache is warm (one scrape is appended before timing), each iteration is one more scrape 15 s
// later, committed with the WAL on (no fsync).
//
//   scrape_bench --benchmark_min_time=2
//
// The testdata is found relative to this source file, or under $MA_SOURCE_ROOT.
// Figures are recorded in docs/benchmarks.md ("Scraper").
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "scrape/scrape_loop.h"
#include "scrape/textparse/parser.h"
#include "tsdb/db.h"

namespace {

namespace fs = std::filesystem;

std::string ReadNodeExporterBody() {
  std::vector<fs::path> roots;
  if (const char* root = std::getenv("MA_SOURCE_ROOT")) roots.emplace_back(root);
  roots.push_back(fs::path(__FILE__).parent_path().parent_path());
  roots.emplace_back(".");
  for (const fs::path& root : roots) {
    std::ifstream in(root / "bench/testdata/node_exporter.prom", std::ios::binary);
    if (in) return std::string(std::istreambuf_iterator<char>(in), {});
  }
  return "";
}

const std::string& NodeExporterBody() {
  static const std::string body = ReadNodeExporterBody();
  return body;
}

// 1M sample lines: 100 counter families of 10,000 series each with typical label sets (status
// code, handler, pod), ~73 bytes a line. OpenMetrics spells the same samples with the family
// name in HELP/TYPE (no "_total") and ends with "# EOF".
std::string MakeSyntheticBody(scrape::textparse::Format format) {
  const bool om = format == scrape::textparse::Format::kOpenMetrics;
  std::string out;
  out.reserve(80 << 20);
  for (int f = 0; f < 100; ++f) {
    const std::string family = absl::StrCat("app_requests_", f, om ? "" : "_total");
    absl::StrAppend(&out, "# HELP ", family, " Requests handled.\n", "# TYPE ", family,
                    " counter\n");
    for (int i = 0; i < 10'000; ++i) {
      absl::StrAppend(&out, "app_requests_", f, "_total{code=\"", 200 + i % 5,
                      "\",handler=\"/api/v1/h", i / 5 % 100, "\",pod=\"p", i / 500, "\"} ",
                      1000 + i * 7, ".5\n");
    }
  }
  if (om) out += "# EOF\n";
  return out;
}

const std::string& SyntheticBody() {
  static const std::string body = MakeSyntheticBody(scrape::textparse::Format::kPrometheusText);
  return body;
}

const std::string& SyntheticOpenMetricsBody() {
  static const std::string body = MakeSyntheticBody(scrape::textparse::Format::kOpenMetrics);
  return body;
}

void Parse(benchmark::State& state, const std::string& body, scrape::textparse::Format format) {
  if (body.empty()) {
    state.SkipWithError("bench/testdata/node_exporter.prom not found (set MA_SOURCE_ROOT)");
    return;
  }
  int64_t samples = 0;
  for (auto _ : state) {
    scrape::textparse::Parser parser(body, format);
    while (true) {
      auto type = parser.Next();
      if (!type.ok()) {
        state.SkipWithError(std::string(type.status().message()).c_str());
        return;
      }
      if (*type == scrape::textparse::EntryType::kEOF) break;
      if (*type == scrape::textparse::EntryType::kSeries) {
        ++samples;
        benchmark::DoNotOptimize(parser.entry().value);
      }
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(body.size()) * state.iterations());
  state.SetItemsProcessed(samples);
}

void ParseAndAppend(benchmark::State& state, const std::string& body,
                    scrape::textparse::Format format) {
  if (body.empty()) {
    state.SkipWithError("bench/testdata/node_exporter.prom not found (set MA_SOURCE_ROOT)");
    return;
  }
  std::string dir = (fs::temp_directory_path() / "ma-scrape-bench-XXXXXX").string();
  if (mkdtemp(dir.data()) == nullptr) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  {
    tsdb::DBOptions options;
    options.wal_fsync_interval_ms = -1;
    auto db = tsdb::DB::Open(dir, options);
    if (!db.ok()) {
      state.SkipWithError(std::string(db.status().message()).c_str());
      return;
    }
    scrape::IngestSettings settings;
    settings.target_labels = tsdb::Labels({{"instance", "10.1.2.3:9100"}, {"job", "node"}});
    scrape::ScrapeIngester ingester(settings);
    int64_t t = 1'700'000'000'000;
    auto scrape_once = [&]() -> uint64_t {
      std::unique_ptr<tsdb::Appender> app = (*db)->NewAppender();
      scrape::IngestResult r = ingester.Append(app.get(), body, format, t);
      t += 15'000;
      if (!r.error.ok() || !app->Commit().ok()) return 0;
      return r.added;
    };
    if (scrape_once() == 0) {  // creates the series and fills the cache
      state.SkipWithError("the first scrape failed");
      return;
    }
    int64_t samples = 0;
    for (auto _ : state) samples += static_cast<int64_t>(scrape_once());
    state.SetBytesProcessed(static_cast<int64_t>(body.size()) * state.iterations());
    state.SetItemsProcessed(samples);
    state.counters["series"] = static_cast<double>(ingester.cache_size());
    (*db)->Close().IgnoreError();
  }
  fs::remove_all(dir);
}

void BM_ParseNodeExporter(benchmark::State& state) {
  Parse(state, NodeExporterBody(), scrape::textparse::Format::kPrometheusText);
}
BENCHMARK(BM_ParseNodeExporter);

void BM_ParseSynthetic1M(benchmark::State& state) {
  Parse(state, SyntheticBody(), scrape::textparse::Format::kPrometheusText);
}
BENCHMARK(BM_ParseSynthetic1M)->Unit(benchmark::kMillisecond);

void BM_ParseSynthetic1MOpenMetrics(benchmark::State& state) {
  Parse(state, SyntheticOpenMetricsBody(), scrape::textparse::Format::kOpenMetrics);
}
BENCHMARK(BM_ParseSynthetic1MOpenMetrics)->Unit(benchmark::kMillisecond);

void BM_ParseAndAppendNodeExporter(benchmark::State& state) {
  ParseAndAppend(state, NodeExporterBody(), scrape::textparse::Format::kPrometheusText);
}
BENCHMARK(BM_ParseAndAppendNodeExporter)->Unit(benchmark::kMicrosecond);

void BM_ParseAndAppendSynthetic1M(benchmark::State& state) {
  ParseAndAppend(state, SyntheticBody(), scrape::textparse::Format::kPrometheusText);
}
BENCHMARK(BM_ParseAndAppendSynthetic1M)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
