// WalReader: reads the records of a write-ahead log (see tsdb/wal/format.h) in order, checking
// every checksum, and says precisely where and why it stopped when the log is damaged.
//
//   WalReader reader = WalReader::ForDir(env, dir, first, WalReader::kLastSegment);
//   std::string_view rec;
//   while (reader.Next(&rec)) Apply(rec);
//   if (!reader.status().ok()) { ... reader.segment(), reader.offset() ... }
//
// Segments are read whole into memory (one Env::ReadFile each), and records are returned as views
// into that buffer, or into a reused decompression buffer, so replay allocates per segment, not
// per record.
//
// Not thread-safe. The reader does not see records appended to a segment after it loaded it.
#ifndef METRICS_ADAPTER_TSDB_WAL_WAL_READER_H_
#define METRICS_ADAPTER_TSDB_WAL_WAL_READER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tsdb/env.h"

namespace tsdb {

// Numbers of the segment files of a WAL directory, ascending. Other entries are ignored.
absl::StatusOr<std::vector<int>> ListWalSegments(Env* env, const std::string& dir);

class WalReader {
 public:
  static constexpr int kFirstSegment = -1;
  static constexpr int kLastSegment = -1;

  // Reads the segments numbered within [first, last] of dir (kFirstSegment / kLastSegment: no
  // bound). The segments found in that range must be contiguous; a missing one in between ends
  // reading with a DataLoss error at the end of the segment before the gap. Whether the range
  // starts at first is not checked (segments below the first present one may have been removed).
  static WalReader ForDir(Env* env, std::string dir, int first = kFirstSegment,
                          int last = kLastSegment);
  // Reads one file in the segment format (a checkpoint); reported as segment 0 named by path.
  static WalReader ForFile(Env* env, std::string path);
  // Reads records from memory (tests, fuzzing). data must outlive the reader.
  static WalReader ForBuffer(std::string_view data, std::string name = "buffer");

  WalReader(WalReader&&) = default;
  WalReader& operator=(WalReader&&) = default;

  // Advances to the next record and points *record at its (decompressed) payload, valid until the
  // next call or until the reader is moved or destroyed. Returns false at the end of the log or on
  // the first error; see status().
  bool Next(std::string_view* record);

  // OK while reading and at a clean end. Otherwise why reading stopped: a DataLoss error naming
  // the segment, the byte offset of the bad record and the problem, e.g.
  //   "wal segment 00000003 offset 5678: checksum mismatch"
  // or the Env's error when a segment could not be listed or read.
  const absl::Status& status() const { return status_; }

  // True when status() is a DataLoss error, i.e. the log itself is damaged (as opposed to an I/O
  // error). The log is then good up to (segment(), offset()).
  bool corrupt() const { return corrupt_; }
  // Just the problem of a DataLoss error, e.g. "checksum mismatch" ("" when there is none).
  const std::string& corruption_reason() const { return reason_; }

  // The segment being read (the one holding the last record returned, or the one where reading
  // stopped); -1 before the first segment is opened.
  int segment() const { return segment_; }
  // The byte offset within segment() just past the last good record, i.e. where a damaged tail
  // begins and where the segment should be cut to repair it.
  uint64_t offset() const { return pos_; }
  // Size in bytes of segment() as read.
  uint64_t segment_size() const { return Data().size(); }
  // Number of records returned so far.
  uint64_t records_read() const { return records_; }

 private:
  enum class Mode { kDir, kFile, kBuffer };
  WalReader(Mode mode, Env* env, std::string location, int first, int last);

  // Moves to the next segment; false at the end or on error (status_ set in that case).
  bool OpenNextSegment();
  // Stops with a DataLoss error at the current position.
  bool Corrupt(std::string reason);
  std::string SegmentLabel() const;
  std::string_view Data() const { return mode_ == Mode::kBuffer ? external_ : owned_; }

  Mode mode_;
  Env* env_;
  std::string location_;  // directory, file path or buffer name
  int first_;
  int last_;

  bool listed_ = false;
  std::vector<int> segments_;  // kDir: segments to read
  size_t next_index_ = 0;      // index into segments_ of the next segment to open
  bool done_ = false;          // no more records: clean end or error

  int segment_ = -1;
  std::string owned_;          // contents of the current segment (kDir, kFile)
  std::string_view external_;  // the data (kBuffer)
  uint64_t pos_ = 0;           // end of the last good record in the current segment
  bool in_segment_ = false;

  std::string scratch_;  // decompressed payload, reused
  uint64_t records_ = 0;

  absl::Status status_;
  bool corrupt_ = false;
  std::string reason_;
};

}  // namespace tsdb

#endif  // METRICS_ADAPTER_TSDB_WAL_WAL_READER_H_
