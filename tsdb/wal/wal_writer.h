// WalWriter: appends records to a write-ahead log directory (format: tsdb/wal/format.h).
//
// Durability contract: a record handed to Log is in the operating system's page cache when Log
// returns OK, and on stable storage after the next successful Sync. Cutting a segment syncs the
// old one first, so the log on disk is always a prefix of what was written: a crash can only lose
// or tear records at the end of the newest segment, never leave a hole before later records.
//
// Failure contract: a failed write (a full disk, an I/O error) returns the Env's error, annotated
// with the segment and offset. The writer then cuts the segment back to the end of the last
// complete record, at once and, if that fails too, before the next Log/LogBatch/Sync/NextSegment,
// which fail until the cut succeeds. So a failed write never leaves half a record in front of
// later records, and the process never crashes over it.
//
// Thread-safety: none. The owner (the DB) serialises all calls under its own mutex; only
// SizeBytes() may be called concurrently with the others.
#ifndef METRICS_ADAPTER_TSDB_WAL_WAL_WRITER_H_
#define METRICS_ADAPTER_TSDB_WAL_WAL_WRITER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tsdb/env.h"

namespace tsdb {

struct WalWriterOptions {
  // A new segment is cut before a record that would make the current one larger than this
  // (unless the current one is empty: a record larger than this gets a segment of its own).
  uint64_t segment_bytes = 64 << 20;
  // Receives one line per repair made at open (a cut tail, a removed segment).
  std::function<void(std::string_view)> log = nullptr;
  // Compress payloads larger than wal::kCompressMinBytes with Snappy when that shrinks them.
  bool compress = true;

  // Which segments Open reads and checks. Segments numbered >= check_from_segment are read in
  // full; at the first damage found, that segment is cut at the end of its last good record and
  // every later segment is removed. Segments below are not looked at: pass the first segment not
  // covered by a checkpoint, so damage in segments about to be dropped costs nothing.
  // kCheckLastSegmentOnly checks only the newest segment (for an owner that has just read the
  // whole log itself and called WalWriter::Repair where it stopped).
  static constexpr int kCheckLastSegmentOnly = -1;
  int check_from_segment = 0;
};

// What Open repaired (all zero / empty when the log was intact).
struct WalRepairReport {
  int damaged_segment = -1;    // the segment that was cut, -1 for none
  uint64_t cut_offset = 0;     // where it was cut
  uint64_t dropped_bytes = 0;  // bytes cut from it plus the bytes of removed segments
  std::vector<int> removed_segments;
  std::string reason;  // what the reader found, e.g. "checksum mismatch"
  bool repaired() const { return damaged_segment >= 0; }
};

class WalWriter {
 public:
  // Opens the log in dir (created when absent): checks its segments as options say, repairs the
  // damage found (see WalWriterOptions::check_from_segment) and logs each repair, e.g.
  //   "wal segment 00000003: dropped 1234 bytes after offset 5678: checksum mismatch"
  // then appends to the newest segment (segment 0 for a new log). Fails on I/O errors only.
  static absl::StatusOr<std::unique_ptr<WalWriter>> Open(Env* env, std::string dir,
                                                         WalWriterOptions options);

  // Cuts segment at offset and removes every segment after it, logging what was dropped; reason
  // says why (as WalReader::corruption_reason()). Use after a WalReader stopped with corrupt():
  //   WalWriter::Repair(env, dir, reader.segment(), reader.offset(), reader.corruption_reason(),
  //                     log, &report);
  // Must not be called while a WalWriter has dir open.
  static absl::Status Repair(Env* env, const std::string& dir, int segment, uint64_t offset,
                             std::string_view reason,
                             const std::function<void(std::string_view)>& log,
                             WalRepairReport* report = nullptr);

  ~WalWriter();
  WalWriter(const WalWriter&) = delete;
  WalWriter& operator=(const WalWriter&) = delete;

  // Appends one record (any bytes, at most wal::kMaxRecordBytes), first cutting a new segment
  // when the current one is non-empty and the record would take it beyond segment_bytes.
  absl::Status Log(std::string_view record);
  // Appends records in order with a single write. They always go to one segment (cut before the
  // batch if needed), so a failed batch leaves none of them behind.
  absl::Status LogBatch(const std::vector<std::string>& records);
  // Makes everything logged so far durable.
  absl::Status Sync();
  // Syncs and closes the current segment and starts a new, empty one (see CurrentSegment()).
  // On failure the current segment stays in use.
  absl::Status NextSegment();
  // Removes the segments numbered below segment, oldest first; never the current one.
  absl::Status TruncateBefore(int segment);
  // Syncs and closes the log. Idempotent; later calls other than Close/SizeBytes/Segments fail.
  // The destructor closes without syncing.
  absl::Status Close();

  int CurrentSegment() const { return current_; }
  // The segments present, ascending (always contiguous, ending with CurrentSegment()).
  std::vector<int> Segments() const;
  // Total bytes of all segments.
  uint64_t SizeBytes() const { return total_bytes_.load(std::memory_order_relaxed); }
  const std::string& dir() const { return dir_; }
  // What Open repaired.
  const WalRepairReport& repair_report() const { return report_; }

 private:
  WalWriter(Env* env, std::string dir, WalWriterOptions options);

  absl::Status Init();
  // Opens a new empty segment n and makes it current (syncing and closing the previous one).
  absl::Status StartSegment(int n);
  // Appends framed bytes holding complete records to the current segment.
  absl::Status Write(std::string_view framed);
  // When a write failed: cuts the current segment back to its last complete record.
  absl::Status RecoverFromFailedWrite();
  absl::Status CheckUsable();
  // Appends the framed record (header + possibly compressed payload) to buf_.
  absl::Status Frame(std::string_view record, std::string* out);
  std::string SegmentPath(int n) const;

  Env* const env_;
  const std::string dir_;
  const WalWriterOptions options_;

  std::map<int, uint64_t> sizes_;  // closed segments -> bytes
  int current_ = -1;
  std::unique_ptr<WritableFile> file_;
  uint64_t current_size_ = 0;  // bytes of complete records in the current segment
  bool needs_recovery_ = false;
  bool closed_ = false;
  std::atomic<uint64_t> total_bytes_{0};

  std::string buf_;         // framed records of the write in progress
  std::string compressed_;  // Snappy output scratch
  WalRepairReport report_;
};

}  // namespace tsdb

#endif  // METRICS_ADAPTER_TSDB_WAL_WAL_WRITER_H_
