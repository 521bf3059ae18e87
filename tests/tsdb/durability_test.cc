// Crash, corruption and full-disk behaviour of the database as a whole.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "tests/tsdb/fault_env.h"
#include "tests/tsdb/test_util.h"
#include "tsdb/db.h"

namespace tsdb {
namespace {

using testing::Eq;
using testing::ReadAll;
using testing::TempDir;

constexpr int kCrashSeries = 200;

Labels CrashSeries(int s) { return Labels({{"__name__", "load"}, {"s", std::to_string(s)}}); }

// Runs in a forked child: ingests batches (one sample per series, t = batch) forever, syncing the
// WAL every few batches and then reporting "synced <batch>" on fd.
[[noreturn]] void IngestUntilKilled(const std::string& dir, int fd) {
  DBOptions opts;
  opts.wal_fsync_interval_ms = -1;  // only the explicit syncs below count as durable
  opts.wal_segment_bytes = 1 << 20;
  auto db = DB::Open(dir, opts);
  if (!db.ok()) _exit(3);
  std::vector<SeriesRef> refs(kCrashSeries, 0);
  for (int batch = 0;; ++batch) {
    auto app = (*db)->NewAppender();
    for (int s = 0; s < kCrashSeries; ++s) {
      auto r = app->Append(refs[s], CrashSeries(s), batch, batch * 1.5);
      if (!r.ok()) _exit(4);
      refs[s] = *r;
    }
    if (!app->Commit().ok()) _exit(5);
    if (batch % 10 == 0) {
      if (!(*db)->SyncWal().ok()) _exit(6);
      std::string line = "synced " + std::to_string(batch) + "\n";
      if (write(fd, line.data(), line.size()) < 0) _exit(7);
    }
  }
}

TEST(DurabilityTest, SigkillDuringIngestionKeepsEverySyncedSample) {
  TempDir dir;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    IngestUntilKilled(dir.path(), fds[1]);
  }
  close(fds[1]);
  FILE* in = fdopen(fds[0], "r");
  int last_synced = -1;
  char line[64];
  while (last_synced < 300 && std::fgets(line, sizeof(line), in) != nullptr) {
    std::sscanf(line, "synced %d", &last_synced);
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  std::fclose(in);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with " << WEXITSTATUS(status);
  ASSERT_GE(last_synced, 300);

  auto db = DB::Open(dir.path(), {});
  ASSERT_TRUE(db.ok()) << db.status();
  auto all = ReadAll(**db, {Eq("__name__", "load")});
  ASSERT_EQ(all.size(), static_cast<size_t>(kCrashSeries));
  for (const auto& [name, samples] : all) {
    // Every synced batch is there, in order, without gaps; later batches may be there too.
    ASSERT_GE(samples.size(), static_cast<size_t>(last_synced + 1)) << name;
    for (size_t i = 0; i < samples.size(); ++i) {
      ASSERT_EQ(samples[i].t, static_cast<int64_t>(i)) << name;
      ASSERT_EQ(samples[i].v, static_cast<double>(i) * 1.5) << name;
    }
  }
}

void WriteSamples(DB& db, int series, int from, int to) {
  auto app = db.NewAppender();
  for (int t = from; t < to; ++t) {
    for (int s = 0; s < series; ++s) {
      ASSERT_TRUE(app->Append(0, CrashSeries(s), t, t).ok());
    }
  }
  ASSERT_TRUE(app->Commit().ok());
}

std::string LastSegment(const std::string& dir) {
  std::string last;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/wal")) {
    last = std::max(last, e.path().string());
  }
  return last;
}

TEST(DurabilityTest, GarbageWalTailIsCutAndEarlierDataKept) {
  TempDir dir;
  {
    auto db = *DB::Open(dir.path(), {});
    for (int b = 0; b < 10; ++b) WriteSamples(*db, 10, b * 10, b * 10 + 10);
  }
  {
    std::ofstream out(LastSegment(dir.path()), std::ios::app | std::ios::binary);
    out << "this is not a WAL record at all";
  }
  std::vector<std::string> logs;
  DBOptions opts;
  opts.log = [&](std::string_view m) { logs.emplace_back(m); };
  {
    auto db = DB::Open(dir.path(), opts);
    ASSERT_TRUE(db.ok()) << db.status();
    EXPECT_EQ((*db)->stats().wal_corruptions.load(), 1u);
    auto all = ReadAll(**db, {Eq("__name__", "load")});
    ASSERT_EQ(all.size(), 10u);
    for (const auto& [n, samples] : all) EXPECT_EQ(samples.size(), 100u) << n;
    WriteSamples(**db, 10, 100, 110);
  }
  ASSERT_FALSE(logs.empty());
  std::string joined;
  for (const auto& l : logs) joined += l + "\n";
  EXPECT_NE(joined.find("offset"), std::string::npos) << joined;
  // The repaired log is clean: the next open finds no damage and has the new samples too.
  auto db = *DB::Open(dir.path(), {});
  EXPECT_EQ(db->stats().wal_corruptions.load(), 0u);
  for (const auto& [n, samples] : ReadAll(*db, {Eq("__name__", "load")})) {
    EXPECT_EQ(samples.size(), 110u) << n;
  }
}

TEST(DurabilityTest, TruncatedWalTailKeepsEverythingBeforeIt) {
  TempDir dir;
  {
    auto db = *DB::Open(dir.path(), {});
    for (int b = 0; b < 10; ++b) WriteSamples(*db, 10, b * 10, b * 10 + 10);
  }
  std::string seg = LastSegment(dir.path());
  auto size = std::filesystem::file_size(seg);
  std::filesystem::resize_file(seg, size - 7);  // cut into the last record
  auto db = DB::Open(dir.path(), {});
  ASSERT_TRUE(db.ok()) << db.status();
  auto all = ReadAll(**db, {Eq("__name__", "load")});
  ASSERT_EQ(all.size(), 10u);
  for (const auto& [n, samples] : all) {
    // Only the last commit (one record) is lost.
    EXPECT_EQ(samples.size(), 90u) << n;
    EXPECT_EQ(samples.back().t, 89);
  }
}

TEST(DurabilityTest, FullDiskFailsCommitsCleanlyAndRecovers) {
  TempDir dir;
  FaultInjectionEnv env;
  DBOptions opts;
  opts.env = &env;
  {
    auto db = *DB::Open(dir.path(), opts);
    WriteSamples(*db, 10, 0, 10);
    env.SetWriteLimit(100);  // the next commit crosses it
    auto app = db->NewAppender();
    for (int t = 10; t < 20; ++t) {
      for (int s = 0; s < 10; ++s) ASSERT_TRUE(app->Append(0, CrashSeries(s), t, t).ok());
    }
    absl::Status st = app->Commit();
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("No space left on device"), std::string::npos) << st;
    EXPECT_GE(db->stats().wal_write_failures.load(), 1u);
    // Nothing of the failed batch is visible.
    for (const auto& [n, samples] : ReadAll(*db, {Eq("__name__", "load")})) {
      EXPECT_EQ(samples.size(), 10u) << n;
    }
    // A new series cannot be created while the disk is full either, and says why.
    auto fresh = db->NewAppender();
    auto r = fresh->Append(0, Labels({{"__name__", "new_series"}}), 1, 1);
    EXPECT_FALSE(r.ok());
    env.ClearWriteLimit();
    WriteSamples(*db, 10, 20, 30);
  }
  auto db = *DB::Open(dir.path(), opts);
  for (const auto& [n, samples] : ReadAll(*db, {Eq("__name__", "load")})) {
    ASSERT_EQ(samples.size(), 20u) << n;
    EXPECT_EQ(samples[9].t, 9);
    EXPECT_EQ(samples[10].t, 20);
  }
}

TEST(DurabilityTest, PowerLossKeepsCommitsWhenFsyncIsAlways) {
  TempDir dir;
  FaultInjectionEnv env;
  DBOptions opts;
  opts.env = &env;
  opts.wal_fsync_interval_ms = 0;  // fsync every commit
  {
    auto db = *DB::Open(dir.path(), opts);
    WriteSamples(*db, 5, 0, 50);
    // Simulate losing power before Close syncs: drop what was not synced, then reopen.
    ASSERT_TRUE(env.DropUnsyncedData().ok());
    env.TearNextWrite(0);  // the "dead" process writes nothing more
  }
  env.ResetFaults();
  auto db = *DB::Open(dir.path(), opts);
  auto all = ReadAll(*db, {Eq("__name__", "load")});
  ASSERT_EQ(all.size(), 5u);
  for (const auto& [n, samples] : all) EXPECT_EQ(samples.size(), 50u) << n;
}

TEST(DurabilityTest, InterruptedCheckpointIsIgnored) {
  TempDir dir;
  {
    auto db = *DB::Open(dir.path(), {});
    WriteSamples(*db, 5, 0, 50);
  }
  // A checkpoint that never got renamed into place must not be read.
  std::filesystem::create_directories(dir.path() + "/checkpoint.00000007.tmp");
  std::ofstream(dir.path() + "/checkpoint.00000007.tmp/00000000") << "partial";
  auto db = DB::Open(dir.path(), {});
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/checkpoint.00000007.tmp"));
  for (const auto& [n, samples] : ReadAll(**db, {Eq("__name__", "load")})) {
    EXPECT_EQ(samples.size(), 50u) << n;
  }
}

TEST(DurabilityTest, DamagedCheckpointRefusesToStartWithAClearError) {
  TempDir dir;
  {
    auto db = *DB::Open(dir.path(), {});
    WriteSamples(*db, 5, 0, 50);
    ASSERT_TRUE(db->Checkpoint().ok());
  }
  std::string cp;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    if (e.path().filename().string().rfind("checkpoint.", 0) == 0) cp = e.path().string();
  }
  ASSERT_FALSE(cp.empty());
  std::string seg = cp + "/00000000";
  {
    std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(20);
    f.put('\x5a');
  }
  auto db = DB::Open(dir.path(), {});
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.status().message().find("checkpoint"), std::string::npos) << db.status();
}

}  // namespace
}  // namespace tsdb
