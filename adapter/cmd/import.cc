// `metrics-adapter import openmetrics FILE --storage-path DIR`: bulk import of historical samples,
// the counterpart of `promtool tsdb create-blocks-from openmetrics FILE DIR`.
//
// Acceptance is promtool's: OpenMetrics 1.0 text ending in "# EOF", every sample with a timestamp
// (float seconds), families of any type (counter, gauge, histogram, summary, unknown, ...), and
// "_created" samples imported as series of their own, as promtool 2.42 does. The parser's few
// deliberate differences (duplicate label names, exact timestamp conversion, ...) are listed in
// scrape/textparse/parser.h. Samples may come in any order: each series is sorted by time before
// it is written, and of several samples with the same timestamp the first in the file is kept
// (promtool keeps the first one as well and drops the others silently; this command counts them).
//
// All or nothing: the whole file is parsed and validated before the database is opened, so a
// malformed file (reported as FILE:LINE:COLUMN: what) writes nothing. The samples are then
// appended with the WAL disabled and made durable by one checkpoint, which the database publishes
// with an atomic rename: a crash before it leaves the directory as it was.
//
// The database is opened with a retention of about 1000 years (kImportRetentionMs) so that none
// of the imported history is dropped while importing, however old it is. The server applies its
// own --retention when it opens the directory later, which drops what is older than that window.
//
// Importing into a directory that already holds data works, except that samples older than the
// newest sample already stored for their series are refused by the database (out of order); they
// are counted in the summary and the rest is imported.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "adapter/cli/flags.h"
#include "adapter/cmd/commands.h"
#include "scrape/textparse/parser.h"
#include "tsdb/db.h"
#include "tsdb/env.h"
#include "tsdb/labels.h"
#include "tsdb/storage.h"

namespace adapter {
namespace {

namespace tp = scrape::textparse;

// ~1000 years: longer than any history worth importing, and small enough that "newest sample
// minus retention" cannot overflow int64 milliseconds.
constexpr int64_t kImportRetentionMs = int64_t{1000} * 365 * 24 * 3600 * 1000;
// Samples per Commit.
constexpr size_t kBatchSize = 10000;

// The input file, memory-mapped when possible (no copy and no zeroed pages for a file of
// gigabytes), read into memory otherwise (pipes, special files).
class InputFile {
 public:
  ~InputFile() {
    if (map_ != nullptr) munmap(map_, size_);
  }
  absl::Status Open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return absl::NotFoundError(absl::StrCat("open ", path, ": ", std::strerror(errno)));
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
      void* map = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
      if (map != MAP_FAILED) {
        madvise(map, static_cast<size_t>(st.st_size), MADV_SEQUENTIAL);
        map_ = map;
        size_ = static_cast<size_t>(st.st_size);
        ::close(fd);
        return absl::OkStatus();
      }
    }
    ::close(fd);
    absl::StatusOr<std::string> content = tsdb::Env::Default()->ReadFile(path);
    if (!content.ok()) return content.status();
    content_ = std::move(*content);
    return absl::OkStatus();
  }
  std::string_view data() const {
    if (map_ != nullptr) return std::string_view(static_cast<const char*>(map_), size_);
    return content_;
  }

 private:
  void* map_ = nullptr;
  size_t size_ = 0;
  std::string content_;
};

struct LabelsHash {
  size_t operator()(const tsdb::Labels& labels) const { return labels.Hash(); }
};

struct ImportSeries {
  tsdb::Labels labels;
  std::vector<tsdb::Sample> samples;
};

struct ParsedFile {
  std::vector<ImportSeries> series;
  uint64_t samples = 0;
};

// Parses and validates the whole of content; the error reads "FILE:LINE:COLUMN: what".
absl::Status ParseFile(const std::string& path, std::string_view content, ParsedFile* out) {
  tp::Parser parser(content, tp::Format::kOpenMetrics);
  // Series are found by the raw text of name and labels first (no allocation per sample), and
  // only for a new spelling by their canonical labels. Files written scrape after scrape list
  // the series in the same order each time, so the series that followed the previous sample's
  // series last time is tried before any hashing.
  constexpr uint32_t kNone = UINT32_MAX;
  absl::flat_hash_map<std::string_view, uint32_t> by_text;
  std::unordered_map<tsdb::Labels, uint32_t, LabelsHash> by_labels;
  std::vector<std::string_view> text_of;  // per series: its first spelling
  std::vector<uint32_t> next_after;       // per series: the series seen after it last time
  uint32_t prev = kNone;
  while (true) {
    absl::StatusOr<tp::EntryType> type = parser.Next();
    if (!type.ok()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s:%d:%d: %s", path, parser.error_line(), parser.error_column(), parser.error_what()));
    }
    if (*type == tp::EntryType::kEOF) break;
    if (*type != tp::EntryType::kSeries) continue;
    const tp::Entry& e = parser.entry();
    if (!e.timestamp_ms) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s:%d:%d: sample of %s has no timestamp: import needs one on every sample (seconds "
          "since the Unix epoch after the value)",
          path, e.line, e.value_end_column, std::string(e.series_text)));
    }
    uint32_t id = prev == kNone ? kNone : next_after[prev];
    if (id == kNone || text_of[id] != e.series_text) {
      auto it = by_text.find(e.series_text);
      if (it != by_text.end()) {
        id = it->second;
      } else {
        tsdb::Labels labels = tp::ToLabels(e);
        auto [lit, inserted] = by_labels.emplace(labels, static_cast<uint32_t>(out->series.size()));
        if (inserted) {
          out->series.push_back(ImportSeries{std::move(labels), {}});
          text_of.push_back(e.series_text);
          next_after.push_back(kNone);
        }
        id = lit->second;
        by_text.emplace(e.series_text, id);
      }
      if (prev != kNone) next_after[prev] = id;
    }
    prev = id;
    out->series[id].samples.push_back(tsdb::Sample{*e.timestamp_ms, e.value});
    ++out->samples;
  }
  return absl::OkStatus();
}

// Sorts each series by time and drops repeated timestamps (keeping the first in file order).
// Returns how many samples were dropped.
uint64_t SortAndDedup(std::vector<ImportSeries>& series) {
  uint64_t dropped = 0;
  auto by_time = [](const tsdb::Sample& a, const tsdb::Sample& b) { return a.t < b.t; };
  for (ImportSeries& s : series) {
    std::vector<tsdb::Sample>& v = s.samples;
    if (!std::is_sorted(v.begin(), v.end(), by_time)) {
      std::stable_sort(v.begin(), v.end(), by_time);
    }
    auto last = std::unique(v.begin(), v.end(), [](const tsdb::Sample& a, const tsdb::Sample& b) {
      return a.t == b.t;
    });
    dropped += static_cast<uint64_t>(v.end() - last);
    v.erase(last, v.end());
  }
  return dropped;
}

std::string FormatMillis(int64_t ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int ImportOpenMetrics(const std::string& path, const std::string& storage_path) {
  const auto start = std::chrono::steady_clock::now();
  InputFile input;
  if (absl::Status s = input.Open(path); !s.ok()) {
    std::cerr << "Error: " << s.message() << "\n";
    return 1;
  }

  ParsedFile parsed;
  if (absl::Status s = ParseFile(path, input.data(), &parsed); !s.ok()) {
    std::cerr << s.message() << "\n"
              << "Error: " << path << " is not valid OpenMetrics input; nothing was imported\n";
    return 1;
  }
  const uint64_t duplicates = SortAndDedup(parsed.series);
  const double parse_seconds = SecondsSince(start);
  if (parsed.samples == 0) {
    std::cout << "Nothing to import: " << path << " holds no samples\n";
    return 0;
  }
  int64_t min_t = tsdb::kMaxTime, max_t = tsdb::kMinTime;
  for (const ImportSeries& s : parsed.series) {
    min_t = std::min(min_t, s.samples.front().t);
    max_t = std::max(max_t, s.samples.back().t);
  }

  tsdb::DBOptions options;
  options.disable_wal = true;
  options.retention_ms = kImportRetentionMs;
  options.log = [](std::string_view note) { std::cerr << note << "\n"; };
  absl::StatusOr<std::unique_ptr<tsdb::DB>> db = tsdb::DB::Open(storage_path, options);
  if (!db.ok()) {
    std::cerr << "Error: opening the storage at " << storage_path << ": " << db.status().message()
              << "\n";
    return 1;
  }
  auto fail = [&](std::string_view what, const absl::Status& status) {
    std::cerr << "Error: " << what << ": " << status.message() << "\n"
              << "Error: nothing was imported into " << storage_path << "\n";
    (*db)->Close().IgnoreError();
    return 1;
  };

  uint64_t appended = 0;
  uint64_t refused[4] = {0, 0, 0, 0};
  std::unique_ptr<tsdb::Appender> app = (*db)->NewAppender();
  size_t in_batch = 0;
  for (const ImportSeries& s : parsed.series) {
    tsdb::SeriesRef ref = 0;
    for (const tsdb::Sample& sample : s.samples) {
      absl::StatusOr<tsdb::SeriesRef> r = app->Append(ref, s.labels, sample.t, sample.v);
      if (r.ok()) {
        ref = *r;
        ++appended;
      } else if (std::optional<tsdb::RejectReason> reason = tsdb::GetRejectReason(r.status())) {
        ++refused[static_cast<int>(*reason)];
      } else {
        return fail(absl::StrCat("appending to ", s.labels.ToString()), r.status());
      }
      if (++in_batch == kBatchSize) {
        if (absl::Status c = app->Commit(); !c.ok()) return fail("committing samples", c);
        app = (*db)->NewAppender();
        in_batch = 0;
      }
    }
  }
  if (absl::Status c = app->Commit(); !c.ok()) return fail("committing samples", c);
  app.reset();
  if (absl::Status c = (*db)->Checkpoint(); !c.ok()) return fail("writing the checkpoint", c);
  if (absl::Status c = (*db)->Close(); !c.ok()) {
    // The checkpoint is already durable; a failure to close does not undo it.
    std::cerr << "Warning: closing the storage at " << storage_path << ": " << c.message() << "\n";
  }

  std::cout << absl::StrFormat(
      "Imported %d samples of %d series from %s into %s in %.2f s "
      "(parsing %.2f s)\n",
      appended, parsed.series.size(), path, storage_path, SecondsSince(start), parse_seconds);
  std::cout << absl::StrFormat("  time range: %s .. %s (%d .. %d ms)\n", FormatMillis(min_t),
                               FormatMillis(max_t), min_t, max_t);
  if (duplicates > 0) {
    std::cout << absl::StrFormat(
        "  dropped %d samples repeating a timestamp of their series (the first in the file is "
        "kept)\n",
        duplicates);
  }
  for (tsdb::RejectReason reason :
       {tsdb::RejectReason::kOutOfOrder, tsdb::RejectReason::kDuplicate,
        tsdb::RejectReason::kOutOfBounds, tsdb::RejectReason::kInvalidLabels}) {
    if (uint64_t n = refused[static_cast<int>(reason)]; n > 0) {
      std::cout << absl::StrFormat("  refused by the storage (%s): %d samples\n",
                                   std::string(tsdb::RejectReasonName(reason)), n);
    }
  }
  return 0;
}

}  // namespace

int RunImport(const std::vector<std::string>& args) {
  cli::FlagSet flags(
      "metrics-adapter import",
      "Imports historical samples into the storage, like 'promtool tsdb create-blocks-from "
      "openmetrics'. The only input format is 'openmetrics': OpenMetrics 1.0 text ending in "
      "'# EOF', with a timestamp (seconds since the Unix epoch) on every sample. The whole file is "
      "validated first; a malformed file imports nothing. Stop the server using the storage "
      "first: the directory is locked while in use.");
  flags.set_args_usage("openmetrics FILE");
  std::string storage_path;
  flags.String("storage-path", &storage_path, "data",
               "Directory of the database to import into (created when absent).");
  std::vector<std::string> positional;
  if (std::optional<int> exit_code = flags.ParseCommand(args, &positional)) return *exit_code;
  if (positional.empty() || positional[0] != "openmetrics") {
    std::cerr << "Error: expected the input format 'openmetrics' and a FILE (see "
                 "'metrics-adapter import --help')\n";
    return 2;
  }
  if (positional.size() != 2) {
    std::cerr << "Error: expected exactly one FILE after 'openmetrics' (see 'metrics-adapter "
                 "import --help')\n";
    return 2;
  }
  if (storage_path.empty()) {
    std::cerr << "Error: --storage-path must not be empty\n";
    return 2;
  }
  return ImportOpenMetrics(positional[1], storage_path);
}

}  // namespace adapter
