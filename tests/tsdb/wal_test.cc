// Tests of the write-ahead log: framing, segment management, corruption detection and repair,
// failed writes, and the record codecs.
#include <zlib.h>

#include <bit>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tsdb/fault_env.h"
#include "tsdb/env.h"
#include "tsdb/stale.h"
#include "tsdb/wal/format.h"
#include "tsdb/wal/records.h"
#include "tsdb/wal/wal_reader.h"
#include "tsdb/wal/wal_writer.h"

namespace tsdb {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = JoinPath(::testing::TempDir(), "wal_test.XXXXXX");
    char* made = ::mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr);
    path_ = tmpl;
  }
  ~ScratchDir() { Env::Default()->RemoveAll(path_).IgnoreError(); }
  const std::string& path() const { return path_; }
  std::string Wal() const { return JoinPath(path_, "wal"); }

 private:
  std::string path_;
};

std::string SegPath(const std::string& dir, int n) { return JoinPath(dir, wal::SegmentName(n)); }

std::string RandomBytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// Repetitive text that Snappy shrinks.
std::string Compressible(size_t n, int seed) {
  std::string s;
  while (s.size() < n) absl::StrAppend(&s, "metric_name{job=\"node\",instance=\"", seed, "\"} ");
  s.resize(n);
  return s;
}

std::string ReadBytes(const std::string& path) {
  absl::StatusOr<std::string> data = Env::Default()->ReadFile(path);
  EXPECT_TRUE(data.ok()) << data.status();
  return data.ok() ? *data : "";
}

void WriteBytes(const std::string& path, std::string_view data) {
  auto f = Env::Default()->NewWritableFile(path);
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_TRUE((*f)->Append(data).ok());
  ASSERT_TRUE((*f)->Close().ok());
}

void AppendBytes(const std::string& path, std::string_view data) {
  auto f = Env::Default()->NewAppendableFile(path);
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_TRUE((*f)->Append(data).ok());
  ASSERT_TRUE((*f)->Close().ok());
}

uint64_t SizeOf(const std::string& path) {
  absl::StatusOr<uint64_t> size = Env::Default()->FileSize(path);
  EXPECT_TRUE(size.ok()) << size.status();
  return size.ok() ? *size : 0;
}

// A record framed by hand, with a correct checksum, for types the writer never produces.
std::string FrameByHand(uint8_t type, std::string_view payload) {
  std::string body(1, static_cast<char>(type));
  body.append(payload);
  uint32_t crc = static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size())));
  std::string out;
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(crc >> (8 * i)));
  auto len = static_cast<uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(len >> (8 * i)));
  out.append(body);
  return out;
}

struct ReadResult {
  std::vector<std::string> records;
  absl::Status status;
  bool corrupt = false;
  std::string reason;
  int segment = -1;
  uint64_t offset = 0;
};

ReadResult Drain(WalReader reader) {
  ReadResult r;
  std::string_view rec;
  while (reader.Next(&rec)) r.records.emplace_back(rec);
  r.status = reader.status();
  r.corrupt = reader.corrupt();
  r.reason = reader.corruption_reason();
  r.segment = reader.segment();
  r.offset = reader.offset();
  return r;
}

ReadResult ReadDir(const std::string& dir, int first = WalReader::kFirstSegment,
                   int last = WalReader::kLastSegment, Env* env = Env::Default()) {
  return Drain(WalReader::ForDir(env, dir, first, last));
}

struct Opened {
  std::unique_ptr<WalWriter> writer;
  std::vector<std::string> log;
};

Opened OpenWal(const std::string& dir, uint64_t segment_bytes = 1 << 20, bool compress = true,
               Env* env = Env::Default(), int check_from = 0) {
  Opened o;
  WalWriterOptions opts;
  opts.segment_bytes = segment_bytes;
  opts.compress = compress;
  opts.check_from_segment = check_from;
  auto* lines = &o.log;
  opts.log = [lines](std::string_view line) { lines->emplace_back(line); };
  auto w = WalWriter::Open(env, dir, opts);
  EXPECT_TRUE(w.ok()) << w.status();
  if (w.ok()) o.writer = std::move(*w);
  return o;
}

// ---------------------------------------------------------------------------------------------
// Writing and reading back.

TEST(WalWriterTest, NewLogStartsWithEmptySegmentZero) {
  ScratchDir tmp;
  Opened o = OpenWal(tmp.Wal());
  ASSERT_NE(o.writer, nullptr);
  EXPECT_EQ(o.writer->CurrentSegment(), 0);
  EXPECT_THAT(o.writer->Segments(), ElementsAre(0));
  EXPECT_EQ(o.writer->SizeBytes(), 0u);
  EXPECT_TRUE(Env::Default()->FileExists(SegPath(tmp.Wal(), 0)));
  EXPECT_THAT(o.log, IsEmpty());
  ReadResult r = ReadDir(tmp.Wal());
  EXPECT_TRUE(r.status.ok()) << r.status;
  EXPECT_THAT(r.records, IsEmpty());
}

TEST(WalWriterTest, RoundTripAcrossSegmentCuts) {
  ScratchDir tmp;
  std::mt19937_64 rng(1);
  const uint64_t kSegmentBytes = 16 << 10;
  std::vector<std::string> want;
  {
    Opened o = OpenWal(tmp.Wal(), kSegmentBytes);
    for (int i = 0; i < 1200; ++i) {
      std::string rec;
      switch (i % 4) {
        case 0:
          rec = RandomBytes(rng, rng() % 1500);
          break;
        case 1:
          rec = Compressible(1025 + rng() % 3000, i);
          break;
        case 2:
          rec = std::string(rng() % 8, 'x');  // includes empty records
          break;
        default:
          rec = RandomBytes(rng, rng() % 100);
      }
      if (i % 100 == 99) {
        std::vector<std::string> batch = {rec, Compressible(2000, i), "b"};
        ASSERT_TRUE(o.writer->LogBatch(batch).ok());
        want.insert(want.end(), batch.begin(), batch.end());
      } else {
        ASSERT_TRUE(o.writer->Log(rec).ok());
        want.push_back(rec);
      }
    }
    std::vector<int> segments = o.writer->Segments();
    ASSERT_GT(segments.size(), 10u);
    uint64_t total = 0;
    for (size_t i = 0; i < segments.size(); ++i) {
      EXPECT_EQ(segments[i], static_cast<int>(i));
      uint64_t size = SizeOf(SegPath(tmp.Wal(), segments[i]));
      EXPECT_LE(size, kSegmentBytes) << "segment " << i;
      EXPECT_GT(size, 0u) << "segment " << i;
      total += size;
    }
    EXPECT_EQ(o.writer->SizeBytes(), total);
    ASSERT_TRUE(o.writer->Close().ok());
  }
  ReadResult r = ReadDir(tmp.Wal());
  ASSERT_TRUE(r.status.ok()) << r.status;
  ASSERT_EQ(r.records.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(r.records[i], want[i]) << "record " << i;

  // A sub-range of segments.
  ReadResult part = ReadDir(tmp.Wal(), 2, 3);
  ASSERT_TRUE(part.status.ok()) << part.status;
  EXPECT_EQ(part.segment, 3);
  EXPECT_GT(part.records.size(), 0u);
  EXPECT_LT(part.records.size(), want.size());
}

TEST(WalWriterTest, ReopenAppendsToNewestSegment) {
  ScratchDir tmp;
  {
    Opened o = OpenWal(tmp.Wal());
    ASSERT_TRUE(o.writer->Log("one").ok());
    ASSERT_TRUE(o.writer->NextSegment().ok());
    ASSERT_TRUE(o.writer->Log("two").ok());
    // Closed by the destructor, without Close().
  }
  {
    Opened o = OpenWal(tmp.Wal());
    EXPECT_THAT(o.log, IsEmpty());
    EXPECT_EQ(o.writer->CurrentSegment(), 1);
    EXPECT_EQ(o.writer->SizeBytes(), 2 * (wal::kHeaderSize + 3));
    ASSERT_TRUE(o.writer->Log("three").ok());
    ASSERT_TRUE(o.writer->Close().ok());
    EXPECT_FALSE(o.writer->Log("four").ok());
    EXPECT_TRUE(o.writer->Close().ok());
  }
  ReadResult r = ReadDir(tmp.Wal());
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_THAT(r.records, ElementsAre("one", "two", "three"));
  EXPECT_EQ(r.segment, 1);
}

TEST(WalWriterTest, CompressesOnlyLargePayloadsThatShrink) {
  ScratchDir tmp;
  std::mt19937_64 rng(2);
  const std::string big = Compressible(10000, 1);
  const std::string random = RandomBytes(rng, 5000);
  const std::string small = Compressible(1000, 2);
  {
    Opened o = OpenWal(tmp.Wal());
    ASSERT_TRUE(o.writer->Log(big).ok());
    ASSERT_TRUE(o.writer->NextSegment().ok());
    ASSERT_TRUE(o.writer->Log(random).ok());
    ASSERT_TRUE(o.writer->NextSegment().ok());
    ASSERT_TRUE(o.writer->Log(small).ok());
  }
  std::string seg0 = ReadBytes(SegPath(tmp.Wal(), 0));
  ASSERT_GT(seg0.size(), wal::kHeaderSize);
  EXPECT_LT(seg0.size(), big.size() / 2);
  EXPECT_EQ(static_cast<uint8_t>(seg0[8]), wal::kFullRecord | wal::kSnappyFlag);
  std::string seg1 = ReadBytes(SegPath(tmp.Wal(), 1));
  EXPECT_EQ(seg1.size(), wal::kHeaderSize + random.size());
  EXPECT_EQ(static_cast<uint8_t>(seg1[8]), wal::kFullRecord);
  std::string seg2 = ReadBytes(SegPath(tmp.Wal(), 2));
  EXPECT_EQ(seg2.size(), wal::kHeaderSize + small.size());
  ReadResult r = ReadDir(tmp.Wal());
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_THAT(r.records, ElementsAre(big, random, small));
}

TEST(WalWriterTest, CompressionCanBeTurnedOff) {
  ScratchDir tmp;
  const std::string big = Compressible(10000, 1);
  {
    Opened o = OpenWal(tmp.Wal(), 1 << 20, /*compress=*/false);
    ASSERT_TRUE(o.writer->Log(big).ok());
  }
  std::string seg0 = ReadBytes(SegPath(tmp.Wal(), 0));
  EXPECT_EQ(seg0.size(), wal::kHeaderSize + big.size());
  EXPECT_EQ(static_cast<uint8_t>(seg0[8]), wal::kFullRecord);
  ReadResult r = ReadDir(tmp.Wal());
  ASSERT_TRUE(r.status.ok());
  EXPECT_THAT(r.records, ElementsAre(big));
}

TEST(WalWriterTest, BatchGoesToOneSegmentAndOversizedRecordGetsItsOwn) {
  ScratchDir tmp;
  Opened o = OpenWal(tmp.Wal(), 1000, false);
  ASSERT_TRUE(o.writer->Log(std::string(600, 'a')).ok());
  // 3 * 309 bytes do not fit behind the first record: the whole batch moves to segment 1.
  ASSERT_TRUE(
      o.writer->LogBatch({std::string(300, 'b'), std::string(300, 'c'), std::string(300, 'd')})
          .ok());
  EXPECT_EQ(o.writer->CurrentSegment(), 1);
  EXPECT_EQ(SizeOf(SegPath(tmp.Wal(), 1)), 3 * (wal::kHeaderSize + 300));
  // Larger than a segment: cut first, then written whole.
  ASSERT_TRUE(o.writer->Log(std::string(5000, 'e')).ok());
  EXPECT_EQ(o.writer->CurrentSegment(), 2);
  EXPECT_EQ(SizeOf(SegPath(tmp.Wal(), 2)), wal::kHeaderSize + 5000);
  ASSERT_TRUE(o.writer->Log("f").ok());
  EXPECT_EQ(o.writer->CurrentSegment(), 3);
  ASSERT_TRUE(o.writer->LogBatch({}).ok());
  ReadResult r = ReadDir(tmp.Wal());
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.records.size(), 6u);
}

TEST(WalWriterTest, NextSegmentAndTruncateBefore) {
  ScratchDir tmp;
  Opened o = OpenWal(tmp.Wal());
  ASSERT_TRUE(o.writer->Log("a").ok());
  ASSERT_TRUE(o.writer->NextSegment().ok());
  EXPECT_EQ(o.writer->CurrentSegment(), 1);
  ASSERT_TRUE(o.writer->NextSegment().ok());  // segment 1 stays empty
  ASSERT_TRUE(o.writer->Log("bb").ok());
  ASSERT_TRUE(o.writer->NextSegment().ok());
  ASSERT_TRUE(o.writer->Log("ccc").ok());
  EXPECT_THAT(o.writer->Segments(), ElementsAre(0, 1, 2, 3));
  EXPECT_EQ(o.writer->SizeBytes(), 3 * wal::kHeaderSize + 6);

  ASSERT_TRUE(o.writer->TruncateBefore(2).ok());
  EXPECT_THAT(o.writer->Segments(), ElementsAre(2, 3));
  EXPECT_FALSE(Env::Default()->FileExists(SegPath(tmp.Wal(), 0)));
  EXPECT_FALSE(Env::Default()->FileExists(SegPath(tmp.Wal(), 1)));
  EXPECT_EQ(o.writer->SizeBytes(), 2 * wal::kHeaderSize + 5);
  ReadResult r = ReadDir(tmp.Wal());
  ASSERT_TRUE(r.status.ok());
  EXPECT_THAT(r.records, ElementsAre("bb", "ccc"));

  // Never removes the current segment.
  ASSERT_TRUE(o.writer->TruncateBefore(100).ok());
  EXPECT_THAT(o.writer->Segments(), ElementsAre(3));
  EXPECT_EQ(o.writer->SizeBytes(), wal::kHeaderSize + 3);
  ASSERT_TRUE(o.writer->Log("d").ok());
  r = ReadDir(tmp.Wal());
  ASSERT_TRUE(r.status.ok());
  EXPECT_THAT(r.records, ElementsAre("ccc", "d"));
}

TEST(WalWriterTest, IgnoresOtherFilesInTheDirectory) {
  ScratchDir tmp;
  ASSERT_TRUE(Env::Default()->CreateDirs(tmp.Wal()).ok());
  WriteBytes(JoinPath(tmp.Wal(), "0001"), "junk");
  WriteBytes(JoinPath(tmp.Wal(), "00000002.tmp"), "junk");
  WriteBytes(JoinPath(tmp.Wal(), "notes"), "junk");
  Opened o = OpenWal(tmp.Wal());
  EXPECT_THAT(o.writer->Segments(), ElementsAre(0));
  ASSERT_TRUE(o.writer->Log("x").ok());
  ReadResult r = ReadDir(tmp.Wal());
  ASSERT_TRUE(r.status.ok());
  EXPECT_THAT(r.records, ElementsAre("x"));
}

TEST(WalFormatTest, SegmentNames) {
  EXPECT_EQ(wal::SegmentName(0), "00000000");
  EXPECT_EQ(wal::SegmentName(123), "00000123");
  int n = -1;
  EXPECT_TRUE(wal::ParseSegmentName("00000123", &n));
  EXPECT_EQ(n, 123);
  EXPECT_TRUE(wal::ParseSegmentName("123456789", &n));
  EXPECT_EQ(n, 123456789);
  EXPECT_FALSE(wal::ParseSegmentName("0000123", &n));
  EXPECT_FALSE(wal::ParseSegmentName("000001234", &n));
  EXPECT_FALSE(wal::ParseSegmentName("0000012a", &n));
  EXPECT_FALSE(wal::ParseSegmentName("99999999999", &n));
}

// ---------------------------------------------------------------------------------------------
// Reader sources.

TEST(WalReaderTest, ReadsSingleFileAndBuffer) {
  ScratchDir tmp;
  std::string data = FrameByHand(wal::kFullRecord, "hello") + FrameByHand(wal::kFullRecord, "");
  std::string path = JoinPath(tmp.path(), "checkpoint");
  WriteBytes(path, data);
  ReadResult f = Drain(WalReader::ForFile(Env::Default(), path));
  ASSERT_TRUE(f.status.ok()) << f.status;
  EXPECT_THAT(f.records, ElementsAre("hello", ""));
  ReadResult b = Drain(WalReader::ForBuffer(data));
  ASSERT_TRUE(b.status.ok()) << b.status;
  EXPECT_THAT(b.records, ElementsAre("hello", ""));

  ReadResult bad = Drain(WalReader::ForBuffer(data.substr(0, data.size() - 1), "mem"));
  EXPECT_EQ(bad.status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(bad.status.message()),
              StartsWith("mem offset 14: truncated record header"));
  bad = Drain(WalReader::ForFile(Env::Default(), path + ".absent"));
  EXPECT_EQ(bad.status.code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(bad.corrupt);
}

TEST(WalReaderTest, MissingDirectoryIsAnError) {
  ScratchDir tmp;
  ReadResult r = ReadDir(JoinPath(tmp.path(), "absent"));
  EXPECT_FALSE(r.status.ok());
  EXPECT_FALSE(r.corrupt);
}

TEST(WalReaderTest, EveryTruncationYieldsTheRecordsBeforeIt) {
  std::mt19937_64 rng(3);
  std::vector<std::string> records;
  std::vector<size_t> ends;
  std::string data;
  for (int i = 0; i < 6; ++i) {
    std::string rec = RandomBytes(rng, 1 + rng() % 40);
    data += FrameByHand(wal::kFullRecord, rec);
    records.push_back(rec);
    ends.push_back(data.size());
  }
  for (size_t cut = 0; cut <= data.size(); ++cut) {
    std::string prefix = data.substr(0, cut);
    ReadResult r = Drain(WalReader::ForBuffer(prefix));
    size_t complete = 0;
    while (complete < ends.size() && ends[complete] <= cut) ++complete;
    ASSERT_EQ(r.records.size(), complete) << "cut at " << cut;
    for (size_t i = 0; i < complete; ++i) ASSERT_EQ(r.records[i], records[i]);
    bool at_boundary = cut == 0 || (complete > 0 && ends[complete - 1] == cut);
    EXPECT_EQ(r.status.ok(), at_boundary) << "cut at " << cut << ": " << r.status;
    EXPECT_EQ(r.offset, complete == 0 ? 0 : ends[complete - 1]);
  }
}

TEST(WalReaderTest, BitFlipsNeverYieldWrongRecords) {
  std::mt19937_64 rng(4);
  std::vector<std::string> records;
  std::string data;
  {
    ScratchDir tmp;
    Opened o = OpenWal(tmp.Wal());
    for (int i = 0; i < 8; ++i) {
      records.push_back(i % 2 ? Compressible(1500 + 100 * i, i) : RandomBytes(rng, 50 + i));
      ASSERT_TRUE(o.writer->Log(records.back()).ok());
    }
    data = ReadBytes(SegPath(tmp.Wal(), 0));
  }
  for (int trial = 0; trial < 2000; ++trial) {
    std::string damaged = data;
    size_t pos = rng() % damaged.size();
    damaged[pos] = static_cast<char>(damaged[pos] ^ (1 << (rng() % 8)));
    ReadResult r = Drain(WalReader::ForBuffer(damaged));
    ASSERT_LT(r.records.size(), records.size()) << "flip at " << pos;
    for (size_t i = 0; i < r.records.size(); ++i) ASSERT_EQ(r.records[i], records[i]);
    EXPECT_EQ(r.status.code(), absl::StatusCode::kDataLoss);
    EXPECT_LE(r.offset, pos);
  }
}

// ---------------------------------------------------------------------------------------------
// Damage and repair. Segment 0 holds A (100 bytes), B (200) and C (300), uncompressed, so the
// records end at offsets 109, 318 and 627.

class WalCorruptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Opened o = OpenWal(dir(), 1 << 20, false);
    ASSERT_TRUE(o.writer->Log(a_).ok());
    ASSERT_TRUE(o.writer->Log(b_).ok());
    ASSERT_TRUE(o.writer->Log(c_).ok());
    ASSERT_TRUE(o.writer->Close().ok());
    ASSERT_EQ(SizeOf(seg0()), 627u);
  }

  std::string dir() const { return tmp_.Wal(); }
  std::string seg0() const { return SegPath(dir(), 0); }

  void Truncate(uint64_t size) { ASSERT_TRUE(Env::Default()->Truncate(seg0(), size).ok()); }
  void FlipByte(uint64_t offset) {
    std::string data = ReadBytes(seg0());
    data[offset] = static_cast<char>(data[offset] ^ 0x20);
    WriteBytes(seg0(), data);
  }

  // The reader stops after `good` with reason at offset; Open cuts there and logs it; new
  // records then follow the good ones.
  void ExpectRepair(const std::vector<std::string>& good, uint64_t offset,
                    const std::string& reason) {
    const uint64_t size = SizeOf(seg0());
    ReadResult r = ReadDir(dir());
    EXPECT_THAT(r.records, ElementsAreArray(good));
    EXPECT_EQ(r.status.code(), absl::StatusCode::kDataLoss) << r.status;
    EXPECT_TRUE(r.corrupt);
    EXPECT_EQ(std::string(r.status.message()),
              absl::StrCat("wal segment 00000000 offset ", offset, ": ", reason));
    EXPECT_EQ(r.reason, reason);
    EXPECT_EQ(r.segment, 0);
    EXPECT_EQ(r.offset, offset);

    Opened o = OpenWal(dir(), 1 << 20, false);
    ASSERT_NE(o.writer, nullptr);
    EXPECT_THAT(o.log, ElementsAre(absl::StrCat("wal segment 00000000: dropped ", size - offset,
                                                " bytes after offset ", offset, ": ", reason)));
    EXPECT_TRUE(o.writer->repair_report().repaired());
    EXPECT_EQ(o.writer->repair_report().dropped_bytes, size - offset);
    EXPECT_EQ(SizeOf(seg0()), offset);
    EXPECT_EQ(o.writer->SizeBytes(), offset);
    ASSERT_TRUE(o.writer->Log("after repair").ok());
    ASSERT_TRUE(o.writer->Close().ok());

    r = ReadDir(dir());
    ASSERT_TRUE(r.status.ok()) << r.status;
    std::vector<std::string> want = good;
    want.push_back("after repair");
    EXPECT_THAT(r.records, ElementsAreArray(want));

    // A second open finds nothing to repair.
    Opened again = OpenWal(dir(), 1 << 20, false);
    EXPECT_THAT(again.log, IsEmpty());
    EXPECT_FALSE(again.writer->repair_report().repaired());
  }

  ScratchDir tmp_;
  const std::string a_ = std::string(100, 'a');
  const std::string b_ = std::string(200, 'b');
  const std::string c_ = std::string(300, 'c');
};

TEST_F(WalCorruptionTest, IntactLogNeedsNoRepair) {
  ReadResult r = ReadDir(dir());
  ASSERT_TRUE(r.status.ok());
  EXPECT_THAT(r.records, ElementsAre(a_, b_, c_));
  EXPECT_EQ(r.offset, 627u);
  Opened o = OpenWal(dir());
  EXPECT_THAT(o.log, IsEmpty());
}

TEST_F(WalCorruptionTest, TruncatedHeader) {
  Truncate(318 + 5);
  ExpectRepair({a_, b_}, 318, "truncated record header (5 of 9 bytes)");
}

TEST_F(WalCorruptionTest, TruncatedPayload) {
  Truncate(318 + 9 + 100);
  ExpectRepair({a_, b_}, 318, "record length 300 beyond end of segment (100 bytes left)");
}

TEST_F(WalCorruptionTest, FlippedPayloadByte) {
  FlipByte(109 + 9 + 50);
  ExpectRepair({a_}, 109, "checksum mismatch");
}

TEST_F(WalCorruptionTest, FlippedChecksumByte) {
  FlipByte(0);
  ExpectRepair({}, 0, "checksum mismatch");
}

TEST_F(WalCorruptionTest, GarbageAppended) {
  AppendBytes(seg0(), "not a record, just some garbage");
  // Bytes 4..7 ("a re") read as a length.
  ExpectRepair({a_, b_, c_}, 627, "record length 1701978209 beyond end of segment (22 bytes left)");
}

TEST_F(WalCorruptionTest, ZeroFilledTail) {
  AppendBytes(seg0(), std::string(4096, '\0'));
  ExpectRepair({a_, b_, c_}, 627, "zero-filled tail of 4096 bytes");
}

TEST_F(WalCorruptionTest, ShortZeroFilledTail) {
  AppendBytes(seg0(), std::string(5, '\0'));
  ExpectRepair({a_, b_, c_}, 627, "zero-filled tail of 5 bytes");
}

TEST_F(WalCorruptionTest, ZerosFollowedByDataAreNotATail) {
  AppendBytes(seg0(), std::string(20, '\0') + "x");
  ExpectRepair({a_, b_, c_}, 627, "checksum mismatch");
}

TEST_F(WalCorruptionTest, UnknownRecordType) {
  AppendBytes(seg0(), FrameByHand(7, "payload"));
  ExpectRepair({a_, b_, c_}, 627, "unknown record type 7");
}

TEST_F(WalCorruptionTest, BadSnappyPayload) {
  // A length prefix of 20, then a copy referring to data before the start.
  AppendBytes(seg0(), FrameByHand(wal::kFullRecord | wal::kSnappyFlag,
                                  std::string("\x14\x05\x00\xff\xff", 5)));
  ExpectRepair({a_, b_, c_}, 627, "snappy decompression failed");
}

TEST_F(WalCorruptionTest, ImplausibleSnappyLength) {
  // Claims 1000 uncompressed bytes from 6 compressed ones.
  AppendBytes(seg0(), FrameByHand(wal::kFullRecord | wal::kSnappyFlag,
                                  std::string("\xe8\x07\x00\x00\x00\x00", 6)));
  ExpectRepair({a_, b_, c_}, 627, "snappy decompression failed (implausible length 1000)");
}

TEST_F(WalCorruptionTest, TornCompressedRecord) {
  {
    Opened o = OpenWal(dir());
    ASSERT_TRUE(o.writer->Log(Compressible(5000, 7)).ok());
  }
  uint64_t size = SizeOf(seg0());
  ASSERT_LT(size, 627u + 9 + 5000);
  Truncate(size - 1);
  ExpectRepair({a_, b_, c_}, 627,
               absl::StrCat("record length ", size - 627 - 9, " beyond end of segment (",
                            size - 627 - 10, " bytes left)"));
}

// Five segments of four records each; damage in one of the middle ones.
class WalMultiSegmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Opened o = OpenWal(dir(), 4 * (wal::kHeaderSize + 100), false);
    for (int i = 0; i < 20; ++i) {
      records_.push_back(std::string(100, static_cast<char>('a' + i)));
      ASSERT_TRUE(o.writer->Log(records_.back()).ok());
    }
    ASSERT_THAT(o.writer->Segments(), ElementsAre(0, 1, 2, 3, 4));
  }
  std::string dir() const { return tmp_.Wal(); }
  std::vector<std::string> First(size_t n) const {
    return std::vector<std::string>(records_.begin(), records_.begin() + n);
  }

  ScratchDir tmp_;
  std::vector<std::string> records_;
};

TEST_F(WalMultiSegmentTest, CorruptMiddleSegmentDropsLaterSegments) {
  const std::string seg1 = SegPath(dir(), 1);
  std::string data = ReadBytes(seg1);
  data[109 + 9 + 10] ^= 1;  // second record of segment 1
  WriteBytes(seg1, data);

  ReadResult r = ReadDir(dir());
  EXPECT_THAT(r.records, ElementsAreArray(First(5)));
  EXPECT_EQ(std::string(r.status.message()), "wal segment 00000001 offset 109: checksum mismatch");
  EXPECT_EQ(r.segment, 1);
  EXPECT_EQ(r.offset, 109u);

  Opened o = OpenWal(dir(), 4 * (wal::kHeaderSize + 100), false);
  EXPECT_THAT(o.log,
              ElementsAre("wal segment 00000001: dropped 327 bytes after offset 109: "
                          "checksum mismatch",
                          "wal segment 00000004: removed (436 bytes), it follows damaged segment "
                          "00000001",
                          "wal segment 00000003: removed (436 bytes), it follows damaged segment "
                          "00000001",
                          "wal segment 00000002: removed (436 bytes), it follows damaged segment "
                          "00000001"));
  const WalRepairReport& report = o.writer->repair_report();
  EXPECT_EQ(report.damaged_segment, 1);
  EXPECT_EQ(report.cut_offset, 109u);
  EXPECT_EQ(report.dropped_bytes, 327u + 3 * 436);
  EXPECT_THAT(report.removed_segments, ElementsAre(2, 3, 4));
  EXPECT_EQ(report.reason, "checksum mismatch");
  EXPECT_THAT(o.writer->Segments(), ElementsAre(0, 1));
  EXPECT_EQ(o.writer->CurrentSegment(), 1);
  EXPECT_EQ(o.writer->SizeBytes(), 436u + 109);
  ASSERT_TRUE(o.writer->Log("new").ok());
  o.writer.reset();

  r = ReadDir(dir());
  ASSERT_TRUE(r.status.ok()) << r.status;
  std::vector<std::string> want = First(5);
  want.push_back("new");
  EXPECT_THAT(r.records, ElementsAreArray(want));
}

TEST_F(WalMultiSegmentTest, MissingSegmentEndsTheLog) {
  ASSERT_TRUE(Env::Default()->RemoveFile(SegPath(dir(), 2)).ok());
  ReadResult r = ReadDir(dir());
  EXPECT_THAT(r.records, ElementsAreArray(First(8)));
  EXPECT_EQ(std::string(r.status.message()),
            "wal segment 00000001 offset 436: segment 00000002 missing (the next one present is "
            "00000003)");
  EXPECT_TRUE(r.corrupt);

  Opened o = OpenWal(dir());
  ASSERT_EQ(o.log.size(), 3u);
  EXPECT_EQ(o.log[0],
            "wal segment 00000001: log ends at offset 436: segment 00000002 missing (the next "
            "one present is 00000003)");
  EXPECT_THAT(o.writer->Segments(), ElementsAre(0, 1));
  EXPECT_EQ(o.writer->repair_report().dropped_bytes, 2u * 436);
}

TEST_F(WalMultiSegmentTest, ReaderRangeStartsAtFirstPresentSegment) {
  Opened o = OpenWal(dir());
  ASSERT_TRUE(o.writer->TruncateBefore(3).ok());
  ReadResult r = ReadDir(dir(), 1, WalReader::kLastSegment);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_THAT(r.records,
              ElementsAreArray(std::vector<std::string>(records_.begin() + 12, records_.end())));
}

TEST_F(WalMultiSegmentTest, CheckFromSegmentLeavesOlderSegmentsAlone) {
  const std::string seg0 = SegPath(dir(), 0);
  std::string data = ReadBytes(seg0);
  data[20] ^= 1;
  WriteBytes(seg0, data);
  Opened o = OpenWal(dir(), 1 << 20, false, Env::Default(), /*check_from=*/1);
  EXPECT_THAT(o.log, IsEmpty());
  EXPECT_THAT(o.writer->Segments(), ElementsAre(0, 1, 2, 3, 4));
  ReadResult r = ReadDir(dir(), 1);
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.records.size(), 16u);
}

TEST_F(WalMultiSegmentTest, RepairAfterOwnReplay) {
  const std::string seg2 = SegPath(dir(), 2);
  std::string data = ReadBytes(seg2);
  data[300] ^= 1;  // third record of segment 2
  WriteBytes(seg2, data);

  // The owner replays once, repairs where the reader stopped and opens checking only the tail.
  WalReader reader = WalReader::ForDir(Env::Default(), dir());
  std::string_view rec;
  int n = 0;
  while (reader.Next(&rec)) ++n;
  EXPECT_EQ(n, 10);
  ASSERT_TRUE(reader.corrupt());
  std::vector<std::string> lines;
  WalRepairReport report;
  ASSERT_TRUE(WalWriter::Repair(
                  Env::Default(), dir(), reader.segment(), reader.offset(),
                  reader.corruption_reason(),
                  [&](std::string_view line) { lines.emplace_back(line); }, &report)
                  .ok());
  EXPECT_EQ(lines.size(), 3u);
  EXPECT_EQ(report.damaged_segment, 2);
  EXPECT_EQ(report.cut_offset, 218u);

  Opened o =
      OpenWal(dir(), 1 << 20, false, Env::Default(), WalWriterOptions::kCheckLastSegmentOnly);
  EXPECT_THAT(o.log, IsEmpty());
  EXPECT_THAT(o.writer->Segments(), ElementsAre(0, 1, 2));
  ReadResult r = ReadDir(dir());
  ASSERT_TRUE(r.status.ok());
  EXPECT_THAT(r.records, ElementsAreArray(First(10)));
}

// ---------------------------------------------------------------------------------------------
// Failing disks.

TEST(WalFaultTest, DiskFullInTheMiddleOfARecord) {
  ScratchDir tmp;
  FaultInjectionEnv env;
  Opened o = OpenWal(tmp.Wal(), 1 << 20, false, &env);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(o.writer->Log(std::string(50, 'a' + i)).ok());
  const uint64_t good = 5 * (wal::kHeaderSize + 50);
  ASSERT_EQ(SizeOf(SegPath(tmp.Wal(), 0)), good);

  env.SetWriteLimit(30);
  absl::Status s = o.writer->Log(std::string(200, 'x'));
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("wal segment 00000000: write of 209 bytes at "
                                                  "offset 295"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("No space left on device"));
  EXPECT_EQ(env.failed_writes(), 1u);
  // The partial record is gone at once.
  EXPECT_EQ(SizeOf(SegPath(tmp.Wal(), 0)), good);
  EXPECT_EQ(o.writer->SizeBytes(), good);

  // Still full.
  EXPECT_EQ(o.writer->Log("y").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(o.writer->LogBatch({"y", "z"}).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(SizeOf(SegPath(tmp.Wal(), 0)), good);

  env.ClearWriteLimit();
  ASSERT_TRUE(o.writer->Log("after").ok());
  ASSERT_TRUE(o.writer->Sync().ok());
  ReadResult r = ReadDir(tmp.Wal());
  ASSERT_TRUE(r.status.ok()) << r.status;
  ASSERT_EQ(r.records.size(), 6u);
  EXPECT_EQ(r.records[4], std::string(50, 'e'));
  EXPECT_EQ(r.records[5], "after");
}

TEST(WalFaultTest, FailedWriteIsCutOnTheNextCallWhenItCannotBeCutAtOnce) {
  ScratchDir tmp;
  FaultInjectionEnv env;
  Opened o = OpenWal(tmp.Wal(), 1 << 20, false, &env);
  ASSERT_TRUE(o.writer->Log("first").ok());
  env.SetWriteLimit(12);
  env.SetFailTruncate(true);
  EXPECT_FALSE(o.writer->Log(std::string(100, 'x')).ok());
  // A half record is on disk for now.
  EXPECT_EQ(SizeOf(SegPath(tmp.Wal(), 0)), wal::kHeaderSize + 5 + 12);
  env.ClearWriteLimit();
  absl::Status s = o.writer->Log("second");
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr("cut wal segment 00000000 after a failed write"));
  EXPECT_FALSE(o.writer->Sync().ok());
  env.SetFailTruncate(false);
  ASSERT_TRUE(o.writer->Log("third").ok());
  ReadResult r = ReadDir(tmp.Wal());
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_THAT(r.records, ElementsAre("first", "third"));
}

TEST(WalFaultTest, FailedBatchLeavesNoneOfItsRecords) {
  ScratchDir tmp;
  FaultInjectionEnv env;
  Opened o = OpenWal(tmp.Wal(), 1 << 20, true, &env);
  ASSERT_TRUE(o.writer->Log("first").ok());
  env.SetWriteLimit(100);
  EXPECT_FALSE(o.writer->LogBatch({std::string(60, 'a'), std::string(60, 'b')}).ok());
  env.ClearWriteLimit();
  o.writer.reset();
  ReadResult r = ReadDir(tmp.Wal());
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_THAT(r.records, ElementsAre("first"));
}

TEST(WalFaultTest, SyncFailureIsReported) {
  ScratchDir tmp;
  FaultInjectionEnv env;
  Opened o = OpenWal(tmp.Wal(), 1 << 20, true, &env);
  ASSERT_TRUE(o.writer->Log("a").ok());
  env.SetFailSync(true);
  absl::Status s = o.writer->Sync();
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr("sync wal segment 00000000"));
  // Cutting a segment syncs the old one first: it fails and keeps the current segment.
  EXPECT_FALSE(o.writer->NextSegment().ok());
  EXPECT_EQ(o.writer->CurrentSegment(), 0);
  env.SetFailSync(false);
  const uint64_t syncs = env.syncs();
  EXPECT_TRUE(o.writer->Sync().ok());
  EXPECT_EQ(env.syncs(), syncs + 1);
}

TEST(WalFaultTest, FailedSegmentCreationKeepsTheCurrentSegment) {
  ScratchDir tmp;
  FaultInjectionEnv env;
  Opened o = OpenWal(tmp.Wal(), 100, false, &env);
  ASSERT_TRUE(o.writer->Log(std::string(80, 'a')).ok());
  env.SetFailCreate(true);
  EXPECT_FALSE(o.writer->NextSegment().ok());
  // A record that needs a new segment fails too, without writing anything.
  absl::Status s = o.writer->Log(std::string(80, 'b'));
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr("create wal segment 00000001"));
  EXPECT_EQ(o.writer->CurrentSegment(), 0);
  EXPECT_THAT(o.writer->Segments(), ElementsAre(0));
  env.SetFailCreate(false);
  ASSERT_TRUE(o.writer->Log(std::string(80, 'c')).ok());
  EXPECT_EQ(o.writer->CurrentSegment(), 1);
  ReadResult r = ReadDir(tmp.Wal());
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_THAT(r.records, ElementsAre(std::string(80, 'a'), std::string(80, 'c')));
}

TEST(WalFaultTest, OpenFailsCleanlyWhenTheDirectoryCannotBeCreated) {
  ScratchDir tmp;
  FaultInjectionEnv env;
  env.SetFailCreate(true);
  auto w = WalWriter::Open(&env, tmp.Wal(), WalWriterOptions{});
  EXPECT_FALSE(w.ok());
  EXPECT_THAT(std::string(w.status().message()), HasSubstr("create wal directory"));
}

TEST(WalFaultTest, TornWriteIsRepairedAtNextOpen) {
  ScratchDir tmp;
  FaultInjectionEnv env;
  {
    Opened o = OpenWal(tmp.Wal(), 1 << 20, false, &env);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(o.writer->Log(std::string(40, 'a' + i)).ok());
    env.TearNextWrite(20);
    EXPECT_EQ(o.writer->Log(std::string(100, 'x')).code(), absl::StatusCode::kUnavailable);
    EXPECT_TRUE(env.crashed());
    // The "dead" process cannot cut the torn record.
  }
  const uint64_t good = 3 * (wal::kHeaderSize + 40);
  EXPECT_EQ(SizeOf(SegPath(tmp.Wal(), 0)), good + 20);
  env.Revive();
  Opened o = OpenWal(tmp.Wal(), 1 << 20, false, &env);
  EXPECT_THAT(o.log,
              ElementsAre(absl::StrCat("wal segment 00000000: dropped 20 bytes after offset ", good,
                                       ": record length 100 beyond end of segment (11 "
                                       "bytes left)")));
  ASSERT_TRUE(o.writer->Log("z").ok());
  ReadResult r = ReadDir(tmp.Wal());
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.records.size(), 4u);
  EXPECT_EQ(r.records.back(), "z");
}

TEST(WalFaultTest, PowerLossKeepsWhatWasSynced) {
  ScratchDir tmp;
  FaultInjectionEnv env;
  {
    Opened o = OpenWal(tmp.Wal(), 1 << 20, false, &env);
    ASSERT_TRUE(o.writer->Log("synced-1").ok());
    ASSERT_TRUE(o.writer->Log("synced-2").ok());
    ASSERT_TRUE(o.writer->Sync().ok());
    ASSERT_TRUE(o.writer->Log("lost").ok());
    // Cutting a segment syncs the previous one.
    ASSERT_TRUE(o.writer->NextSegment().ok());
    ASSERT_TRUE(o.writer->Log("lost-too").ok());
  }
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  ReadResult r = ReadDir(tmp.Wal(), WalReader::kFirstSegment, WalReader::kLastSegment, &env);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_THAT(r.records, ElementsAre("synced-1", "synced-2", "lost"));
  EXPECT_EQ(SizeOf(SegPath(tmp.Wal(), 1)), 0u);
}

TEST(WalFaultTest, UnreadableSegmentFailsOpen) {
  ScratchDir tmp;
  FaultInjectionEnv env;
  {
    Opened o = OpenWal(tmp.Wal(), 1 << 20, false, &env);
    ASSERT_TRUE(o.writer->Log("a").ok());
  }
  env.SetFailReads(true);
  auto w = WalWriter::Open(&env, tmp.Wal(), WalWriterOptions{});
  EXPECT_FALSE(w.ok());
  EXPECT_THAT(std::string(w.status().message()), HasSubstr("read wal segment 00000000"));
  // Nothing was cut.
  EXPECT_EQ(SizeOf(SegPath(tmp.Wal(), 0)), wal::kHeaderSize + 1);
}

// ---------------------------------------------------------------------------------------------
// Record codecs.

std::vector<RefSeries> SomeSeries() {
  return {
      {1, Labels{{"__name__", "up"}, {"job", "node"}, {"instance", "10.0.0.1:9100"}}},
      {2, Labels{}},
      {std::numeric_limits<uint64_t>::max(),
       Labels{{"__name__", "x"}, {"v", std::string(300, 'v')}, {"u", "\xc3\xa9t\xc3\xa9"}}},
  };
}

std::vector<RefSample> SomeSamples() {
  const double kStale = StaleNaN();
  return {
      {100, 1700000000000, 1.5},
      {101, 1700000000000, -0.0},
      {99, 1699999999000, kStale},
      {0, std::numeric_limits<int64_t>::min(), std::numeric_limits<double>::infinity()},
      {std::numeric_limits<uint64_t>::max(), std::numeric_limits<int64_t>::max(),
       std::numeric_limits<double>::quiet_NaN()},
      {100, -5, 1e300},
  };
}

std::vector<RefChunk> SomeChunks() {
  return {
      {1, 1000, 2000, 120, std::string("\x00\x78\x01\x02\x03", 5)},
      {7, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), 65535,
       std::string(1000, 'c')},
      {8, 5, 5, 0, ""},
  };
}

void ExpectSamplesEqual(const std::vector<RefSample>& got, const std::vector<RefSample>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].ref, want[i].ref) << i;
    EXPECT_EQ(got[i].t, want[i].t) << i;
    EXPECT_EQ(std::bit_cast<uint64_t>(got[i].v), std::bit_cast<uint64_t>(want[i].v)) << i;
  }
}

TEST(WalRecordsTest, SeriesRoundTrip) {
  std::string buf = "stale contents";
  std::vector<RefSeries> in = SomeSeries();
  EncodeSeries(in, &buf);
  EXPECT_EQ(GetRecordKind(buf), RecordKind::kSeries);
  std::vector<RefSeries> out = {{5, Labels{{"a", "b"}}}};
  ASSERT_TRUE(DecodeSeries(buf, &out).ok());
  EXPECT_EQ(out, in);

  EncodeSeries({}, &buf);
  EXPECT_EQ(buf, std::string(1, static_cast<char>(RecordKind::kSeries)));
  ASSERT_TRUE(DecodeSeries(buf, &out).ok());
  EXPECT_THAT(out, IsEmpty());
}

TEST(WalRecordsTest, SamplesRoundTrip) {
  std::string buf;
  std::vector<RefSample> in = SomeSamples();
  EncodeSamples(in, &buf);
  EXPECT_EQ(GetRecordKind(buf), RecordKind::kSamples);
  std::vector<RefSample> out;
  ASSERT_TRUE(DecodeSamples(buf, &out).ok());
  ExpectSamplesEqual(out, in);

  EncodeSamples({}, &buf);
  EXPECT_EQ(buf.size(), 1u);
  ASSERT_TRUE(DecodeSamples(buf, &out).ok());
  EXPECT_THAT(out, IsEmpty());
}

TEST(WalRecordsTest, SamplesAreCompact) {
  std::vector<RefSample> in;
  for (int i = 0; i < 1000; ++i) in.push_back({uint64_t(5000 + i), 1700000000000 + i % 7, 1.0 * i});
  std::string buf;
  EncodeSamples(in, &buf);
  // Refs within +-63 and times within +-63 of the first take one byte each, plus 8 for v.
  EXPECT_LE(buf.size(), 1 + 10 + 1000 * 12u);
  std::vector<RefSample> out;
  ASSERT_TRUE(DecodeSamples(buf, &out).ok());
  ExpectSamplesEqual(out, in);
}

TEST(WalRecordsTest, ChunksRoundTrip) {
  std::string buf;
  std::vector<RefChunk> in = SomeChunks();
  EncodeChunks(in, &buf);
  EXPECT_EQ(GetRecordKind(buf), RecordKind::kChunks);
  std::vector<RefChunk> out;
  ASSERT_TRUE(DecodeChunks(buf, &out).ok());
  EXPECT_EQ(out, in);
}

TEST(WalRecordsTest, RejectsWrongKindAndEmptyPayload) {
  std::string buf;
  EncodeSamples(SomeSamples(), &buf);
  std::vector<RefSeries> series;
  absl::Status s = DecodeSeries(buf, &series);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()), "not a series record: kind byte is 2");
  std::vector<RefSample> samples;
  EXPECT_EQ(std::string(DecodeSamples("", &samples).message()),
            "malformed samples record: empty payload");
  EXPECT_EQ(GetRecordKind(""), RecordKind::kUnknown);
  EXPECT_EQ(GetRecordKind("\x09"), RecordKind::kUnknown);
}

TEST(WalRecordsTest, ErrorsSayWhereAndWhat) {
  std::string buf;
  EncodeSamples(SomeSamples(), &buf);
  std::vector<RefSample> samples;
  absl::Status s = DecodeSamples(buf.substr(0, buf.size() - 3), &samples);
  EXPECT_THAT(std::string(s.message()), HasSubstr("malformed samples record at byte"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("(entry 5): truncated sample"));

  std::string chunk = "\x03\x01\x02\x02\x01\x7f";  // ref 1, times 1/1, 1 sample, 127 bytes
  std::vector<RefChunk> chunks;
  s = DecodeChunks(chunk, &chunks);
  EXPECT_EQ(std::string(s.message()),
            "malformed chunks record at byte 1 (entry 0): chunk length 127 beyond end of record "
            "(0 bytes left)");
  s = DecodeChunks(std::string("\x03\x01\x02\x02\x80\x80\x04\x00", 8), &chunks);
  EXPECT_THAT(std::string(s.message()), HasSubstr("sample count 65536 exceeds 65535"));

  std::vector<RefSeries> series;
  s = DecodeSeries("\x01\x01\x7f", &series);
  EXPECT_THAT(std::string(s.message()), HasSubstr("label count 127 exceeds the payload"));
  s = DecodeSeries(
      "\x01\x01\x01\x03"
      "ab",
      &series);
  EXPECT_THAT(std::string(s.message()), HasSubstr("label 0 truncated"));
  // A varint longer than 64 bits.
  s = DecodeSeries(std::string("\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f\x00", 12), &series);
  EXPECT_THAT(std::string(s.message()), HasSubstr("bad ref"));
}

template <typename T, typename Decode>
void CheckTruncationsAndFlips(const std::string& full, const std::vector<T>& want, Decode decode) {
  std::vector<T> out;
  ASSERT_TRUE(decode(full, &out).ok());
  ASSERT_EQ(out.size(), want.size());
  for (size_t cut = 0; cut < full.size(); ++cut) {
    absl::Status s = decode(std::string_view(full).substr(0, cut), &out);
    if (s.ok()) {
      // Only a cut at an entry boundary decodes, to fewer entries.
      ASSERT_LT(out.size(), want.size()) << "cut " << cut;
    } else {
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    }
  }
  std::mt19937_64 rng(5);
  for (size_t pos = 0; pos < full.size(); ++pos) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string damaged = full;
      damaged[pos] = static_cast<char>(damaged[pos] ^ (1 << bit));
      decode(damaged, &out).IgnoreError();  // must not crash or over-read (ASan)
    }
    std::string damaged = full;
    damaged[pos] = static_cast<char>(rng());
    decode(damaged, &out).IgnoreError();
  }
}

TEST(WalRecordsTest, MalformedSeriesNeverCrash) {
  std::string buf;
  EncodeSeries(SomeSeries(), &buf);
  CheckTruncationsAndFlips(buf, SomeSeries(), DecodeSeries);
}

TEST(WalRecordsTest, MalformedSamplesNeverCrash) {
  std::string buf;
  EncodeSamples(SomeSamples(), &buf);
  CheckTruncationsAndFlips(buf, SomeSamples(), DecodeSamples);
}

TEST(WalRecordsTest, MalformedChunksNeverCrash) {
  std::string buf;
  EncodeChunks(SomeChunks(), &buf);
  CheckTruncationsAndFlips(buf, SomeChunks(), DecodeChunks);
}

TEST(WalRecordsTest, RecordsSurviveTheLog) {
  ScratchDir tmp;
  {
    Opened o = OpenWal(tmp.Wal());
    std::string buf;
    EncodeSeries(SomeSeries(), &buf);
    ASSERT_TRUE(o.writer->Log(buf).ok());
    std::vector<RefSample> many;
    for (int i = 0; i < 2000; ++i) many.push_back({uint64_t(i % 3), 1000 + i, 0.5});
    EncodeSamples(many, &buf);
    ASSERT_TRUE(o.writer->Log(buf).ok());  // compressed
  }
  WalReader reader = WalReader::ForDir(Env::Default(), tmp.Wal());
  std::string_view rec;
  std::vector<RefSeries> series;
  std::vector<RefSample> samples;
  ASSERT_TRUE(reader.Next(&rec));
  ASSERT_TRUE(DecodeSeries(rec, &series).ok());
  EXPECT_EQ(series, SomeSeries());
  ASSERT_TRUE(reader.Next(&rec));
  ASSERT_TRUE(DecodeSamples(rec, &samples).ok());
  EXPECT_EQ(samples.size(), 2000u);
  EXPECT_EQ(samples[1999].t, 2999);
  EXPECT_FALSE(reader.Next(&rec));
  EXPECT_TRUE(reader.status().ok());
}

}  // namespace
}  // namespace tsdb
