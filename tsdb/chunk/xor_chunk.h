// XorChunk: a compressed run of float samples of one series, in Prometheus' XOR chunk format
// (Gorilla-style delta-of-delta timestamps and XOR-compressed values), so a chunk written here is
// byte-for-byte what Prometheus writes for the same samples.
//
// Encoding:
//   2 bytes   big-endian sample count
//   sample 0  t as a signed (zigzag) varint, v as its raw 64 bits
//   sample 1  t - t0 as an unsigned varint, v XOR-encoded
//   sample n  dod = (t_n - t_n-1) - (t_n-1 - t_n-2), in the first bucket that holds it:
//               '0' (dod == 0) | '10' + 14 bits | '110' + 17 bits | '1110' + 20 bits
//               | '1111' + 64 bits   (an n-bit bucket holds -(2^(n-1) - 1) .. 2^(n-1))
//             then v XOR-encoded
//   XOR value x = bits(v) ^ bits(previous v):
//               '0' (x == 0)
//               '10' + the bits of x inside the previous leading/trailing-zero window
//               '11' + 5 bits leading zeros (capped at 31) + 6 bits significant-bit count
//                    (64 is written as 0) + the significant bits; this becomes the new window
// The bit stream is packed most significant bit first; the last byte is zero-padded.
//
// Values round-trip bit-exactly (NaN payloads such as the staleness marker, -0.0, infinities,
// denormals). All timestamp arithmetic is modulo 2^64, so any strictly increasing int64 sequence
// round-trips, including jumps that overflow int64 differences.
//
// Thread-safety: none; a chunk is guarded by its series' lock. Iterators over a chunk's bytes are
// independent of it once they own a copy (see XorIterator).
#ifndef METRICS_ADAPTER_TSDB_CHUNK_XOR_CHUNK_H_
#define METRICS_ADAPTER_TSDB_CHUNK_XOR_CHUNK_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tsdb/chunk/bit_stream.h"
#include "tsdb/storage.h"

namespace tsdb {

class XorChunk;

// Decodes a chunk's samples in order. A corrupt or truncated stream ends iteration (Next and Seek
// return false) with a non-OK status() naming the sample index and bit offset; the iterator never
// reads outside its bytes. Samples returned before the error are the ones encoded there.
// Decoded timestamps are checked to be strictly increasing, so a damaged chunk cannot present
// samples out of order.
class XorIterator final : public SampleIterator {
 public:
  // Borrows `bytes` (a whole chunk, header included): they must outlive the iterator and not
  // change while it is used.
  explicit XorIterator(std::string_view bytes);
  // Owns `bytes`: use this to take a private copy out from under a lock and decode later.
  // Note that passing a std::string lvalue selects this overload and copies it; wrap it in
  // std::string_view to borrow instead.
  explicit XorIterator(std::string bytes);

  // Copies continue independently from the same position; copies of an owning iterator share
  // its immutable bytes.
  XorIterator(const XorIterator&) = default;
  XorIterator& operator=(const XorIterator&) = default;
  XorIterator(XorIterator&&) noexcept = default;
  XorIterator& operator=(XorIterator&&) noexcept = default;
  ~XorIterator() override = default;

  // Advances to the next sample; false at the end or on a decoding error (see status()).
  bool Next() override;
  // Advances to the first sample with timestamp >= t; stays on the current sample when it
  // already qualifies, never moves backwards. False (for good) when no such sample is left.
  bool Seek(int64_t t) override;
  // Bulk form of a Next() loop for readers that copy samples out: decodes from the next sample
  // on, appends those with mint <= t <= maxt to *out (skipping earlier ones) and stops after the
  // first sample past maxt (returns true; it is then the current sample), or at the end or a
  // decoding error (returns false, with status() as Next leaves it). Keeps the decoder state in
  // registers instead of going through a call per sample. Needs mint <= maxt.
  bool AppendRange(int64_t mint, int64_t maxt, std::vector<Sample>* out);
  // The current sample; meaningful only after Next or Seek returned true.
  Sample At() const override { return Sample{t_, std::bit_cast<double>(v_bits_)}; }
  // OK unless the stream was found corrupt or truncated.
  absl::Status status() const { return status_; }

  // Samples the header announces, and samples decoded so far.
  int num_samples() const { return total_; }
  int num_read() const { return read_; }

 private:
  friend class XorChunk;

  // The decoder of the bulk of a chunk (defined in the .cc), working on a copy of the state
  // below held in locals; Resume takes its state back.
  struct FastDecoder;
  FastDecoder Suspend() const;
  void Resume(const FastDecoder& d);

  void Init();
  bool Fail(std::string_view what);
  bool ReadVarint(uint64_t* out);
  bool ReadValue();

  // The bytes when owning. Held on the heap and never modified, so data_ and reader_ stay valid
  // when the iterator is moved or copied.
  std::shared_ptr<const std::string> owned_;
  std::string_view data_;
  chunk_internal::BitReader reader_;
  absl::Status status_;
  int total_ = 0;
  int read_ = 0;
  bool done_ = false;
  int64_t t_ = 0;
  uint64_t t_delta_ = 0;
  uint64_t v_bits_ = 0;
  uint8_t leading_ = 0;
  uint8_t trailing_ = 0;
  bool window_set_ = false;
};

class XorChunk {
 public:
  // Prometheus' head chunk cut rule: a chunk is full (and the caller starts a new one) at 120
  // samples, or at 1 KiB of encoded bytes for series whose values compress badly.
  static constexpr int kMaxSamplesPerChunk = 120;
  static constexpr size_t kMaxBytesPerChunk = 1024;
  // The 2-byte header bounds a chunk to this many samples.
  static constexpr int kSampleCountLimit = 65535;

  // An empty chunk: only the 2-byte header, no heap allocation.
  XorChunk();

  // Adopts encoded bytes (e.g. read from disk or the WAL checkpoint). Decodes them completely:
  // fails with DataLoss naming the sample and bit offset when the header or stream is damaged,
  // when bytes follow the last sample or its padding bits are not zero. On success the chunk
  // can be appended to, continuing the stream exactly as if it had been built here.
  // The format carries no checksum (the chunk file or WAL record around it does): damage to value
  // bits decodes as different values, and as zero padding bits decode as repeats of the last
  // interval and value, a sample count inflated by up to 3 can go unnoticed.
  static absl::StatusOr<XorChunk> FromBytes(std::string bytes);

  const std::string& bytes() const { return bytes_; }
  int num_samples() const { return num_samples_; }
  size_t size_bytes() const { return bytes_.size(); }
  // Bytes of memory held: the object plus its heap buffer (capacity, not just size).
  size_t allocated_bytes() const;

  // First and last timestamps; an empty chunk has min_time() == kMaxTime and
  // max_time() == kMinTime (an empty range).
  int64_t min_time() const;
  int64_t max_time() const { return num_samples() == 0 ? kMinTime : t_; }

  // Appends a sample. Precondition, checked by the caller: the chunk is empty or
  // t > max_time(). A sample violating it, or beyond kSampleCountLimit, is refused (returns
  // false, chunk unchanged) rather than making the stream undecodable.
  bool Append(int64_t t, double v);

  // True once the chunk should be cut (kMaxSamplesPerChunk or kMaxBytesPerChunk reached).
  bool Full() const;

  // Releases spare capacity; call when the chunk is closed (no more appends expected).
  void ShrinkToFit() { bytes_.shrink_to_fit(); }

  // An iterator borrowing bytes(): invalidated by Append, ShrinkToFit and destruction. For an
  // iterator that outlives the chunk use XorIterator(std::string(chunk.bytes())).
  XorIterator Iterator() const { return XorIterator(std::string_view(bytes_)); }

 private:
  void WriteValue(chunk_internal::BitWriter* w, uint64_t v_bits);

  static constexpr uint8_t kNoWindow = 0xff;

  // Appender state, kept small (sizeof(XorChunk) is 64 bytes on LP64): the last timestamp, the
  // last timestamp delta, the last value's bits, the XOR window, the free bits of the last byte
  // and the sample count.
  std::string bytes_;
  int64_t t_ = 0;
  uint64_t t_delta_ = 0;
  uint64_t v_bits_ = 0;
  uint8_t leading_ = kNoWindow;
  uint8_t trailing_ = 0;
  uint8_t free_bits_ = 0;
  uint16_t num_samples_ = 0;  // mirrors the header; read on every Append, cheaper than the heap
};

}  // namespace tsdb

#endif  // METRICS_ADAPTER_TSDB_CHUNK_XOR_CHUNK_H_
