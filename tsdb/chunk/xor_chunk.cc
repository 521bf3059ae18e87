#include "tsdb/chunk/xor_chunk.h"

#include <bit>
#include <string>
#include <utility>

#include "absl/strings/str_format.h"

namespace tsdb {
namespace {

using chunk_internal::BitWriter;

constexpr size_t kHeaderBytes = 2;

// Payload widths of the delta-of-delta buckets '10', '110', '1110', '1111'.
constexpr int kDodBits[] = {0, 14, 17, 20, 64};

// Whether x fits the n-bit bucket: -(2^(n-1) - 1) .. 2^(n-1). The range is the one Prometheus
// uses; the reader maps raw values above 2^(n-1) to negatives.
constexpr bool InBucket(int64_t x, int n) {
  const int64_t half = int64_t{1} << (n - 1);
  return x >= -(half - 1) && x <= half;
}

constexpr uint64_t LowBits(uint64_t x, int n) { return x & ((uint64_t{1} << n) - 1); }

void WriteUvarint(BitWriter* w, uint64_t x) {
  while (x >= 0x80) {
    w->WriteBits((x & 0x7f) | 0x80, 8);
    x >>= 7;
  }
  w->WriteBits(x, 8);
}

int HeaderCount(std::string_view bytes) {
  return (static_cast<unsigned char>(bytes[0]) << 8) | static_cast<unsigned char>(bytes[1]);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// XorIterator

XorIterator::XorIterator(std::string_view bytes) : data_(bytes) { Init(); }

XorIterator::XorIterator(std::string bytes)
    : owned_(std::make_shared<const std::string>(std::move(bytes))), data_(*owned_) {
  Init();
}

void XorIterator::Init() {
  if (data_.size() < kHeaderBytes) {
    status_ = absl::DataLossError(absl::StrFormat(
        "XOR chunk of %d bytes is shorter than its %d-byte header", data_.size(), kHeaderBytes));
    done_ = true;
    return;
  }
  total_ = HeaderCount(data_);
  reader_ = chunk_internal::BitReader(data_.data() + kHeaderBytes, data_.size() - kHeaderBytes);
}

bool XorIterator::Fail(std::string_view what) {
  status_ = absl::DataLossError(
      absl::StrFormat("corrupt XOR chunk: sample index %d of %d: %s (at bit %d of %d)", read_,
                      total_, what, kHeaderBytes * 8 + reader_.bit_position(), data_.size() * 8));
  done_ = true;
  return false;
}

bool XorIterator::ReadVarint(uint64_t* out) {
  uint64_t result = 0;
  for (int i = 0; i < 10; ++i) {
    uint64_t byte;
    if (!reader_.ReadBits(8, &byte)) return Fail("stream ends inside a timestamp varint");
    if (i == 9 && byte > 1) return Fail("timestamp varint overflows 64 bits");
    result |= (byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      *out = result;
      return true;
    }
  }
  return Fail("timestamp varint longer than 10 bytes");  // not reached: caught at i == 9
}

bool XorIterator::ReadValue() {
  uint64_t bit;
  if (!reader_.ReadBit(&bit)) return Fail("stream ends before a value");
  if (bit == 0) return true;  // same value as before
  if (!reader_.ReadBit(&bit)) return Fail("stream ends inside a value");
  uint8_t leading = leading_;
  uint8_t trailing = trailing_;
  if (bit == 0) {
    if (!window_set_) return Fail("value reuses a leading/trailing-zero window before any was set");
  } else {
    uint64_t header;
    if (!reader_.ReadBits(11, &header)) return Fail("stream ends inside a value's window header");
    int lead = static_cast<int>(header >> 6);
    int sig = static_cast<int>(header & 63);
    if (sig == 0) sig = 64;  // 64 significant bits do not fit 6 bits and are written as 0
    if (lead + sig > 64) {
      return Fail(
          absl::StrFormat("value window of %d leading zeros and %d significant bits", lead, sig));
    }
    leading = static_cast<uint8_t>(lead);
    trailing = static_cast<uint8_t>(64 - lead - sig);
  }
  const int sig = 64 - leading - trailing;
  uint64_t bits;
  if (!reader_.ReadBits(sig, &bits)) return Fail("stream ends inside a value's bits");
  v_bits_ ^= bits << trailing;
  leading_ = leading;
  trailing_ = trailing;
  window_set_ = true;
  return true;
}

// The most bits a sample after the second can take: a 4-bit delta-of-delta prefix and 64 bits,
// then 2 control bits, an 11-bit window header and 64 value bits.
constexpr size_t kMaxSampleBits = 4 + 64 + 2 + 11 + 64;

// The state of the unchecked decoder for the bulk of a chunk, held in locals by its callers so
// that it stays in registers.
struct XorIterator::FastDecoder {
  chunk_internal::BitReader r;
  int64_t t;
  uint64_t t_delta;
  uint64_t v_bits;
  uint8_t leading;
  uint8_t trailing;
  bool window_set;

  // Decodes the next sample after the second; at least kMaxSampleBits must be left. A sample's
  // fields are taken from one 56-bit window of the stream while they fit in it (a regular
  // timestamp and a value of up to about 50 significant bits do) instead of one load per field.
  // Decodes exactly as XorIterator's checked path: on a damaged stream returns false with *error
  // set and the reader just past the field that is wrong, the rest of the state unchanged.
  [[gnu::always_inline]] bool Step(std::string* error) {
    uint64_t w = r.PeekUnchecked(56) << 8;  // left-aligned
    int used = 0;                           // bits of w consumed
    const int ones = std::countl_one(static_cast<uint8_t>((w >> 60) << 4));
    uint64_t dod = 0;
    if (ones == 0) {
      used = 1;
    } else if (ones < 4) {
      const int n = kDodBits[ones];
      used = ones + 1;
      dod = (w << used) >> (64 - n);
      used += n;
      if (dod > (uint64_t{1} << (n - 1))) dod -= uint64_t{1} << n;
    } else {
      r.Skip(4);
      dod = r.ReadUnchecked(64);
      w = r.PeekUnchecked(56) << 8;
    }
    const uint64_t delta = t_delta + dod;
    const int64_t next_t = static_cast<int64_t>(static_cast<uint64_t>(t) + delta);
    if (next_t <= t) {
      r.Skip(used);
      *error = absl::StrFormat("timestamp %d does not follow the previous one, %d", next_t, t);
      return false;
    }
    const uint64_t control = (w << used) >> 62;
    if ((control & 2) == 0) {
      r.Skip(used + 1);  // same value as before
    } else {
      used += 2;
      uint8_t lead_zeros = leading;
      uint8_t trail_zeros = trailing;
      if ((control & 1) == 0) {
        if (!window_set) {
          r.Skip(used);
          *error = "value reuses a leading/trailing-zero window before any was set";
          return false;
        }
      } else {
        const uint64_t header = (w << used) >> 53;
        used += 11;
        const int lead = static_cast<int>(header >> 6);
        int sig = static_cast<int>(header & 63);
        if (sig == 0) sig = 64;
        if (lead + sig > 64) {
          r.Skip(used);
          *error = absl::StrFormat("value window of %d leading zeros and %d significant bits", lead,
                                   sig);
          return false;
        }
        lead_zeros = static_cast<uint8_t>(lead);
        trail_zeros = static_cast<uint8_t>(64 - lead - sig);
      }
      const int n = 64 - lead_zeros - trail_zeros;
      if (used + n <= 56) {
        v_bits ^= ((w << used) >> (64 - n)) << trail_zeros;
        r.Skip(used + n);
      } else {
        r.Skip(used);
        v_bits ^= r.ReadUnchecked(n) << trail_zeros;
      }
      leading = lead_zeros;
      trailing = trail_zeros;
      window_set = true;
    }
    t = next_t;
    t_delta = delta;
    return true;
  }
};

XorIterator::FastDecoder XorIterator::Suspend() const {
  return FastDecoder{reader_, t_, t_delta_, v_bits_, leading_, trailing_, window_set_};
}

void XorIterator::Resume(const FastDecoder& d) {
  reader_ = d.r;
  t_ = d.t;
  t_delta_ = d.t_delta;
  v_bits_ = d.v_bits;
  leading_ = d.leading;
  trailing_ = d.trailing;
  window_set_ = d.window_set;
}

bool XorIterator::Next() {
  // Fast path for the bulk of a chunk: when a whole sample's worth of bits is left, the reads need
  // no bounds checks. Decodes exactly as the checked path below (same results, same errors at the
  // same bit positions).
  if (read_ >= 2 && read_ < total_ && !done_ && reader_.bits_left() >= kMaxSampleBits) {
    FastDecoder d = Suspend();
    std::string error;
    const bool ok = d.Step(&error);
    Resume(d);  // on failure only the reader moved
    if (!ok) return Fail(error);
    ++read_;
    return true;
  }
  if (done_) return false;
  if (read_ == total_) {
    done_ = true;
    return false;
  }
  if (read_ == 0) {
    uint64_t zigzag;
    if (!ReadVarint(&zigzag)) return false;
    uint64_t v_bits;
    if (!reader_.ReadBits(64, &v_bits)) return Fail("stream ends inside the first value");
    t_ = static_cast<int64_t>(zigzag >> 1) ^ -static_cast<int64_t>(zigzag & 1);
    v_bits_ = v_bits;
    ++read_;
    return true;
  }

  uint64_t delta;
  if (read_ == 1) {
    if (!ReadVarint(&delta)) return false;
  } else {
    int ones = 0;
    while (ones < 4) {
      uint64_t bit;
      if (!reader_.ReadBit(&bit)) return Fail("stream ends inside a timestamp");
      if (bit == 0) break;
      ++ones;
    }
    uint64_t dod = 0;
    if (ones > 0) {
      const int n = kDodBits[ones];
      if (!reader_.ReadBits(n, &dod)) return Fail("stream ends inside a timestamp");
      // Raw values above 2^(n-1) are negative (two's complement in n bits); the subtraction
      // wraps modulo 2^64 to the same bits as the int64 value.
      if (n < 64 && dod > (uint64_t{1} << (n - 1))) dod -= uint64_t{1} << n;
    }
    delta = t_delta_ + dod;
  }
  const int64_t t = static_cast<int64_t>(static_cast<uint64_t>(t_) + delta);
  if (t <= t_) {
    return Fail(absl::StrFormat("timestamp %d does not follow the previous one, %d", t, t_));
  }
  if (!ReadValue()) return false;
  t_ = t;
  t_delta_ = delta;
  ++read_;
  return true;
}

bool XorIterator::AppendRange(int64_t mint, int64_t maxt, std::vector<Sample>* out) {
  // The first two samples have their own encodings: the checked path.
  while (!done_ && read_ < 2 && read_ < total_) {
    if (!Next()) return false;
    if (t_ < mint) continue;
    if (t_ > maxt) return true;
    out->push_back(At());
  }
  // The bulk of the chunk, as Next's fast path, with the state in locals.
  FastDecoder d = Suspend();
  int read = read_;
  const int total = total_;
  // Samples are staged in a small local buffer and appended in batches: no per-sample capacity
  // check through *out, and no zero-filled room reserved for samples that fall outside the range.
  constexpr int kBatch = 64;
  Sample buf[kBatch];
  int buffered = 0;
  auto flush = [&] {
    out->insert(out->end(), buf, buf + buffered);
    buffered = 0;
  };
  auto store = [&] {
    flush();
    Resume(d);
    read_ = read;
  };
  std::string error;
  while (!done_ && read < total && d.r.bits_left() >= kMaxSampleBits) {
    if (!d.Step(&error)) {
      store();
      return Fail(error);
    }
    ++read;
    if (d.t < mint) continue;
    if (d.t > maxt) {
      store();
      return true;
    }
    buf[buffered++] = Sample{d.t, std::bit_cast<double>(d.v_bits)};
    if (buffered == kBatch) flush();
  }
  store();
  // The last samples of the chunk: the checked path.
  while (Next()) {
    if (t_ < mint) continue;
    if (t_ > maxt) return true;
    out->push_back(At());
  }
  return false;
}

bool XorIterator::Seek(int64_t t) {
  if (done_) return false;
  while (read_ == 0 || t_ < t) {
    if (!Next()) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// XorChunk

XorChunk::XorChunk() : bytes_(kHeaderBytes, '\0') {}

absl::StatusOr<XorChunk> XorChunk::FromBytes(std::string bytes) {
  XorIterator it{std::string_view(bytes)};
  while (it.Next()) {
  }
  if (!it.status().ok()) return it.status();

  const size_t used_bits = it.reader_.bit_position();
  const size_t used_bytes = kHeaderBytes + (used_bits + 7) / 8;
  if (used_bytes != bytes.size()) {
    return absl::DataLossError(
        absl::StrFormat("corrupt XOR chunk: %d bytes follow the last of %d samples at byte %d",
                        bytes.size() - used_bytes, it.total_, used_bytes));
  }
  const uint8_t free_bits = static_cast<uint8_t>((8 - used_bits % 8) % 8);
  if (free_bits != 0 && (static_cast<unsigned char>(bytes.back()) & ((1u << free_bits) - 1)) != 0) {
    return absl::DataLossError(absl::StrFormat(
        "corrupt XOR chunk: padding bits of the last byte (byte %d) are not zero", used_bytes - 1));
  }

  XorChunk chunk;
  chunk.bytes_ = std::move(bytes);
  chunk.t_ = it.t_;
  chunk.t_delta_ = it.t_delta_;
  chunk.v_bits_ = it.v_bits_;
  chunk.leading_ = it.window_set_ ? it.leading_ : kNoWindow;
  chunk.trailing_ = it.trailing_;
  chunk.free_bits_ = free_bits;
  chunk.num_samples_ = static_cast<uint16_t>(it.total_);
  return chunk;
}

size_t XorChunk::allocated_bytes() const {
  const char* object = reinterpret_cast<const char*>(this);
  const bool inline_buffer = bytes_.data() >= object && bytes_.data() < object + sizeof(*this);
  return sizeof(*this) + (inline_buffer ? 0 : bytes_.capacity() + 1);
}

int64_t XorChunk::min_time() const {
  if (num_samples() == 0) return kMaxTime;
  // The first timestamp is the zigzag varint right after the header.
  uint64_t zigzag = 0;
  for (size_t i = kHeaderBytes; i < bytes_.size() && i < kHeaderBytes + 10; ++i) {
    const uint64_t byte = static_cast<unsigned char>(bytes_[i]);
    zigzag |= (byte & 0x7f) << (7 * (i - kHeaderBytes));
    if ((byte & 0x80) == 0) break;
  }
  return static_cast<int64_t>(zigzag >> 1) ^ -static_cast<int64_t>(zigzag & 1);
}

bool XorChunk::Full() const {
  return num_samples() >= kMaxSamplesPerChunk || bytes_.size() >= kMaxBytesPerChunk;
}

bool XorChunk::Append(int64_t t, double v) {
  const int n = num_samples_;
  if (n >= kSampleCountLimit) return false;
  if (n > 0 && t <= t_) return false;

  const uint64_t v_bits = std::bit_cast<uint64_t>(v);
  BitWriter w(&bytes_, free_bits_);
  if (n == 0) {
    const uint64_t zigzag = (static_cast<uint64_t>(t) << 1) ^ static_cast<uint64_t>(t >> 63);
    WriteUvarint(&w, zigzag);
    w.WriteBits(v_bits, 64);
  } else {
    // Modulo 2^64, like the reader, so deltas beyond int64 still round-trip.
    const uint64_t delta = static_cast<uint64_t>(t) - static_cast<uint64_t>(t_);
    if (n == 1) {
      WriteUvarint(&w, delta);
    } else {
      const int64_t dod = static_cast<int64_t>(delta - t_delta_);
      const uint64_t raw = static_cast<uint64_t>(dod);
      if (dod == 0) {
        w.WriteBit(false);
      } else if (InBucket(dod, kDodBits[1])) {
        w.WriteBits((uint64_t{0b10} << 14) | LowBits(raw, 14), 2 + 14);
      } else if (InBucket(dod, kDodBits[2])) {
        w.WriteBits((uint64_t{0b110} << 17) | LowBits(raw, 17), 3 + 17);
      } else if (InBucket(dod, kDodBits[3])) {
        w.WriteBits((uint64_t{0b1110} << 20) | LowBits(raw, 20), 4 + 20);
      } else {
        w.WriteBits(0b1111, 4);
        w.WriteBits(raw, 64);
      }
    }
    WriteValue(&w, v_bits);
    t_delta_ = delta;
  }
  t_ = t;
  v_bits_ = v_bits;
  free_bits_ = w.free_bits();
  ++num_samples_;
  bytes_[0] = static_cast<char>(num_samples_ >> 8);
  bytes_[1] = static_cast<char>(num_samples_ & 0xff);
  return true;
}

void XorChunk::WriteValue(BitWriter* w, uint64_t v_bits) {
  const uint64_t x = v_bits ^ v_bits_;
  if (x == 0) {
    w->WriteBit(false);
    return;
  }
  int leading = std::countl_zero(x);
  const int trailing = std::countr_zero(x);
  if (leading > 31) leading = 31;  // the 5-bit field's maximum

  if (leading_ != kNoWindow && leading >= leading_ && trailing >= trailing_) {
    const int sig = 64 - leading_ - trailing_;
    const uint64_t bits = x >> trailing_;
    if (sig <= 62) {
      w->WriteBits((uint64_t{0b10} << sig) | bits, 2 + sig);
    } else {
      w->WriteBits(0b10, 2);
      w->WriteBits(bits, sig);
    }
    return;
  }
  leading_ = static_cast<uint8_t>(leading);
  trailing_ = static_cast<uint8_t>(trailing);
  const int sig = 64 - leading - trailing;  // 1..64; 64 is written as 0
  w->WriteBits((uint64_t{0b11} << 11) | (static_cast<uint64_t>(leading) << 6) |
                   (static_cast<uint64_t>(sig) & 63),
               2 + 5 + 6);
  w->WriteBits(x >> trailing, sig);
}

}  // namespace tsdb
