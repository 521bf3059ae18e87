// Codecs of the WAL and checkpoint record payloads. Every payload starts with a one-byte
// RecordKind; the rest is a batch of entries running to the end of the payload (no count, so a
// batch is just concatenated entries):
//
//   kSeries   per series: uvarint ref, uvarint label count, then per label
//             uvarint name length, name, uvarint value length, value.
//   kSamples  empty batch: nothing. Otherwise uvarint base ref, zigzag varint base t, then per
//             sample: zigzag varint (ref - base ref), zigzag varint (t - base t) (both with
//             wrapping 64-bit arithmetic), value as 8 bytes little-endian IEEE 754 (bit-exact,
//             so stale-marker NaNs survive). The base is the first sample.
//   kChunks   per chunk: uvarint ref, zigzag varint min_time, zigzag varint max_time, uvarint
//             num_samples (<= 65535), uvarint length, chunk bytes.
//
// Encoders replace the contents of *out (reusing its capacity); one call makes one record.
// Decoders clear *out (keeping its capacity) and fill it; they check every bound and fail with
// an InvalidArgument error naming the record kind, the entry and the byte offset for any
// malformed payload. After an error *out holds an unspecified prefix of the entries.
#ifndef METRICS_ADAPTER_TSDB_WAL_RECORDS_H_
#define METRICS_ADAPTER_TSDB_WAL_RECORDS_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "tsdb/labels.h"
#include "tsdb/storage.h"

namespace tsdb {

enum class RecordKind : uint8_t {
  kUnknown = 0,
  kSeries = 1,
  kSamples = 2,
  kChunks = 3,
};

// The kind of a payload; kUnknown for an empty payload or an unknown kind byte.
RecordKind GetRecordKind(std::string_view payload);

// A series created in the head: its ref and labels.
struct RefSeries {
  SeriesRef ref;
  Labels labels;
  friend bool operator==(const RefSeries&, const RefSeries&) = default;
};

struct RefSample {
  SeriesRef ref;
  int64_t t;
  double v;
};

// One encoded chunk of a series (checkpoints).
struct RefChunk {
  SeriesRef ref;
  int64_t min_time;
  int64_t max_time;
  uint16_t num_samples;
  std::string bytes;
  friend bool operator==(const RefChunk&, const RefChunk&) = default;
};

void EncodeSeries(std::span<const RefSeries> series, std::string* out);
void EncodeSamples(std::span<const RefSample> samples, std::string* out);
void EncodeChunks(std::span<const RefChunk> chunks, std::string* out);

// Label pairs are taken as stored (the encoder writes Labels, which are sorted and never hold an
// empty value); the decoder rebuilds Labels, which normalises anything odd.
absl::Status DecodeSeries(std::string_view payload, std::vector<RefSeries>* out);
absl::Status DecodeSamples(std::string_view payload, std::vector<RefSample>* out);
absl::Status DecodeChunks(std::string_view payload, std::vector<RefChunk>* out);

}  // namespace tsdb

#endif  // METRICS_ADAPTER_TSDB_WAL_RECORDS_H_
