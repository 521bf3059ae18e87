#include "tsdb/db.h"
#include "tsdb/stale.h"

#include <bit>
#include <cmath>
#include <fstream>
#include <thread>

#include "gtest/gtest.h"
#include "tests/tsdb/test_util.h"

namespace tsdb {
namespace {

using testing::Eq;
using testing::Neq;
using testing::Nre;
using testing::Re;
using testing::ReadAll;
using testing::TempDir;

std::unique_ptr<DB> OpenOrDie(const std::string& dir, DBOptions opts = {}) {
  auto db = DB::Open(dir, std::move(opts));
  EXPECT_TRUE(db.ok()) << db.status();
  return db.ok() ? *std::move(db) : nullptr;
}

Labels Series(const std::string& name, std::initializer_list<Label> extra = {}) {
  std::vector<Label> l(extra);
  l.push_back({"__name__", name});
  return Labels(std::move(l));
}

TEST(DBTest, AppendCommitAndSelect) {
  TempDir dir;
  auto db = OpenOrDie(dir.path());
  auto app = db->NewAppender();
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(app->Append(0, Series("up", {{"job", "a"}}), i * 1000, i).ok());
    ASSERT_TRUE(app->Append(0, Series("up", {{"job", "b"}}), i * 1000, -i).ok());
  }
  // Nothing is visible before the commit.
  EXPECT_TRUE(ReadAll(*db, {Eq("__name__", "up")}).empty());
  ASSERT_TRUE(app->Commit().ok());
  auto all = ReadAll(*db, {Eq("__name__", "up")});
  ASSERT_EQ(all.size(), 2u);
  const auto& a = all["up{job=\"a\"}"];
  ASSERT_EQ(a.size(), 500u);
  EXPECT_EQ(a[499].t, 499000);
  EXPECT_EQ(a[499].v, 499);
  // Time-restricted reads only return samples inside the range.
  auto window = ReadAll(*db, {Eq("job", "b")}, 10000, 19999);
  ASSERT_EQ(window.size(), 1u);
  EXPECT_EQ(window.begin()->second.size(), 10u);
  EXPECT_EQ(window.begin()->second.front().v, -10);
  EXPECT_EQ(db->stats().samples_appended.load(), 1000u);
  EXPECT_EQ(db->stats().series.load(), 2);
}

TEST(DBTest, OutOfOrderAndDuplicateRules) {
  TempDir dir;
  auto db = OpenOrDie(dir.path());
  auto app = db->NewAppender();
  auto ref = app->Append(0, Series("m"), 1000, 1);
  ASSERT_TRUE(ref.ok());
  ASSERT_TRUE(app->Commit().ok());

  auto older = app->Append(*ref, Series("m"), 999, 1);
  EXPECT_EQ(GetRejectReason(older.status()), RejectReason::kOutOfOrder) << older.status();
  auto dup = app->Append(*ref, Series("m"), 1000, 2);
  EXPECT_EQ(GetRejectReason(dup.status()), RejectReason::kDuplicate) << dup.status();
  // The very same sample again is accepted and ignored, as in Prometheus.
  EXPECT_TRUE(app->Append(*ref, Series("m"), 1000, 1).ok());
  ASSERT_TRUE(app->Append(*ref, Series("m"), 2000, 2).ok());
  ASSERT_TRUE(app->Commit().ok());
  auto all = ReadAll(*db, {Eq("__name__", "m")});
  ASSERT_EQ(all["m"].size(), 2u);
  EXPECT_EQ(db->stats().rejected_out_of_order.load(), 1u);
  EXPECT_EQ(db->stats().rejected_duplicate.load(), 1u);
}

TEST(DBTest, InvalidLabelsAreRejectedWithTheName) {
  TempDir dir;
  auto db = OpenOrDie(dir.path());
  auto app = db->NewAppender();
  auto r = app->Append(0, Labels({{"__name__", "m"}, {"bad-name", "x"}}), 1, 1);
  EXPECT_EQ(GetRejectReason(r.status()), RejectReason::kInvalidLabels);
  EXPECT_NE(r.status().message().find("bad-name"), std::string::npos) << r.status();
}

TEST(DBTest, StalenessMarkerIsStoredBitExact) {
  TempDir dir;
  {
    auto db = OpenOrDie(dir.path());
    auto app = db->NewAppender();
    ASSERT_TRUE(app->Append(0, Series("m"), 1, 5).ok());
    ASSERT_TRUE(app->Append(0, Series("m"), 2, std::bit_cast<double>(kStaleNaNBits)).ok());
    ASSERT_TRUE(app->Commit().ok());
  }
  auto db = OpenOrDie(dir.path());  // after WAL replay too
  auto all = ReadAll(*db, {Eq("__name__", "m")});
  ASSERT_EQ(all["m"].size(), 2u);
  EXPECT_EQ(std::bit_cast<uint64_t>(all["m"][1].v), kStaleNaNBits);
}

TEST(DBTest, RollbackDiscardsTheBatch) {
  TempDir dir;
  auto db = OpenOrDie(dir.path());
  auto app = db->NewAppender();
  ASSERT_TRUE(app->Append(0, Series("m"), 1, 1).ok());
  app->Rollback();
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_TRUE(ReadAll(*db, {Eq("__name__", "m")}).empty());
  {
    auto dropped = db->NewAppender();
    ASSERT_TRUE(dropped->Append(0, Series("m"), 2, 1).ok());
  }  // destroyed uncommitted
  EXPECT_TRUE(ReadAll(*db, {Eq("__name__", "m")}).empty());
}

TEST(DBTest, MatcherSemantics) {
  TempDir dir;
  auto db = OpenOrDie(dir.path());
  auto app = db->NewAppender();
  ASSERT_TRUE(app->Append(0, Series("m", {{"env", "prod"}, {"pod", "a-1"}}), 1, 1).ok());
  ASSERT_TRUE(app->Append(0, Series("m", {{"env", "dev"}, {"pod", "a-2"}}), 1, 1).ok());
  ASSERT_TRUE(app->Append(0, Series("m", {{"pod", "b-1"}}), 1, 1).ok());
  ASSERT_TRUE(app->Append(0, Series("other", {{"pod", "a-1"}}), 1, 1).ok());
  ASSERT_TRUE(app->Commit().ok());
  auto count = [&](std::vector<LabelMatcher> ms) { return ReadAll(*db, ms).size(); };
  EXPECT_EQ(count({Eq("__name__", "m")}), 3u);
  EXPECT_EQ(count({Eq("__name__", "m"), Eq("env", "prod")}), 1u);
  // An empty-matching matcher also selects series without the label.
  EXPECT_EQ(count({Eq("__name__", "m"), Neq("env", "prod")}), 2u);
  EXPECT_EQ(count({Eq("__name__", "m"), Eq("env", "")}), 1u);
  EXPECT_EQ(count({Eq("__name__", "m"), Re("env", "|dev")}), 2u);
  EXPECT_EQ(count({Eq("__name__", "m"), Nre("env", "pro.*")}), 2u);
  EXPECT_EQ(count({Re("pod", "a-.*")}), 3u);
  EXPECT_EQ(count({Re("pod", "a-1|b-1")}), 3u);
  EXPECT_EQ(count({Re("__name__", ".+"), Re("pod", ".*-2")}), 1u);
  EXPECT_EQ(count({Eq("__name__", "nope")}), 0u);
  EXPECT_EQ(count({Eq("env", "prod"), Eq("env", "dev")}), 0u);
  // `label!=""` asks for the label's presence, alone or next to selective matchers.
  EXPECT_EQ(count({Eq("__name__", "m"), Neq("env", "")}), 2u);
  EXPECT_EQ(count({Neq("env", "")}), 2u);
  EXPECT_EQ(count({Eq("__name__", "other"), Neq("env", "")}), 0u);
  EXPECT_EQ(count({Eq("__name__", "m"), Neq("env", ""), Neq("pod", "")}), 2u);
  EXPECT_EQ(count({Eq("__name__", "m"), Neq("nolabel", "")}), 0u);
  // A selector made only of empty-matching matchers is refused, as in Prometheus.
  auto q = db->NewQuerier(kMinTime, kMaxTime);
  EXPECT_FALSE(q->Select({Neq("env", "x")}).ok());
}

TEST(DBTest, LabelNamesAndValuesRestrictedByMatchersAndTime) {
  TempDir dir;
  auto db = OpenOrDie(dir.path());
  auto app = db->NewAppender();
  ASSERT_TRUE(app->Append(0, Series("a", {{"x", "1"}}), 1000, 1).ok());
  ASSERT_TRUE(app->Append(0, Series("b", {{"y", "2"}}), 5000, 1).ok());
  ASSERT_TRUE(app->Commit().ok());
  auto all = db->NewQuerier(kMinTime, kMaxTime);
  EXPECT_EQ(*all->LabelNames({}), (std::vector<std::string>{"__name__", "x", "y"}));
  EXPECT_EQ(*all->LabelValues("__name__", {}), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(*all->LabelNames({Eq("__name__", "a")}), (std::vector<std::string>{"__name__", "x"}));
  auto late = db->NewQuerier(4000, 6000);
  EXPECT_EQ(*late->LabelValues("__name__", {}), (std::vector<std::string>{"b"}));
  EXPECT_EQ(*late->LabelNames({}), (std::vector<std::string>{"__name__", "y"}));
}

TEST(DBTest, ManyChunksPerSeries) {
  TempDir dir;
  auto db = OpenOrDie(dir.path());
  auto app = db->NewAppender();
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(app->Append(0, Series("m"), i * 15000, i % 7).ok());
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_GE(db->stats().chunks.load(), 10000 / 120);
  auto q = db->NewQuerier(kMinTime, kMaxTime);
  auto series = *q->Select({Eq("__name__", "m")});
  ASSERT_EQ(series.size(), 1u);
  auto it = series[0]->Iterator();
  ASSERT_TRUE(it->Seek(15000 * 5000 + 1));
  EXPECT_EQ(it->At().t, 15000 * 5001);
  EXPECT_EQ(it->At().v, 5001 % 7);
  int rest = 1;
  while (it->Next()) ++rest;
  EXPECT_EQ(rest, 10000 - 5001);
}

TEST(DBTest, ReopenReplaysWalAndCheckpoint) {
  TempDir dir;
  DBOptions opts;
  opts.wal_segment_bytes = 64 << 10;  // many segments
  std::map<std::string, std::vector<Sample>> before;
  {
    auto db = OpenOrDie(dir.path(), opts);
    for (int batch = 0; batch < 40; ++batch) {
      auto app = db->NewAppender();
      for (int s = 0; s < 50; ++s) {
        for (int k = 0; k < 10; ++k) {
          int64_t t = (batch * 10 + k) * 15000;
          ASSERT_TRUE(app->Append(0, Series("m", {{"s", std::to_string(s)}}), t, t * 0.5 + s).ok());
        }
      }
      ASSERT_TRUE(app->Commit().ok());
      if (batch == 20) {
        ASSERT_TRUE(db->Checkpoint().ok());
      }
    }
    before = ReadAll(*db, {Eq("__name__", "m")});
    EXPECT_EQ(db->stats().checkpoints.load(), 1u);
  }
  auto db = OpenOrDie(dir.path(), opts);
  EXPECT_EQ(ReadAll(*db, {Eq("__name__", "m")}), before);
  // Appends continue after the replayed data, in the same series.
  auto app = db->NewAppender();
  ASSERT_TRUE(app->Append(0, Series("m", {{"s", "0"}}), 400 * 15000, 1).ok());
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(db->stats().series.load(), 50);
  ASSERT_TRUE(db->Checkpoint().ok());
  db.reset();
  auto again = OpenOrDie(dir.path(), opts);
  auto after = ReadAll(*again, {Eq("__name__", "m")});
  EXPECT_EQ(after["m{s=\"0\"}"].size(), before["m{s=\"0\"}"].size() + 1);
}

TEST(DBTest, WalReplayProgressCoversTheReplayedSegments) {
  TempDir dir;
  DBOptions opts;
  opts.wal_segment_bytes = 16 << 10;  // many segments
  WalReplayProgress fresh;
  opts.replay_progress = &fresh;
  {
    auto db = OpenOrDie(dir.path(), opts);
    EXPECT_EQ(fresh.max.load(), fresh.current.load());
    for (int batch = 0; batch < 40; ++batch) {
      auto app = db->NewAppender();
      for (int s = 0; s < 50; ++s) {
        for (int k = 0; k < 10; ++k) {
          const int64_t t = (batch * 10 + k) * 15000;
          ASSERT_TRUE(app->Append(0, Series("m", {{"s", std::to_string(s)}}), t, t * 0.5).ok());
        }
      }
      ASSERT_TRUE(app->Commit().ok());
      if (batch == 10) {
        ASSERT_TRUE(db->Checkpoint().ok());
      }
    }
  }
  // The checkpoint covers the segments before it: replay starts at its segment and runs to the
  // last one.
  WalReplayProgress progress;
  opts.replay_progress = &progress;
  auto db = OpenOrDie(dir.path(), opts);
  EXPECT_GT(progress.min.load(), 0);
  EXPECT_GT(progress.max.load(), progress.min.load());
  EXPECT_EQ(progress.current.load(), progress.max.load());
  EXPECT_EQ(ReadAll(*db, {Eq("__name__", "m")}).size(), 50u);
}

TEST(DBTest, RetentionDropsOldChunksThenEmptySeries) {
  TempDir dir;
  DBOptions opts;
  opts.retention_ms = 3600 * 1000;
  auto db = OpenOrDie(dir.path(), opts);
  auto app = db->NewAppender();
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(app->Append(0, Series("old"), i * 1000, 1).ok());
  const int64_t now = 10 * 3600 * 1000;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(app->Append(0, Series("new"), now - 7200 * 1000 + i * 15000, 1).ok());
  }
  ASSERT_TRUE(app->Commit().ok());
  // Samples older than the window are refused once newer data defines it.
  auto oob = app->Append(0, Series("new"), 0, 1);
  EXPECT_EQ(GetRejectReason(oob.status()), RejectReason::kOutOfBounds);
  db->ApplyRetention();
  EXPECT_TRUE(ReadAll(*db, {Eq("__name__", "old")}).empty());
  EXPECT_EQ(db->stats().series.load(), 1);
  auto fresh = ReadAll(*db, {Eq("__name__", "new")});
  ASSERT_EQ(fresh.size(), 1u);
  // Whole chunks go: what is left starts at most one chunk before the cutoff.
  EXPECT_GE(fresh["new"].front().t, now - 3600 * 1000 - 120 * 15000);
  EXPECT_LT(fresh["new"].size(), 1000u);
}

TEST(DBTest, SecondOpenOfTheSameDirectoryIsRefused) {
  TempDir dir;
  auto db = OpenOrDie(dir.path());
  auto second = DB::Open(dir.path(), {});
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("locked"), std::string::npos) << second.status();
}

TEST(DBTest, StoragePathThatIsAFileIsAClearError) {
  TempDir dir;
  std::string file = dir.path() + "/plain-file";
  std::ofstream(file) << "x";
  auto db = DB::Open(file, {});
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.status().message().find(file), std::string::npos) << db.status();
}

// Readers run while writers commit batches that each set every series to the same value: a reader
// must see, at any time, either all series of a batch at the new value or none of them.
TEST(DBTest, ReadersNeverSeeHalfACommittedBatch) {
  TempDir dir;
  DBOptions opts;
  opts.wal_fsync_interval_ms = -1;
  auto db = OpenOrDie(dir.path(), opts);
  constexpr int kSeries = 50;
  constexpr int kBatches = 300;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int b = 1; b <= kBatches; ++b) {
      auto app = db->NewAppender();
      for (int s = 0; s < kSeries; ++s) {
        ASSERT_TRUE(app->Append(0, Series("m", {{"s", std::to_string(s)}}), b, b).ok());
      }
      ASSERT_TRUE(app->Commit().ok());
    }
    done = true;
  });
  int checks = 0;
  while (!done || checks == 0) {
    auto q = db->NewQuerier(kMinTime, kMaxTime);
    auto series = *q->Select({Eq("__name__", "m")});
    if (series.empty()) continue;
    ++checks;
    ASSERT_EQ(series.size(), static_cast<size_t>(kSeries));
    double newest = -1;
    for (const auto& s : series) {
      auto it = s->Iterator();
      double last = -1;
      while (it->Next()) last = it->At().v;
      if (newest < 0) newest = last;
      ASSERT_EQ(last, newest) << "a reader saw a partially applied batch";
    }
  }
  writer.join();
  EXPECT_GT(checks, 0);
}

TEST(DBTest, ConcurrentAppendersAndQueries) {
  TempDir dir;
  auto db = OpenOrDie(dir.path());
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      std::vector<SeriesRef> refs(20, 0);
      for (int b = 0; b < 200; ++b) {
        auto app = db->NewAppender();
        for (int s = 0; s < 20; ++s) {
          auto r = app->Append(refs[s],
                               Series("m", {{"w", std::to_string(w)}, {"s", std::to_string(s)}}),
                               b * 1000, b);
          ASSERT_TRUE(r.ok()) << r.status();
          refs[s] = *r;
        }
        ASSERT_TRUE(app->Commit().ok());
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < 100; ++i) {
      auto q = db->NewQuerier(kMinTime, kMaxTime);
      ASSERT_TRUE(q->Select({Re("__name__", "m")}).ok());
      ASSERT_TRUE(q->LabelValues("s", {}).ok());
    }
  });
  for (auto& t : threads) t.join();
  auto all = ReadAll(*db, {Eq("__name__", "m")});
  ASSERT_EQ(all.size(), 80u);
  for (const auto& [name, samples] : all) EXPECT_EQ(samples.size(), 200u) << name;
}

}  // namespace
}  // namespace tsdb
