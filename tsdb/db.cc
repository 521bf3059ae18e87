#include "tsdb/db.h"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tsdb/head.h"
#include "tsdb/replay.h"
#include "tsdb/wal/format.h"
#include "tsdb/wal/records.h"
#include "tsdb/wal/wal_reader.h"
#include "tsdb/wal/wal_writer.h"

namespace tsdb {
namespace {

constexpr absl::string_view kCheckpointPrefix = "checkpoint.";
constexpr absl::string_view kTmpSuffix = ".tmp";
// Samples per WAL record: big enough to amortise framing, small enough to keep records compact.
constexpr size_t kSamplesPerRecord = 8192;
// Series per checkpoint record batch.
constexpr size_t kSeriesPerCheckpointRecord = 512;
constexpr int64_t kRetentionIntervalMs = int64_t{60} * 1000;

std::string CheckpointName(int segment) {
  return absl::StrCat(kCheckpointPrefix, wal::SegmentName(segment));
}

// Parses "checkpoint.NNNNNNNN"; false for anything else (including ".tmp" leftovers).
bool ParseCheckpointName(absl::string_view name, int* segment) {
  if (!absl::StartsWith(name, kCheckpointPrefix)) return false;
  name.remove_prefix(kCheckpointPrefix.size());
  return wal::ParseSegmentName(std::string_view(name.data(), name.size()), segment);
}

class DBImpl;

class HeadAppender final : public Appender {
 public:
  explicit HeadAppender(DBImpl* db) : db_(db) {}
  ~HeadAppender() override { Rollback(); }

  absl::StatusOr<SeriesRef> Append(SeriesRef ref, const Labels& labels, int64_t t,
                                   double v) override;
  absl::Status Commit() override;
  void Rollback() override;

 private:
  DBImpl* db_;
  std::vector<PendingSample> pending_;
};

// Selecting every series (only matchers that match the empty string) is refused, as in Prometheus.
absl::Status CheckSelective(const std::vector<LabelMatcher>& matchers) {
  for (const LabelMatcher& m : matchers) {
    if (!m.MatchesEmpty()) return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      "a selector needs at least one matcher that does not match the empty string");
}

class HeadQuerier final : public Querier {
 public:
  HeadQuerier(const Head* head, int64_t mint, int64_t maxt)
      : head_(head), mint_(mint), maxt_(maxt) {}

  absl::StatusOr<std::vector<std::unique_ptr<SeriesData>>> Select(
      const std::vector<LabelMatcher>& matchers) const override {
    if (absl::Status s = CheckSelective(matchers); !s.ok()) return s;
    return head_->Select(matchers, mint_, maxt_);
  }
  absl::Status SelectSamplesInPieces(
      const std::vector<LabelMatcher>& matchers, const SelectHints& hints,
      std::chrono::steady_clock::time_point deadline, size_t piece_series,
      absl::FunctionRef<absl::Status(std::vector<SeriesSamples>& piece)> consume) const override {
    if (absl::Status s = CheckSelective(matchers); !s.ok()) return s;
    return head_->SelectSamplesInPieces(matchers, hints, mint_, maxt_, deadline, piece_series,
                                        consume);
  }
  absl::StatusOr<std::vector<Labels>> SelectLabels(
      const std::vector<LabelMatcher>& matchers) const override {
    if (absl::Status s = CheckSelective(matchers); !s.ok()) return s;
    return head_->SelectLabels(matchers, mint_, maxt_);
  }
  absl::StatusOr<std::vector<std::string>> LabelNames(
      const std::vector<LabelMatcher>& matchers) const override {
    return head_->LabelNames(matchers, mint_, maxt_);
  }
  absl::StatusOr<std::vector<std::string>> LabelValues(
      std::string_view name, const std::vector<LabelMatcher>& matchers) const override {
    return head_->LabelValues(name, matchers, mint_, maxt_);
  }

 private:
  const Head* head_;
  int64_t mint_;
  int64_t maxt_;
};

class DBImpl final : public DB {
 public:
  DBImpl(std::string dir, DBOptions options)
      : dir_(std::move(dir)),
        wal_dir_(JoinPath(dir_, "wal")),
        opts_(std::move(options)),
        head_(&stats_) {}
  ~DBImpl() override { Close().IgnoreError(); }

  absl::Status Init();

  std::unique_ptr<Appender> NewAppender() override { return std::make_unique<HeadAppender>(this); }
  std::unique_ptr<Querier> NewQuerier(int64_t mint, int64_t maxt) override {
    return std::make_unique<HeadQuerier>(&head_, mint, maxt);
  }
  absl::Status Checkpoint() override;
  void ApplyRetention() override;
  absl::Status SyncWal() override;
  absl::Status Close() override;
  const Stats& stats() const override { return stats_; }
  int64_t MinTime() const override { return head_.MinTime(); }
  int64_t MaxTime() const override { return head_.MaxTime(); }
  HeadCardinality Cardinality(size_t limit) const override { return head_.Cardinality(limit); }

 private:
  friend class HeadAppender;

  void Log(std::string_view msg) const {
    if (opts_.log) opts_.log(msg);
  }
  int64_t MinValidTime() const {
    int64_t max = head_.MaxTime();
    if (max == kMinTime || opts_.retention_ms <= 0) return kMinTime;
    return max - opts_.retention_ms;
  }
  absl::Status LoadCheckpoint(int segment);
  absl::Status ReplayWal(int first_segment);
  // Logs records to the WAL under wal_mu_; counts failures.
  absl::Status WalLog(const std::vector<std::string>& records);
  void UpdateWalBytes();
  void BackgroundLoop();

  const std::string dir_;
  const std::string wal_dir_;
  const DBOptions opts_;
  Stats stats_;
  Head head_;
  std::unique_ptr<FileLock> lock_;

  // Lock order: checkpoint_mu_ -> commit_mu_ -> wal_mu_; the head's own lock may be held when
  // taking wal_mu_ (series creation), never the other way round.
  std::mutex checkpoint_mu_;
  std::mutex commit_mu_;
  std::mutex wal_mu_;
  std::unique_ptr<WalWriter> wal_;
  bool wal_dirty_ = false;  // written since the last sync
  uint64_t wal_bytes_at_checkpoint_ = 0;

  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  bool closing_ = false;
  bool closed_ = false;
  std::thread bg_;
};

absl::StatusOr<SeriesRef> HeadAppender::Append(SeriesRef ref, const Labels& labels, int64_t t,
                                               double v) {
  absl::StatusOr<MemSeries*> s = db_->head_.Prepare(ref, labels, t, v, db_->MinValidTime());
  if (!s.ok()) return s.status();
  pending_.push_back({*s, t, v});
  return (*s)->ref;
}

absl::Status HeadAppender::Commit() {
  if (pending_.empty()) return absl::OkStatus();
  std::lock_guard commit_lock(db_->commit_mu_);
  if (!db_->opts_.disable_wal) {
    std::vector<std::string> records;
    std::vector<RefSample> batch;
    batch.reserve(std::min(pending_.size(), kSamplesPerRecord));
    for (size_t i = 0; i < pending_.size(); i += kSamplesPerRecord) {
      batch.clear();
      for (size_t j = i; j < std::min(pending_.size(), i + kSamplesPerRecord); ++j) {
        batch.push_back({pending_[j].series->ref, pending_[j].t, pending_[j].v});
      }
      records.emplace_back();
      EncodeSamples(batch, &records.back());
    }
    if (absl::Status st = db_->WalLog(records); !st.ok()) {
      Rollback();
      return st;
    }
  }
  db_->head_.Apply(pending_);
  pending_.clear();
  return absl::OkStatus();
}

void HeadAppender::Rollback() {
  db_->head_.Unpin(pending_);
  pending_.clear();
}

absl::Status DBImpl::WalLog(const std::vector<std::string>& records) {
  std::lock_guard lock(wal_mu_);
  if (wal_ == nullptr) return absl::FailedPreconditionError("database is closed");
  absl::Status st = records.size() == 1 ? wal_->Log(records[0]) : wal_->LogBatch(records);
  if (st.ok() && opts_.wal_fsync_interval_ms == 0) {
    st = wal_->Sync();
    stats_.wal_fsyncs.fetch_add(1, std::memory_order_relaxed);
  } else {
    wal_dirty_ = true;
  }
  if (!st.ok()) {
    stats_.wal_write_failures.fetch_add(1, std::memory_order_relaxed);
    return absl::Status(st.code(), absl::StrCat("writing the WAL failed: ", st.message()));
  }
  stats_.wal_bytes.store(static_cast<int64_t>(wal_->SizeBytes()), std::memory_order_relaxed);
  return absl::OkStatus();
}

absl::Status DBImpl::LoadCheckpoint(int segment) {
  std::string path = JoinPath(dir_, CheckpointName(segment));
  WalReader reader = WalReader::ForDir(opts_.env, path);
  absl::Status st =
      ReplayRecords(&reader, &head_, /*allow_chunks=*/true,
                    [&](const absl::Status& bad, const RecordPosition& pos) {
                      return absl::DataLossError(absl::StrCat("checkpoint ", path, " ",
                                                              pos.ToString(), ": ", bad.message()));
                    });
  if (!st.ok() && reader.status().ok()) return st;
  if (!reader.status().ok()) {
    // A checkpoint is written to a temporary directory and renamed only when complete, so damage
    // here is not a torn write; refusing to start is the only way not to lose data silently.
    return absl::DataLossError(
        absl::StrCat("checkpoint ", path, " is damaged: ", reader.status().message()));
  }
  return absl::OkStatus();
}

absl::Status DBImpl::ReplayWal(int first_segment) {
  WalReplayProgress* progress = opts_.replay_progress;
  if (progress != nullptr) {
    absl::StatusOr<std::vector<int>> segments = ListWalSegments(opts_.env, wal_dir_);
    const int last = segments.ok() && !segments->empty() ? segments->back() : first_segment;
    progress->min.store(first_segment);
    progress->max.store(std::max(first_segment, last));
    progress->current.store(first_segment);
  }
  WalReader reader = WalReader::ForDir(opts_.env, wal_dir_, first_segment);
  // A record that passed its checksum but does not decode was written by a broken build; it is
  // skipped rather than refusing to start.
  ReplayRecords(
      &reader, &head_, /*allow_chunks=*/false,
      [&](const absl::Status& bad, const RecordPosition& pos) {
        Log(absl::StrCat("wal ", pos.ToString(), ": skipped undecodable record: ", bad.message()));
        return absl::OkStatus();
      },
      [progress](int segment) {
        if (progress != nullptr) progress->current.store(segment);
      })
      .IgnoreError();  // the reader's own status is looked at below
  if (progress != nullptr) progress->current.store(progress->max.load());
  if (!reader.status().ok() && !reader.corrupt()) return reader.status();
  if (reader.corrupt()) {
    stats_.wal_corruptions.fetch_add(1, std::memory_order_relaxed);
    Log(absl::StrCat("wal: ", reader.status().message(), "; replayed ", reader.records_read(),
                     " records before the damage, cutting the log there"));
    WalRepairReport report;
    if (absl::Status st = WalWriter::Repair(opts_.env, wal_dir_, reader.segment(), reader.offset(),
                                            reader.corruption_reason(), opts_.log, &report);
        !st.ok()) {
      return st;
    }
  }
  return absl::OkStatus();
}

absl::Status DBImpl::Init() {
  Env* env = opts_.env;
  if (absl::Status st = env->CreateDirs(dir_); !st.ok()) {
    return absl::Status(st.code(), absl::StrCat("storage path ", dir_, ": ", st.message()));
  }
  absl::StatusOr<std::unique_ptr<FileLock>> lock = env->LockFile(JoinPath(dir_, "lock"));
  if (!lock.ok()) return lock.status();
  lock_ = *std::move(lock);

  absl::StatusOr<std::vector<std::string>> names = env->ListDir(dir_);
  if (!names.ok()) return names.status();
  int checkpoint = -1;
  for (const std::string& name : *names) {
    int n;
    if (absl::EndsWith(name, kTmpSuffix)) {
      // An interrupted checkpoint: the WAL it would have replaced is still complete.
      if (absl::Status st = env->RemoveAll(JoinPath(dir_, name)); !st.ok()) return st;
    } else if (ParseCheckpointName(name, &n)) {
      checkpoint = std::max(checkpoint, n);
    }
  }
  if (checkpoint >= 0) {
    if (absl::Status st = LoadCheckpoint(checkpoint); !st.ok()) return st;
  }
  int first_segment = std::max(checkpoint, 0);
  if (env->FileExists(wal_dir_)) {
    if (absl::Status st = ReplayWal(first_segment); !st.ok()) return st;
  }

  WalWriterOptions wopts;
  wopts.segment_bytes = opts_.wal_segment_bytes;
  wopts.log = opts_.log;
  wopts.check_from_segment = WalWriterOptions::kCheckLastSegmentOnly;
  absl::StatusOr<std::unique_ptr<WalWriter>> wal = WalWriter::Open(env, wal_dir_, wopts);
  if (!wal.ok()) return wal.status();
  wal_ = *std::move(wal);
  // Segments below the checkpoint are left over from a checkpoint interrupted after its rename.
  while (wal_->CurrentSegment() < first_segment) {
    if (absl::Status st = wal_->NextSegment(); !st.ok()) return st;
  }
  if (absl::Status st = wal_->TruncateBefore(first_segment); !st.ok()) return st;
  wal_bytes_at_checkpoint_ = 0;
  UpdateWalBytes();

  head_.set_series_created_hook([this](SeriesRef ref, const Labels& labels) -> absl::Status {
    if (opts_.disable_wal) return absl::OkStatus();
    std::vector<std::string> records(1);
    std::vector<RefSeries> created{RefSeries{ref, labels}};
    EncodeSeries(created, &records[0]);
    return WalLog(records);
  });

  ApplyRetention();
  bg_ = std::thread([this] { BackgroundLoop(); });
  return absl::OkStatus();
}

void DBImpl::UpdateWalBytes() {
  std::lock_guard lock(wal_mu_);
  if (wal_) stats_.wal_bytes.store(static_cast<int64_t>(wal_->SizeBytes()));
}

void DBImpl::BackgroundLoop() {
  using Clock = std::chrono::steady_clock;
  auto next_retention = Clock::now() + std::chrono::milliseconds(kRetentionIntervalMs);
  const int64_t fsync_ms = opts_.wal_fsync_interval_ms > 0 ? opts_.wal_fsync_interval_ms : 1000;
  std::unique_lock lock(bg_mu_);
  while (!closing_) {
    bg_cv_.wait_for(lock, std::chrono::milliseconds(fsync_ms));
    if (closing_) break;
    lock.unlock();
    if (opts_.wal_fsync_interval_ms > 0) {
      if (absl::Status st = SyncWal(); !st.ok())
        Log(absl::StrCat("wal fsync failed: ", st.message()));
    }
    if (Clock::now() >= next_retention) {
      ApplyRetention();
      next_retention = Clock::now() + std::chrono::milliseconds(kRetentionIntervalMs);
    }
    uint64_t wal_bytes = static_cast<uint64_t>(stats_.wal_bytes.load());
    if (wal_bytes > wal_bytes_at_checkpoint_ + opts_.checkpoint_after_wal_bytes) {
      if (absl::Status st = Checkpoint(); !st.ok())
        Log(absl::StrCat("checkpoint failed: ", st.message()));
    }
    lock.lock();
  }
}

absl::Status DBImpl::SyncWal() {
  std::lock_guard lock(wal_mu_);
  if (wal_ == nullptr || !wal_dirty_) return absl::OkStatus();
  absl::Status st = wal_->Sync();
  if (st.ok()) {
    wal_dirty_ = false;
    stats_.wal_fsyncs.fetch_add(1, std::memory_order_relaxed);
  }
  return st;
}

void DBImpl::ApplyRetention() {
  int64_t min_valid = MinValidTime();
  if (min_valid == kMinTime) return;
  size_t removed = head_.Truncate(min_valid);
  if (removed > 0)
    Log(absl::StrCat("retention: removed ", removed, " series with no samples left"));
}

absl::Status DBImpl::Checkpoint() {
  std::lock_guard checkpoint_lock(checkpoint_mu_);
  int segment;
  {
    // Every commit logged before the cut is fully applied to the head once commit_mu_ is ours, so
    // the snapshot below holds at least everything in the segments it replaces.
    std::lock_guard commit_lock(commit_mu_);
    std::lock_guard wal_lock(wal_mu_);
    if (wal_ == nullptr) return absl::FailedPreconditionError("database is closed");
    if (absl::Status st = wal_->NextSegment(); !st.ok()) return st;
    segment = wal_->CurrentSegment();
  }
  Env* env = opts_.env;
  std::string final_dir = JoinPath(dir_, CheckpointName(segment));
  std::string tmp_dir = absl::StrCat(final_dir, kTmpSuffix);
  auto fail = [&](const absl::Status& st) {
    stats_.checkpoint_failures.fetch_add(1, std::memory_order_relaxed);
    env->RemoveAll(tmp_dir).IgnoreError();
    return absl::Status(st.code(), absl::StrCat("checkpoint ", final_dir, ": ", st.message()));
  };
  if (absl::Status st = env->RemoveAll(tmp_dir); !st.ok()) return fail(st);
  WalWriterOptions wopts;
  wopts.segment_bytes = opts_.wal_segment_bytes;
  absl::StatusOr<std::unique_ptr<WalWriter>> out = WalWriter::Open(env, tmp_dir, wopts);
  if (!out.ok()) return fail(out.status());

  // Series records go before the chunk records that refer to them, batch by batch.
  std::vector<RefSeries> series;
  std::vector<RefChunk> chunks;
  absl::Status write_status;
  std::string buf;
  auto flush = [&]() {
    if (!write_status.ok() || series.empty()) return;
    buf.clear();
    EncodeSeries(series, &buf);
    write_status = (*out)->Log(buf);
    if (write_status.ok() && !chunks.empty()) {
      buf.clear();
      EncodeChunks(chunks, &buf);
      write_status = (*out)->Log(buf);
    }
    series.clear();
    chunks.clear();
  };
  head_.ForEachSeries([&](const MemSeries& s) {
    series.push_back({s.ref, s.ToLabels()});
    s.ForEachChunk([&](const XorChunk& c) {
      chunks.push_back(
          {s.ref, c.min_time(), c.max_time(), static_cast<uint16_t>(c.num_samples()), c.bytes()});
    });
    if (series.size() >= kSeriesPerCheckpointRecord) flush();
  });
  flush();
  if (!write_status.ok()) return fail(write_status);
  if (absl::Status st = (*out)->Sync(); !st.ok()) return fail(st);
  out->reset();
  if (absl::Status st = env->SyncDir(tmp_dir); !st.ok()) return fail(st);
  if (absl::Status st = env->Rename(tmp_dir, final_dir); !st.ok()) return fail(st);
  if (absl::Status st = env->SyncDir(dir_); !st.ok()) return fail(st);

  // The new checkpoint is durable: older checkpoints and the segments it covers can go.
  if (absl::StatusOr<std::vector<std::string>> names = env->ListDir(dir_); names.ok()) {
    for (const std::string& name : *names) {
      int n;
      if (ParseCheckpointName(name, &n) && n < segment) {
        env->RemoveAll(JoinPath(dir_, name)).IgnoreError();
      }
    }
  }
  {
    std::lock_guard wal_lock(wal_mu_);
    if (wal_ != nullptr) {
      if (absl::Status st = wal_->TruncateBefore(segment); !st.ok()) {
        Log(absl::StrCat("removing WAL segments below ", segment, " failed: ", st.message()));
      }
      wal_bytes_at_checkpoint_ = wal_->SizeBytes();
      stats_.wal_bytes.store(static_cast<int64_t>(wal_bytes_at_checkpoint_));
    }
  }
  stats_.checkpoints.fetch_add(1, std::memory_order_relaxed);
  return absl::OkStatus();
}

absl::Status DBImpl::Close() {
  {
    std::lock_guard lock(bg_mu_);
    if (closed_) return absl::OkStatus();
    closed_ = true;
    closing_ = true;
  }
  bg_cv_.notify_all();
  if (bg_.joinable()) bg_.join();
  absl::Status st;
  {
    std::lock_guard commit_lock(commit_mu_);
    std::lock_guard lock(wal_mu_);
    if (wal_ != nullptr) {
      st = wal_->Sync();
      if (st.ok()) stats_.wal_fsyncs.fetch_add(1, std::memory_order_relaxed);
      wal_.reset();
    }
  }
  lock_.reset();
  return st;
}

}  // namespace

absl::StatusOr<std::unique_ptr<DB>> DB::Open(const std::string& dir, DBOptions options) {
  auto db = std::make_unique<DBImpl>(dir, std::move(options));
  if (absl::Status st = db->Init(); !st.ok()) {
    db->Close().IgnoreError();
    return st;
  }
  return db;
}

}  // namespace tsdb
