#include "tsdb/chunk/xor_chunk.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tsdb/stale.h"

namespace tsdb {
namespace {

using ::testing::HasSubstr;

uint64_t Bits(double v) { return std::bit_cast<uint64_t>(v); }
double FromBits(uint64_t b) { return std::bit_cast<double>(b); }

struct Decoded {
  std::vector<Sample> samples;
  absl::Status status;
};

Decoded DecodeAll(XorIterator it) {
  Decoded d;
  while (it.Next()) d.samples.push_back(it.At());
  d.status = it.status();
  return d;
}

XorChunk Build(const std::vector<Sample>& samples) {
  XorChunk c;
  for (const Sample& s : samples) EXPECT_TRUE(c.Append(s.t, s.v)) << "t=" << s.t;
  return c;
}

// Compares timestamps and value bits, so NaN payloads and -0.0 count.
void ExpectSameSamples(const std::vector<Sample>& got, const std::vector<Sample>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(got[i].t, want[i].t) << "sample " << i;
    ASSERT_EQ(Bits(got[i].v), Bits(want[i].v)) << "sample " << i << " t=" << want[i].t;
  }
}

void ExpectRoundTrip(const std::vector<Sample>& samples) {
  XorChunk c = Build(samples);
  ASSERT_EQ(c.num_samples(), static_cast<int>(samples.size()));
  EXPECT_EQ(c.size_bytes(), c.bytes().size());
  Decoded d = DecodeAll(c.Iterator());
  ASSERT_TRUE(d.status.ok()) << d.status;
  ExpectSameSamples(d.samples, samples);
  if (!samples.empty()) {
    EXPECT_EQ(c.min_time(), samples.front().t);
    EXPECT_EQ(c.max_time(), samples.back().t);
  }
  absl::StatusOr<XorChunk> loaded = XorChunk::FromBytes(c.bytes());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->min_time(), c.min_time());
  EXPECT_EQ(loaded->max_time(), c.max_time());
  EXPECT_EQ(loaded->num_samples(), c.num_samples());
}

// Deterministic random numbers independent of the standard library's distributions.
class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  uint64_t Next() { return gen_(); }
  double Uniform() { return static_cast<double>(gen_() >> 11) * 0x1.0p-53; }
  int64_t Range(int64_t lo, int64_t hi) {  // inclusive
    return lo + static_cast<int64_t>(gen_() % static_cast<uint64_t>(hi - lo + 1));
  }
  double Gaussian() {
    double u1 = Uniform(), u2 = Uniform();
    return std::sqrt(-2.0 * std::log(1.0 - u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }
  int64_t Poisson(double lambda) {
    if (lambda >= 30) {
      return std::max<int64_t>(0, std::llround(lambda + std::sqrt(lambda) * Gaussian()));
    }
    const double limit = std::exp(-lambda);
    int64_t k = 0;
    for (double p = Uniform(); p > limit; p *= Uniform()) ++k;
    return k;
  }

 private:
  std::mt19937_64 gen_;
};

// ---------------------------------------------------------------------------------------------
// Format and round trips

TEST(XorChunkTest, EmptyChunk) {
  XorChunk c;
  EXPECT_EQ(c.bytes(), std::string(2, '\0'));
  EXPECT_EQ(c.num_samples(), 0);
  EXPECT_EQ(c.min_time(), kMaxTime);
  EXPECT_EQ(c.max_time(), kMinTime);
  EXPECT_FALSE(c.Full());
  XorIterator it = c.Iterator();
  EXPECT_FALSE(it.Next());
  EXPECT_FALSE(it.Seek(kMinTime));
  EXPECT_TRUE(it.status().ok());
  absl::StatusOr<XorChunk> loaded = XorChunk::FromBytes(c.bytes());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->num_samples(), 0);
  EXPECT_TRUE(loaded->Append(kMinTime, 1.0));  // an empty chunk takes any timestamp
}

// Bytes derived by hand from the format description (Prometheus' XOR chunk).
TEST(XorChunkTest, GoldenBytes) {
  XorChunk c = Build({{1, 1.0}, {3, 1.0}, {5, 3.0}, {8, 2.0}});
  const std::string want(
      "\x00\x04"                          // 4 samples
      "\x02"                              // t0 = 1, zigzag varint
      "\x3f\xf0\x00\x00\x00\x00\x00\x00"  // v0 = 1.0
      "\x02"                              // t1 - t0 = 2, uvarint
      // '0' v1 same | '0' dod 0 | '11' 00001 001100 111111111111 (v2: new window 1/51)
      // | '10' 00000000000001 (dod 1) | '10' 000000000001 (v3: reuse window) | 5 padding bits
      "\x30\x99\xff\xf0\x00\x30\x00\x80",
      20);
  EXPECT_EQ(c.bytes(), want);
  EXPECT_EQ(c.min_time(), 1);
  EXPECT_EQ(c.max_time(), 8);
}

TEST(XorChunkTest, RoundTripRandomIrregular) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Rng rng(seed);
    std::vector<Sample> samples;
    int64_t t = rng.Range(-2'000'000'000'000, 2'000'000'000'000);
    double v = 0;
    const int n = static_cast<int>(rng.Range(1, 300));
    for (int i = 0; i < n; ++i) {
      switch (rng.Range(0, 5)) {  // interval
        case 0:
          t += 1;
          break;
        case 1:
          t += 15'000 + rng.Range(-20, 20);
          break;
        case 2:
          t += rng.Range(1, 1'000'000);
          break;
        case 3:
          t += rng.Range(1, int64_t{1} << 40);
          break;
        default:
          t += 15'000;
          break;
      }
      switch (rng.Range(0, 5)) {  // value
        case 0:
          break;  // unchanged
        case 1:
          v = FromBits(rng.Next());
          break;  // any bit pattern, NaNs included
        case 2:
          v += static_cast<double>(rng.Range(0, 100));
          break;
        case 3:
          v = std::round(rng.Uniform() * 1e4) / 100;
          break;
        default:
          v = rng.Gaussian() * 1e6;
          break;
      }
      samples.push_back({t, v});
    }
    SCOPED_TRACE(seed);
    ExpectRoundTrip(samples);
  }
}

TEST(XorChunkTest, RoundTripSpecialValues) {
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> values = {
      0.0,
      -0.0,
      FromBits(kStaleNaNBits),
      FromBits(kStaleNaNBits),
      std::numeric_limits<double>::quiet_NaN(),
      FromBits(0xfff8000000000001),  // negative quiet NaN with a payload
      FromBits(0x7ff0000000000001),  // signalling NaN
      FromBits(kStaleNaNBits),
      inf,
      -inf,
      inf,
      std::numeric_limits<double>::denorm_min(),
      -std::numeric_limits<double>::denorm_min(),
      FromBits(0x000fffffffffffff),  // largest denormal
      std::numeric_limits<double>::min(),
      std::numeric_limits<double>::max(),
      -std::numeric_limits<double>::max(),
      std::numeric_limits<double>::lowest(),
      1.0,
      1.0,
      1.0,
      0.1,
      -0.0,
      FromBits(kStaleNaNBits),
  };
  std::vector<Sample> samples;
  for (size_t i = 0; i < values.size(); ++i) samples.push_back({1000 * int64_t(i), values[i]});
  ExpectRoundTrip(samples);

  // The staleness marker as first, second and later sample, and after itself.
  ExpectRoundTrip({{0, FromBits(kStaleNaNBits)}});
  ExpectRoundTrip({{0, 5.0}, {1, FromBits(kStaleNaNBits)}, {2, FromBits(kStaleNaNBits)}});
}

TEST(XorChunkTest, LeadingZerosBeyondThirtyOne) {
  // Large counters moving by small steps XOR to values with 32 or more leading zeros, which the
  // 5-bit field caps at 31 (the window then carries the extra zeros as significant bits).
  std::vector<Sample> samples;
  double v = 1e12;
  for (int i = 0; i < 100; ++i) {
    v += (i % 5 == 0) ? 0 : (i % 3) + 1;
    samples.push_back({int64_t{i} * 15'000, v});
  }
  samples.push_back({100 * 15'000, 1e12 + 0.5});
  samples.push_back({101 * 15'000, std::nextafter(1e12 + 0.5, 2e12)});
  ExpectRoundTrip(samples);
}

TEST(XorChunkTest, SixtyFourSignificantBits) {
  // XORs with no leading and no trailing zeros: 64 significant bits, written as 0 in the 6-bit
  // field, then reused ('10' + 64 bits), then a narrower window again.
  ExpectRoundTrip({{0, FromBits(0)},
                   {10, FromBits(0x8000000000000001)},
                   {20, FromBits(0x0000000000000000)},
                   {30, FromBits(0xffffffffffffffff)},
                   {40, FromBits(0x7ffffffffffffffe)},
                   {50, FromBits(0x7ffffffffffffffe)},
                   {60, FromBits(0x7ffffffffffff00e)},
                   {70, FromBits(0x8000000000000001)}});
  // After the second sample: '1' (differs) '1' (new window) 00000 (0 leading) 000000 (64 bits).
  XorChunk c = Build({{0, FromBits(0)}, {10, FromBits(0x8000000000000001)}});
  const std::string& b = c.bytes();
  ASSERT_EQ(b.size(), 2u + 1 + 8 + 1 + 10);            // 2+5+6+64 = 77 bits -> 10 bytes
  EXPECT_EQ(static_cast<unsigned char>(b[12]), 0xc0);  // 11 000000
  EXPECT_EQ(static_cast<unsigned char>(b[13]), 0x04);  // 00000 (rest of the 64), then 1 0 0
}

// Which delta-of-delta bucket a dod lands in, read from the prefix bits.
std::string DodPrefix(int64_t dod) {
  constexpr int64_t kDelta = 10'000'000;  // uvarint of 4 bytes
  XorChunk c = Build({{0, 1.0}, {kDelta, 1.0}, {2 * kDelta + dod, 1.0}});
  Decoded d = DecodeAll(c.Iterator());
  EXPECT_TRUE(d.status.ok()) << d.status;
  EXPECT_EQ(d.samples.size(), 3u);
  if (d.samples.size() == 3) {
    EXPECT_EQ(d.samples[2].t, 2 * kDelta + dod);
  }
  // Byte 15 starts with v1's '0', then the dod prefix.
  const std::string& b = c.bytes();
  uint64_t bits = 0;
  for (size_t i = 15; i < 15 + 8; ++i) {
    bits = (bits << 8) | (i < b.size() ? static_cast<unsigned char>(b[i]) : 0);
  }
  EXPECT_EQ(bits >> 63, 0u);
  std::string prefix;
  for (int i = 62; i >= 59; --i) {
    prefix += ((bits >> i) & 1) ? '1' : '0';
    if (prefix.back() == '0') break;
  }
  return prefix;
}

TEST(XorChunkTest, TimestampBucketBoundaries) {
  EXPECT_EQ(DodPrefix(0), "0");
  EXPECT_EQ(DodPrefix(1), "10");
  EXPECT_EQ(DodPrefix(-1), "10");
  EXPECT_EQ(DodPrefix(8192), "10");
  EXPECT_EQ(DodPrefix(-8191), "10");
  EXPECT_EQ(DodPrefix(-8192), "110");
  EXPECT_EQ(DodPrefix(8193), "110");
  EXPECT_EQ(DodPrefix(65536), "110");
  EXPECT_EQ(DodPrefix(-65535), "110");
  EXPECT_EQ(DodPrefix(-65536), "1110");
  EXPECT_EQ(DodPrefix(65537), "1110");
  EXPECT_EQ(DodPrefix(524288), "1110");
  EXPECT_EQ(DodPrefix(-524287), "1110");
  EXPECT_EQ(DodPrefix(-524288), "1111");
  EXPECT_EQ(DodPrefix(524289), "1111");
  EXPECT_EQ(DodPrefix(1'000'000'000'000'000), "1111");
  EXPECT_EQ(DodPrefix(-9'999'999), "1111");
}

TEST(XorChunkTest, ExtremeTimestamps) {
  ExpectRoundTrip({{-5'000'000, 1}, {-4'000'000, 2}, {-1, 3}, {0, 4}, {1, 5}});
  ExpectRoundTrip({{kMinTime, 1}, {kMaxTime, 2}});  // delta 2^64 - 1
  ExpectRoundTrip({{kMinTime, 1}, {kMinTime + 1, 2}, {kMaxTime - 1, 3}, {kMaxTime, 4}});
  ExpectRoundTrip({{kMinTime, 1}, {0, 2}, {1, 3}, {kMaxTime, 4}});
  ExpectRoundTrip(
      {{-1'000'000'000'000'000, 0}, {1'000'000'000'000'000, 0}, {1'000'000'000'000'001, 0}});
}

TEST(XorChunkTest, AppendRefusesNonIncreasingTimestamps) {
  XorChunk c = Build({{100, 1.0}, {200, 2.0}});
  const std::string before = c.bytes();
  EXPECT_FALSE(c.Append(200, 3.0));
  EXPECT_FALSE(c.Append(150, 3.0));
  EXPECT_FALSE(c.Append(kMinTime, 3.0));
  EXPECT_EQ(c.bytes(), before);
  EXPECT_EQ(c.max_time(), 200);
  EXPECT_TRUE(c.Append(201, 3.0));
  ExpectSameSamples(DecodeAll(c.Iterator()).samples, {{100, 1.0}, {200, 2.0}, {201, 3.0}});
}

TEST(XorChunkTest, SampleCountLimit) {
  XorChunk c;
  for (int i = 0; i < XorChunk::kSampleCountLimit; ++i) ASSERT_TRUE(c.Append(i, 1.0));
  EXPECT_EQ(c.num_samples(), 65535);
  EXPECT_FALSE(c.Append(1'000'000, 1.0));
  EXPECT_EQ(c.num_samples(), 65535);
  Decoded d = DecodeAll(c.Iterator());
  EXPECT_TRUE(d.status.ok()) << d.status;
  EXPECT_EQ(d.samples.size(), 65535u);
}

TEST(XorChunkTest, FullAt120Samples) {
  XorChunk c;
  for (int i = 0; i < 120; ++i) {
    EXPECT_FALSE(c.Full()) << i;
    c.Append(15'000 * int64_t{i}, 1.0);
  }
  EXPECT_TRUE(c.Full());
  EXPECT_LT(c.size_bytes(), 100u);
}

TEST(XorChunkTest, FullAt1024Bytes) {
  Rng rng(42);
  XorChunk c;
  int i = 0;
  int64_t t = 0;
  while (!c.Full()) {
    // Incompressible: random value bits and irregular intervals.
    t += 15'000 + rng.Range(-1000, 1000);
    c.Append(t, FromBits(rng.Next()));
    ++i;
    EXPECT_EQ(c.Full(), c.num_samples() >= 120 || c.size_bytes() >= 1024);
  }
  EXPECT_GE(c.size_bytes(), 1024u);
  EXPECT_LT(c.num_samples(), 120);
  EXPECT_LT(c.size_bytes(), 1024u + 20);  // cut right after crossing
}

TEST(XorChunkTest, FromBytesContinuesAppendingIdentically) {
  Rng rng(7);
  std::vector<Sample> samples = {{0, 1.0}, {1000, 1.0}, {2000, 1.0}, {3000, 2.5}};
  int64_t t = 3000;
  for (int i = 0; i < 60; ++i) {
    t += 15'000 + rng.Range(-3, 3);
    samples.push_back({t, i % 3 == 0 ? samples.back().v : std::round(rng.Uniform() * 1e4) / 100});
  }
  const XorChunk whole = Build(samples);
  for (size_t k = 0; k <= samples.size(); ++k) {
    XorChunk prefix = Build(std::vector<Sample>(samples.begin(), samples.begin() + k));
    absl::StatusOr<XorChunk> loaded = XorChunk::FromBytes(prefix.bytes());
    ASSERT_TRUE(loaded.ok()) << "k=" << k << ": " << loaded.status();
    for (size_t i = k; i < samples.size(); ++i) {
      ASSERT_TRUE(loaded->Append(samples[i].t, samples[i].v));
    }
    ASSERT_EQ(loaded->bytes(), whole.bytes()) << "k=" << k;
  }
}

TEST(XorChunkTest, FromBytesRejectsDamage) {
  EXPECT_EQ(XorChunk::FromBytes("").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(XorChunk::FromBytes("\x00").status().message(), HasSubstr("header"));

  const std::string good = Build({{1, 1.0}, {3, 1.0}, {5, 3.0}, {8, 2.0}}).bytes();
  ASSERT_TRUE(XorChunk::FromBytes(good).ok());

  absl::Status trailing = XorChunk::FromBytes(good + '\0').status();
  EXPECT_EQ(trailing.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(trailing.message(), HasSubstr("1 bytes follow the last of 4 samples"));

  std::string padding = good;
  padding.back() = static_cast<char>(padding.back() | 0x01);
  EXPECT_THAT(XorChunk::FromBytes(padding).status().message(), HasSubstr("padding"));

  // Claims 9 samples. (Zero padding bits decode as samples repeating the last interval and
  // value, 2 bits each, so an inflated count is caught once the padding runs out.)
  std::string more = good;
  more[1] = 9;
  absl::Status truncated = XorChunk::FromBytes(more).status();
  EXPECT_EQ(truncated.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(truncated.message(), HasSubstr("sample index 7 of 9"));
}

TEST(XorChunkTest, MemoryFootprint) {
  EXPECT_LE(sizeof(XorChunk), 64u);
  XorChunk empty;
  EXPECT_EQ(empty.allocated_bytes(), sizeof(XorChunk));  // header fits the inline buffer

  XorChunk c;
  double v = 1000;
  for (int i = 0; i < 120; ++i) c.Append(1'700'000'000'000 + 15'000 * int64_t{i}, v += i % 7);
  const size_t size = c.size_bytes();
  EXPECT_LE(c.bytes().capacity(), size + size / 2 + 32);  // geometric growth, not doubling
  EXPECT_LT(c.allocated_bytes(), 512u);
  c.ShrinkToFit();
  EXPECT_EQ(c.bytes().capacity(), size);
  EXPECT_EQ(c.allocated_bytes(), sizeof(XorChunk) + size + 1);
  // Still appendable after shrinking.
  ASSERT_TRUE(c.Append(c.max_time() + 15'000, 5.0));
  Decoded d = DecodeAll(c.Iterator());
  EXPECT_TRUE(d.status.ok());
  ASSERT_EQ(d.samples.size(), 121u);
  EXPECT_EQ(d.samples.back().v, 5.0);
}

// ---------------------------------------------------------------------------------------------
// Iterator

TEST(XorIteratorTest, SeekSemantics) {
  const XorChunk c = Build({{10, 1}, {20, 2}, {30, 3}, {40, 4}});
  {
    XorIterator it = c.Iterator();
    ASSERT_TRUE(it.Seek(-100));  // before the first sample: lands on it
    EXPECT_EQ(it.At().t, 10);
    ASSERT_TRUE(it.Seek(10));  // already there
    EXPECT_EQ(it.At().t, 10);
    ASSERT_TRUE(it.Seek(25));  // between samples: the next one
    EXPECT_EQ(it.At().t, 30);
    ASSERT_TRUE(it.Seek(5));  // never backwards
    EXPECT_EQ(it.At().t, 30);
    EXPECT_EQ(it.At().v, 3);
    ASSERT_TRUE(it.Next());
    EXPECT_EQ(it.At().t, 40);
    ASSERT_TRUE(it.Seek(40));  // the last sample qualifies
    EXPECT_EQ(it.At().t, 40);
    EXPECT_FALSE(it.Seek(41));  // past the end
    EXPECT_FALSE(it.Next());
    EXPECT_FALSE(it.Seek(0));  // exhausted for good
    EXPECT_TRUE(it.status().ok());
  }
  {
    XorIterator it = c.Iterator();
    ASSERT_TRUE(it.Seek(40));
    EXPECT_EQ(it.At().v, 4);
    EXPECT_FALSE(it.Next());
  }
  {
    XorIterator it = c.Iterator();
    EXPECT_FALSE(it.Seek(kMaxTime));
    EXPECT_FALSE(it.Next());
  }
  {
    XorIterator it = c.Iterator();
    while (it.Next()) {
    }
    EXPECT_FALSE(it.Seek(kMinTime));  // after Next ran out, Seek does not revive the last sample
  }
}

TEST(XorIteratorTest, OwningIteratorOutlivesChunk) {
  std::vector<Sample> samples;
  for (int i = 0; i < 50; ++i) samples.push_back({int64_t{i} * 15'000, i * 0.5});
  std::unique_ptr<XorIterator> it;
  {
    XorChunk c = Build(samples);
    it = std::make_unique<XorIterator>(std::string(c.bytes()));
  }
  Decoded d = DecodeAll(*it);
  ASSERT_TRUE(d.status.ok()) << d.status;
  ExpectSameSamples(d.samples, samples);
}

TEST(XorIteratorTest, CopiesAndMovesContinueIndependently) {
  // A one-sample chunk is 11 bytes: small enough for std::string's inline buffer, which moves
  // with the object. Also a bigger one.
  for (int n : {1, 2, 40}) {
    std::vector<Sample> samples;
    for (int i = 0; i < n; ++i) samples.push_back({int64_t{i} * 1000 - 5, 1.5 * i});
    XorIterator it(std::string(Build(samples).bytes()));
    ASSERT_TRUE(it.Next());
    XorIterator copy = it;
    XorIterator moved = std::move(it);
    std::vector<Sample> rest(samples.begin() + 1, samples.end());
    Decoded from_copy = DecodeAll(copy);
    Decoded from_moved = DecodeAll(std::move(moved));
    EXPECT_TRUE(from_copy.status.ok());
    EXPECT_TRUE(from_moved.status.ok());
    ExpectSameSamples(from_copy.samples, rest);
    ExpectSameSamples(from_moved.samples, rest);
  }
}

// ---------------------------------------------------------------------------------------------
// Corruption: never crash, never read out of bounds, report what and where.

std::vector<Sample> MixedSamples(uint64_t seed, int n) {
  Rng rng(seed);
  std::vector<Sample> samples;
  int64_t t = 1'700'000'000'000;
  double v = 100;
  for (int i = 0; i < n; ++i) {
    t += i % 10 == 9 ? rng.Range(1, int64_t{1} << 30) : 15'000 + rng.Range(-5, 5);
    switch (i % 4) {
      case 0:
        v += rng.Range(0, 50);
        break;
      case 1:
        v = std::round(rng.Uniform() * 1e4) / 100;
        break;
      case 2:
        break;
      default:
        v = i % 8 == 3 ? FromBits(kStaleNaNBits) : FromBits(rng.Next());
        break;
    }
    samples.push_back({t, v});
  }
  return samples;
}

TEST(XorChunkCorruptionTest, EveryTruncationEndsWithAnError) {
  const std::vector<Sample> samples = MixedSamples(3, 120);
  const std::string full = Build(samples).bytes();
  for (size_t len = 0; len < full.size(); ++len) {
    SCOPED_TRACE(len);
    // A heap copy of exactly len bytes, so ASan flags any read past the end.
    auto* raw = new char[len];
    std::memcpy(raw, full.data(), len);
    Decoded d = DecodeAll(XorIterator(std::string_view(raw, len)));
    EXPECT_EQ(d.status.code(), absl::StatusCode::kDataLoss);
    EXPECT_LT(d.samples.size(), samples.size());
    ExpectSameSamples(d.samples,
                      std::vector<Sample>(samples.begin(), samples.begin() + d.samples.size()));
    EXPECT_FALSE(XorChunk::FromBytes(std::string(raw, len)).ok());
    delete[] raw;
  }
}

TEST(XorChunkCorruptionTest, RandomBitFlipsNeverCrash) {
  Rng rng(99);
  const std::vector<Sample> samples = MixedSamples(5, 120);
  const std::string full = Build(samples).bytes();
  int errors = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string bytes = full;
    const int flips = static_cast<int>(rng.Range(1, 4));
    for (int f = 0; f < flips; ++f) {
      bytes[rng.Range(0, static_cast<int64_t>(bytes.size()) - 1)] ^=
          static_cast<char>(1 << rng.Range(0, 7));
    }
    if (trial % 10 == 0) bytes.resize(rng.Range(0, static_cast<int64_t>(bytes.size())));
    XorIterator it{std::string_view(bytes)};
    int n = 0;
    int64_t last = kMinTime;
    while (it.Next()) {
      ASSERT_TRUE(n == 0 || it.At().t > last) << "trial " << trial;
      last = it.At().t;
      ++n;
    }
    ASSERT_LE(n, it.num_samples());
    if (it.status().ok()) {
      ASSERT_EQ(n, it.num_samples());
    } else {
      ++errors;
      ASSERT_THAT(std::string(it.status().message()), HasSubstr("XOR chunk"));
    }
    absl::StatusOr<XorChunk> loaded = XorChunk::FromBytes(bytes);
    if (loaded.ok()) {
      ASSERT_TRUE(it.status().ok());
      Decoded again = DecodeAll(loaded->Iterator());
      ASSERT_TRUE(again.status.ok());
      ASSERT_EQ(static_cast<int>(again.samples.size()), n);
    }
  }
  EXPECT_GT(errors, 100);  // the damage is noticed, not silently decoded most of the time
}

TEST(XorChunkCorruptionTest, ErrorsNameTheSample) {
  const std::string first_sample("\x00\x00\x00\x00\x00\x00\x00\x00\x00", 9);  // t=0, v=0.0
  // Sample 1 reuses a window although none was set yet.
  Decoded reuse = DecodeAll(XorIterator(std::string("\x00\x02", 2) + first_sample + "\x01\x80"));
  EXPECT_EQ(reuse.samples.size(), 1u);
  EXPECT_EQ(reuse.status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(reuse.status.message(), HasSubstr("sample index 1 of 2"));
  EXPECT_THAT(reuse.status.message(), HasSubstr("window"));

  // Sample 1's window: 31 leading zeros + 40 significant bits > 64.
  Decoded window =
      DecodeAll(XorIterator(std::string("\x00\x02", 2) + first_sample + "\x01\xff\x40"));
  EXPECT_EQ(window.samples.size(), 1u);
  EXPECT_THAT(window.status.message(), HasSubstr("31 leading zeros and 40 significant bits"));

  // Sample 2's dod of -5 cancels the delta of 5: equal timestamps.
  // '0' (v1 same) '10' + 14-bit -5 (11111111111011) '0' (v2 same).
  Decoded equal =
      DecodeAll(XorIterator(std::string("\x00\x03", 2) + first_sample + "\x05\x5f\xfd\x80"));
  EXPECT_EQ(equal.samples.size(), 2u);
  EXPECT_THAT(equal.status.message(), HasSubstr("sample index 2 of 3"));
  EXPECT_THAT(equal.status.message(), HasSubstr("does not follow"));

  // A first timestamp varint of 10 continuation bytes.
  Decoded varint = DecodeAll(
      XorIterator(std::string("\x00\x01", 2) + std::string(10, '\xff') + std::string(8, '\0')));
  EXPECT_TRUE(varint.samples.empty());
  EXPECT_THAT(varint.status.message(), HasSubstr("sample index 0 of 1"));
  EXPECT_THAT(varint.status.message(), HasSubstr("overflows"));

  // At() keeps the last good sample after an error.
  XorIterator it(std::string("\x00\x02", 2) + first_sample + "\x01\x80");
  ASSERT_TRUE(it.Next());
  EXPECT_FALSE(it.Next());
  EXPECT_FALSE(it.Seek(kMinTime));
  EXPECT_EQ(it.At().t, 0);
  EXPECT_EQ(Bits(it.At().v), 0u);
}

// ---------------------------------------------------------------------------------------------
// Compression on realistic data.

// Data model: one 120-sample chunk (30 minutes at a 15 s interval) per series.
// Timestamps: each scrape starts 0-2 ms after its scheduled time, 2% of scrapes 3-20 ms late.
// As Prometheus does (scrape.timestamp-tolerance, 2 ms), the scraper stores last + interval when
// the actual time is within 2 ms of it, and the actual time otherwise.
// Values, the mix of a node-exporter-plus-application target:
//   40% idle: info metrics, limits, error counters that never fire, empty histogram buckets
//   35% counters: integer events at a rate log-uniform in [0.001, 100]/s, Poisson per scrape
//   15% integer gauges (bytes in use): change by whole pages in half of the scrapes
//   10% gauges with 2 decimals (temperatures, ratios): change in half of the scrapes
enum class SeriesKind { kIdle, kCounter, kIntGauge, kDecimalGauge };

std::vector<int64_t> ScrapeTimes(Rng& rng, int n) {
  std::vector<int64_t> times;
  const int64_t start = 1'700'000'000'000 + rng.Range(0, 14'999);
  int64_t last = 0;
  for (int i = 0; i < n; ++i) {
    const int64_t delay = rng.Uniform() < 0.02 ? rng.Range(3, 20) : rng.Range(0, 2);
    const int64_t actual = start + 15'000 * int64_t{i} + delay;
    last = (i > 0 && std::llabs(actual - (last + 15'000)) <= 2) ? last + 15'000 : actual;
    times.push_back(last);
  }
  return times;
}

std::vector<double> SeriesValues(Rng& rng, SeriesKind kind, int n) {
  std::vector<double> values;
  double v = 0;
  double rate = 0;
  switch (kind) {
    case SeriesKind::kIdle:
      v = static_cast<double>(rng.Range(0, 1000));
      break;
    case SeriesKind::kCounter:
      v = static_cast<double>(rng.Range(0, 1'000'000));
      rate = std::pow(10.0, -3 + 5 * rng.Uniform());
      break;
    case SeriesKind::kIntGauge:
      v = 4096.0 * static_cast<double>(rng.Range(100'000, 200'000));
      break;
    case SeriesKind::kDecimalGauge:
      v = static_cast<double>(rng.Range(0, 10'000)) / 100;
      break;
  }
  for (int i = 0; i < n; ++i) {
    switch (kind) {
      case SeriesKind::kIdle:
        break;
      case SeriesKind::kCounter:
        v += static_cast<double>(rng.Poisson(rate * 15));
        break;
      case SeriesKind::kIntGauge:
        if (rng.Uniform() < 0.5) v += 4096.0 * static_cast<double>(rng.Range(-1000, 1000));
        break;
      case SeriesKind::kDecimalGauge:
        if (rng.Uniform() < 0.5) v = std::round((v + rng.Uniform() - 0.5) * 100) / 100;
        break;
    }
    values.push_back(v);
  }
  return values;
}

// The mix in exact proportions: series i of every 20 consecutive ones.
SeriesKind KindOf(int series) {
  const int slot = series % 20;
  if (slot < 8) return SeriesKind::kIdle;
  if (slot < 15) return SeriesKind::kCounter;
  if (slot < 18) return SeriesKind::kIntGauge;
  return SeriesKind::kDecimalGauge;
}

TEST(XorChunkCompressionTest, RealisticScrapeDataBytesPerSample) {
  Rng rng(2024);
  size_t bytes = 0;
  size_t samples = 0;
  for (int series = 0; series < 1000; ++series) {
    const SeriesKind kind = KindOf(series);
    const std::vector<int64_t> times = ScrapeTimes(rng, 120);
    const std::vector<double> values = SeriesValues(rng, kind, 120);
    XorChunk c;
    for (int i = 0; i < 120; ++i) ASSERT_TRUE(c.Append(times[i], values[i]));
    ASSERT_TRUE(c.Full());
    bytes += c.size_bytes();
    samples += c.num_samples();
    Decoded d = DecodeAll(c.Iterator());
    ASSERT_TRUE(d.status.ok()) << d.status;
    ASSERT_EQ(d.samples.size(), 120u);
    for (int i = 0; i < 120; ++i) {
      ASSERT_EQ(d.samples[i].t, times[i]);
      ASSERT_EQ(Bits(d.samples[i].v), Bits(values[i]));
    }
  }
  const double bytes_per_sample = static_cast<double>(bytes) / static_cast<double>(samples);
  RecordProperty("bytes_per_sample", std::to_string(bytes_per_sample));
  EXPECT_LE(bytes_per_sample, 1.4);
}

TEST(XorChunkCompressionTest, RegularConstantSeriesCostsTwoBitsPerSample) {
  XorChunk c;
  for (int i = 0; i < 120; ++i) c.Append(1'700'000'000'000 + 15'000 * int64_t{i}, 1.0);
  // header 2 + t0 varint 6 + v0 8 + delta uvarint 2, then 1 bit for sample 1 and 2 bits
  // ('0' dod, '0' value) for each of the other 118: 237 bits = 30 bytes.
  EXPECT_EQ(c.size_bytes(), 2u + 6 + 8 + 2 + 30);
}

}  // namespace
}  // namespace tsdb
