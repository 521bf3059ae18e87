// The on-disk format of the write-ahead log, shared by WalWriter and WalReader.
//
// A WAL is a directory of segment files named by their number in 8-digit zero-padded decimal
// (00000000, 00000001, ...). Numbers only grow; the segments present always form one contiguous
// range, because old segments are removed from the low end only (WalWriter::TruncateBefore) and
// a damaged tail from the high end only (repair at open).
//
// A segment is a plain sequence of records, with no block structure or padding:
//
//   +-----------+-------------+--------+---------------------+
//   | crc : 4   | length : 4  | type:1 | payload : length    |
//   +-----------+-------------+--------+---------------------+
//
//   crc     zlib crc32 of the type byte followed by the payload, little-endian. The type byte
//           sits right before the payload, so one crc32 call covers both.
//   length  bytes of payload as stored (after compression), little-endian, <= kMaxRecordBytes.
//   type    low 7 bits: kFullRecord (the only kind of framing; records are never fragmented).
//           bit 7 (kSnappyFlag): the payload is Snappy-compressed. Type 0 is never written, so
//           a zero-filled tail (a preallocated or half-flushed file) never parses as a record.
//
// The writer compresses payloads larger than kCompressMinBytes when Snappy makes them smaller.
// A record is always written with a single append, so a crash or a full disk can only damage the
// last record of the last segment; the reader reports where the last good record ends and the
// writer cuts the segment there when it opens.
#ifndef METRICS_ADAPTER_TSDB_WAL_FORMAT_H_
#define METRICS_ADAPTER_TSDB_WAL_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace tsdb::wal {

inline constexpr size_t kHeaderSize = 4 + 4 + 1;

inline constexpr uint8_t kFullRecord = 1;
inline constexpr uint8_t kSnappyFlag = 0x80;
inline constexpr uint8_t kTypeMask = 0x7f;

// Payloads larger than this are offered to Snappy.
inline constexpr size_t kCompressMinBytes = 1024;

// Upper bound of a payload, stored or uncompressed. Bounds the memory a corrupt length field can
// make the reader allocate.
inline constexpr uint64_t kMaxRecordBytes = uint64_t{256} << 20;

// Snappy never expands data by more than this factor when decompressing (its densest element, a
// 3-byte copy, yields 64 bytes). A claimed uncompressed length above compressed * this is corrupt.
inline constexpr uint64_t kMaxSnappyExpansion = 24;

// Segment numbers fit 8 decimal digits in practice; the name grows when they do not.
inline std::string SegmentName(int segment) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%08d", segment);
  return buf;
}

// Parses a segment file name; false for anything that SegmentName would not have produced
// (other files in the directory are ignored).
inline bool ParseSegmentName(std::string_view name, int* segment) {
  if (name.size() < 8 || name.size() > 10) return false;
  int64_t n = 0;
  for (char c : name) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  if (n > 0x7fffffff) return false;
  if (SegmentName(static_cast<int>(n)) != name) return false;
  *segment = static_cast<int>(n);
  return true;
}

}  // namespace tsdb::wal

#endif  // METRICS_ADAPTER_TSDB_WAL_FORMAT_H_
