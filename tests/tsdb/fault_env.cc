#include "tests/tsdb/fault_env.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tsdb {
namespace {

std::string_view ParentDir(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return "";
  return path.substr(0, slash);
}

std::string TrimSlashes(std::string_view dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.remove_suffix(1);
  return std::string(dir);
}

}  // namespace

class FaultInjectionEnv::File final : public WritableFile {
 public:
  File(FaultInjectionEnv* env, std::string path, std::unique_ptr<WritableFile> base)
      : env_(env), path_(std::move(path)), base_(std::move(base)) {}

  absl::Status Append(std::string_view data) override {
    return env_->FileAppend(path_, base_.get(), data);
  }
  absl::Status Sync() override { return env_->FileSync(path_, base_.get()); }
  absl::Status Close() override { return base_->Close(); }
  uint64_t Size() const override { return base_->Size(); }

 private:
  FaultInjectionEnv* env_;
  std::string path_;
  std::unique_ptr<WritableFile> base_;
};

FaultInjectionEnv::FaultInjectionEnv(Env* base) : base_(base) {}

void FaultInjectionEnv::SetPathFilter(std::string substring) {
  std::lock_guard<std::mutex> l(mu_);
  filter_ = std::move(substring);
}
void FaultInjectionEnv::SetWriteLimit(int64_t bytes) {
  std::lock_guard<std::mutex> l(mu_);
  write_limit_ = bytes;
}
void FaultInjectionEnv::SetFailSync(bool fail) {
  std::lock_guard<std::mutex> l(mu_);
  fail_sync_ = fail;
}
void FaultInjectionEnv::SetFailCreate(bool fail) {
  std::lock_guard<std::mutex> l(mu_);
  fail_create_ = fail;
}
void FaultInjectionEnv::SetFailReads(bool fail) {
  std::lock_guard<std::mutex> l(mu_);
  fail_reads_ = fail;
}
void FaultInjectionEnv::SetFailRename(bool fail) {
  std::lock_guard<std::mutex> l(mu_);
  fail_rename_ = fail;
}
void FaultInjectionEnv::SetFailRemove(bool fail) {
  std::lock_guard<std::mutex> l(mu_);
  fail_remove_ = fail;
}
void FaultInjectionEnv::SetFailTruncate(bool fail) {
  std::lock_guard<std::mutex> l(mu_);
  fail_truncate_ = fail;
}
void FaultInjectionEnv::TearNextWrite(size_t keep) {
  std::lock_guard<std::mutex> l(mu_);
  tear_pending_ = true;
  tear_keep_ = keep;
}
bool FaultInjectionEnv::crashed() const {
  std::lock_guard<std::mutex> l(mu_);
  return crashed_;
}
void FaultInjectionEnv::Revive() {
  std::lock_guard<std::mutex> l(mu_);
  crashed_ = false;
}
void FaultInjectionEnv::ResetFaults() {
  std::lock_guard<std::mutex> l(mu_);
  filter_.clear();
  write_limit_ = -1;
  fail_sync_ = fail_create_ = fail_reads_ = fail_rename_ = fail_remove_ = fail_truncate_ = false;
  tear_pending_ = false;
  crashed_ = false;
}

uint64_t FaultInjectionEnv::syncs() const {
  std::lock_guard<std::mutex> l(mu_);
  return syncs_;
}
uint64_t FaultInjectionEnv::bytes_written() const {
  std::lock_guard<std::mutex> l(mu_);
  return bytes_written_;
}
uint64_t FaultInjectionEnv::failed_writes() const {
  std::lock_guard<std::mutex> l(mu_);
  return failed_writes_;
}

bool FaultInjectionEnv::MatchesLocked(std::string_view path) const {
  return filter_.empty() || path.find(filter_) != std::string_view::npos;
}

absl::Status FaultInjectionEnv::CheckCrashLocked(std::string_view path) const {
  if (crashed_ && MatchesLocked(path)) {
    return absl::UnavailableError(absl::StrFormat("%s: refused after a simulated crash", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<WritableFile>> FaultInjectionEnv::Wrap(
    const std::string& path, absl::StatusOr<std::unique_ptr<WritableFile>> base) {
  if (!base.ok()) return base.status();
  return std::unique_ptr<WritableFile>(new File(this, path, std::move(*base)));
}

absl::StatusOr<std::unique_ptr<WritableFile>> FaultInjectionEnv::NewAppendableFile(
    const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  absl::Status s = CheckCrashLocked(path);
  if (!s.ok()) return s;
  if (fail_create_ && MatchesLocked(path)) {
    return absl::PermissionDeniedError(absl::StrCat("open ", path, ": simulated failure"));
  }
  const bool existed = base_->FileExists(path);
  auto file = base_->NewAppendableFile(path);
  if (file.ok() && !tracked_.contains(path)) {
    tracked_[path] = Tracked{existed ? (*file)->Size() : 0, existed};
  }
  return Wrap(path, std::move(file));
}

absl::StatusOr<std::unique_ptr<WritableFile>> FaultInjectionEnv::NewWritableFile(
    const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  absl::Status s = CheckCrashLocked(path);
  if (!s.ok()) return s;
  if (fail_create_ && MatchesLocked(path)) {
    return absl::PermissionDeniedError(absl::StrCat("open ", path, ": simulated failure"));
  }
  const bool existed = base_->FileExists(path);
  auto file = base_->NewWritableFile(path);
  if (file.ok()) {
    auto it = tracked_.find(path);
    bool durable = existed && (it == tracked_.end() || it->second.entry_durable);
    tracked_[path] = Tracked{0, durable};
  }
  return Wrap(path, std::move(file));
}

absl::Status FaultInjectionEnv::FileAppend(const std::string& path, WritableFile* base,
                                           std::string_view data) {
  std::lock_guard<std::mutex> l(mu_);
  if (MatchesLocked(path)) {
    absl::Status s = CheckCrashLocked(path);
    if (!s.ok()) return s;
    if (tear_pending_) {
      tear_pending_ = false;
      crashed_ = true;
      ++failed_writes_;
      size_t keep = std::min(tear_keep_, data.size());
      base->Append(data.substr(0, keep)).IgnoreError();
      bytes_written_ += keep;
      return absl::UnavailableError(
          absl::StrCat("write ", path, ": torn after ", keep, " bytes (simulated crash)"));
    }
    if (write_limit_ >= 0 && static_cast<uint64_t>(write_limit_) < data.size()) {
      size_t keep = static_cast<size_t>(write_limit_);
      write_limit_ = 0;
      ++failed_writes_;
      if (keep > 0) base->Append(data.substr(0, keep)).IgnoreError();
      bytes_written_ += keep;
      return absl::ResourceExhaustedError(
          absl::StrCat("write ", path, ": No space left on device"));
    }
    if (write_limit_ >= 0) write_limit_ -= static_cast<int64_t>(data.size());
  }
  absl::Status s = base->Append(data);
  if (s.ok()) {
    bytes_written_ += data.size();
  } else {
    ++failed_writes_;
  }
  return s;
}

absl::Status FaultInjectionEnv::FileSync(const std::string& path, WritableFile* base) {
  std::lock_guard<std::mutex> l(mu_);
  if (MatchesLocked(path)) {
    absl::Status s = CheckCrashLocked(path);
    if (!s.ok()) return s;
    if (fail_sync_) {
      return absl::InternalError(absl::StrCat("fsync ", path, ": Input/output error"));
    }
  }
  absl::Status s = base->Sync();
  if (s.ok()) {
    ++syncs_;
    tracked_[path].synced_size = base->Size();
  }
  return s;
}

absl::StatusOr<std::string> FaultInjectionEnv::ReadFile(const std::string& path) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (fail_reads_ && MatchesLocked(path)) {
      return absl::InternalError(absl::StrCat("read ", path, ": Input/output error"));
    }
  }
  return base_->ReadFile(path);
}

absl::Status FaultInjectionEnv::Truncate(const std::string& path, uint64_t size) {
  std::lock_guard<std::mutex> l(mu_);
  absl::Status s = CheckCrashLocked(path);
  if (!s.ok()) return s;
  if (fail_truncate_ && MatchesLocked(path)) {
    return absl::InternalError(absl::StrCat("truncate ", path, ": Input/output error"));
  }
  s = base_->Truncate(path, size);
  if (s.ok()) {
    auto it = tracked_.find(path);
    if (it != tracked_.end()) it->second.synced_size = std::min(it->second.synced_size, size);
  }
  return s;
}

absl::StatusOr<uint64_t> FaultInjectionEnv::FileSize(const std::string& path) {
  return base_->FileSize(path);
}

bool FaultInjectionEnv::FileExists(const std::string& path) { return base_->FileExists(path); }

absl::StatusOr<std::vector<std::string>> FaultInjectionEnv::ListDir(const std::string& dir) {
  return base_->ListDir(dir);
}

absl::Status FaultInjectionEnv::CreateDirs(const std::string& dir) {
  std::lock_guard<std::mutex> l(mu_);
  absl::Status s = CheckCrashLocked(dir);
  if (!s.ok()) return s;
  if (fail_create_ && MatchesLocked(dir)) {
    return absl::PermissionDeniedError(
        absl::StrCat("create directory ", dir, ": simulated failure"));
  }
  return base_->CreateDirs(dir);
}

absl::Status FaultInjectionEnv::RemoveFile(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  absl::Status s = CheckCrashLocked(path);
  if (!s.ok()) return s;
  if (fail_remove_ && MatchesLocked(path)) {
    return absl::InternalError(absl::StrCat("remove ", path, ": simulated failure"));
  }
  s = base_->RemoveFile(path);
  if (s.ok()) tracked_.erase(path);
  return s;
}

absl::Status FaultInjectionEnv::RemoveAll(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  absl::Status s = CheckCrashLocked(path);
  if (!s.ok()) return s;
  if (fail_remove_ && MatchesLocked(path)) {
    return absl::InternalError(absl::StrCat("remove ", path, ": simulated failure"));
  }
  s = base_->RemoveAll(path);
  if (s.ok()) {
    const std::string prefix = absl::StrCat(TrimSlashes(path), "/");
    for (auto it = tracked_.begin(); it != tracked_.end();) {
      if (it->first == path || it->first.starts_with(prefix)) {
        it = tracked_.erase(it);
      } else {
        ++it;
      }
    }
  }
  return s;
}

absl::Status FaultInjectionEnv::Rename(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> l(mu_);
  absl::Status s = CheckCrashLocked(from);
  if (s.ok()) s = CheckCrashLocked(to);
  if (!s.ok()) return s;
  if (fail_rename_ && (MatchesLocked(from) || MatchesLocked(to))) {
    return absl::InternalError(absl::StrCat("rename ", from, " to ", to, ": simulated failure"));
  }
  s = base_->Rename(from, to);
  if (!s.ok()) return s;
  // Renames count as durable at once (an approximation): tracking moves along.
  const std::string from_prefix = absl::StrCat(TrimSlashes(from), "/");
  std::map<std::string, Tracked> moved;
  for (auto it = tracked_.begin(); it != tracked_.end();) {
    if (it->first == to || it->first.starts_with(TrimSlashes(to) + "/")) {
      it = tracked_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = tracked_.begin(); it != tracked_.end();) {
    if (it->first == from) {
      moved[to] = it->second;
      it = tracked_.erase(it);
    } else if (it->first.starts_with(from_prefix)) {
      moved[absl::StrCat(TrimSlashes(to), "/", it->first.substr(from_prefix.size()))] = it->second;
      it = tracked_.erase(it);
    } else {
      ++it;
    }
  }
  tracked_.merge(moved);
  return s;
}

absl::Status FaultInjectionEnv::SyncDir(const std::string& dir) {
  std::lock_guard<std::mutex> l(mu_);
  if (MatchesLocked(dir)) {
    absl::Status s = CheckCrashLocked(dir);
    if (!s.ok()) return s;
    if (fail_sync_) return absl::InternalError(absl::StrCat("fsync ", dir, ": Input/output error"));
  }
  absl::Status s = base_->SyncDir(dir);
  if (!s.ok()) return s;
  ++syncs_;
  const std::string d = TrimSlashes(dir);
  for (auto& [path, t] : tracked_) {
    if (ParentDir(path) == d) t.entry_durable = true;
  }
  return s;
}

absl::StatusOr<std::unique_ptr<FileLock>> FaultInjectionEnv::LockFile(const std::string& path) {
  return base_->LockFile(path);
}

int64_t FaultInjectionEnv::NowMillis() { return base_->NowMillis(); }

absl::Status FaultInjectionEnv::DropUnsyncedData() {
  std::lock_guard<std::mutex> l(mu_);
  for (auto it = tracked_.begin(); it != tracked_.end();) {
    if (!it->second.entry_durable) {
      absl::Status s = base_->RemoveFile(it->first);
      if (!s.ok() && !absl::IsNotFound(s)) return s;
      it = tracked_.erase(it);
      continue;
    }
    absl::StatusOr<uint64_t> size = base_->FileSize(it->first);
    if (!size.ok()) {
      if (absl::IsNotFound(size.status())) {
        it = tracked_.erase(it);
        continue;
      }
      return size.status();
    }
    if (*size > it->second.synced_size) {
      absl::Status s = base_->Truncate(it->first, it->second.synced_size);
      if (!s.ok()) return s;
    }
    ++it;
  }
  return absl::OkStatus();
}

}  // namespace tsdb
