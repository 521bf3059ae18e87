// The bulk read paths (XorIterator::AppendRange, tsdb::AppendSeriesSamples, TakeSeriesLabels)
// against the sample-at-a-time iterators they stand in for.
#include "tsdb/snapshot.h"

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/tsdb/test_util.h"
#include "tsdb/chunk/xor_chunk.h"
#include "tsdb/db.h"
#include "tsdb/stale.h"

namespace tsdb {
namespace {

using testing::Eq;
using testing::TempDir;

constexpr auto kNoDeadline = std::chrono::steady_clock::time_point::max();

void ExpectSameBits(const std::vector<Sample>& got, const std::vector<Sample>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(got[i].t, want[i].t) << "sample " << i;
    ASSERT_EQ(std::bit_cast<uint64_t>(got[i].v), std::bit_cast<uint64_t>(want[i].v))
        << "sample " << i;
  }
}

// Irregular timestamps (every delta-of-delta bucket) and values that exercise every XOR case.
std::vector<Sample> RandomSamples(uint64_t seed, int n) {
  std::mt19937_64 rng(seed);
  std::vector<Sample> out;
  int64_t t = -5000;
  double v = 1;
  for (int i = 0; i < n; ++i) {
    switch (rng() % 5) {
      case 0:
        t += 15000;
        break;
      case 1:
        t += 1 + static_cast<int64_t>(rng() % 100);
        break;
      case 2:
        t += static_cast<int64_t>(rng() % 1000000);
        break;
      case 3:
        t += int64_t{1} << 40;
        break;
      default:
        t += 15000 + static_cast<int64_t>(rng() % 3) - 1;
    }
    switch (rng() % 4) {
      case 0:
        break;  // repeat
      case 1:
        v += 1;
        break;
      case 2:
        v = std::bit_cast<double>(rng());
        break;
      default:
        v = static_cast<double>(rng() % 1000) / 7;
    }
    out.push_back({t, v});
  }
  return out;
}

std::vector<Sample> Filter(const std::vector<Sample>& s, int64_t mint, int64_t maxt) {
  std::vector<Sample> out;
  for (const Sample& x : s) {
    if (x.t >= mint && x.t <= maxt) out.push_back(x);
  }
  return out;
}

TEST(XorAppendRangeTest, MatchesNextLoopForAnyWindow) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const std::vector<Sample> samples = RandomSamples(seed, 1 + static_cast<int>(seed * 7 % 120));
    XorChunk chunk;
    for (const Sample& s : samples) ASSERT_TRUE(chunk.Append(s.t, s.v));
    std::mt19937_64 rng(seed);
    for (int k = 0; k < 20; ++k) {
      const Sample& a = samples[rng() % samples.size()];
      const Sample& b = samples[rng() % samples.size()];
      const int64_t mint = std::min(a.t, b.t) - static_cast<int64_t>(rng() % 2);
      const int64_t maxt = std::max(a.t, b.t) + static_cast<int64_t>(rng() % 2);
      XorIterator it = chunk.Iterator();
      std::vector<Sample> got = {{-1, 0.5}};  // appended to, not replaced
      const bool past = it.AppendRange(mint, maxt, &got);
      ASSERT_EQ(got.front().t, -1);
      got.erase(got.begin());
      ExpectSameBits(got, Filter(samples, mint, maxt));
      EXPECT_EQ(past, samples.back().t > maxt);
      if (past) {
        // The first sample past maxt is current, and iteration continues after it.
        EXPECT_GT(it.At().t, maxt);
        std::vector<Sample> rest = {it.At()};
        while (it.Next()) rest.push_back(it.At());
        ExpectSameBits(rest, Filter(samples, maxt + 1, samples.back().t));
      }
      EXPECT_TRUE(it.status().ok());
    }
  }
}

TEST(XorAppendRangeTest, StopsAtDamageLikeNext) {
  const std::vector<Sample> samples = RandomSamples(99, 120);
  XorChunk chunk;
  for (const Sample& s : samples) ASSERT_TRUE(chunk.Append(s.t, s.v));
  for (size_t cut : {size_t{3}, chunk.bytes().size() / 2, chunk.bytes().size() - 1}) {
    std::string damaged = chunk.bytes();
    damaged[cut] = static_cast<char>(damaged[cut] ^ 0x5a);
    XorIterator slow{std::string_view(damaged)};
    std::vector<Sample> want;
    while (slow.Next()) want.push_back(slow.At());
    XorIterator fast{std::string_view(damaged)};
    std::vector<Sample> got;
    EXPECT_FALSE(fast.AppendRange(kMinTime, kMaxTime, &got));
    ExpectSameBits(got, want);
    EXPECT_EQ(fast.status(), slow.status()) << "byte " << cut;
  }
}

TEST(SnapshotFastPathTest, MatchesIteratorAndMovesLabels) {
  TempDir dir;
  auto db = DB::Open(dir.path(), DBOptions{});
  ASSERT_TRUE(db.ok()) << db.status();
  const Labels labels({{"__name__", "m"}, {"job", "a"}});
  auto app = (*db)->NewAppender();
  // Several chunks: more than 120 samples.
  for (int i = 0; i < 400; ++i) {
    ASSERT_TRUE(app->Append(0, labels, 1000 + i * 15000, i % 17 == 0 ? 0 : i * 1.5).ok());
  }
  ASSERT_TRUE(app->Commit().ok());
  const int64_t last = 1000 + 399 * 15000;
  for (auto [qmin, qmax, mint, maxt] :
       std::vector<std::array<int64_t, 4>>{{kMinTime, kMaxTime, kMinTime, kMaxTime},
                                           {100000, 3000000, 100000, 3000000},
                                           {100000, 3000000, 1000000, 2000000},
                                           {1000 + 130 * 15000, last, 0, last - 1},
                                           {last + 1, kMaxTime, kMinTime, kMaxTime}}) {
    auto q = (*db)->NewQuerier(qmin, qmax);
    auto sel = q->Select({Eq("job", "a")});
    ASSERT_TRUE(sel.ok());
    if (qmin > last) {
      EXPECT_TRUE(sel->empty());
      continue;
    }
    ASSERT_EQ(sel->size(), 1u);
    SeriesData& s = *(*sel)[0];
    std::vector<Sample> want;
    auto it = s.Iterator();
    if (it->Seek(mint)) {
      do {
        if (it->At().t > maxt) break;
        want.push_back(it->At());
      } while (it->Next());
    }
    std::vector<Sample> got;
    AppendSeriesSamples(s, mint, maxt, &got);
    ExpectSameBits(got, want);
    EXPECT_FALSE(want.empty());
    EXPECT_EQ(TakeSeriesLabels(s), labels);
  }
}

// Select sorts many series by their labels, including label sets that are prefixes of others
// and values that are prefixes of others.
TEST(SnapshotFastPathTest, SelectSortsManySeriesByLabels) {
  TempDir dir;
  auto db = DB::Open(dir.path(), DBOptions{});
  ASSERT_TRUE(db.ok()) << db.status();
  auto app = (*db)->NewAppender();
  std::mt19937_64 rng(5);
  std::vector<Labels> created;
  for (int i = 0; i < 300; ++i) {
    std::vector<Label> l = {{"__name__", "m"}, {"job", "j"}};
    const std::string v = std::string(rng() % 3 + 1, static_cast<char>('a' + rng() % 3));
    switch (i % 4) {
      case 0:
        l.push_back({"a", v});
        break;
      case 1:
        l.push_back({"a", v});
        l.push_back({"b", std::to_string(i)});
        break;
      case 2:
        l.push_back({"zz", v + std::to_string(i)});
        break;
      default:
        break;
    }
    Labels labels(std::move(l));
    if (std::find(created.begin(), created.end(), labels) != created.end()) continue;
    created.push_back(labels);
    ASSERT_TRUE(app->Append(0, labels, 1000, i).ok());
  }
  ASSERT_TRUE(app->Commit().ok());
  std::sort(created.begin(), created.end());
  auto q = (*db)->NewQuerier(kMinTime, kMaxTime);
  auto sel = q->Select({Eq("job", "j")});
  ASSERT_TRUE(sel.ok());
  ASSERT_EQ(sel->size(), created.size());
  for (size_t i = 0; i < created.size(); ++i) {
    EXPECT_EQ((*sel)[i]->labels(), created[i]) << i;
  }
}

// The selection in pieces of at most piece_series series, through the head's own path or, with
// generic, through Querier's default (Select's snapshots, then their samples).
absl::StatusOr<std::vector<std::vector<SeriesSamples>>> Pieces(
    const Querier& q, bool generic, size_t piece_series,
    std::chrono::steady_clock::time_point deadline = kNoDeadline,
    const SelectHints& hints = SelectHints()) {
  std::vector<std::vector<SeriesSamples>> pieces;
  auto consume = [&](std::vector<SeriesSamples>& piece) {
    pieces.push_back(std::move(piece));
    return absl::OkStatus();
  };
  const std::vector<LabelMatcher> matchers = {Eq("job", "j")};
  absl::Status st =
      generic ? q.Querier::SelectSamplesInPieces(matchers, hints, deadline, piece_series, consume)
              : q.SelectSamplesInPieces(matchers, hints, deadline, piece_series, consume);
  if (!st.ok()) return st;
  return pieces;
}

// The whole selection through the head's path as one piece (empty when no series has samples).
absl::StatusOr<std::vector<SeriesSamples>> AllSamples(
    const Querier& q, const std::vector<LabelMatcher>& matchers,
    std::chrono::steady_clock::time_point deadline = kNoDeadline) {
  std::vector<SeriesSamples> all;
  int pieces = 0;
  absl::Status st = q.SelectSamplesInPieces(matchers, SelectHints(), deadline, SIZE_MAX,
                                            [&](std::vector<SeriesSamples>& piece) {
                                              ++pieces;
                                              all = std::move(piece);
                                              return absl::OkStatus();
                                            });
  if (!st.ok()) return st;
  EXPECT_LE(pieces, 1);
  return all;
}

// The head's SelectSamplesInPieces (decoding straight from its chunks on the read workers, or
// from a compressed copy when the selection spans several pieces) returns what the generic path
// (Select's snapshots, then their samples) returns: same series in the same order and the same
// pieces, same samples bit for bit, and no series without samples in the window.
TEST(SnapshotFastPathTest, SelectSamplesMatchesSelectThenDecode) {
  TempDir dir;
  auto db = DB::Open(dir.path(), DBOptions{});
  ASSERT_TRUE(db.ok()) << db.status();
  auto app = (*db)->NewAppender();
  // 1500 series (enough to be split among workers), with different lengths so that windows
  // cut some of them out entirely, and values of every XOR case. About 570,000 samples in all:
  // more than the head decodes at once, so reads of the whole range in several pieces go through
  // its compressed copy, and the narrow windows through the direct path.
  std::vector<std::vector<Sample>> appended(1500);
  for (int i = 0; i < 1500; ++i) {
    const Labels labels({{"__name__", "m"}, {"i", std::to_string(i)}, {"job", "j"}});
    const std::vector<Sample> samples = RandomSamples(static_cast<uint64_t>(i), 30 + i % 720);
    int64_t t = 0;
    for (const Sample& x : samples) {
      t += 1 + (x.t & 0xffff);  // increasing, spread over about a day
      ASSERT_TRUE(app->Append(0, labels, t, x.v).ok());
      appended[i].push_back({t, x.v});
    }
  }
  ASSERT_TRUE(app->Commit().ok());
  // Every series with samples in [mint, maxt] is in the pieces, once, with exactly those samples.
  auto expect_appended = [&](const std::vector<std::vector<SeriesSamples>>& pieces, int64_t mint,
                             int64_t maxt) {
    std::vector<bool> seen(appended.size());
    for (const std::vector<SeriesSamples>& piece : pieces) {
      for (const SeriesSamples& s : piece) {
        const size_t i = std::stoul(std::string(s.labels.Get("i")));
        ASSERT_LT(i, appended.size());
        ASSERT_FALSE(seen[i]) << i;
        seen[i] = true;
        ExpectSameBits(s.samples, Filter(appended[i], mint, maxt));
      }
    }
    for (size_t i = 0; i < appended.size(); ++i) {
      if (!seen[i]) {
        EXPECT_TRUE(Filter(appended[i], mint, maxt).empty()) << i;
      }
    }
  };
  for (auto [mint, maxt] :
       std::vector<std::array<int64_t, 2>>{{kMinTime, kMaxTime},
                                           {1000000, 3000000},
                                           {5000000, 5000001},
                                           {0, 0},
                                           {appended[700][3].t, appended[700][200].t},
                                           {appended[9].back().t, kMaxTime},
                                           {int64_t{1} << 50, kMaxTime}}) {
    auto q = (*db)->NewQuerier(mint, maxt);
    for (size_t piece_series : {size_t{1}, size_t{7}, size_t{500}, size_t{1500}, SIZE_MAX}) {
      auto fused = Pieces(*q, false, piece_series);
      auto generic = Pieces(*q, true, piece_series);
      ASSERT_TRUE(fused.ok()) << fused.status();
      ASSERT_TRUE(generic.ok()) << generic.status();
      ASSERT_EQ(fused->size(), generic->size()) << mint << ".." << maxt << " by " << piece_series;
      expect_appended(*fused, mint, maxt);
      for (size_t p = 0; p < fused->size(); ++p) {
        const std::vector<SeriesSamples>& f = (*fused)[p];
        const std::vector<SeriesSamples>& g = (*generic)[p];
        ASSERT_EQ(f.size(), g.size()) << mint << ".." << maxt << " piece " << p;
        EXPECT_FALSE(f.empty());
        EXPECT_LE(f.size(), piece_series);
        for (size_t k = 0; k < f.size(); ++k) {
          EXPECT_EQ(f[k].labels, g[k].labels);
          EXPECT_FALSE(f[k].samples.empty());
          ExpectSameBits(f[k].samples, g[k].samples);
        }
      }
    }
    auto fused = AllSamples(*q, {Eq("job", "j")});
    ASSERT_TRUE(fused.ok()) << fused.status();
    // Asked for the newest sample only, the head gives each series' last sample of the window
    // (from the copy it keeps beside the chunks when the window reaches the series' end).
    SelectHints newest;
    newest.newest_only = true;
    auto last = Pieces(*q, false, SIZE_MAX, kNoDeadline, newest);
    ASSERT_TRUE(last.ok()) << last.status();
    const std::vector<SeriesSamples> none;
    const std::vector<SeriesSamples>& l = last->empty() ? none : (*last)[0];
    ASSERT_EQ(l.size(), fused->size()) << mint << ".." << maxt;
    for (size_t k = 0; k < l.size(); ++k) {
      EXPECT_EQ(l[k].labels, (*fused)[k].labels);
      ASSERT_EQ(l[k].samples.size(), 1u);
      ExpectSameBits(l[k].samples, {(*fused)[k].samples.back()});
    }
    // The label listing names the series Select returns, in its order, without copying chunks.
    auto labels = q->SelectLabels({Eq("job", "j")});
    auto via_select = q->Querier::SelectLabels({Eq("job", "j")});
    ASSERT_TRUE(labels.ok()) << labels.status();
    ASSERT_TRUE(via_select.ok()) << via_select.status();
    EXPECT_EQ(*labels, *via_select) << mint << ".." << maxt;
    EXPECT_GE(labels->size(), fused->size());
  }
  auto q = (*db)->NewQuerier(kMinTime, kMaxTime);
  EXPECT_EQ(q->SelectLabels({Eq("job", "")}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AllSamples(*q, {Eq("job", "")}).status().code(), absl::StatusCode::kInvalidArgument);
  // A deadline already past: nothing is decoded, both paths say why.
  const auto past = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  EXPECT_EQ(AllSamples(*q, {Eq("job", "j")}, past).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  for (size_t piece_series : {size_t{7}, SIZE_MAX}) {
    EXPECT_EQ(Pieces(*q, false, piece_series, past).status().code(),
              absl::StatusCode::kDeadlineExceeded);
    EXPECT_EQ(Pieces(*q, true, piece_series, past).status().code(),
              absl::StatusCode::kDeadlineExceeded);
  }
  // An error from the reader ends the stream after the piece that caused it.
  int calls = 0;
  absl::Status stopped = q->SelectSamplesInPieces(
      {Eq("job", "j")}, SelectHints(), kNoDeadline, 100, [&](std::vector<SeriesSamples>&) {
        return ++calls == 2 ? absl::CancelledError("enough") : absl::OkStatus();
      });
  EXPECT_EQ(stopped, absl::CancelledError("enough"));
  EXPECT_EQ(calls, 2);
}

// The newest sample the head keeps beside each series' chunks stays that of the chunks through a
// checkpoint and a restart (WAL replay), stale markers included: newest_only answers the same
// before and after, and the same as decoding.
TEST(SnapshotFastPathTest, NewestSampleSurvivesRestart) {
  TempDir dir;
  const double stale = StaleNaN();
  auto append = [](DB& db, int from, int to, bool stale_last, double stale_value) {
    auto app = db.NewAppender();
    for (int i = 0; i < 50; ++i) {
      const Labels labels({{"__name__", "m"}, {"i", std::to_string(i)}, {"job", "j"}});
      for (int k = from; k < to; ++k) {
        const double v = stale_last && k == to - 1 && i % 3 == 0 ? stale_value : i * 1000.5 + k;
        ASSERT_TRUE(app->Append(0, labels, int64_t{k} * 15000, v).ok());
      }
    }
    ASSERT_TRUE(app->Commit().ok());
  };
  SelectHints newest;
  newest.newest_only = true;
  auto check = [&](DB& db) {
    for (auto [mint, maxt] :
         std::vector<std::array<int64_t, 2>>{{kMinTime, kMaxTime},
                                             {0, int64_t{150} * 15000},
                                             {0, int64_t{299} * 15000},
                                             {int64_t{100} * 15000, kMaxTime}}) {
      auto q = db.NewQuerier(mint, maxt);
      auto all = AllSamples(*q, {Eq("job", "j")});
      auto last = Pieces(*q, false, SIZE_MAX, kNoDeadline, newest);
      ASSERT_TRUE(all.ok() && last.ok());
      ASSERT_EQ(last->size(), 1u);
      ASSERT_EQ((*last)[0].size(), all->size());
      for (size_t k = 0; k < all->size(); ++k) {
        ASSERT_EQ((*last)[0][k].samples.size(), 1u);
        ExpectSameBits((*last)[0][k].samples, {(*all)[k].samples.back()});
      }
    }
  };
  {
    auto db = DB::Open(dir.path(), DBOptions{});
    ASSERT_TRUE(db.ok()) << db.status();
    append(**db, 0, 200, true, stale);
    ASSERT_TRUE((*db)->Checkpoint().ok());
    append(**db, 200, 300, true, stale);
    check(**db);
  }
  auto db = DB::Open(dir.path(), DBOptions{});
  ASSERT_TRUE(db.ok()) << db.status();
  check(**db);
}

// Any other SeriesData goes through its iterator, and its labels are copied.
class VectorSeries final : public SeriesData {
 public:
  VectorSeries(Labels labels, std::vector<Sample> samples)
      : labels_(std::move(labels)), samples_(std::move(samples)) {}
  const Labels& labels() const override { return labels_; }
  std::unique_ptr<SampleIterator> Iterator() const override {
    struct It final : SampleIterator {
      const std::vector<Sample>* s;
      size_t i = 0;
      bool started = false;
      bool Next() override {
        if (started) ++i;
        started = true;
        return i < s->size();
      }
      bool Seek(int64_t t) override {
        if (!started) started = true;
        while (i < s->size() && (*s)[i].t < t) ++i;
        return i < s->size();
      }
      Sample At() const override { return (*s)[i]; }
    };
    auto it = std::make_unique<It>();
    it->s = &samples_;
    return it;
  }

 private:
  Labels labels_;
  std::vector<Sample> samples_;
};

TEST(SnapshotFastPathTest, OtherSeriesDataUseTheInterface) {
  VectorSeries s(Labels({{"a", "b"}}), {{1, 1}, {2, 2}, {3, 3}, {4, 4}});
  std::vector<Sample> got;
  AppendSeriesSamples(s, 2, 3, &got);
  ExpectSameBits(got, {{2, 2}, {3, 3}});
  EXPECT_EQ(TakeSeriesLabels(s), Labels({{"a", "b"}}));
  EXPECT_EQ(s.labels(), Labels({{"a", "b"}}));  // copied, not moved
}

}  // namespace
}  // namespace tsdb
