#include "tsdb/head.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <typeinfo>

#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "tsdb/snapshot.h"
#include "tsdb/worker_pool.h"

namespace tsdb {
namespace {

// `name!=""`: matches every series that has the label, whatever its value.
bool IsPresenceMatcher(const LabelMatcher& m) {
  return m.type() == LabelMatcher::Type::kNotEqual && m.value().empty();
}

// Views of chunks' encoded bytes, as a series' chunks usually number few.
using ChunkViews = absl::InlinedVector<std::string_view, 4>;

size_t TotalBytes(const ChunkViews& views) {
  size_t n = 0;
  for (std::string_view v : views) n += v.size();
  return n;
}

// Chunks copied back to back into one buffer: one allocation for all of them instead of one per
// chunk.
class PackedChunks {
 public:
  // Room for this many bytes of chunks in all, so that Appends up to it do not reallocate.
  void Reserve(size_t bytes) { bytes_.reserve(bytes); }
  // Copies the chunks in `views` after those already held.
  void Append(const ChunkViews& views) {
    for (std::string_view v : views) {
      bytes_.append(v);
      ends_.push_back(bytes_.size());
    }
  }
  size_t num_chunks() const { return ends_.size(); }
  std::string_view chunk(size_t i) const {
    const size_t begin = i == 0 ? 0 : ends_[i - 1];
    return std::string_view(bytes_).substr(begin, ends_[i] - begin);
  }
  // Appends views of chunks [begin, end) to *out.
  void ViewsOf(size_t begin, size_t end, ChunkViews* out) const {
    for (size_t i = begin; i < end; ++i) out->push_back(chunk(i));
  }

 private:
  std::string bytes_;
  absl::InlinedVector<size_t, 4> ends_;  // end offset of each chunk in bytes_
};

// A query's private copy of one series: its labels and the chunks overlapping the query range.
class SnapshotSeries final : public SeriesData {
 public:
  SnapshotSeries(Labels labels, PackedChunks chunks, int64_t mint, int64_t maxt)
      : labels_(std::move(labels)), chunks_(std::move(chunks)), mint_(mint), maxt_(maxt) {}
  const Labels& labels() const override { return labels_; }
  std::unique_ptr<SampleIterator> Iterator() const override;

  const PackedChunks& chunks() const { return chunks_; }
  // What Iterator() yields from Seek(mint) on while t <= maxt, without a virtual call per sample.
  void AppendSamples(int64_t mint, int64_t maxt, std::vector<Sample>* out) const;
  Labels TakeLabels() { return std::move(labels_); }

 private:
  Labels labels_;
  PackedChunks chunks_;
  int64_t mint_;
  int64_t maxt_;
};

// Walks the chunks of a SnapshotSeries in order, restricted to [mint, maxt].
class SnapshotIterator final : public SampleIterator {
 public:
  SnapshotIterator(const SnapshotSeries* series, int64_t mint, int64_t maxt)
      : series_(series), mint_(mint), maxt_(maxt) {}

  bool Next() override {
    if (done_) return false;
    if (!started_) {
      started_ = true;
      return Seek(mint_);
    }
    while (true) {
      if (it_ && it_->Next()) return CheckMax();
      if (!OpenNext()) return Finish();
      if (it_->Next()) return CheckMax();
    }
  }

  bool Seek(int64_t t) override {
    if (done_) return false;
    if (started_ && it_ && cur_.t >= t && valid_) return true;
    started_ = true;
    t = std::max(t, mint_);
    while (true) {
      if (it_ && it_->Seek(t)) {
        cur_ = it_->At();
        return CheckMax();
      }
      if (!OpenNext()) return Finish();
    }
  }

  Sample At() const override { return cur_; }

 private:
  bool OpenNext() {
    if (next_chunk_ >= series_->chunks().num_chunks()) return false;
    it_.emplace(series_->chunks().chunk(next_chunk_++));
    return true;
  }
  bool CheckMax() {
    cur_ = it_->At();
    if (cur_.t > maxt_) return Finish();
    valid_ = true;
    return true;
  }
  bool Finish() {
    done_ = true;
    valid_ = false;
    return false;
  }

  const SnapshotSeries* series_;
  int64_t mint_;
  int64_t maxt_;
  size_t next_chunk_ = 0;
  std::optional<XorIterator> it_;
  Sample cur_{0, 0};
  bool started_ = false;
  bool done_ = false;
  bool valid_ = false;
};

// Appends the samples in [mint, maxt] of consecutive chunks of one series to *out.
template <typename Chunks>
void AppendChunkSamples(const Chunks& chunks, int64_t mint, int64_t maxt,
                        std::vector<Sample>* out) {
  bool seeking = true;
  if (chunks.size() > 1 && out->empty()) {
    // Spanning several chunks, the range usually takes most of their samples: one allocation
    // for the announced sample counts instead of regrowing.
    size_t announced = 0;
    for (std::string_view c : chunks) {
      if (c.size() >= 2) {
        announced += (static_cast<size_t>(static_cast<unsigned char>(c[0])) << 8) |
                     static_cast<unsigned char>(c[1]);
      }
    }
    out->reserve(announced);
  }
  for (std::string_view c : chunks) {
    XorIterator it(c);
    // Until the first sample at or after mint, earlier ones are skipped (Seek); after it, every
    // sample counts (Next), which makes a difference only for damaged chunks out of order.
    const size_t before = out->size();
    if (it.AppendRange(seeking ? mint : kMinTime, maxt, out)) return;
    if (out->size() > before) seeking = false;
  }
}

void SnapshotSeries::AppendSamples(int64_t mint, int64_t maxt, std::vector<Sample>* out) const {
  ChunkViews chunks;
  chunks_.ViewsOf(0, chunks_.num_chunks(), &chunks);
  AppendChunkSamples(chunks, std::max(mint, mint_), std::min(maxt, maxt_), out);
}

std::unique_ptr<SampleIterator> SnapshotSeries::Iterator() const {
  return std::make_unique<SnapshotIterator>(this, mint_, maxt_);
}

bool SameBits(double a, double b) {
  return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b);
}

// Appending touches a series and then its open chunk's bytes, both usually cache misses. While
// sample i is appended, the series of sample i+8 and the chunk bytes of sample i+4 (whose series
// was prefetched earlier) are fetched.
template <typename Vec, typename GetSeries>
inline void PrefetchAhead(const Vec& v, size_t i, GetSeries get) {
  if (i + 8 < v.size()) {
    if (const MemSeries* s = get(v[i + 8])) __builtin_prefetch(s);
  }
  if (i + 4 < v.size()) {
    if (const MemSeries* s = get(v[i + 4])) __builtin_prefetch(s->open.bytes().data());
  }
}

// a->labels < b->labels. The strings are interned, so equal names and values (most of them: the
// metric name, label names) are told apart by pointer before any bytes are compared.
bool InternedLabelsLess(const MemSeries* a, const MemSeries* b) {
  const auto& x = a->labels;
  const auto& y = b->labels;
  const size_t n = std::min(x.size(), y.size());
  auto cmp = [](std::string_view p, std::string_view q) {
    if (p.data() == q.data() && p.size() == q.size()) return 0;
    return p.compare(q);
  };
  for (size_t i = 0; i < n; ++i) {
    if (int c = cmp(x[i].first, y[i].first); c != 0) return c < 0;
    if (int c = cmp(x[i].second, y[i].second); c != 0) return c < 0;
  }
  return x.size() < y.size();
}

// Sorts series by labels (InternedLabelsLess order). Comparing label strings of thousands of
// series means chasing pointers on every comparison; instead, the distinct (name, value) pairs at
// each label position are ranked once (there are usually few: a handful of names, values shared
// by many series), and series are sorted by their rows of ranks. Rank 0 stands for "no label at
// this position", so a series whose labels are a prefix of another's sorts first, as in
// InternedLabelsLess.
void SortByLabels(std::vector<const MemSeries*>* series) {
  const size_t n = series->size();
  if (n < 64) {
    std::sort(series->begin(), series->end(), InternedLabelsLess);
    return;
  }
  size_t width = 0;
  for (const MemSeries* s : *series) width = std::max(width, s->labels.size());
  std::vector<uint32_t> ranks(n * width, 0);
  using Pair = std::pair<std::string_view, std::string_view>;
  absl::flat_hash_map<Pair, uint32_t> distinct;
  std::vector<Pair> pairs;
  std::vector<uint32_t> rank_of;
  for (size_t k = 0; k < width; ++k) {
    distinct.clear();
    pairs.clear();
    for (size_t i = 0; i < n; ++i) {
      const auto& l = (*series)[i]->labels;
      if (k >= l.size()) continue;
      auto [it, inserted] = distinct.try_emplace(l[k], static_cast<uint32_t>(pairs.size()));
      if (inserted) pairs.push_back(l[k]);
      ranks[i * width + k] = it->second;  // index into pairs for now
    }
    std::vector<uint32_t> order(pairs.size());
    for (uint32_t j = 0; j < order.size(); ++j) order[j] = j;
    std::sort(order.begin(), order.end(),
              [&](uint32_t a, uint32_t b) { return pairs[a] < pairs[b]; });
    rank_of.assign(pairs.size(), 0);
    for (uint32_t r = 0; r < order.size(); ++r) rank_of[order[r]] = r + 1;
    for (size_t i = 0; i < n; ++i) {
      if (k < (*series)[i]->labels.size()) ranks[i * width + k] = rank_of[ranks[i * width + k]];
    }
  }
  std::vector<uint32_t> perm(n);
  for (uint32_t i = 0; i < n; ++i) perm[i] = i;
  std::sort(perm.begin(), perm.end(), [&](uint32_t a, uint32_t b) {
    const uint32_t* x = &ranks[a * width];
    const uint32_t* y = &ranks[b * width];
    for (size_t k = 0; k < width; ++k) {
      if (x[k] != y[k]) return x[k] < y[k];
    }
    return false;
  });
  std::vector<const MemSeries*> sorted(n);
  for (size_t i = 0; i < n; ++i) sorted[i] = (*series)[perm[i]];
  *series = std::move(sorted);
}

// Whether a chunk of s overlaps [mint, maxt]. The chunks are in time order, so only the first one
// ending at or after mint can tell: the others start later. Reading a chunk's first timestamp
// touches its bytes, so it is read once.
bool SeriesOverlaps(const MemSeries& s, int64_t mint, int64_t maxt) {
  std::optional<bool> overlaps;
  s.ForEachChunk([&](const XorChunk& c) {
    if (!overlaps && c.num_samples() > 0 && c.max_time() >= mint) overlaps = c.min_time() <= maxt;
  });
  return overlaps.value_or(false);
}

// Appends to *out the chunks of s overlapping [mint, maxt], views of the head's bytes that stay
// valid while its lock is held, and returns about how many of their samples fall inside the
// window: a chunk partly inside counts in proportion to the part of its time span inside
// (samples are usually evenly spaced). In one walk over the chunks, reading a chunk's first
// timestamp (from its bytes) only at the window's edges: the first chunk overlapping, and those
// ending after maxt.
double OverlappingChunks(const MemSeries& s, int64_t mint, int64_t maxt, ChunkViews* out) {
  double samples = 0;
  bool inside = false;  // a chunk overlapped: later ones start after mint
  bool past = false;    // a chunk started after maxt: so do later ones
  s.ForEachChunk([&](const XorChunk& c) {
    if (past || c.num_samples() == 0 || c.max_time() < mint) return;
    if (inside && c.max_time() <= maxt) {
      // Wholly inside the window: no need to read where it starts.
      out->push_back(c.bytes());
      samples += c.num_samples();
      return;
    }
    const int64_t min_time = c.min_time();
    if (min_time > maxt) {
      past = true;
      return;
    }
    out->push_back(c.bytes());
    inside = true;
    const int64_t lo = std::max(mint, min_time), hi = std::min(maxt, c.max_time());
    const int64_t span = c.max_time() - min_time;
    samples += span <= 0 ? c.num_samples()
                         : c.num_samples() * (static_cast<double>(hi - lo) + 1) /
                               (static_cast<double>(span) + 1);
  });
  return samples;
}

}  // namespace

Labels MemSeries::ToLabels() const {
  std::vector<Label> out;
  out.reserve(labels.size());
  for (const auto& [n, v] : labels) out.push_back({std::string(n), std::string(v)});
  return Labels::FromSorted(std::move(out));
}

Head::~Head() = default;

MemSeries* Head::FindByLabelsLocked(const Labels& labels, uint64_t hash) const {
  auto it = by_hash_.find(hash);
  if (it == by_hash_.end()) return nullptr;
  for (MemSeries* s = it->second; s != nullptr; s = s->hash_next) {
    if (s->labels.size() != labels.size()) continue;
    bool equal = true;
    for (size_t i = 0; i < labels.size() && equal; ++i) {
      equal = s->labels[i].first == labels[i].name && s->labels[i].second == labels[i].value;
    }
    if (equal) return s;
  }
  return nullptr;
}

MemSeries* Head::CreateLocked(SeriesRef ref, const Labels& labels, uint64_t hash) {
  auto s = std::make_unique<MemSeries>();
  s->ref = ref;
  s->hash = hash;
  s->labels.reserve(labels.size());
  for (const Label& l : labels) {
    s->labels.emplace_back(symbols_.Intern(l.name), symbols_.Intern(l.value));
  }
  MemSeries* raw = s.get();
  for (const auto& [n, v] : raw->labels) postings_.Add(ref, n, v);
  postings_.AddToAll(ref);
  auto [it, inserted] = by_hash_.try_emplace(hash, raw);
  if (!inserted) {
    raw->hash_next = it->second;
    it->second = raw;
  }
  series_.Insert(ref, std::move(s));
  next_ref_ = std::max(next_ref_, ref + 1);
  stats_->series.fetch_add(1, std::memory_order_relaxed);
  stats_->series_created.fetch_add(1, std::memory_order_relaxed);
  return raw;
}

absl::StatusOr<MemSeries*> Head::Prepare(SeriesRef ref, const Labels& labels, int64_t t, double v,
                                         int64_t min_valid_time) {
  if (t < min_valid_time) {
    stats_->rejected_out_of_bounds.fetch_add(1, std::memory_order_relaxed);
    return absl::OutOfRangeError(absl::StrCat("out of bounds: sample at ", t,
                                              " is older than the retention window (",
                                              min_valid_time, ")"));
  }
  MemSeries* s = nullptr;
  {
    std::shared_lock lock(mu_);
    if (ref != 0) {
      s = series_.Get(ref);
    }
    if (s == nullptr) s = FindByLabelsLocked(labels, labels.Hash());
    if (s != nullptr) {
      // Checked against committed data; Apply checks again for what commits in between.
      if (s->max_time != kMinTime) {
        if (t < s->max_time) {
          stats_->rejected_out_of_order.fetch_add(1, std::memory_order_relaxed);
          return absl::FailedPreconditionError(
              absl::StrCat("out of order sample for series ", s->ToLabels().ToString(), ": ", t,
                           " is older than the newest sample at ", s->max_time));
        }
        if (t == s->max_time && !SameBits(v, s->last_value)) {
          stats_->rejected_duplicate.fetch_add(1, std::memory_order_relaxed);
          return absl::AlreadyExistsError(absl::StrCat("duplicate sample for timestamp ", t,
                                                       " with a different value for ",
                                                       s->ToLabels().ToString()));
        }
      }
      s->pins.fetch_add(1, std::memory_order_relaxed);
      return s;
    }
  }
  if (absl::Status st = labels.Validate(); !st.ok()) {
    stats_->rejected_invalid_labels.fetch_add(1, std::memory_order_relaxed);
    return absl::InvalidArgumentError(st.message());
  }
  std::unique_lock lock(mu_);
  uint64_t hash = labels.Hash();
  s = FindByLabelsLocked(labels, hash);  // another appender may have created it meanwhile
  if (s == nullptr) {
    SeriesRef new_ref = next_ref_;
    if (on_create_) {
      if (absl::Status st = on_create_(new_ref, labels); !st.ok()) return st;
    }
    s = CreateLocked(new_ref, labels, hash);
  }
  s->pins.fetch_add(1, std::memory_order_relaxed);
  return s;
}

bool Head::AppendLocked(MemSeries* s, int64_t t, double v, Tally* tally) {
  if (s->max_time != kMinTime) {
    if (t < s->max_time) {
      ++tally->out_of_order;
      return false;
    }
    if (t == s->max_time) {
      // The same sample again is accepted silently, as in Prometheus.
      if (!SameBits(v, s->last_value)) ++tally->duplicate;
      return false;
    }
  }
  XorChunk& c = s->open;
  if (c.num_samples() == 0) {
    ++tally->chunks;
  } else if (c.Full()) {
    size_t before = c.size_bytes();
    c.ShrinkToFit();
    tally->chunk_bytes += static_cast<int64_t>(c.size_bytes()) - static_cast<int64_t>(before);
    s->closed.push_back(std::move(c));
    c = XorChunk();
    ++tally->chunks;
  }
  size_t before = c.size_bytes();
  c.Append(t, v);
  tally->chunk_bytes += static_cast<int64_t>(c.size_bytes() - before);
  s->max_time = t;
  s->last_value = v;
  tally->max_time = std::max(tally->max_time, t);
  return true;
}

void Head::Publish(const Tally& tally) {
  stats_->chunk_bytes.fetch_add(tally.chunk_bytes, std::memory_order_relaxed);
  stats_->chunks.fetch_add(tally.chunks, std::memory_order_relaxed);
  if (tally.out_of_order > 0) {
    stats_->rejected_out_of_order.fetch_add(tally.out_of_order, std::memory_order_relaxed);
  }
  if (tally.duplicate > 0) {
    stats_->rejected_duplicate.fetch_add(tally.duplicate, std::memory_order_relaxed);
  }
  int64_t cur = max_time_.load(std::memory_order_relaxed);
  while (tally.max_time > cur &&
         !max_time_.compare_exchange_weak(cur, tally.max_time, std::memory_order_relaxed)) {
  }
}

size_t Head::Apply(const std::vector<PendingSample>& samples) {
  size_t appended = 0;
  Tally tally;
  {
    std::unique_lock lock(mu_);
    for (size_t i = 0; i < samples.size(); ++i) {
      PrefetchAhead(samples, i, [](const PendingSample& p) { return p.series; });
      const PendingSample& p = samples[i];
      if (AppendLocked(p.series, p.t, p.v, &tally)) ++appended;
      p.series->pins.fetch_sub(1, std::memory_order_relaxed);
    }
    // Published under the lock so MaxTime() never runs behind what readers can see.
    Publish(tally);
  }
  stats_->samples_appended.fetch_add(appended, std::memory_order_relaxed);
  return appended;
}

void Head::Unpin(const std::vector<PendingSample>& samples) {
  for (const PendingSample& p : samples) p.series->pins.fetch_sub(1, std::memory_order_relaxed);
}

MemSeries* Head::CreateWithRef(SeriesRef ref, const Labels& labels) {
  std::unique_lock lock(mu_);
  if (MemSeries* s = series_.Get(ref)) return s;
  return CreateLocked(ref, labels, labels.Hash());
}

MemSeries* Head::GetByRef(SeriesRef ref) {
  std::shared_lock lock(mu_);
  return series_.Get(ref);
}

void Head::ReplaySamples(const std::vector<RefSample>& samples) {
  // Replay runs before the database is shared, so the lock is uncontended; taking it once per
  // record keeps the invariants simple at no real cost.
  std::unique_lock lock(mu_);
  // Resolve refs first: the lookups are independent, so their cache misses overlap.
  thread_local std::vector<MemSeries*> series;
  series.resize(samples.size());
  MemSeries* last = nullptr;
  for (size_t i = 0; i < samples.size(); ++i) {
    if (last == nullptr || last->ref != samples[i].ref) {
      last = series_.Get(samples[i].ref);
    }
    series[i] = last;
  }
  Tally tally;
  for (size_t i = 0; i < samples.size(); ++i) {
    PrefetchAhead(series, i, [](MemSeries* s) { return s; });
    MemSeries* s = series[i];
    const RefSample& r = samples[i];
    if (s == nullptr || (s->max_time != kMinTime && r.t <= s->max_time)) continue;
    AppendLocked(s, r.t, r.v, &tally);
  }
  Publish(tally);
}

void Head::ReplayChunk(MemSeries* s, XorChunk chunk) {
  std::unique_lock lock(mu_);
  if (chunk.num_samples() == 0) return;
  if (s->max_time != kMinTime && chunk.min_time() <= s->max_time) return;
  s->max_time = chunk.max_time();
  XorIterator it(std::string_view(chunk.bytes()));
  while (it.Next()) s->last_value = it.At().v;
  stats_->chunks.fetch_add(1, std::memory_order_relaxed);
  stats_->chunk_bytes.fetch_add(static_cast<int64_t>(chunk.size_bytes()),
                                std::memory_order_relaxed);
  if (chunk.max_time() > max_time_.load(std::memory_order_relaxed)) {
    max_time_.store(chunk.max_time(), std::memory_order_relaxed);
  }
  // A loaded chunk carries its appender state, so the newest one simply stays open.
  if (s->open.num_samples() > 0) s->closed.push_back(std::move(s->open));
  s->open = std::move(chunk);
}

PostingsList Head::PostingsForMatchers(const std::vector<LabelMatcher>& matchers) const {
  // Lists are referenced in place where possible: the postings of a metric name can hold millions
  // of refs, and copying them would dominate a selective query.
  std::deque<PostingsList> computed;
  std::vector<const PostingsList*> positive;
  std::vector<const PostingsList*> negative;
  // `name!=""` only asks that the label be present. With another positive matcher it is cheaper
  // to check the few series the others leave than to merge the postings of every value (the
  // metrics APIs' `pod!=""` over thousands of pods).
  const bool has_selective =
      std::any_of(matchers.begin(), matchers.end(),
                  [](const LabelMatcher& m) { return !m.MatchesEmpty() && !IsPresenceMatcher(m); });
  std::vector<std::string_view> present;
  for (const LabelMatcher& m : matchers) {
    const MemPostings::Values* values = postings_.ValuesOf(m.name());
    if (has_selective && IsPresenceMatcher(m)) {
      if (values == nullptr) return {};
      present.push_back(m.name());
      continue;
    }
    if (!m.MatchesEmpty()) {
      // Series must carry the label with a matching value.
      if (values == nullptr) return {};
      if (m.type() == LabelMatcher::Type::kEqual) {
        positive.push_back(&postings_.Get(m.name(), m.value()));
        continue;
      }
      std::vector<const PostingsList*> lists;
      if (!m.SetMatches().empty()) {
        for (const std::string& v : m.SetMatches()) {
          auto it = values->find(v);
          if (it != values->end()) lists.push_back(&it->second);
        }
      } else {
        auto begin = values->begin();
        auto end = values->end();
        std::string lo, hi;
        if (m.PossibleMatchRange(&lo, &hi)) {
          begin = values->lower_bound(lo);
          end = values->upper_bound(hi);
        }
        for (auto it = begin; it != end; ++it) {
          if (m.Matches(it->first)) lists.push_back(&it->second);
        }
      }
      if (lists.size() == 1) {
        positive.push_back(lists[0]);
      } else {
        positive.push_back(&computed.emplace_back(Union(std::move(lists))));
      }
    } else {
      // The matcher accepts series without the label: remove those whose value it rejects.
      if (values == nullptr) continue;
      if (m.type() == LabelMatcher::Type::kNotEqual) {
        auto it = values->find(m.value());
        if (it != values->end()) negative.push_back(&it->second);
        continue;
      }
      std::vector<const PostingsList*> lists;
      for (const auto& [value, list] : *values) {
        if (!m.Matches(value)) lists.push_back(&list);
      }
      negative.push_back(&computed.emplace_back(Union(std::move(lists))));
    }
  }
  std::sort(positive.begin(), positive.end(),
            [](const PostingsList* a, const PostingsList* b) { return a->size() < b->size(); });
  PostingsList result = positive.empty() ? postings_.All() : *positive[0];
  for (size_t i = 1; i < positive.size() && !result.empty(); ++i) {
    result = Intersect(result, *positive[i]);
  }
  for (const PostingsList* n : negative) {
    if (result.empty()) break;
    result = Subtract(result, *n);
  }
  if (!present.empty()) {
    result.erase(std::remove_if(result.begin(), result.end(),
                                [&](SeriesRef ref) {
                                  const MemSeries* series = series_.Get(ref);
                                  if (series == nullptr) return true;
                                  for (std::string_view name : present) {
                                    bool found = false;
                                    for (const auto& [n, v] : series->labels) {
                                      if (n == name) {
                                        found = !v.empty();
                                        break;
                                      }
                                    }
                                    if (!found) return true;
                                  }
                                  return false;
                                }),
                 result.end());
  }
  return result;
}

namespace {

// Series per piece of work handed to the read workers: enough that a piece outweighs handing it
// over, few enough that a selection of a few thousand series is shared.
constexpr size_t kSeriesPerPiece = 256;

// A SnapshotSeries of s restricted to the chunks overlapping [mint, maxt]; the caller holds the
// head's lock.
std::unique_ptr<SeriesData> SnapshotOf(const MemSeries& s, int64_t mint, int64_t maxt) {
  ChunkViews views;
  OverlappingChunks(s, mint, maxt, &views);
  PackedChunks chunks;
  chunks.Reserve(TotalBytes(views));
  chunks.Append(views);
  return std::make_unique<SnapshotSeries>(s.ToLabels(), std::move(chunks), mint, maxt);
}

}  // namespace

std::vector<std::unique_ptr<SeriesData>> Head::Select(const std::vector<LabelMatcher>& matchers,
                                                      int64_t mint, int64_t maxt) const {
  std::vector<std::unique_ptr<SeriesData>> out;
  std::shared_lock lock(mu_);
  const std::vector<const MemSeries*> selected = SelectSortedLocked(matchers, mint, maxt);
  // Copying chunks and labels out is independent per series: spread over the read workers while
  // the shared lock is held (workers only read, as this thread would).
  out.resize(selected.size());
  WorkerPool::Default().ParallelFor(selected.size(), kSeriesPerPiece, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) out[i] = SnapshotOf(*selected[i], mint, maxt);
  });
  return out;
}

namespace {

// Decodes series [0, n) into *out (resized to n) on the read workers: decode(i, &samples)
// appends series i's samples, labels_of(i) gives its labels (asked only of series with samples).
// False when the deadline passed; *out is then incomplete.
template <typename Decode, typename LabelsOf>
bool DecodeOnWorkers(size_t n, std::chrono::steady_clock::time_point deadline, Decode&& decode,
                     LabelsOf&& labels_of, std::vector<SeriesSamples>* out) {
  std::atomic<bool> expired{false};
  out->clear();
  out->resize(n);
  WorkerPool::Default().ParallelFor(n, kSeriesPerPiece, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) {
      if ((i - b) % kSeriesPerDeadlineCheck == 0 && (expired.load(std::memory_order_relaxed) ||
                                                     std::chrono::steady_clock::now() > deadline)) {
        expired.store(true, std::memory_order_relaxed);
        return;
      }
      decode(i, &(*out)[i].samples);
      if (!(*out)[i].samples.empty()) (*out)[i].labels = labels_of(i);
    }
  });
  if (expired.load()) return false;
  std::erase_if(*out, [](const SeriesSamples& s) { return s.samples.empty(); });
  return true;
}

// Appends the samples of s in [mint, maxt] to *out, or with newest_only just the newest of them.
// The caller holds the head's lock.
void AppendMemSeriesSamples(const MemSeries& s, int64_t mint, int64_t maxt, bool newest_only,
                            std::vector<Sample>* out) {
  if (newest_only && s.max_time <= maxt) {
    // The series' newest sample is kept beside its chunks: nothing to decode.
    if (s.max_time >= mint && !s.empty()) out->push_back({s.max_time, s.last_value});
    return;
  }
  ChunkViews chunks;
  OverlappingChunks(s, mint, maxt, &chunks);
  AppendChunkSamples(chunks, mint, maxt, out);
  if (newest_only && out->size() > 1) out->erase(out->begin(), out->end() - 1);
}

// A selection whose chunks hold at most this many samples is decoded at once under the lock, as
// fast as it gets; a larger one (16 bytes per sample decoded) is decoded piece by piece from a
// compressed copy, which costs the copy but bounds what a query holds.
constexpr double kSamplesDecodedAtOnce = 1 << 19;

// The chunks of selected series overlapping a window, copied out compressed (a tenth of their
// decoded size, about), with the series' labels: what a piecewise read decodes from once the
// head's lock is released.
struct CompressedSelection {
  PackedChunks chunks;
  std::vector<size_t> series_first;  // first chunk of each series, plus the total at the end
  std::vector<Labels> labels;

  // views[i]: the chunks of selected[i] to copy. The caller holds the head's lock.
  CompressedSelection(const std::vector<const MemSeries*>& selected,
                      const std::vector<ChunkViews>& views) {
    size_t bytes = 0;
    for (const ChunkViews& v : views) bytes += TotalBytes(v);
    chunks.Reserve(bytes);
    for (const ChunkViews& v : views) chunks.Append(v);
    labels.reserve(selected.size());
    series_first.reserve(selected.size() + 1);
    size_t first = 0;
    for (size_t i = 0; i < selected.size(); ++i) {
      series_first.push_back(first);
      first += views[i].size();
      labels.push_back(selected[i]->ToLabels());
    }
    series_first.push_back(first);
  }

  void ChunksOf(size_t series, ChunkViews* out) const {
    chunks.ViewsOf(series_first[series], series_first[series + 1], out);
  }
};

}  // namespace

absl::Status Head::SelectSamplesInPieces(
    const std::vector<LabelMatcher>& matchers, const SelectHints& hints, int64_t mint, int64_t maxt,
    std::chrono::steady_clock::time_point deadline, size_t piece_series,
    absl::FunctionRef<absl::Status(std::vector<SeriesSamples>& piece)> consume) const {
  piece_series = std::max<size_t>(piece_series, 1);
  std::vector<SeriesSamples> piece;
  std::optional<CompressedSelection> copy;
  {
    std::shared_lock lock(mu_);
    const std::vector<const MemSeries*> selected = SelectSortedLocked(matchers, mint, maxt);
    if (hints.newest_only || selected.size() <= piece_series) {
      // Decoded straight from the head's chunks while the shared lock keeps them from changing,
      // with no copy of the compressed bytes.
      const bool in_time = DecodeOnWorkers(
          selected.size(), deadline,
          [&](size_t i, std::vector<Sample>* out) {
            AppendMemSeriesSamples(*selected[i], mint, maxt, hints.newest_only, out);
          },
          [&](size_t i) { return selected[i]->ToLabels(); }, &piece);
      if (!in_time) return DeadlineError();
    } else {
      // More than a piece: what is decoded at once depends on how many samples the chunks hold.
      std::vector<ChunkViews> views(selected.size());
      double samples = 0;
      for (size_t i = 0; i < selected.size(); ++i) {
        samples += OverlappingChunks(*selected[i], mint, maxt, &views[i]);
      }
      if (samples > kSamplesDecodedAtOnce) {
        copy.emplace(selected, views);
      } else {
        const bool in_time = DecodeOnWorkers(
            selected.size(), deadline,
            [&](size_t i, std::vector<Sample>* out) {
              AppendChunkSamples(views[i], mint, maxt, out);
            },
            [&](size_t i) { return selected[i]->ToLabels(); }, &piece);
        if (!in_time) return DeadlineError();
      }
    }
  }
  if (!copy) {
    if (piece.size() <= piece_series) return piece.empty() ? absl::OkStatus() : consume(piece);
    std::vector<SeriesSamples> all = std::move(piece);
    for (size_t b = 0; b < all.size(); b += piece_series) {
      const size_t e = std::min(all.size(), b + piece_series);
      piece.assign(std::make_move_iterator(all.begin() + static_cast<ptrdiff_t>(b)),
                   std::make_move_iterator(all.begin() + static_cast<ptrdiff_t>(e)));
      if (absl::Status st = consume(piece); !st.ok()) return st;
    }
    return absl::OkStatus();
  }
  const size_t n = copy->labels.size();
  for (size_t b = 0; b < n; b += piece_series) {
    const size_t e = std::min(n, b + piece_series);
    const bool in_time = DecodeOnWorkers(
        e - b, deadline,
        [&](size_t i, std::vector<Sample>* out) {
          ChunkViews chunks;
          copy->ChunksOf(b + i, &chunks);
          AppendChunkSamples(chunks, mint, maxt, out);
        },
        [&](size_t i) { return std::move(copy->labels[b + i]); }, &piece);
    if (!in_time) return DeadlineError();
    if (piece.empty()) continue;
    if (absl::Status st = consume(piece); !st.ok()) return st;
  }
  return absl::OkStatus();
}

std::vector<Labels> Head::SelectLabels(const std::vector<LabelMatcher>& matchers, int64_t mint,
                                       int64_t maxt) const {
  std::shared_lock lock(mu_);
  const std::vector<const MemSeries*> selected = SelectSortedLocked(matchers, mint, maxt);
  std::vector<Labels> out;
  out.reserve(selected.size());
  for (const MemSeries* s : selected) out.push_back(s->ToLabels());
  return out;
}

std::vector<const MemSeries*> Head::SelectSortedLocked(const std::vector<LabelMatcher>& matchers,
                                                       int64_t mint, int64_t maxt) const {
  std::vector<const MemSeries*> selected;
  ForEachSelectedLocked(matchers, mint, maxt, [&](const MemSeries& s) { selected.push_back(&s); });
  // Sorted on the interned labels, before anything is copied out.
  SortByLabels(&selected);
  return selected;
}

template <typename Fn>
void Head::ForEachSelectedLocked(const std::vector<LabelMatcher>& matchers, int64_t mint,
                                 int64_t maxt, Fn&& fn) const {
  for (SeriesRef ref : PostingsForMatchers(matchers)) {
    const MemSeries* s = series_.Get(ref);
    if (s != nullptr && SeriesOverlaps(*s, mint, maxt)) fn(*s);
  }
}

std::vector<std::string> Head::LabelNames(const std::vector<LabelMatcher>& matchers, int64_t mint,
                                          int64_t maxt) const {
  absl::flat_hash_set<std::string_view> names;
  std::shared_lock lock(mu_);
  ForEachSelectedLocked(matchers, mint, maxt, [&](const MemSeries& s) {
    for (const auto& [n, v] : s.labels) names.insert(n);
  });
  std::vector<std::string> out(names.begin(), names.end());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> Head::LabelValues(std::string_view name,
                                           const std::vector<LabelMatcher>& matchers, int64_t mint,
                                           int64_t maxt) const {
  absl::flat_hash_set<std::string_view> values;
  std::shared_lock lock(mu_);
  ForEachSelectedLocked(matchers, mint, maxt, [&](const MemSeries& s) {
    for (const auto& [n, v] : s.labels) {
      if (n == name) values.insert(v);
    }
  });
  std::vector<std::string> out(values.begin(), values.end());
  std::sort(out.begin(), out.end());
  return out;
}

void Head::ForEachSeries(const std::function<void(const MemSeries&)>& fn) const {
  std::vector<SeriesRef> refs;
  {
    std::shared_lock lock(mu_);
    refs = postings_.All();
  }
  // Batches keep the lock hold short so commits are not stalled by a long snapshot.
  constexpr size_t kBatch = 1024;
  for (size_t i = 0; i < refs.size(); i += kBatch) {
    std::shared_lock lock(mu_);
    for (size_t j = i; j < std::min(refs.size(), i + kBatch); ++j) {
      if (const MemSeries* s = series_.Get(refs[j])) fn(*s);
    }
  }
}

size_t Head::Truncate(int64_t cutoff) {
  std::unique_lock lock(mu_);
  absl::flat_hash_set<SeriesRef> removed;
  series_.ForEach([&](SeriesRef ref, MemSeries& series) {
    MemSeries* s = &series;
    auto& closed = s->closed;
    size_t drop = 0;
    while (drop < closed.size() && closed[drop].max_time() < cutoff) ++drop;
    int64_t bytes = 0;
    for (size_t i = 0; i < drop; ++i) bytes += static_cast<int64_t>(closed[i].size_bytes());
    closed.erase(closed.begin(), closed.begin() + static_cast<ptrdiff_t>(drop));
    if (closed.empty() && s->open.num_samples() > 0 && s->open.max_time() < cutoff) {
      bytes += static_cast<int64_t>(s->open.size_bytes());
      s->open = XorChunk();
      ++drop;
    }
    if (drop > 0) {
      stats_->chunks.fetch_sub(static_cast<int64_t>(drop), std::memory_order_relaxed);
      stats_->chunk_bytes.fetch_sub(bytes, std::memory_order_relaxed);
    }
    if (s->empty() && s->pins.load(std::memory_order_relaxed) == 0) removed.insert(ref);
  });
  if (removed.empty()) return 0;
  postings_.Remove(removed);
  for (SeriesRef ref : removed) {
    MemSeries* s = series_.Get(ref);
    auto h = by_hash_.find(s->hash);
    if (h->second == s) {
      if (s->hash_next == nullptr) {
        by_hash_.erase(h);
      } else {
        h->second = s->hash_next;
      }
    } else {
      MemSeries* prev = h->second;
      while (prev->hash_next != s) prev = prev->hash_next;
      prev->hash_next = s->hash_next;
    }
    series_.Erase(ref);
  }
  stats_->series.fetch_sub(static_cast<int64_t>(removed.size()), std::memory_order_relaxed);
  stats_->series_removed.fetch_add(removed.size(), std::memory_order_relaxed);
  return removed.size();
}

int64_t Head::MinTime() const {
  std::shared_lock lock(mu_);
  int64_t min = kMaxTime;
  series_.ForEach([&](SeriesRef, const MemSeries& s) {
    if (!s.closed.empty()) {
      min = std::min(min, s.closed.front().min_time());
    } else if (s.open.num_samples() > 0) {
      min = std::min(min, s.open.min_time());
    }
  });
  return min;
}

HeadCardinality Head::Cardinality(size_t limit) const {
  HeadCardinality out;
  out.min_time = MinTime();
  out.max_time = MaxTime();
  std::shared_lock lock(mu_);
  out.index = postings_.Stats(kMetricNameLabel, limit);
  out.series = postings_.All().size();
  series_.ForEach([&](SeriesRef, const MemSeries& s) {
    out.chunks += s.closed.size() + (s.open.num_samples() > 0 ? 1 : 0);
  });
  return out;
}

SeriesRef Head::LastRef() const {
  std::shared_lock lock(mu_);
  return next_ref_ - 1;
}

void Head::SetNextRef(SeriesRef next) {
  std::unique_lock lock(mu_);
  next_ref_ = std::max(next_ref_, next);
}

void AppendSeriesSamples(const SeriesData& series, int64_t mint, int64_t maxt,
                         std::vector<Sample>* out) {
  // SnapshotSeries is final: an exact type check is enough and cheaper than dynamic_cast.
  if (typeid(series) == typeid(SnapshotSeries)) {
    static_cast<const SnapshotSeries&>(series).AppendSamples(mint, maxt, out);
    return;
  }
  std::unique_ptr<SampleIterator> it = series.Iterator();
  if (!it->Seek(mint)) return;
  do {
    const Sample s = it->At();
    if (s.t > maxt) break;
    out->push_back(s);
  } while (it->Next());
}

Labels TakeSeriesLabels(SeriesData& series) {
  if (typeid(series) == typeid(SnapshotSeries)) {
    return static_cast<SnapshotSeries&>(series).TakeLabels();
  }
  return series.labels();
}

}  // namespace tsdb
