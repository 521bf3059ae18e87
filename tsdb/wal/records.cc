#include "tsdb/wal/records.h"

#include <bit>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"

namespace tsdb {
namespace {

constexpr size_t kMaxVarintBytes = 10;

inline uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t UnZigZag(uint64_t u) { return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1)); }

inline char* PutUvarint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

inline char* PutFixed64(char* p, uint64_t v) {
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  std::memcpy(p, &v, 8);
  return p + 8;
}

inline uint64_t LoadFixed64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

// Decodes a uvarint at p, advancing p; false when truncated or longer than 64 bits.
inline bool GetUvarint(const char*& p, const char* end, uint64_t* v) {
  if (p < end && static_cast<uint8_t>(*p) < 0x80) {
    *v = static_cast<uint8_t>(*p++);
    return true;
  }
  uint64_t result = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p >= end) return false;
    const uint64_t b = static_cast<uint8_t>(*p++);
    if (shift == 63 && b > 1) return false;
    result |= (b & 0x7f) << shift;
    if (b < 0x80) {
      *v = result;
      return true;
    }
  }
  return false;
}

// Appends the raw bytes [begin, p) of a scratch area and hands back a fresh pointer, keeping
// the encoders to one bounds computation per entry.
class Buffer {
 public:
  explicit Buffer(std::string* out) : out_(out) {}
  // Ensures n more bytes can be written at ptr().
  char* Reserve(size_t n) {
    size_t need = used_ + n;
    if (out_->size() < need) out_->resize(std::max(need, out_->size() * 2));
    return out_->data() + used_;
  }
  void Commit(char* end) { used_ = static_cast<size_t>(end - out_->data()); }
  void Finish() { out_->resize(used_); }

 private:
  std::string* out_;
  size_t used_ = 0;
};

const char* KindName(RecordKind kind) {
  switch (kind) {
    case RecordKind::kSeries:
      return "series";
    case RecordKind::kSamples:
      return "samples";
    case RecordKind::kChunks:
      return "chunks";
    case RecordKind::kUnknown:
      break;
  }
  return "unknown";
}

absl::Status Malformed(RecordKind kind, size_t entry, size_t offset, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("malformed ", KindName(kind), " record at byte ",
                                                 offset, " (entry ", entry, "): ", what));
}

absl::Status CheckKind(std::string_view payload, RecordKind want) {
  if (payload.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed ", KindName(want), " record: empty payload"));
  }
  auto got = static_cast<uint8_t>(payload[0]);
  if (got != static_cast<uint8_t>(want)) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a ", KindName(want), " record: kind byte is ", got));
  }
  return absl::OkStatus();
}

}  // namespace

RecordKind GetRecordKind(std::string_view payload) {
  if (payload.empty()) return RecordKind::kUnknown;
  switch (static_cast<uint8_t>(payload[0])) {
    case static_cast<uint8_t>(RecordKind::kSeries):
      return RecordKind::kSeries;
    case static_cast<uint8_t>(RecordKind::kSamples):
      return RecordKind::kSamples;
    case static_cast<uint8_t>(RecordKind::kChunks):
      return RecordKind::kChunks;
    default:
      return RecordKind::kUnknown;
  }
}

void EncodeSeries(std::span<const RefSeries> series, std::string* out) {
  out->clear();
  Buffer buf(out);
  char* p = buf.Reserve(1);
  *p++ = static_cast<char>(RecordKind::kSeries);
  buf.Commit(p);
  for (const RefSeries& s : series) {
    p = buf.Reserve(2 * kMaxVarintBytes);
    p = PutUvarint(p, s.ref);
    p = PutUvarint(p, s.labels.size());
    buf.Commit(p);
    for (const Label& l : s.labels) {
      p = buf.Reserve(2 * kMaxVarintBytes + l.name.size() + l.value.size());
      p = PutUvarint(p, l.name.size());
      std::memcpy(p, l.name.data(), l.name.size());
      p += l.name.size();
      p = PutUvarint(p, l.value.size());
      std::memcpy(p, l.value.data(), l.value.size());
      p += l.value.size();
      buf.Commit(p);
    }
  }
  buf.Finish();
}

void EncodeSamples(std::span<const RefSample> samples, std::string* out) {
  out->clear();
  Buffer buf(out);
  char* p = buf.Reserve(1 + 2 * kMaxVarintBytes + samples.size() * (2 * kMaxVarintBytes + 8));
  *p++ = static_cast<char>(RecordKind::kSamples);
  if (!samples.empty()) {
    const uint64_t base_ref = samples[0].ref;
    const uint64_t base_t = static_cast<uint64_t>(samples[0].t);
    p = PutUvarint(p, base_ref);
    p = PutUvarint(p, ZigZag(samples[0].t));
    for (const RefSample& s : samples) {
      p = PutUvarint(p, ZigZag(static_cast<int64_t>(s.ref - base_ref)));
      p = PutUvarint(p, ZigZag(static_cast<int64_t>(static_cast<uint64_t>(s.t) - base_t)));
      p = PutFixed64(p, std::bit_cast<uint64_t>(s.v));
    }
  }
  buf.Commit(p);
  buf.Finish();
}

void EncodeChunks(std::span<const RefChunk> chunks, std::string* out) {
  out->clear();
  Buffer buf(out);
  char* p = buf.Reserve(1);
  *p++ = static_cast<char>(RecordKind::kChunks);
  buf.Commit(p);
  for (const RefChunk& c : chunks) {
    p = buf.Reserve(5 * kMaxVarintBytes + c.bytes.size());
    p = PutUvarint(p, c.ref);
    p = PutUvarint(p, ZigZag(c.min_time));
    p = PutUvarint(p, ZigZag(c.max_time));
    p = PutUvarint(p, c.num_samples);
    p = PutUvarint(p, c.bytes.size());
    std::memcpy(p, c.bytes.data(), c.bytes.size());
    p += c.bytes.size();
    buf.Commit(p);
  }
  buf.Finish();
}

absl::Status DecodeSeries(std::string_view payload, std::vector<RefSeries>* out) {
  out->clear();
  absl::Status s = CheckKind(payload, RecordKind::kSeries);
  if (!s.ok()) return s;
  const char* const begin = payload.data();
  const char* const end = begin + payload.size();
  const char* p = begin + 1;
  std::vector<Label> pairs;
  for (size_t entry = 0; p < end; ++entry) {
    const size_t at = static_cast<size_t>(p - begin);
    uint64_t ref, count;
    if (!GetUvarint(p, end, &ref)) return Malformed(RecordKind::kSeries, entry, at, "bad ref");
    if (!GetUvarint(p, end, &count)) {
      return Malformed(RecordKind::kSeries, entry, at, "bad label count");
    }
    // Each label takes at least two bytes: a corrupt count cannot make us reserve much.
    if (count > static_cast<uint64_t>(end - p) / 2) {
      return Malformed(RecordKind::kSeries, entry, at,
                       absl::StrCat("label count ", count, " exceeds the payload"));
    }
    pairs.clear();
    pairs.reserve(count);
    for (uint64_t i = 0; i < count; ++i) {
      std::string_view parts[2];
      for (std::string_view& part : parts) {
        uint64_t len;
        if (!GetUvarint(p, end, &len) || len > static_cast<uint64_t>(end - p)) {
          return Malformed(RecordKind::kSeries, entry, static_cast<size_t>(p - begin),
                           absl::StrCat("label ", i, " truncated"));
        }
        part = std::string_view(p, len);
        p += len;
      }
      pairs.push_back(Label{std::string(parts[0]), std::string(parts[1])});
    }
    out->push_back(RefSeries{ref, Labels(std::move(pairs))});
    pairs = std::vector<Label>();
  }
  return absl::OkStatus();
}

absl::Status DecodeSamples(std::string_view payload, std::vector<RefSample>* out) {
  out->clear();
  absl::Status s = CheckKind(payload, RecordKind::kSamples);
  if (!s.ok()) return s;
  const char* const begin = payload.data();
  const char* const end = begin + payload.size();
  const char* p = begin + 1;
  if (p == end) return absl::OkStatus();
  uint64_t base_ref, zt;
  if (!GetUvarint(p, end, &base_ref) || !GetUvarint(p, end, &zt)) {
    return Malformed(RecordKind::kSamples, 0, 1, "bad base ref or timestamp");
  }
  const auto base_t = static_cast<uint64_t>(UnZigZag(zt));
  // Each sample takes at least 10 bytes.
  out->reserve(static_cast<size_t>(end - p) / 10);
  for (size_t entry = 0; p < end; ++entry) {
    const char* const start = p;
    uint64_t dref, dt;
    if (!GetUvarint(p, end, &dref) || !GetUvarint(p, end, &dt) || end - p < 8) {
      return Malformed(RecordKind::kSamples, entry, static_cast<size_t>(start - begin),
                       "truncated sample");
    }
    const double v = std::bit_cast<double>(LoadFixed64(p));
    p += 8;
    out->push_back(RefSample{base_ref + static_cast<uint64_t>(UnZigZag(dref)),
                             static_cast<int64_t>(base_t + static_cast<uint64_t>(UnZigZag(dt))),
                             v});
  }
  return absl::OkStatus();
}

absl::Status DecodeChunks(std::string_view payload, std::vector<RefChunk>* out) {
  out->clear();
  absl::Status s = CheckKind(payload, RecordKind::kChunks);
  if (!s.ok()) return s;
  const char* const begin = payload.data();
  const char* const end = begin + payload.size();
  const char* p = begin + 1;
  for (size_t entry = 0; p < end; ++entry) {
    const size_t at = static_cast<size_t>(p - begin);
    uint64_t ref, zmin, zmax, n, len;
    if (!GetUvarint(p, end, &ref) || !GetUvarint(p, end, &zmin) || !GetUvarint(p, end, &zmax) ||
        !GetUvarint(p, end, &n) || !GetUvarint(p, end, &len)) {
      return Malformed(RecordKind::kChunks, entry, at, "truncated chunk header");
    }
    if (n > std::numeric_limits<uint16_t>::max()) {
      return Malformed(RecordKind::kChunks, entry, at,
                       absl::StrCat("sample count ", n, " exceeds 65535"));
    }
    if (len > static_cast<uint64_t>(end - p)) {
      return Malformed(
          RecordKind::kChunks, entry, at,
          absl::StrCat("chunk length ", len, " beyond end of record (", end - p, " bytes left)"));
    }
    out->push_back(RefChunk{ref, UnZigZag(zmin), UnZigZag(zmax), static_cast<uint16_t>(n),
                            std::string(p, len)});
    p += len;
  }
  return absl::OkStatus();
}

}  // namespace tsdb
