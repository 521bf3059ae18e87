// Env: every file-system and clock access of the storage engine goes through this seam, so tests
// can inject faults (a full disk, a failed fsync, a torn write) without touching the real disk.
//
// All methods are thread-safe. Errors are absl::Status values whose message names the path and the
// operating-system error, e.g. "write /data/wal/00000003: No space left on device".
#ifndef METRICS_ADAPTER_TSDB_ENV_H_
#define METRICS_ADAPTER_TSDB_ENV_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tsdb {

// A file open for appending. Not thread-safe: one writer at a time.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Appends data at the end of the file. On error the file may hold a prefix of data.
  virtual absl::Status Append(std::string_view data) = 0;
  // Flushes to stable storage (fdatasync).
  virtual absl::Status Sync() = 0;
  virtual absl::Status Close() = 0;
  // Bytes in the file, including everything appended through this handle.
  virtual uint64_t Size() const = 0;
};

// An exclusive advisory lock on a file, released when destroyed.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class Env {
 public:
  virtual ~Env() = default;

  // The process-wide real file system and clock. Never deleted.
  static Env* Default();

  // Opens path for appending, creating it when absent.
  virtual absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(
      const std::string& path) = 0;
  // Creates path, or truncates it when it exists.
  virtual absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path) = 0;
  // Reads a whole file into memory.
  virtual absl::StatusOr<std::string> ReadFile(const std::string& path) = 0;
  // Cuts a file to size bytes.
  virtual absl::Status Truncate(const std::string& path, uint64_t size) = 0;
  virtual absl::StatusOr<uint64_t> FileSize(const std::string& path) = 0;
  virtual bool FileExists(const std::string& path) = 0;
  // Names (not paths) of the entries of dir, sorted, without "." and "..".
  virtual absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir) = 0;
  // Creates dir and any missing parents; succeeds when dir already exists.
  virtual absl::Status CreateDirs(const std::string& dir) = 0;
  virtual absl::Status RemoveFile(const std::string& path) = 0;
  // Removes path and everything below it; succeeds when path is absent.
  virtual absl::Status RemoveAll(const std::string& path) = 0;
  // Atomically replaces to with from (files or directories).
  virtual absl::Status Rename(const std::string& from, const std::string& to) = 0;
  // Makes a directory's entries (creations, renames, removals) durable.
  virtual absl::Status SyncDir(const std::string& dir) = 0;
  // Takes an exclusive lock on path (created when absent). Fails at once when another process
  // holds it, with a message that says so.
  virtual absl::StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) = 0;

  // Wall-clock time in milliseconds since the Unix epoch.
  virtual int64_t NowMillis() = 0;
};

// Joins two path parts with exactly one '/'.
std::string JoinPath(std::string_view dir, std::string_view name);

}  // namespace tsdb

#endif  // METRICS_ADAPTER_TSDB_ENV_H_
