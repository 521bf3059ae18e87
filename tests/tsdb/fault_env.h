// FaultInjectionEnv: an Env for tests that passes everything to a real Env (Env::Default()) and
// can make it misbehave the way disks and crashes do:
//
//   - a full disk: writes succeed for N more bytes in total, then the write crossing the limit
//     stores its prefix up to the limit and fails with ResourceExhausted ("No space left on
//     device"), as write(2) does on a real full disk; later writes fail without storing anything;
//   - failing Sync (and SyncDir), file creation, reads, renames or removals;
//   - a torn write: the next append stores only a prefix of its data, and the "process dies":
//     every later mutating call fails with Unavailable until Revive();
//   - power loss: DropUnsyncedData() cuts every file written through this Env back to its last
//     synced size and removes files created since their directory was last synced.
//
// Faults apply only to paths containing the filter substring (SetPathFilter, default: all).
// Reads and listings are never affected except by SetFailReads. Thread-safe.
#ifndef METRICS_ADAPTER_TESTS_TSDB_FAULT_ENV_H_
#define METRICS_ADAPTER_TESTS_TSDB_FAULT_ENV_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tsdb/env.h"

namespace tsdb {

class FaultInjectionEnv : public Env {
 public:
  explicit FaultInjectionEnv(Env* base = Env::Default());

  // Faults only hit paths containing substring ("" = every path).
  void SetPathFilter(std::string substring);
  // Appends may store bytes more bytes in total, then fail (see above). Negative: no limit.
  void SetWriteLimit(int64_t bytes);
  void ClearWriteLimit() { SetWriteLimit(-1); }
  void SetFailSync(bool fail);      // WritableFile::Sync and SyncDir
  void SetFailCreate(bool fail);    // NewWritableFile, NewAppendableFile, CreateDirs
  void SetFailReads(bool fail);     // ReadFile
  void SetFailRename(bool fail);    // Rename
  void SetFailRemove(bool fail);    // RemoveFile, RemoveAll
  void SetFailTruncate(bool fail);  // Truncate
  // The next append (to a matching path) stores only its first keep bytes and fails; from then
  // on the Env behaves as if the process had died until Revive().
  void TearNextWrite(size_t keep);
  bool crashed() const;
  // Clears the crashed state.
  void Revive();
  // Clears every fault (limit, failures, tear, crash, filter); keeps the sync tracking.
  void ResetFaults();

  // Simulates power loss (see above). Call with no file open for writing through this Env.
  absl::Status DropUnsyncedData();

  // Counters, for tests of sync policies.
  uint64_t syncs() const;
  uint64_t bytes_written() const;
  uint64_t failed_writes() const;

  // Env.
  absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) override;
  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  absl::StatusOr<std::string> ReadFile(const std::string& path) override;
  absl::Status Truncate(const std::string& path, uint64_t size) override;
  absl::StatusOr<uint64_t> FileSize(const std::string& path) override;
  bool FileExists(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir) override;
  absl::Status CreateDirs(const std::string& dir) override;
  absl::Status RemoveFile(const std::string& path) override;
  absl::Status RemoveAll(const std::string& path) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  absl::Status SyncDir(const std::string& dir) override;
  absl::StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) override;
  int64_t NowMillis() override;

 private:
  class File;
  friend class File;

  struct Tracked {
    uint64_t synced_size = 0;
    bool entry_durable = true;  // false while created and its directory not synced since
  };

  bool MatchesLocked(std::string_view path) const;
  // Unavailable when crashed (and path matches).
  absl::Status CheckCrashLocked(std::string_view path) const;
  absl::StatusOr<std::unique_ptr<WritableFile>> Wrap(
      const std::string& path, absl::StatusOr<std::unique_ptr<WritableFile>> base);
  absl::Status FileAppend(const std::string& path, WritableFile* base, std::string_view data);
  absl::Status FileSync(const std::string& path, WritableFile* base);

  Env* const base_;
  mutable std::mutex mu_;
  std::string filter_;
  int64_t write_limit_ = -1;
  bool fail_sync_ = false;
  bool fail_create_ = false;
  bool fail_reads_ = false;
  bool fail_rename_ = false;
  bool fail_remove_ = false;
  bool fail_truncate_ = false;
  bool tear_pending_ = false;
  size_t tear_keep_ = 0;
  bool crashed_ = false;
  uint64_t syncs_ = 0;
  uint64_t bytes_written_ = 0;
  uint64_t failed_writes_ = 0;
  std::map<std::string, Tracked> tracked_;
};

}  // namespace tsdb

#endif  // METRICS_ADAPTER_TESTS_TSDB_FAULT_ENV_H_
