// Engine behaviour on a real tsdb::DB: lookback and staleness, range windows, rate extrapolation,
// vector matching errors, name dropping, subqueries, @, limits and annotations.
#include "promql/engine.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tsdb/db.h"
#include "tsdb/stale.h"

namespace promql {
namespace {

constexpr int64_t kMin = 60 * 1000;

using tsdb::StaleNaN;

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/ma-engine-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    tsdb::DBOptions o;
    o.disable_wal = true;
    o.retention_ms = 0;
    auto db = tsdb::DB::Open(dir_, o);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
  }
  void TearDown() override {
    db_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Appends v[i] at i*step for the series.
  void Add(const tsdb::Labels& l, int64_t step, const std::vector<double>& v) {
    auto app = db_->NewAppender();
    for (size_t i = 0; i < v.size(); ++i) {
      ASSERT_TRUE(app->Append(0, l, static_cast<int64_t>(i) * step, v[i]).ok());
    }
    ASSERT_TRUE(app->Commit().ok());
  }

  Engine MakeEngine(EngineOptions o = EngineOptions()) {
    tsdb::DB* db = db_.get();
    return Engine([db](int64_t mint, int64_t maxt) { return db->NewQuerier(mint, maxt); }, o);
  }

  std::string dir_;
  std::unique_ptr<tsdb::DB> db_;
};

// The vector result (a copy: the result is usually a temporary).
Vector Vec(const absl::StatusOr<QueryResult>& r) {
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok() || r->type() != ValueType::kVector) return Vector();
  return std::get<Vector>(r->value);
}

TEST_F(EngineTest, LookbackWindowIsLeftOpen) {
  Add({{"__name__", "x"}}, kMin, {1});
  Engine e = MakeEngine();
  EXPECT_EQ(Vec(e.InstantQuery("x", 5 * kMin - 1)).size(), 1u);
  EXPECT_TRUE(Vec(e.InstantQuery("x", 5 * kMin)).empty());
  // A custom lookback delta.
  EngineOptions o;
  o.lookback_delta_ms = kMin;
  Engine short_lookback = MakeEngine(o);
  EXPECT_TRUE(Vec(short_lookback.InstantQuery("x", kMin)).empty());
}

TEST_F(EngineTest, StaleMarkerEndsSeries) {
  Add({{"__name__", "x"}}, kMin, {1, 2, StaleNaN()});
  Engine e = MakeEngine();
  Vector before = Vec(e.InstantQuery("x", kMin + 30000));
  ASSERT_EQ(before.size(), 1u);
  EXPECT_EQ(before[0].v, 2);
  EXPECT_TRUE(Vec(e.InstantQuery("x", 2 * kMin)).empty());
  // Range windows skip the marker.
  Vector c = Vec(e.InstantQuery("count_over_time(x[10m])", 3 * kMin));
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].v, 2);
}

TEST_F(EngineTest, RateExtrapolatesLikePrometheus) {
  std::vector<double> v;
  for (int i = 0; i <= 10; ++i) v.push_back(10.0 * i);
  Add({{"__name__", "c_total"}}, kMin, v);
  Engine e = MakeEngine();
  auto r = e.InstantQuery("rate(c_total[5m])", 10 * kMin);
  Vector vec = Vec(r);
  ASSERT_EQ(vec.size(), 1u);
  // 40 over 4m of samples, extrapolated 1m towards the window start: 50 / 300s.
  EXPECT_NEAR(vec[0].v, 1.0 / 6, 1e-12);
  EXPECT_EQ(vec[0].labels, tsdb::Labels());  // the metric name is dropped
  EXPECT_TRUE(r->annotations.infos.empty());
}

TEST_F(EngineTest, RateOnNonCounterNameAddsInfoWithPosition) {
  Add({{"__name__", "foo"}}, kMin, {1, 2, 3});
  Engine e = MakeEngine();
  auto r = e.InstantQuery("rate(foo[5m])", 2 * kMin);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->annotations.infos,
              ::testing::ElementsAre("PromQL info: metric might not be a counter, name does not "
                                     "end in _total/_sum/_count/_bucket: \"foo\" (1:6)"));
}

TEST_F(EngineTest, ManyToManyMatchingFailsWithPrometheusMessage) {
  Add({{"__name__", "a"}, {"k", "x"}}, kMin, {1});
  Add({{"__name__", "b"}, {"k", "1"}}, kMin, {1});
  Add({{"__name__", "b"}, {"k", "2"}}, kMin, {1});
  Engine e = MakeEngine();
  auto r = e.InstantQuery("a + on() b", 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "found duplicate series for the match group {} on the right hand-side of the "
            "operation: [{__name__=\"b\", k=\"1\"}, {__name__=\"b\", k=\"2\"}];many-to-many "
            "matching not allowed: matching labels must be unique on one side");
  EXPECT_FALSE(e.InstantQuery("b + on() group_right a", 0).ok());
  auto g = e.InstantQuery("a + on() group_right b", 0);
  Vector vec = Vec(g);
  ASSERT_EQ(vec.size(), 2u);
}

TEST_F(EngineTest, ArithmeticDropsNameComparisonKeepsIt) {
  Add({{"__name__", "m"}, {"env", "1"}}, kMin, {5});
  Engine e = MakeEngine();
  Vector sum = Vec(e.InstantQuery("m * 2", 0));
  ASSERT_EQ(sum.size(), 1u);
  EXPECT_EQ(sum[0].labels, tsdb::Labels({{"env", "1"}}));
  EXPECT_EQ(sum[0].v, 10);
  Vector cmp = Vec(e.InstantQuery("m > 1", 0));
  ASSERT_EQ(cmp.size(), 1u);
  EXPECT_EQ(cmp[0].labels.MetricName(), "m");
  Vector b = Vec(e.InstantQuery("m > bool 7", 0));
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].v, 0);
  EXPECT_EQ(b[0].labels.MetricName(), "");
}

TEST_F(EngineTest, ComparisonKeepsPendingNameDrop) {
  Add({{"__name__", "a_total"}, {"env", "1"}}, kMin, {0, 10, 20});
  Add({{"__name__", "b_total"}, {"env", "1"}}, kMin, {0, 1, 2});
  Engine e = MakeEngine();
  // rate() marks the name for removal; a filtering comparison must not bring it back.
  Vector vv = Vec(e.InstantQuery("rate(a_total[5m]) > rate(b_total[5m])", 2 * kMin));
  ASSERT_EQ(vv.size(), 1u);
  EXPECT_EQ(vv[0].labels, tsdb::Labels({{"env", "1"}}));
  Vector vs = Vec(e.InstantQuery("rate(a_total[5m]) > 0", 2 * kMin));
  ASSERT_EQ(vs.size(), 1u);
  EXPECT_EQ(vs[0].labels, tsdb::Labels({{"env", "1"}}));
  // Without a name-dropping function the name stays.
  Vector plain = Vec(e.InstantQuery("a_total > b_total", 2 * kMin));
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_EQ(plain[0].labels.MetricName(), "a_total");
}

TEST_F(EngineTest, SameLabelsetAfterNameDropIsAnError) {
  Add({{"__name__", "a"}, {"job", "x"}}, kMin, {1});
  Add({{"__name__", "b"}, {"job", "x"}}, kMin, {2});
  Engine e = MakeEngine();
  auto r = e.InstantQuery("-{job=\"x\"}", 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "vector cannot contain metrics with the same labelset");
}

TEST_F(EngineTest, RangeQueryReturnsSortedMatrixAndScalarsAsSeries) {
  Add({{"__name__", "m"}, {"i", "b"}}, kMin, {1, 2, 3});
  Add({{"__name__", "m"}, {"i", "a"}}, kMin, {4, 5, 6});
  Engine e = MakeEngine();
  auto r = e.RangeQuery("m", 0, 2 * kMin, kMin);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->type(), ValueType::kMatrix);
  const Matrix& m = std::get<Matrix>(r->value);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].labels.Get("i"), "a");
  EXPECT_THAT(m[0].samples, ::testing::ElementsAre(tsdb::Sample{0, 4}, tsdb::Sample{kMin, 5},
                                                   tsdb::Sample{2 * kMin, 6}));
  auto s = e.RangeQuery("time()", 0, kMin, 30000);
  ASSERT_TRUE(s.ok());
  const Matrix& sm = std::get<Matrix>(s->value);
  ASSERT_EQ(sm.size(), 1u);
  EXPECT_TRUE(sm[0].labels.empty());
  EXPECT_EQ(sm[0].samples.size(), 3u);
  EXPECT_EQ(sm[0].samples[2].v, 60);
  EXPECT_FALSE(e.RangeQuery("m[5m]", 0, kMin, kMin).ok());
}

TEST_F(EngineTest, AtModifierPinsTheEvaluationTime) {
  std::vector<double> v;
  for (int i = 0; i <= 10; ++i) v.push_back(i);
  Add({{"__name__", "m"}}, kMin, v);
  Engine e = MakeEngine();
  auto r = e.RangeQuery("m @ 120", 0, 10 * kMin, kMin);
  ASSERT_TRUE(r.ok()) << r.status();
  const Matrix& m = std::get<Matrix>(r->value);
  ASSERT_EQ(m.size(), 1u);
  ASSERT_EQ(m[0].samples.size(), 11u);
  for (const auto& s : m[0].samples) EXPECT_EQ(s.v, 2);
  Vector end = Vec(e.InstantQuery("m @ end() offset 1m", 7 * kMin));
  ASSERT_EQ(end.size(), 1u);
  EXPECT_EQ(end[0].v, 6);
}

TEST_F(EngineTest, SubqueryStepsAreAbsolutelyAligned) {
  std::vector<double> v;
  for (int i = 0; i <= 20; ++i) v.push_back(i);
  Add({{"__name__", "m"}}, kMin, v);
  Engine e = MakeEngine();
  // At 10m30s the 3m-step subquery over 10m evaluates at 3m, 6m, 9m (multiples of 3m after
  // 30s), not at 10m30s - k*3m.
  auto r = e.InstantQuery("m[10m:3m]", 10 * kMin + 30000);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->type(), ValueType::kMatrix);
  const Matrix& m = std::get<Matrix>(r->value);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_THAT(m[0].samples,
              ::testing::ElementsAre(tsdb::Sample{3 * kMin, 3}, tsdb::Sample{6 * kMin, 6},
                                     tsdb::Sample{9 * kMin, 9}));
}

TEST_F(EngineTest, AggregationsAndSorting) {
  Add({{"__name__", "m"}, {"g", "a"}, {"i", "1"}}, kMin, {1});
  Add({{"__name__", "m"}, {"g", "a"}, {"i", "2"}}, kMin, {3});
  Add({{"__name__", "m"}, {"g", "b"}, {"i", "3"}}, kMin, {10});
  Engine e = MakeEngine();
  Vector s = Vec(e.InstantQuery("sort(sum by (g) (m))", 0));
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].labels, tsdb::Labels({{"g", "a"}}));
  EXPECT_EQ(s[0].v, 4);
  EXPECT_EQ(s[1].v, 10);
  Vector t = Vec(e.InstantQuery("topk(1, m)", 0));
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].labels.Get("i"), "3");
  Vector q = Vec(e.InstantQuery("quantile without (i) (0.5, m)", 0));
  ASSERT_EQ(q.size(), 2u);
  auto bad = e.InstantQuery("topk(NaN, m)", 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "Parameter value is NaN");
}

// Range aggregations give, at every step, what the step's samples give: with few groups for many
// series the engine aggregates series by series, with many groups step by step; both are checked
// against sums and counts worked out here. Series k of group g has the value k, except at the
// steps where it has no sample (a gap longer than the lookback) or a stale marker.
TEST_F(EngineTest, RangeAggregationsMatchEveryStep) {
  constexpr int kSeries = 120, kSteps = 40;
  auto present = [](int k, int step) { return (k + step) % 7 != 0 && (k * step) % 11 != 3; };
  auto app = db_->NewAppender();
  for (int k = 0; k < kSeries; ++k) {
    const tsdb::Labels l(
        {{"__name__", "m"}, {"g", k % 3 == 0 ? "a" : "b"}, {"k", absl::StrCat(k)}});
    for (int step = 0; step < kSteps; ++step) {
      // Absent steps get a stale marker (k even) or nothing: the lookback (30s below) is shorter
      // than the 60s step, so a missing sample leaves the step empty either way.
      if (present(k, step)) {
        ASSERT_TRUE(app->Append(0, l, int64_t{step} * kMin, k).ok());
      } else if (k % 2 == 0) {
        ASSERT_TRUE(app->Append(0, l, int64_t{step} * kMin, StaleNaN()).ok());
      }
    }
  }
  ASSERT_TRUE(app->Commit().ok());
  EngineOptions o;
  o.lookback_delta_ms = 30000;
  Engine e = MakeEngine(o);
  auto check = [&](const std::string& query, auto want_at) {
    absl::StatusOr<QueryResult> r = e.RangeQuery(query, 0, int64_t{kSteps - 1} * kMin, kMin);
    ASSERT_TRUE(r.ok()) << query << ": " << r.status();
    const Matrix& m = std::get<Matrix>(r->value);
    for (const MatrixSeries& s : m) {
      std::map<int64_t, double> got;
      for (const tsdb::Sample& p : s.samples) got[p.t] = p.v;
      for (int step = 0; step < kSteps; ++step) {
        const std::optional<double> want = want_at(s.labels, step);
        auto it = got.find(int64_t{step} * kMin);
        ASSERT_EQ(it != got.end(), want.has_value())
            << query << " " << s.labels.ToString() << " @" << step;
        if (want) {
          EXPECT_DOUBLE_EQ(it->second, *want)
              << query << " " << s.labels.ToString() << " @" << step;
        }
      }
    }
  };
  // Sum, count, max and avg of the values present at a step, over the series selected by keep.
  auto fold = [&](int step, auto keep, char what) -> std::optional<double> {
    double sum = 0, max = -1;
    int n = 0;
    for (int k = 0; k < kSeries; ++k) {
      if (!keep(k) || !present(k, step)) continue;
      sum += k;
      max = std::max<double>(max, k);
      ++n;
    }
    if (n == 0) return std::nullopt;
    return what == 's' ? sum : what == 'c' ? n : what == 'm' ? max : sum / n;
  };
  auto in_group = [](const tsdb::Labels& l) {
    const bool a = l.Get("g") == "a";
    return [a](int k) { return (k % 3 == 0) == a; };
  };
  check("sum by (g) (m)",
        [&](const tsdb::Labels& l, int step) { return fold(step, in_group(l), 's'); });
  check("avg by (g) (m)",
        [&](const tsdb::Labels& l, int step) { return fold(step, in_group(l), 'a'); });
  check("count(m)", [&](const tsdb::Labels&, int step) {
    return fold(
        step, [](int) { return true; }, 'c');
  });
  check("max by (g) (m)",
        [&](const tsdb::Labels& l, int step) { return fold(step, in_group(l), 'm'); });
  // One group per series: aggregated step by step.
  check("sum by (k) (m)", [&](const tsdb::Labels& l, int step) {
    const int k = std::stoi(std::string(l.Get("k")));
    return fold(
        step, [k](int j) { return j == k; }, 's');
  });
}

TEST_F(EngineTest, TooManySamples) {
  std::vector<double> v(100, 1.0);
  Add({{"__name__", "m"}}, 1000, v);
  EngineOptions o;
  o.max_samples = 10;
  Engine e = MakeEngine(o);
  auto r = e.RangeQuery("m", 0, 99000, 1000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "query processing would load too many samples into memory in query execution");
  EXPECT_FALSE(absl::IsDeadlineExceeded(r.status()));
  EXPECT_TRUE(e.InstantQuery("m", 99000).ok());
}

// Selections of thousands of series are read from the storage a piece at a time: the results are
// those of the whole selection (every series, in label order, across the pieces' boundaries), and
// a range function holds only a piece's samples at once, so the sample limit applies to a piece
// and the result rather than to everything selected.
TEST_F(EngineTest, LargeSelectionsAreReadInPieces) {
  constexpr int kSeries = 3000;
  auto app = db_->NewAppender();
  for (int i = 0; i < kSeries; ++i) {
    const tsdb::Labels l({{"__name__", "m_total"}, {"i", absl::StrFormat("%05d", i)}});
    for (int k = 0; k < 10; ++k)
      ASSERT_TRUE(app->Append(0, l, int64_t{k} * 10000, (i + 1) * k).ok());
  }
  ASSERT_TRUE(app->Commit().ok());
  Engine e = MakeEngine();
  Vector all = Vec(e.InstantQuery("m_total", 90000));
  ASSERT_EQ(all.size(), static_cast<size_t>(kSeries));
  for (int i = 0; i < kSeries; ++i) {
    ASSERT_EQ(all[i].labels.Get("i"), absl::StrFormat("%05d", i));
    ASSERT_EQ(all[i].v, (i + 1) * 9);
  }
  // rate over the last 90s: 9 increases of (i + 1) in 90 s per series, summed over all series.
  const double want = 9.0 * kSeries * (kSeries + 1) / 2 / 90;
  Vector sum = Vec(e.InstantQuery("sum(rate(m_total[90s]))", 90000));
  ASSERT_EQ(sum.size(), 1u);
  EXPECT_NEAR(sum[0].v, want, 1e-9 * want);
  absl::StatusOr<QueryResult> range = e.RangeQuery("rate(m_total[90s])", 90000, 90000, 1000);
  ASSERT_TRUE(range.ok()) << range.status();
  const Matrix& m = std::get<Matrix>(range->value);
  ASSERT_EQ(m.size(), static_cast<size_t>(kSeries));
  EXPECT_EQ(m[kSeries - 1].labels.Get("i"), absl::StrFormat("%05d", kSeries - 1));
  // 30,000 samples are selected; a piece holds about a third of them.
  EngineOptions limited;
  limited.max_samples = 15000;
  Vector in_pieces = Vec(MakeEngine(limited).InstantQuery("sum(rate(m_total[90s]))", 90000));
  ASSERT_EQ(in_pieces.size(), 1u);
  EXPECT_NEAR(in_pieces[0].v, want, 1e-9 * want);
  limited.max_samples = 5000;
  auto over = MakeEngine(limited).InstantQuery("sum(rate(m_total[90s]))", 90000);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().message(),
            "query processing would load too many samples into memory in query execution");
}

TEST_F(EngineTest, TimeoutIsDeadlineExceeded) {
  Add({{"__name__", "m"}}, kMin, {1, 2, 3});
  EngineOptions o;
  o.timeout_ms = 1;
  Engine e = MakeEngine(o);
  // About 2.6 million inner steps: far more than a millisecond of work.
  auto r = e.RangeQuery("count_over_time(vector(1)[30d:1s])", 0, 24 * 60 * kMin, 60 * kMin);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status())) << r.status();
}

TEST_F(EngineTest, TimeoutWhileReadingALargeSelection) {
  // Reading 20,000 series of 10 samples each takes far more than a millisecond: the storage
  // stops at the deadline, reported like any other evaluation timeout.
  auto app = db_->NewAppender();
  for (int i = 0; i < 20000; ++i) {
    const tsdb::Labels l({{"__name__", "m"}, {"i", std::to_string(i)}});
    for (int k = 0; k < 10; ++k) ASSERT_TRUE(app->Append(0, l, k * 1000, k).ok());
  }
  ASSERT_TRUE(app->Commit().ok());
  EngineOptions o;
  o.timeout_ms = 1;
  auto r = MakeEngine(o).RangeQuery("count(m)", 0, 9000, 1000);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status())) << r.status();
  EXPECT_EQ(r.status().message(), "query timed out in expression evaluation");
  EXPECT_TRUE(MakeEngine().RangeQuery("count(m)", 0, 9000, 1000).ok());
}

TEST_F(EngineTest, ParseErrorsAreInvalidArgument) {
  Engine e = MakeEngine();
  auto r = e.InstantQuery("sum(", 0);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(r.status()));
}

TEST_F(EngineTest, LabelReplaceCollisionIsAnError) {
  Add({{"__name__", "m"}, {"a", "1"}}, kMin, {1});
  Add({{"__name__", "m"}, {"a", "2"}}, kMin, {1});
  Engine e = MakeEngine();
  auto r = e.InstantQuery("label_replace(m, \"a\", \"x\", \"a\", \".*\")", 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "vector cannot contain metrics with the same labelset");
  Vector ok = Vec(e.InstantQuery("label_replace(m, \"b\", \"v$1\", \"a\", \"(.*)\")", 0));
  ASSERT_EQ(ok.size(), 2u);
  EXPECT_EQ(ok[0].labels.Get("b").substr(0, 1), "v");
}

}  // namespace
}  // namespace promql

namespace promql {
namespace {

// Odd and extreme inputs must produce a result or an error, never a crash.
TEST_F(EngineTest, EdgeCasesDoNotCrash) {
  std::vector<double> v;
  for (int i = 0; i < 50; ++i) v.push_back(i % 7 == 3 ? NAN : i % 11);
  Add({{"__name__", "x"}, {"instance", "a"}, {"job", "j"}, {"le", "1"}}, 15000, v);
  Add({{"__name__", "x"}, {"instance", "a"}, {"job", "j"}, {"le", "+Inf"}}, 15000, v);
  Add({{"__name__", "target_info"}, {"instance", "a"}, {"job", "j"}, {"v", "1"}}, 15000, {1, 1});
  Engine e = MakeEngine();
  const char* kQueries[] = {
      "x @ 9223372036854775.807",
      "x offset -9999999999y",
      "rate(x[9999999999y])",
      "x[1y:1ms]",
      "count_over_time(vector(1)[100y:1s])",
      "vector(1)[5m:1ms]",
      "histogram_quantile(0.5, x)",
      "histogram_quantile(NaN, rate(x[1m]))",
      "histogram_fraction(-Inf, 0.5, x)",
      "topk(1e300, x)",
      "topk(-1e300, x)",
      "bottomk(2, x) or topk(1, -x)",
      "quantile(2, x)",
      "quantile(NaN, x)",
      "limitk(1, x)",
      "limit_ratio(0.5, x)",
      "limit_ratio(-0.5, x)",
      "label_replace(x, \"a\", \"$1$2${3}$$$\", \"le\", \"(x)?\")",
      "label_replace(x, \"a\", \"$name ${bad\", \"le\", \"(?P<name>.*)\")",
      "label_join(x, \"a\", \"-\", \"le\", \"job\", \"missing\")",
      "count_values(\"\", x)",
      "count_values(\"v\", x)",
      "round(x, 0)",
      "year(vector(1e20))",
      "day_of_week(vector(NaN))",
      "days_in_month(vector(-1e10))",
      "1 @ 100",
      "sort_by_label(x, \"le\")",
      "sort_desc(x)",
      "absent_over_time(nope[5m])",
      "absent(nope{a=\"b\", a=\"c\"})",
      "info(x)",
      "info(x, {v=~\".+\"})",
      "-(-x)",
      "x and on() vector(2)",
      "x unless ignoring(le) x",
      "predict_linear(x[5m], 1)",
      "timestamp(x @ 10)",
      "x smoothed",
      "x[5m] smoothed",
      "x[5m] anchored",
      "rate(x[5m] smoothed)",
      "increase(x[1m] anchored)",
      "resets(x[5m] anchored)",
      "double_exponential_smoothing(x[5m], 0.5, 0.5)",
      "double_exponential_smoothing(x[5m], 2, 0.5)",
      "holt_winters(x[5m], 0.5, 0.5)",
      "start_timestamp(x)",
      "mad_over_time(x[1m])",
      "quantile_over_time(-1, x[1m])",
      "x - on() group_left fill(1) vector(1)",
      "x * on(le) group_left fill_right(0) x",
      "x / on(instance) group_right x",
      "stddev(x) + stdvar(x) + avg(x) + group(x)",
      "sum by (le) (rate(x[1m])) / ignoring(le) group_left sum(rate(x[1m]))",
      "x[step()]",
      "scalar(x) + time()",
      "x </ 1",
      "x >/ x",
  };
  for (const char* q : kQueries) {
    auto r = e.InstantQuery(q, 400000);
    (void)r;
    auto rr = e.RangeQuery(q, 0, 600000, 17000);
    (void)rr;
  }
  EXPECT_TRUE(e.InstantQuery("vector(1)", 0).ok());
}

}  // namespace
}  // namespace promql
