#include "tsdb/wal/wal_reader.h"

#include <snappy.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tsdb/wal/format.h"

namespace tsdb {
namespace {

uint32_t LoadLE32(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return uint32_t{b[0]} | (uint32_t{b[1]} << 8) | (uint32_t{b[2]} << 16) | (uint32_t{b[3]} << 24);
}

bool AllZero(const char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

absl::Status Annotate(const absl::Status& s, const std::string& prefix) {
  return absl::Status(s.code(), absl::StrCat(prefix, ": ", s.message()));
}

}  // namespace

absl::StatusOr<std::vector<int>> ListWalSegments(Env* env, const std::string& dir) {
  absl::StatusOr<std::vector<std::string>> names = env->ListDir(dir);
  if (!names.ok()) return names.status();
  std::vector<int> segments;
  for (const std::string& name : *names) {
    int n;
    if (wal::ParseSegmentName(name, &n)) segments.push_back(n);
  }
  std::sort(segments.begin(), segments.end());
  return segments;
}

WalReader::WalReader(Mode mode, Env* env, std::string location, int first, int last)
    : mode_(mode), env_(env), location_(std::move(location)), first_(first), last_(last) {}

WalReader WalReader::ForDir(Env* env, std::string dir, int first, int last) {
  return WalReader(Mode::kDir, env, std::move(dir), first, last);
}

WalReader WalReader::ForFile(Env* env, std::string path) {
  return WalReader(Mode::kFile, env, std::move(path), 0, 0);
}

WalReader WalReader::ForBuffer(std::string_view data, std::string name) {
  WalReader r(Mode::kBuffer, nullptr, std::move(name), 0, 0);
  r.external_ = data;
  return r;
}

std::string WalReader::SegmentLabel() const {
  switch (mode_) {
    case Mode::kDir:
      return absl::StrCat("wal segment ", wal::SegmentName(segment_));
    case Mode::kFile:
      return absl::StrCat("file ", location_);
    case Mode::kBuffer:
      break;
  }
  return location_;
}

bool WalReader::Corrupt(std::string reason) {
  status_ = absl::DataLossError(absl::StrCat(SegmentLabel(), " offset ", pos_, ": ", reason));
  corrupt_ = true;
  reason_ = std::move(reason);
  done_ = true;
  return false;
}

bool WalReader::OpenNextSegment() {
  in_segment_ = false;
  if (mode_ != Mode::kDir) {
    if (next_index_ > 0) {
      done_ = true;
      return false;
    }
    next_index_ = 1;
    if (mode_ == Mode::kFile) {
      absl::StatusOr<std::string> data = env_->ReadFile(location_);
      if (!data.ok()) {
        status_ = data.status();
        done_ = true;
        return false;
      }
      owned_ = std::move(*data);
    }
    segment_ = 0;
    pos_ = 0;
    in_segment_ = true;
    return true;
  }

  if (!listed_) {
    listed_ = true;
    absl::StatusOr<std::vector<int>> all = ListWalSegments(env_, location_);
    if (!all.ok()) {
      status_ = Annotate(all.status(), absl::StrCat("list wal directory ", location_));
      done_ = true;
      return false;
    }
    for (int s : *all) {
      if (first_ != kFirstSegment && s < first_) continue;
      if (last_ != kLastSegment && s > last_) continue;
      segments_.push_back(s);
    }
  }
  if (next_index_ >= segments_.size()) {
    done_ = true;
    return false;
  }
  int next = segments_[next_index_];
  if (segment_ >= 0 && next != segment_ + 1) {
    // pos_ is at the end of the current segment: everything in it was good.
    return Corrupt(absl::StrCat("segment ", wal::SegmentName(segment_ + 1),
                                " missing (the next one present is ", wal::SegmentName(next), ")"));
  }
  ++next_index_;
  segment_ = next;
  pos_ = 0;
  owned_.clear();
  std::string path = JoinPath(location_, wal::SegmentName(next));
  absl::StatusOr<std::string> data = env_->ReadFile(path);
  if (!data.ok()) {
    status_ = Annotate(data.status(), absl::StrCat("read wal segment ", wal::SegmentName(next)));
    done_ = true;
    return false;
  }
  owned_ = std::move(*data);
  in_segment_ = true;
  return true;
}

bool WalReader::Next(std::string_view* record) {
  if (done_) return false;
  while (true) {
    if (!in_segment_ && !OpenNextSegment()) return false;
    const std::string_view data = Data();
    const uint64_t left = data.size() - pos_;
    if (left == 0) {
      in_segment_ = false;
      continue;
    }
    const char* p = data.data() + pos_;
    if (left < wal::kHeaderSize) {
      if (AllZero(p, left)) return Corrupt(absl::StrCat("zero-filled tail of ", left, " bytes"));
      return Corrupt(
          absl::StrCat("truncated record header (", left, " of ", wal::kHeaderSize, " bytes)"));
    }
    const uint32_t crc = LoadLE32(p);
    const uint32_t len = LoadLE32(p + 4);
    const auto type = static_cast<uint8_t>(p[8]);
    if (crc == 0 && len == 0 && type == 0 && AllZero(p, left)) {
      return Corrupt(absl::StrCat("zero-filled tail of ", left, " bytes"));
    }
    if (len > left - wal::kHeaderSize) {
      return Corrupt(absl::StrCat("record length ", len, " beyond end of segment (",
                                  left - wal::kHeaderSize, " bytes left)"));
    }
    // The type byte directly precedes the payload: one pass covers both.
    const auto actual = static_cast<uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(p + 8), static_cast<uInt>(len) + 1));
    if (actual != crc) return Corrupt("checksum mismatch");
    if ((type & wal::kTypeMask) != wal::kFullRecord) {
      return Corrupt(absl::StrCat("unknown record type ", type));
    }
    std::string_view payload(p + wal::kHeaderSize, len);
    if (type & wal::kSnappyFlag) {
      size_t n = 0;
      if (!snappy::GetUncompressedLength(payload.data(), payload.size(), &n)) {
        return Corrupt("snappy decompression failed (bad length prefix)");
      }
      if (n > wal::kMaxRecordBytes || n > uint64_t{len} * wal::kMaxSnappyExpansion + 64) {
        return Corrupt(absl::StrCat("snappy decompression failed (implausible length ", n, ")"));
      }
      if (scratch_.size() < n) scratch_.resize(std::max(n, scratch_.size() * 2));
      if (!snappy::RawUncompress(payload.data(), payload.size(), scratch_.data())) {
        return Corrupt("snappy decompression failed");
      }
      payload = std::string_view(scratch_.data(), n);
    }
    pos_ += wal::kHeaderSize + len;
    ++records_;
    *record = payload;
    return true;
  }
}

}  // namespace tsdb
