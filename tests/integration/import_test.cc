// End-to-end tests of `metrics-adapter import openmetrics`: the real binary (MA_BINARY) runs on
// generated files and the result is read back through tsdb::DB. When promtool is on PATH, the same
// files go through `promtool tsdb create-blocks-from openmetrics` to cross-check which inputs are
// accepted.
#include <sys/wait.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"
#include "tsdb/db.h"
#include "tsdb/matcher.h"
#include "tsdb/storage.h"

namespace {

using ::testing::HasSubstr;

// Imported history is years old relative to nothing in particular; read it back without letting
// retention drop any of it.
constexpr int64_t kLongRetentionMs = int64_t{100} * 365 * 24 * 3600 * 1000;

using testsupport::ReadFileText;
using testsupport::RunResult;
using testsupport::ShellQuote;
using testsupport::WriteFileText;

RunResult RunCommand(const std::string& command, const std::string& dir) {
  return testsupport::RunShell(command, dir);
}

bool PromtoolAvailable() { return std::system("command -v promtool >/dev/null 2>&1") == 0; }

// Every series' samples, keyed by the series' text form.
using Contents = std::map<std::string, std::vector<std::pair<int64_t, double>>>;

Contents ReadBack(const std::string& dir) {
  Contents contents;
  tsdb::DBOptions options;
  options.retention_ms = kLongRetentionMs;
  absl::StatusOr<std::unique_ptr<tsdb::DB>> db = tsdb::DB::Open(dir, options);
  EXPECT_TRUE(db.ok()) << db.status();
  if (!db.ok()) return contents;
  std::unique_ptr<tsdb::Querier> q = (*db)->NewQuerier(tsdb::kMinTime, tsdb::kMaxTime);
  absl::StatusOr<tsdb::LabelMatcher> any =
      tsdb::LabelMatcher::Make(tsdb::LabelMatcher::Type::kRegexMatch, "__name__", ".+");
  EXPECT_TRUE(any.ok());
  absl::StatusOr<std::vector<std::unique_ptr<tsdb::SeriesData>>> series = q->Select({*any});
  EXPECT_TRUE(series.ok()) << series.status();
  if (series.ok()) {
    for (const std::unique_ptr<tsdb::SeriesData>& s : *series) {
      auto& samples = contents[s->labels().ToString()];
      std::unique_ptr<tsdb::SampleIterator> it = s->Iterator();
      while (it->Next()) samples.emplace_back(it->At().t, it->At().v);
    }
  }
  q.reset();
  EXPECT_TRUE((*db)->Close().ok());
  return contents;
}

// Compares contents, treating NaN as equal to NaN.
void ExpectSameContents(const Contents& got, const Contents& want) {
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [series, samples] : want) {
    auto it = got.find(series);
    ASSERT_NE(it, got.end()) << "missing series " << series;
    ASSERT_EQ(it->second.size(), samples.size()) << series;
    for (size_t i = 0; i < samples.size(); ++i) {
      EXPECT_EQ(it->second[i].first, samples[i].first) << series << " sample " << i;
      if (std::isnan(samples[i].second)) {
        EXPECT_TRUE(std::isnan(it->second[i].second)) << series << " sample " << i;
      } else {
        EXPECT_EQ(it->second[i].second, samples[i].second) << series << " sample " << i;
      }
    }
  }
}

// A good file and what it must import as.
struct GoodFile {
  std::string text;
  Contents want;
  size_t samples = 0;
};

GoodFile MakeGoodFile(int64_t base_seconds) {
  GoodFile g;
  std::string& t = g.text;
  auto add = [&](const std::string& series, int64_t ms, double v) {
    g.want[series].emplace_back(ms, v);
    ++g.samples;
  };
  t += "# HELP http_requests Requests served.\n# TYPE http_requests counter\n";
  for (int i = 0; i < 20; ++i) {
    const int64_t s = base_seconds + i * 15;
    t += "http_requests_total{code=\"200\",path=\"/a\"} " + std::to_string(i * 10) + " " +
         std::to_string(s) + ".250\n";
    // The same series spelled with its labels in another order.
    t += "http_requests_total{path=\"/a\",code=\"500\"} " + std::to_string(i) + " " +
         std::to_string(s) + "\n";
    add("http_requests_total{code=\"200\", path=\"/a\"}", s * 1000 + 250, i * 10);
    add("http_requests_total{code=\"500\", path=\"/a\"}", s * 1000, i);
  }
  // _created samples are imported as series of their own, as promtool does.
  t += "http_requests_created{code=\"200\",path=\"/a\"} " + std::to_string(base_seconds - 100) +
       " " + std::to_string(base_seconds) + "\n";
  add("http_requests_created{code=\"200\", path=\"/a\"}", base_seconds * 1000,
      static_cast<double>(base_seconds - 100));
  // An exemplar is not a value.
  t += "http_requests_total{code=\"200\",path=\"/b\"} 7 " + std::to_string(base_seconds) +
       " # {trace_id=\"abc\"} 1.5 " + std::to_string(base_seconds) + "\n";
  add("http_requests_total{code=\"200\", path=\"/b\"}", base_seconds * 1000, 7);

  t += "# TYPE temperature_celsius gauge\n# UNIT temperature_celsius celsius\n";
  // Samples out of order and a repeated timestamp (the first one in the file is kept).
  t += "temperature_celsius{room=\"a \\\"b\\\" \\\\ c\\nd\"} 21.5 " +
       std::to_string(base_seconds + 60) + "\n";
  t += "temperature_celsius{room=\"a \\\"b\\\" \\\\ c\\nd\"} -3.25 " +
       std::to_string(base_seconds) + "\n";
  t += "temperature_celsius{room=\"a \\\"b\\\" \\\\ c\\nd\"} 99 " + std::to_string(base_seconds) +
       "\n";
  t += "temperature_celsius{room=\"x\"} NaN " + std::to_string(base_seconds) + "\n";
  t += "temperature_celsius{room=\"y\"} +Inf " + std::to_string(base_seconds) + ".001\n";
  t += "temperature_celsius{room=\"z\"} -Inf " + std::to_string(base_seconds) + ".0019\n";
  const std::string room = "temperature_celsius{room=\"a \\\"b\\\" \\\\ c\\nd\"}";
  g.want[room] = {{base_seconds * 1000, -3.25}, {(base_seconds + 60) * 1000, 21.5}};
  g.samples += 2;
  add("temperature_celsius{room=\"x\"}", base_seconds * 1000, std::nan(""));
  add("temperature_celsius{room=\"y\"}", base_seconds * 1000 + 1, INFINITY);
  add("temperature_celsius{room=\"z\"}", base_seconds * 1000 + 1, -INFINITY);

  t += "# TYPE latency histogram\n";
  t += "latency_bucket{le=\"0.1\"} 3 " + std::to_string(base_seconds) + "\n";
  t += "latency_bucket{le=\"+Inf\"} 5 " + std::to_string(base_seconds) + "\n";
  t += "latency_sum 1.25 " + std::to_string(base_seconds) + "\n";
  t += "latency_count 5 " + std::to_string(base_seconds) + "\n";
  add("latency_bucket{le=\"0.1\"}", base_seconds * 1000, 3);
  add("latency_bucket{le=\"+Inf\"}", base_seconds * 1000, 5);
  add("latency_sum", base_seconds * 1000, 1.25);
  add("latency_count", base_seconds * 1000, 5);

  t += "# TYPE rpc summary\n";
  t += "rpc{quantile=\"0.5\"} 0.01 " + std::to_string(base_seconds) + "\n";
  t += "rpc_sum 2 " + std::to_string(base_seconds) + "\n";
  t += "rpc_count 200 " + std::to_string(base_seconds) + "\n";
  add("rpc{quantile=\"0.5\"}", base_seconds * 1000, 0.01);
  add("rpc_sum", base_seconds * 1000, 2);
  add("rpc_count", base_seconds * 1000, 200);

  // No metadata: unknown type; an empty label value is the same as no label.
  t += "job:up:sum{empty=\"\"} 1 " + std::to_string(base_seconds) + "\n";
  add("job:up:sum", base_seconds * 1000, 1);
  t += "# EOF\n";
  return g;
}

struct BadFile {
  const char* name;
  std::string text;
  int line;  // the line the error must name
  // Whether promtool 2.42 rejects it too (false marks a deliberate difference).
  bool promtool_rejects = true;
};

std::vector<BadFile> BadFiles() {
  const std::string head = "# TYPE a counter\na_total{x=\"1\"} 1 1000\n";
  return {
      {"missing_timestamp", head + "a_total{x=\"2\"} 1\n# EOF\n", 3},
      {"bad_label_name", head + "a_total{1x=\"2\"} 1 1000\n# EOF\n", 3},
      {"bad_label_value", head + "a_total{x=2} 1 1000\n# EOF\n", 3},
      {"missing_eof", head + "a_total{x=\"2\"} 1 1000\n", 4},
      {"garbage_line", head + "this is garbage\n# EOF\n", 3},
      {"data_after_eof", head + "# EOF\na_total{x=\"2\"} 1 1000\n", 4},
      {"blank_line", head + "\na_total{x=\"2\"} 1 1000\n# EOF\n", 3},
      {"free_comment", head + "# just a comment\n# EOF\n", 3},
      {"nan_timestamp", head + "a_total{x=\"2\"} 1 NaN\n# EOF\n", 3},
      {"bad_value", head + "a_total{x=\"2\"} one 1000\n# EOF\n", 3},
      {"untyped_type", "# TYPE a untyped\na 1 1\n# EOF\n", 1},
      // promtool's parser accepts it, but then refuses the sample when appending.
      {"duplicate_label", head + "a_total{x=\"2\",x=\"3\"} 1 1000\n# EOF\n", 3},
      // promtool 2.42 accepts repeated exemplar label names; the OpenMetrics specification (and
      // this parser) does not.
      {"duplicate_exemplar_label", head + "a_total{x=\"2\"} 1 1000 # {t=\"1\",t=\"2\"} 1\n# EOF\n",
       3, /*promtool_rejects=*/false},
  };
}

class ImportCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* binary = std::getenv("MA_BINARY");
    if (binary == nullptr || *binary == '\0') GTEST_SKIP() << "MA_BINARY is not set";
    binary_ = binary;
    char tmpl[] = "/tmp/ma_import_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  RunResult Import(const std::string& file, const std::string& storage) {
    return RunCommand(ShellQuote(binary_) + " import openmetrics " + ShellQuote(file) +
                          " --storage-path " + ShellQuote(storage),
                      dir_);
  }
  RunResult Promtool(const std::string& file, const std::string& out_dir) {
    return RunCommand("promtool tsdb create-blocks-from openmetrics " + ShellQuote(file) + " " +
                          ShellQuote(out_dir),
                      dir_);
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  std::string binary_;
  std::string dir_;
};

TEST_F(ImportCommandTest, HelpPrintsUsage) {
  RunResult r = RunCommand(ShellQuote(binary_) + " import --help", dir_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("openmetrics FILE"));
  EXPECT_THAT(r.out, HasSubstr("--storage-path"));
}

TEST_F(ImportCommandTest, UsageErrors) {
  RunResult r = RunCommand(ShellQuote(binary_) + " import csv " + ShellQuote(Path("x")), dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("openmetrics"));
  r = RunCommand(ShellQuote(binary_) + " import openmetrics", dir_);
  EXPECT_EQ(r.exit_code, 2);
  r = RunCommand(ShellQuote(binary_) + " import openmetrics " + ShellQuote(Path("absent.om")) +
                     " --storage-path " + ShellQuote(Path("db")),
                 dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("absent.om"));
  EXPECT_FALSE(std::filesystem::exists(Path("db")));
}

TEST_F(ImportCommandTest, GoodFileReadsBackExactly) {
  const GoodFile good = MakeGoodFile(1700000000);
  const std::string file = Path("good.om");
  WriteFileText(file, good.text);
  const std::string storage = Path("db");
  RunResult r = Import(file, storage);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Imported " + std::to_string(good.samples) + " samples of " +
                               std::to_string(good.want.size()) + " series"));
  EXPECT_THAT(r.out, HasSubstr("dropped 1 samples repeating a timestamp"));
  ExpectSameContents(ReadBack(storage), good.want);

  if (PromtoolAvailable()) {
    RunResult p = Promtool(file, Path("promtool_out"));
    EXPECT_EQ(p.exit_code, 0) << "promtool rejects the good file:\n" << p.out << p.err;
  }
}

TEST_F(ImportCommandTest, SecondImportAddsNewerSamples) {
  const GoodFile first = MakeGoodFile(1700000000);
  const GoodFile second = MakeGoodFile(1700100000);
  WriteFileText(Path("1.om"), first.text);
  WriteFileText(Path("2.om"), second.text);
  const std::string storage = Path("db");
  ASSERT_EQ(Import(Path("1.om"), storage).exit_code, 0);
  RunResult r = Import(Path("2.om"), storage);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Contents want = first.want;
  for (const auto& [series, samples] : second.want) {
    want[series].insert(want[series].end(), samples.begin(), samples.end());
  }
  ExpectSameContents(ReadBack(storage), want);
}

class ImportMalformedTest : public ImportCommandTest,
                            public ::testing::WithParamInterface<BadFile> {};

TEST_P(ImportMalformedTest, ImportsNothing) {
  const BadFile& bad = GetParam();
  // A database with data in it, which no failed import may change.
  const GoodFile good = MakeGoodFile(1600000000);
  WriteFileText(Path("good.om"), good.text);
  const std::string storage = Path("db");
  ASSERT_EQ(Import(Path("good.om"), storage).exit_code, 0);

  const std::string file = Path(std::string(bad.name) + ".om");
  WriteFileText(file, bad.text);
  RunResult r = Import(file, storage);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr(file + ":" + std::to_string(bad.line) + ":"));
  EXPECT_THAT(r.err, HasSubstr("nothing was imported"));
  ExpectSameContents(ReadBack(storage), good.want);

  // Into a fresh directory: nothing is created at all.
  const std::string fresh = Path("fresh");
  EXPECT_NE(Import(file, fresh).exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(fresh));

  if (PromtoolAvailable()) {
    RunResult p = Promtool(file, Path("promtool_out"));
    if (bad.promtool_rejects) {
      EXPECT_NE(p.exit_code, 0) << "promtool accepts it:\n" << p.out << p.err;
    } else {
      EXPECT_EQ(p.exit_code, 0) << "promtool now rejects it too; update the note:\n" << p.err;
    }
  }
}

// Names the case in test listings instead of dumping its bytes.
void PrintTo(const BadFile& file, std::ostream* os) { *os << file.name; }

INSTANTIATE_TEST_SUITE_P(BadFiles, ImportMalformedTest, ::testing::ValuesIn(BadFiles()),
                         [](const ::testing::TestParamInfo<BadFile>& info) {
                           return std::string(info.param.name);
                         });

TEST_F(ImportCommandTest, OnlyEofImportsNothing) {
  WriteFileText(Path("empty.om"), "# HELP a Nothing here.\n# EOF\n");
  RunResult r = Import(Path("empty.om"), Path("db"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Nothing to import"));
  EXPECT_FALSE(std::filesystem::exists(Path("db")));
  if (PromtoolAvailable()) {
    EXPECT_EQ(Promtool(Path("empty.om"), Path("promtool_out")).exit_code, 0);
  }
}

TEST_F(ImportCommandTest, EmptyFileIsRejected) {
  WriteFileText(Path("zero.om"), "");
  RunResult r = Import(Path("zero.om"), Path("db"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(Path("zero.om") + ":1:1: unexpected end of input"));
  if (PromtoolAvailable()) {
    EXPECT_NE(Promtool(Path("zero.om"), Path("promtool_out")).exit_code, 0);
  }
}

TEST_F(ImportCommandTest, RefusesALockedStorage) {
  const GoodFile good = MakeGoodFile(1700000000);
  WriteFileText(Path("good.om"), good.text);
  const std::string storage = Path("db");
  tsdb::DBOptions options;
  options.retention_ms = kLongRetentionMs;
  absl::StatusOr<std::unique_ptr<tsdb::DB>> db = tsdb::DB::Open(storage, options);
  ASSERT_TRUE(db.ok()) << db.status();
  RunResult r = Import(Path("good.om"), storage);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(storage));
  ASSERT_TRUE((*db)->Close().ok());
  db->reset();
  EXPECT_TRUE(ReadBack(storage).empty());
}

}  // namespace
