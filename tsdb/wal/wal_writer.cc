#include "tsdb/wal/wal_writer.h"

#include <snappy.h>
#include <zlib.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tsdb/wal/format.h"
#include "tsdb/wal/wal_reader.h"

namespace tsdb {
namespace {

absl::Status Annotate(const absl::Status& s, const std::string& prefix) {
  return absl::Status(s.code(), absl::StrCat(prefix, ": ", s.message()));
}

void PutLE32(char* p, uint32_t v) {
  p[0] = static_cast<char>(v);
  p[1] = static_cast<char>(v >> 8);
  p[2] = static_cast<char>(v >> 16);
  p[3] = static_cast<char>(v >> 24);
}

void Note(const std::function<void(std::string_view)>& log, const std::string& line) {
  if (log) log(line);
}

}  // namespace

WalWriter::WalWriter(Env* env, std::string dir, WalWriterOptions options)
    : env_(env), dir_(std::move(dir)), options_(std::move(options)) {}

WalWriter::~WalWriter() {
  if (needs_recovery_ && !closed_) RecoverFromFailedWrite().IgnoreError();
  if (file_) file_->Close().IgnoreError();
}

std::string WalWriter::SegmentPath(int n) const { return JoinPath(dir_, wal::SegmentName(n)); }

absl::StatusOr<std::unique_ptr<WalWriter>> WalWriter::Open(Env* env, std::string dir,
                                                           WalWriterOptions options) {
  std::unique_ptr<WalWriter> w(new WalWriter(env, std::move(dir), std::move(options)));
  absl::Status s = w->Init();
  if (!s.ok()) return s;
  return w;
}

absl::Status WalWriter::Repair(Env* env, const std::string& dir, int segment, uint64_t offset,
                               std::string_view reason,
                               const std::function<void(std::string_view)>& log,
                               WalRepairReport* report) {
  WalRepairReport local;
  if (report == nullptr) report = &local;
  report->damaged_segment = segment;
  report->cut_offset = offset;
  report->reason = std::string(reason);

  const std::string name = wal::SegmentName(segment);
  const std::string path = JoinPath(dir, name);
  absl::StatusOr<uint64_t> size = env->FileSize(path);
  if (!size.ok()) return Annotate(size.status(), absl::StrCat("repair wal segment ", name));
  if (offset < *size) {
    absl::Status s = env->Truncate(path, offset);
    if (!s.ok()) return Annotate(s, absl::StrCat("repair wal segment ", name));
    report->dropped_bytes += *size - offset;
    Note(log, absl::StrFormat("wal segment %s: dropped %d bytes after offset %d: %s", name,
                              *size - offset, offset, reason));
  } else {
    Note(log, absl::StrFormat("wal segment %s: log ends at offset %d: %s", name, offset, reason));
  }

  absl::StatusOr<std::vector<int>> segments = ListWalSegments(env, dir);
  if (!segments.ok()) return Annotate(segments.status(), absl::StrCat("list wal directory ", dir));
  // Newest first, so that a crash in between leaves a contiguous range.
  for (auto it = segments->rbegin(); it != segments->rend() && *it > segment; ++it) {
    const std::string later = wal::SegmentName(*it);
    const std::string later_path = JoinPath(dir, later);
    absl::StatusOr<uint64_t> later_size = env->FileSize(later_path);
    absl::Status s = env->RemoveFile(later_path);
    if (!s.ok()) return Annotate(s, absl::StrCat("remove wal segment ", later));
    uint64_t bytes = later_size.ok() ? *later_size : 0;
    report->dropped_bytes += bytes;
    report->removed_segments.insert(report->removed_segments.begin(), *it);
    Note(log, absl::StrFormat("wal segment %s: removed (%d bytes), it follows damaged segment %s",
                              later, bytes, name));
  }
  absl::Status s = env->SyncDir(dir);
  if (!s.ok()) return Annotate(s, "repair wal");
  return absl::OkStatus();
}

absl::Status WalWriter::Init() {
  absl::Status s = env_->CreateDirs(dir_);
  if (!s.ok()) return Annotate(s, "create wal directory");
  absl::StatusOr<std::vector<int>> segments = ListWalSegments(env_, dir_);
  if (!segments.ok()) return Annotate(segments.status(), absl::StrCat("list wal directory ", dir_));

  if (!segments->empty()) {
    int from = options_.check_from_segment;
    if (from == WalWriterOptions::kCheckLastSegmentOnly) from = segments->back();
    if (from <= segments->back()) {
      WalReader reader = WalReader::ForDir(env_, dir_, from, WalReader::kLastSegment);
      std::string_view record;
      while (reader.Next(&record)) {
      }
      if (!reader.status().ok()) {
        if (!reader.corrupt()) return reader.status();
        s = Repair(env_, dir_, reader.segment(), reader.offset(), reader.corruption_reason(),
                   options_.log, &report_);
        if (!s.ok()) return s;
        segments = ListWalSegments(env_, dir_);
        if (!segments.ok()) {
          return Annotate(segments.status(), absl::StrCat("list wal directory ", dir_));
        }
      }
    }
  }

  if (segments->empty()) return StartSegment(0);

  uint64_t total = 0;
  for (size_t i = 0; i + 1 < segments->size(); ++i) {
    int n = (*segments)[i];
    absl::StatusOr<uint64_t> size = env_->FileSize(SegmentPath(n));
    if (!size.ok()) return size.status();
    sizes_[n] = *size;
    total += *size;
  }
  current_ = segments->back();
  absl::StatusOr<std::unique_ptr<WritableFile>> f = env_->NewAppendableFile(SegmentPath(current_));
  if (!f.ok()) {
    return Annotate(f.status(), absl::StrCat("open wal segment ", wal::SegmentName(current_)));
  }
  file_ = std::move(*f);
  current_size_ = file_->Size();
  total_bytes_.store(total + current_size_, std::memory_order_relaxed);
  return absl::OkStatus();
}

absl::Status WalWriter::StartSegment(int n) {
  const std::string name = wal::SegmentName(n);
  if (file_) {
    absl::Status s = file_->Sync();
    if (!s.ok()) {
      return Annotate(s, absl::StrCat("sync wal segment ", wal::SegmentName(current_),
                                      " before starting ", name));
    }
  }
  absl::StatusOr<std::unique_ptr<WritableFile>> f = env_->NewWritableFile(SegmentPath(n));
  if (!f.ok()) return Annotate(f.status(), absl::StrCat("create wal segment ", name));
  absl::Status s = env_->SyncDir(dir_);
  if (!s.ok()) {
    (*f)->Close().IgnoreError();
    env_->RemoveFile(SegmentPath(n)).IgnoreError();
    return Annotate(s, absl::StrCat("create wal segment ", name));
  }
  if (file_) {
    // Already synced: a close error loses nothing.
    file_->Close().IgnoreError();
    sizes_[current_] = current_size_;
  }
  file_ = std::move(*f);
  current_ = n;
  current_size_ = 0;
  return absl::OkStatus();
}

absl::Status WalWriter::RecoverFromFailedWrite() {
  const std::string name = wal::SegmentName(current_);
  if (file_) {
    file_->Close().IgnoreError();
    file_.reset();
  }
  const std::string path = SegmentPath(current_);
  absl::Status s = env_->Truncate(path, current_size_);
  if (!s.ok()) return Annotate(s, absl::StrCat("cut wal segment ", name, " after a failed write"));
  absl::StatusOr<std::unique_ptr<WritableFile>> f = env_->NewAppendableFile(path);
  if (!f.ok()) {
    return Annotate(f.status(), absl::StrCat("reopen wal segment ", name, " after a failed write"));
  }
  if ((*f)->Size() != current_size_) {
    return absl::InternalError(absl::StrCat("wal segment ", name, " is ", (*f)->Size(),
                                            " bytes after cutting it to ", current_size_));
  }
  file_ = std::move(*f);
  needs_recovery_ = false;
  return absl::OkStatus();
}

absl::Status WalWriter::CheckUsable() {
  if (closed_) return absl::FailedPreconditionError(absl::StrCat("wal ", dir_, " is closed"));
  if (needs_recovery_) {
    absl::Status s = RecoverFromFailedWrite();
    if (!s.ok()) return s;
  }
  if (!file_) return absl::InternalError(absl::StrCat("wal ", dir_, " has no open segment"));
  return absl::OkStatus();
}

absl::Status WalWriter::Frame(std::string_view record, std::string* out) {
  if (record.size() > wal::kMaxRecordBytes) {
    return absl::InvalidArgumentError(absl::StrCat("wal record of ", record.size(),
                                                   " bytes exceeds the limit of ",
                                                   wal::kMaxRecordBytes, " bytes"));
  }
  std::string_view payload = record;
  uint8_t type = wal::kFullRecord;
  if (options_.compress && record.size() > wal::kCompressMinBytes) {
    size_t max = snappy::MaxCompressedLength(record.size());
    if (compressed_.size() < max) compressed_.resize(max);
    size_t n = 0;
    snappy::RawCompress(record.data(), record.size(), compressed_.data(), &n);
    if (n < record.size()) {
      payload = std::string_view(compressed_.data(), n);
      type |= wal::kSnappyFlag;
    }
  }
  uLong crc = crc32(0, &type, 1);
  crc =
      crc32(crc, reinterpret_cast<const Bytef*>(payload.data()), static_cast<uInt>(payload.size()));
  char header[wal::kHeaderSize];
  PutLE32(header, static_cast<uint32_t>(crc));
  PutLE32(header + 4, static_cast<uint32_t>(payload.size()));
  header[8] = static_cast<char>(type);
  out->append(header, sizeof(header));
  out->append(payload);
  return absl::OkStatus();
}

absl::Status WalWriter::Write(std::string_view framed) {
  if (current_size_ > 0 && current_size_ + framed.size() > options_.segment_bytes) {
    absl::Status s = StartSegment(current_ + 1);
    if (!s.ok()) return s;
  }
  absl::Status s = file_->Append(framed);
  if (s.ok()) {
    current_size_ += framed.size();
    total_bytes_.fetch_add(framed.size(), std::memory_order_relaxed);
    return s;
  }
  needs_recovery_ = true;
  absl::Status err =
      Annotate(s, absl::StrCat("wal segment ", wal::SegmentName(current_), ": write of ",
                               framed.size(), " bytes at offset ", current_size_));
  // Cut the partial record now; if that fails, the next call retries.
  RecoverFromFailedWrite().IgnoreError();
  return err;
}

absl::Status WalWriter::Log(std::string_view record) {
  absl::Status s = CheckUsable();
  if (!s.ok()) return s;
  buf_.clear();
  s = Frame(record, &buf_);
  if (!s.ok()) return s;
  return Write(buf_);
}

absl::Status WalWriter::LogBatch(const std::vector<std::string>& records) {
  if (records.empty()) return absl::OkStatus();
  absl::Status s = CheckUsable();
  if (!s.ok()) return s;
  buf_.clear();
  for (const std::string& record : records) {
    s = Frame(record, &buf_);
    if (!s.ok()) return s;
  }
  return Write(buf_);
}

absl::Status WalWriter::Sync() {
  absl::Status s = CheckUsable();
  if (!s.ok()) return s;
  s = file_->Sync();
  if (!s.ok()) return Annotate(s, absl::StrCat("sync wal segment ", wal::SegmentName(current_)));
  return s;
}

absl::Status WalWriter::NextSegment() {
  absl::Status s = CheckUsable();
  if (!s.ok()) return s;
  return StartSegment(current_ + 1);
}

absl::Status WalWriter::TruncateBefore(int segment) {
  const int limit = std::min(segment, current_);
  bool removed = false;
  for (auto it = sizes_.begin(); it != sizes_.end() && it->first < limit;) {
    absl::Status s = env_->RemoveFile(SegmentPath(it->first));
    if (!s.ok() && !absl::IsNotFound(s)) {
      return Annotate(s, absl::StrCat("remove wal segment ", wal::SegmentName(it->first)));
    }
    total_bytes_.fetch_sub(it->second, std::memory_order_relaxed);
    it = sizes_.erase(it);
    removed = true;
  }
  if (removed) {
    absl::Status s = env_->SyncDir(dir_);
    if (!s.ok()) return Annotate(s, "remove old wal segments");
  }
  return absl::OkStatus();
}

absl::Status WalWriter::Close() {
  if (closed_) return absl::OkStatus();
  absl::Status result;
  if (needs_recovery_) result = RecoverFromFailedWrite();
  closed_ = true;
  if (file_) {
    absl::Status s = file_->Sync();
    if (!s.ok() && result.ok()) {
      result = Annotate(s, absl::StrCat("sync wal segment ", wal::SegmentName(current_)));
    }
    s = file_->Close();
    if (!s.ok() && result.ok()) {
      result = Annotate(s, absl::StrCat("close wal segment ", wal::SegmentName(current_)));
    }
    file_.reset();
  }
  return result;
}

std::vector<int> WalWriter::Segments() const {
  std::vector<int> out;
  out.reserve(sizes_.size() + 1);
  for (const auto& [n, size] : sizes_) out.push_back(n);
  if (current_ >= 0) out.push_back(current_);
  return out;
}

}  // namespace tsdb
