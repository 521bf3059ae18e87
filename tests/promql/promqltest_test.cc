// The PromQL test-script parser and runner (promql/promqltest/).
#include <cmath>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "promql/promqltest/runner.h"
#include "promql/promqltest/script.h"

namespace promql::promqltest {
namespace {

using Kind = SlotValue::Kind;

std::vector<double> Floats(const std::vector<SlotValue>& v) {
  std::vector<double> out;
  for (const SlotValue& s : v) out.push_back(s.kind == Kind::kFloat ? s.v : -12345);
  return out;
}

TEST(PromqlTestScript, ValueSequences) {
  auto v = ParseValueSequence("1 _ 3 _x2 4x2 0+10x3 5-1x2 -1-1x1 stale");
  ASSERT_TRUE(v.ok()) << v.status();
  // _x2 gives 2 gaps; VxN and V+DxN give N+1 values.
  ASSERT_EQ(v->size(), 1 + 1 + 1 + 2 + 3 + 4 + 3 + 2 + 1u);
  EXPECT_EQ((*v)[1].kind, Kind::kOmitted);
  EXPECT_EQ((*v)[3].kind, Kind::kOmitted);
  EXPECT_EQ((*v)[4].kind, Kind::kOmitted);
  std::vector<double> f = Floats(*v);
  EXPECT_THAT(std::vector<double>(f.begin() + 5, f.begin() + 17),
              ::testing::ElementsAre(4, 4, 4, 0, 10, 20, 30, 5, 4, 3, -1, -2));
  EXPECT_TRUE(IsStaleNaN(v->back().v));
  EXPECT_FALSE(IsStaleNaN(NAN));
}

TEST(PromqlTestScript, RepeatedAdditionMatchesFloatAccumulation) {
  auto v = ParseValueSequence("0.1+0.1x9");
  ASSERT_TRUE(v.ok());
  double acc = 0.1;
  for (int i = 1; i < 10; ++i) acc += 0.1;
  EXPECT_EQ(v->back().v, acc);  // bit for bit, not 0.1 * 10
}

TEST(PromqlTestScript, SpecialValuesAndHistograms) {
  auto v = ParseValueSequence("Inf -Inf NaN {{schema:0 sum:1 count:2 buckets:[1 1]}}x2 7");
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_EQ(v->size(), 7u);
  EXPECT_TRUE(std::isinf((*v)[0].v) && (*v)[0].v > 0);
  EXPECT_TRUE(std::isinf((*v)[1].v) && (*v)[1].v < 0);
  EXPECT_TRUE(std::isnan((*v)[2].v));
  EXPECT_EQ((*v)[3].kind, Kind::kHistogram);
  EXPECT_EQ((*v)[5].kind, Kind::kHistogram);
  EXPECT_EQ((*v)[6].v, 7);
  EXPECT_FALSE(ParseValueSequence("0x1f").ok());
  EXPECT_FALSE(ParseValueSequence("1+x3").ok());
  EXPECT_FALSE(ParseValueSequence("{{schema:0").ok());
}

TEST(PromqlTestScript, SeriesLines) {
  auto s = ParseSeriesLine(R"(  m{a="x", "b.c"='y\n', } 1 2)");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->labels, tsdb::Labels({{"__name__", "m"}, {"a", "x"}, {"b.c", "y\n"}}));
  EXPECT_EQ(s->values.size(), 2u);
  auto q = ParseSeriesLine(R"({"my.metric", l=`raw\n`} 5)");
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->labels, tsdb::Labels({{"__name__", "my.metric"}, {"l", "raw\\n"}}));
  auto e = ParseSeriesLine("{} 3");
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->labels.empty());
  EXPECT_FALSE(ParseSeriesLine(R"(m{a!="x"} 1)").ok());
  EXPECT_FALSE(ParseSeriesLine("1 2").ok());
  // Go's escapes: octal, hex, u and U runes (as UTF-8), and a quote only in the string it
  // delimits.
  auto esc = ParseSeriesLine(R"(m{a="\101\x42\u00e9\U0001F600\"", b='\'', c="\\"} 1)");
  ASSERT_TRUE(esc.ok()) << esc.status();
  EXPECT_EQ(
      esc->labels,
      tsdb::Labels(
          {{"__name__", "m"}, {"a", "AB\xc3\xa9\xf0\x9f\x98\x80\""}, {"b", "'"}, {"c", "\\"}}));
  EXPECT_FALSE(ParseSeriesLine(R"(m{a="\'"} 1)").ok());
  EXPECT_FALSE(ParseSeriesLine(R"(m{a='\"'} 1)").ok());
  EXPECT_FALSE(ParseSeriesLine(R"(m{a="\q"} 1)").ok());
  EXPECT_FALSE(ParseSeriesLine(R"(m{a="\x4"} 1)").ok());
  EXPECT_FALSE(ParseSeriesLine(R"(m{a="\U00110000"} 1)").ok());
  EXPECT_FALSE(ParseSeriesLine(R"(m{a="x} 1)").ok());
}

TEST(PromqlTestScript, DurationsAndScalarLines) {
  EXPECT_EQ(*ParseTestDuration("0"), 0);
  EXPECT_EQ(*ParseTestDuration("1m30s"), 90000);
  EXPECT_EQ(*ParseTestDuration("10s53ms"), 10053);
  EXPECT_EQ(*ParseTestDuration("1y"), 365LL * 24 * 3600 * 1000);
  EXPECT_FALSE(ParseTestDuration("30s1m").ok());
  EXPECT_FALSE(ParseTestDuration("-1m").ok());
  EXPECT_FALSE(ParseTestDuration("").ok());
  EXPECT_EQ(*ParseScalarLine("0x1f"), 31);
  EXPECT_EQ(*ParseScalarLine("017"), 15);
  EXPECT_EQ(*ParseScalarLine("1e3"), 1000);
  EXPECT_EQ(*ParseScalarLine("-0.5"), -0.5);
  EXPECT_TRUE(std::isnan(*ParseScalarLine("NaN")));
  EXPECT_TRUE(std::isinf(*ParseScalarLine("-Inf")));
  EXPECT_FALSE(ParseScalarLine("{} 1").has_value());
  EXPECT_FALSE(ParseScalarLine("foo").has_value());
}

TEST(PromqlTestScript, Commands) {
  auto s = ParseScript(R"(# comment
load 1m
  a 1 2
  a 3

eval instant at 1m a
  expect no_warn
  expect info msg: PromQL info: x (1:1)
  a 3

eval_fail instant at 0 a
  expected_fail_message boom

eval range from 0 to 2m step 1m a
  {} 1 _ 3

clear
eval instant at 0 1
  1
)");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->commands.size(), 6u);
  const LoadCmd& l = s->commands[0].load;
  EXPECT_EQ(l.step_ms, 60000);
  ASSERT_EQ(l.series.size(), 1u);  // the later line replaces the earlier one
  EXPECT_EQ(l.series[0].values.size(), 1u);
  const EvalCmd& e = s->commands[1].eval;
  EXPECT_EQ(e.line, 6);
  EXPECT_TRUE(e.expect_no_warn);
  ASSERT_EQ(e.infos.size(), 1u);
  EXPECT_EQ(e.infos[0].text, "PromQL info: x (1:1)");
  const EvalCmd& f = s->commands[2].eval;
  EXPECT_TRUE(f.expect_fail);
  EXPECT_EQ(f.fail.text, "boom");
  const EvalCmd& r = s->commands[3].eval;
  EXPECT_TRUE(r.range);
  EXPECT_EQ(r.end_ms, 120000);
  EXPECT_EQ(s->commands[4].kind, Command::Kind::kClear);
  EXPECT_EQ(*s->commands[5].eval.expect_scalar, 1);
  EXPECT_FALSE(ParseScript("bogus\n").ok());
  EXPECT_FALSE(ParseScript("eval instant at 0 a\n  a 1 2\n").ok());
}

TEST(PromqlTestRunner, AlmostEqual) {
  EXPECT_TRUE(AlmostEqual(0.333333, 1.0 / 3));
  EXPECT_FALSE(AlmostEqual(0.3333, 1.0 / 3));
  EXPECT_TRUE(AlmostEqual(NAN, NAN));
  EXPECT_FALSE(AlmostEqual(NAN, StaleNaN()));
  EXPECT_TRUE(AlmostEqual(StaleNaN(), StaleNaN()));
  EXPECT_FALSE(AlmostEqual(0, 1e-300));
  EXPECT_TRUE(AlmostEqual(INFINITY, INFINITY));
  EXPECT_FALSE(AlmostEqual(INFINITY, -INFINITY));
  EXPECT_TRUE(AlmostEqual(0.0, -0.0));
}

RunStats RunText(const std::string& script, const std::set<std::string>* sel = nullptr) {
  RunOptions o;
  o.selection = sel;
  RunStats stats;
  absl::Status st = RunScript("t.test", script, o, &stats);
  EXPECT_TRUE(st.ok()) << st;
  return stats;
}

TEST(PromqlTestRunner, PassesAndFails) {
  const std::string script = R"(load 1m
    req{job="a"} 0+10x4 _ stale 7
    req{job="b"} 1x2

eval instant at 3m req
    req{job="a"} 30
    req{job="b"} 1

eval range from 0 to 6m step 2m sum(req)
    {} 1 21 41 1

eval instant at 7m req
    expect no_warn
    req{job="a"} 7

eval instant at 0 1 / 3
    0.333333

eval instant at 3m req
    req{job="a"} 31
    req{job="b"} 1

eval range from 0 to 6m step 2m sum(req)
    {} 1 21 41 1 1

eval instant at 0 req
    expect fail

eval instant at 7m rate(req[5m])
    expect warn
)";
  RunStats s = RunText(script);
  EXPECT_EQ(s.passed, 4);
  EXPECT_EQ(s.failed, 4);
  ASSERT_EQ(s.failures.size(), 4u);
  EXPECT_EQ(s.failures[0].line, 19);
  EXPECT_THAT(s.failures[0].got, ::testing::HasSubstr("expected 31, got 30"));
  EXPECT_EQ(s.failures[1].line, 23);
  EXPECT_EQ(s.failures[2].line, 26);
  EXPECT_EQ(s.failures[3].line, 29);
}

TEST(PromqlTestRunner, SelectionSkipsEvalsButRunsLoads) {
  const std::string script = R"(load 1m
    m 1

eval instant at 0 m
    m 2

eval instant at 0 m
    m 1
)";
  std::set<std::string> sel = {"t.test:7"};
  RunStats s = RunText(script, &sel);
  EXPECT_EQ(s.passed, 1);
  EXPECT_EQ(s.failed, 0);
}

TEST(PromqlTestRunner, OrderedAndAnnotations) {
  const std::string script = R"(load 1m
    m{i="1"} 3
    m{i="2"} 1
    foo 1+1x5

eval instant at 0 sort_desc(m)
    expect ordered
    m{i="1"} 3
    m{i="2"} 1

eval instant at 0 sort(m)
    expect ordered
    m{i="1"} 3
    m{i="2"} 1

eval instant at 5m rate(foo[5m])
    expect info msg: PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "foo" (1:6)
    {} 0.016666666666666666
)";
  RunStats s = RunText(script);
  EXPECT_EQ(s.passed, 2);
  EXPECT_EQ(s.failed, 1);
  ASSERT_EQ(s.failures.size(), 1u);
  EXPECT_EQ(s.failures[0].line, 11);
}

}  // namespace
}  // namespace promql::promqltest
