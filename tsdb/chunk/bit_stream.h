// Bit-granular writer and reader for the XOR chunk encoding (internal to tsdb/chunk).
//
// Bits are packed most-significant first: the first bit written is bit 7 of the first byte, as in
// Prometheus' bstream, so chunks are byte-for-byte compatible with its XOR format. Unused low bits
// of the last byte are zero.
//
// BitWriter is a short-lived view over a std::string owned by the chunk: the chunk keeps only the
// string and the number of free bits in its last byte, which keeps an open chunk small.
// BitReader never reads outside [data, data + size): every read is bounds-checked and reports
// failure instead, which is what lets a corrupt or truncated chunk end iteration with an error.
#ifndef METRICS_ADAPTER_TSDB_CHUNK_BIT_STREAM_H_
#define METRICS_ADAPTER_TSDB_CHUNK_BIT_STREAM_H_

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace tsdb {
namespace chunk_internal {

// Capacity to grow a chunk's buffer to once `capacity` bytes are used up: 1.5x, at least 32, and
// chosen so that the allocation (capacity + 1 for the string's terminator) is 16n + 8 bytes, a
// size glibc's malloc serves without slack. Geometric growth keeps appends amortised O(1) while
// over-allocating less than std::string's own doubling.
inline size_t NextChunkCapacity(size_t capacity) {
  size_t target = std::max<size_t>(32, capacity + capacity / 2);
  return ((target + 8) & ~size_t{15}) + 7;
}

class BitWriter {
 public:
  // Appends to *buf, whose last byte has `free_bits` (0..7) unused low bits.
  BitWriter(std::string* buf, uint8_t free_bits) : buf_(buf), free_(free_bits) {}

  // Free low bits in the last byte after the writes so far; store it for the next writer.
  uint8_t free_bits() const { return free_; }

  void WriteBit(bool bit) {
    if (free_ == 0) {
      Append(bit ? "\x80" : "\x00", 1);
      free_ = 7;
      return;
    }
    --free_;
    if (bit) Back() |= static_cast<unsigned char>(1u << free_);
  }

  // Writes the low `nbits` (0..64) bits of value, most significant first.
  void WriteBits(uint64_t value, int nbits) {
    if (nbits <= 0) return;
    if (nbits < 64) value &= (uint64_t{1} << nbits) - 1;
    if (nbits <= free_) {  // fits the partial last byte
      free_ = static_cast<uint8_t>(free_ - nbits);
      Back() |= static_cast<unsigned char>(value << free_);
      return;
    }
    if (free_ > 0) {  // top bits complete the last byte
      nbits -= free_;
      Back() |= static_cast<unsigned char>(value >> nbits);
      value &= (uint64_t{1} << nbits) - 1;  // nbits < 64 here
    }
    // The remaining 1..64 bits, left-aligned in whole new bytes.
    const int nbytes = (nbits + 7) / 8;
    const int shift = nbytes * 8 - nbits;
    char out[8];
    for (int i = 0; i < nbytes; ++i) {
      const int bit = (nbytes - 1 - i) * 8 - shift;  // lowest value bit in out[i]
      out[i] = static_cast<char>(bit >= 0 ? value >> bit : value << -bit);
    }
    Append(out, nbytes);
    free_ = static_cast<uint8_t>(shift);
  }

 private:
  void Append(const char* bytes, int n) {
    if (buf_->size() + n > buf_->capacity()) Grow(buf_->size() + n);
    for (int i = 0; i < n; ++i) buf_->push_back(bytes[i]);  // cheaper than append() for 1-9
  }
  // Grows by hand: std::string::reserve would round up to double the old capacity.
  [[gnu::noinline]] void Grow(size_t needed) {
    std::string grown;
    grown.reserve(std::max(needed, NextChunkCapacity(buf_->capacity())));
    grown.append(*buf_);
    buf_->swap(grown);
  }
  unsigned char& Back() { return reinterpret_cast<unsigned char&>(buf_->back()); }

  std::string* buf_;
  uint8_t free_;
};

class BitReader {
 public:
  BitReader() = default;
  BitReader(const char* data, size_t size)
      : data_(reinterpret_cast<const unsigned char*>(data)), size_(size) {}

  size_t bit_position() const { return pos_; }
  size_t bits_left() const { return size_ * 8 - pos_; }

  // Each Read returns false, consuming nothing, when fewer bits than asked for are left.
  bool ReadBit(uint64_t* bit) {
    if (pos_ >= size_ * 8) return false;
    *bit = (data_[pos_ >> 3] >> (7 - (pos_ & 7))) & 1u;
    ++pos_;
    return true;
  }

  // Reads `nbits` (1..64) bits, most significant first, into the low bits of *out.
  bool ReadBits(int nbits, uint64_t* out) {
    if (static_cast<size_t>(nbits) > bits_left()) return false;
    if (nbits > 56) {
      *out = ReadLong(nbits);
      return true;
    }
    *out = Peek(nbits);
    pos_ += nbits;
    return true;
  }

  // Unchecked variants for decoders that have made sure, once per record, that enough bits are
  // left (bits_left()); reading past the end is the caller's bug.
  // The next nbits (1..56) bits, not consumed.
  uint64_t PeekUnchecked(int nbits) const { return Peek(nbits); }
  void Skip(int nbits) { pos_ += static_cast<size_t>(nbits); }
  // Reads nbits (1..64) bits.
  uint64_t ReadUnchecked(int nbits) {
    if (nbits > 56) {
      // Values that compress badly (gauges) often need more than 56 bits: two words, no call.
      const size_t byte = pos_ >> 3;
      if (byte + 16 > size_) return ReadLong(nbits);
      const unsigned shift = pos_ & 7;
      const uint64_t window =
          (LoadWord(byte) << shift) | ((LoadWord(byte + 8) >> 1) >> (63 - shift));
      pos_ += static_cast<size_t>(nbits);
      return window >> (64 - nbits);
    }
    const uint64_t v = Peek(nbits);
    pos_ += static_cast<size_t>(nbits);
    return v;
  }

 private:
  // The 8 bytes from `byte` on as a big-endian word; they must exist.
  uint64_t LoadWord(size_t byte) const {
    uint64_t word;
    std::memcpy(&word, data_ + byte, 8);
    if constexpr (std::endian::native == std::endian::little) word = __builtin_bswap64(word);
    return word;
  }
  // The next nbits (1..56) bits; the caller has checked that they exist.
  uint64_t Peek(int nbits) const {
    const size_t byte = pos_ >> 3;
    uint64_t window;
    if (byte + 8 <= size_) {
      window = LoadWord(byte);
    } else {
      window = LoadTail(byte);
    }
    return (window << (pos_ & 7)) >> (64 - nbits);
  }
  // One 8-byte window holds at most 57 bits past an unaligned start: split longer reads.
  [[gnu::noinline]] uint64_t ReadLong(int nbits) {
    const uint64_t high = Peek(nbits - 32);
    pos_ += nbits - 32;
    const uint64_t low = Peek(32);
    pos_ += 32;
    return (high << 32) | low;
  }
  // The last bytes from `byte` on as a big-endian word, zero-padded on the right.
  [[gnu::noinline]] uint64_t LoadTail(size_t byte) const {
    uint64_t w = 0;
    for (size_t i = byte; i < byte + 8; ++i) w = (w << 8) | (i < size_ ? data_[i] : 0u);
    return w;
  }

  const unsigned char* data_ = nullptr;
  size_t size_ = 0;
  size_t pos_ = 0;  // in bits
};

}  // namespace chunk_internal
}  // namespace tsdb

#endif  // METRICS_ADAPTER_TSDB_CHUNK_BIT_STREAM_H_
