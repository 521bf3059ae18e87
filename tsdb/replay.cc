#include "tsdb/replay.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tsdb/wal/records.h"

namespace tsdb {
namespace {

struct DecodedRecord {
  RecordKind kind = RecordKind::kUnknown;
  std::vector<RefSeries> series;
  std::vector<RefSample> samples;
  std::vector<std::pair<SeriesRef, XorChunk>> chunks;
  absl::Status status;  // a decoding error, reported in order by the applying side
  RecordPosition position;
};

// Decodes one record payload into out (whose buffers are reused).
void Decode(std::string_view payload, bool allow_chunks, DecodedRecord* out) {
  out->kind = GetRecordKind(payload);
  out->status = absl::OkStatus();
  switch (out->kind) {
    case RecordKind::kSeries:
      out->series.clear();
      out->status = DecodeSeries(payload, &out->series);
      return;
    case RecordKind::kSamples:
      out->samples.clear();
      out->status = DecodeSamples(payload, &out->samples);
      return;
    case RecordKind::kChunks: {
      out->chunks.clear();
      if (!allow_chunks) {
        out->status = absl::DataLossError("chunk record outside a checkpoint");
        return;
      }
      thread_local std::vector<RefChunk> raw;
      raw.clear();
      out->status = DecodeChunks(payload, &raw);
      if (!out->status.ok()) return;
      for (RefChunk& c : raw) {
        absl::StatusOr<XorChunk> chunk = XorChunk::FromBytes(std::move(c.bytes));
        if (!chunk.ok()) {
          out->status = chunk.status();
          return;
        }
        out->chunks.emplace_back(c.ref, *std::move(chunk));
      }
      return;
    }
    default:
      out->status = absl::DataLossError(absl::StrCat(
          "unknown record kind ", payload.empty() ? -1 : static_cast<int>(payload[0])));
  }
}

absl::Status Apply(DecodedRecord& r, Head* head) {
  switch (r.kind) {
    case RecordKind::kSeries:
      for (const RefSeries& s : r.series) head->CreateWithRef(s.ref, s.labels);
      return absl::OkStatus();
    case RecordKind::kSamples:
      head->ReplaySamples(r.samples);
      return absl::OkStatus();
    case RecordKind::kChunks:
      for (auto& [ref, chunk] : r.chunks) {
        MemSeries* s = head->GetByRef(ref);
        if (s == nullptr)
          return absl::DataLossError(absl::StrCat("chunk for unknown series ", ref));
        head->ReplayChunk(s, std::move(chunk));
      }
      return absl::OkStatus();
    default:
      return absl::DataLossError("unknown record kind");
  }
}

// A bounded hand-off of decoded records from the reading thread to the applying one; drained
// records go back to a free list so their buffers are reused.
class RecordQueue {
 public:
  static constexpr size_t kCapacity = 16;

  std::unique_ptr<DecodedRecord> TakeFree() {
    std::lock_guard lock(mu_);
    if (free_.empty()) return std::make_unique<DecodedRecord>();
    auto r = std::move(free_.back());
    free_.pop_back();
    return r;
  }
  void GiveBack(std::unique_ptr<DecodedRecord> r) {
    std::lock_guard lock(mu_);
    free_.push_back(std::move(r));
  }
  // Blocks while full; returns false when the consumer has stopped.
  bool Push(std::unique_ptr<DecodedRecord> r) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return full_.size() < kCapacity || stopped_; });
    if (stopped_) return false;
    full_.push_back(std::move(r));
    not_empty_.notify_one();
    return true;
  }
  // Blocks while empty; nullptr at the end.
  std::unique_ptr<DecodedRecord> Pop() {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return !full_.empty() || finished_; });
    if (full_.empty()) return nullptr;
    auto r = std::move(full_.front());
    full_.pop_front();
    not_full_.notify_one();
    return r;
  }
  void Finish() {
    std::lock_guard lock(mu_);
    finished_ = true;
    not_empty_.notify_all();
  }
  void Stop() {
    std::lock_guard lock(mu_);
    stopped_ = true;
    not_full_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<std::unique_ptr<DecodedRecord>> full_;
  std::vector<std::unique_ptr<DecodedRecord>> free_;
  bool finished_ = false;
  bool stopped_ = false;
};

}  // namespace

std::string RecordPosition::ToString() const {
  return absl::StrCat("segment ", segment, " offset ", offset);
}

absl::Status ReplayRecords(
    WalReader* reader, Head* head, bool allow_chunks,
    const std::function<absl::Status(const absl::Status&, const RecordPosition&)>& on_bad_record,
    const std::function<void(int segment)>& on_segment) {
  RecordQueue queue;
  std::thread producer([&] {
    std::string_view payload;
    while (reader->Next(&payload)) {
      std::unique_ptr<DecodedRecord> r = queue.TakeFree();
      r->position = {reader->segment(), reader->offset()};
      Decode(payload, allow_chunks, r.get());
      if (!queue.Push(std::move(r))) break;
    }
    queue.Finish();
  });
  absl::Status result;
  int segment = -1;
  while (std::unique_ptr<DecodedRecord> r = queue.Pop()) {
    if (on_segment && r->position.segment != segment) {
      segment = r->position.segment;
      on_segment(segment);
    }
    absl::Status st = r->status.ok() ? Apply(*r, head) : r->status;
    if (!st.ok()) st = on_bad_record(st, r->position);
    queue.GiveBack(std::move(r));
    if (!st.ok()) {
      result = st;
      queue.Stop();
      break;
    }
  }
  // Drain so the producer can finish, then join.
  queue.Stop();
  while (queue.Pop() != nullptr) {
  }
  producer.join();
  return result.ok() ? reader->status() : result;
}

}  // namespace tsdb
