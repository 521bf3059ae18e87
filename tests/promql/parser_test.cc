#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "promql/parser/ast.h"
#include "promql/parser/functions.h"
#include "promql/parser/lexer.h"
#include "promql/parser/parser.h"

namespace promql {
namespace {

std::unique_ptr<Expr> MustParse(std::string_view input) {
  auto r = ParseExpr(input);
  EXPECT_TRUE(r.ok()) << input << ": " << r.status();
  if (!r.ok()) return nullptr;
  return std::move(*r);
}

std::string ParseError(std::string_view input, const ParseOptions& options = ParseOptions()) {
  auto r = ParseExpr(input, options);
  if (r.ok()) return "OK: " + ToString(**r);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << input;
  return std::string(r.status().message());
}

std::string S(const Expr& e);

// A fully bracketed rendering of the tree, to test structure independent of printing.
std::string S(const Expr& e) {
  switch (e.kind()) {
    case ExprKind::kNumberLiteral: {
      const double v = e.As<NumberLiteral>().value;
      if (std::isnan(v)) return "NaN";
      return absl::StrFormat("%g", v);
    }
    case ExprKind::kStringLiteral:
      return parser::GoQuote(e.As<StringLiteral>().value);
    case ExprKind::kVectorSelector:
      return ToString(e);
    case ExprKind::kMatrixSelector:
      return ToString(e);
    case ExprKind::kSubquery: {
      const auto& sq = e.As<SubqueryExpr>();
      return absl::StrCat("(subquery ", S(*sq.expr), " ", sq.range_ms, " ", sq.step_ms, " ",
                          sq.original_offset_ms, ")");
    }
    case ExprKind::kParen:
      return "(paren " + S(*e.As<ParenExpr>().expr) + ")";
    case ExprKind::kUnary:
      return absl::StrCat(e.As<UnaryExpr>().op == UnaryOp::kMinus ? "(neg " : "(pos ",
                          S(*e.As<UnaryExpr>().expr), ")");
    case ExprKind::kBinary: {
      const auto& b = e.As<BinaryExpr>();
      const std::string_view op = BinaryOpName(b.op);
      return absl::StrCat("(", absl::string_view(op.data(), op.size()),
                          b.return_bool ? " bool" : "", " ", S(*b.lhs), " ", S(*b.rhs), ")");
    }
    case ExprKind::kAggregate: {
      const auto& a = e.As<AggregateExpr>();
      const std::string_view op = AggregateOpName(a.op);
      return absl::StrCat("(", absl::string_view(op.data(), op.size()),
                          a.without ? " without" : " by", "[", absl::StrJoin(a.grouping, ","), "] ",
                          a.param ? S(*a.param) + " " : "", S(*a.expr), ")");
    }
    case ExprKind::kCall: {
      const auto& c = e.As<CallExpr>();
      std::vector<std::string> args;
      for (const auto& a : c.args) args.push_back(S(*a));
      return absl::StrCat("(", absl::string_view(c.func->name.data(), c.func->name.size()), " ",
                          absl::StrJoin(args, " "), ")");
    }
    case ExprKind::kStepInvariant:
      return S(*e.As<StepInvariantExpr>().expr);
  }
  return "?";
}

std::string Structure(std::string_view input) {
  auto e = MustParse(input);
  return e ? S(*e) : "<error>";
}

// ---------------------------------------------------------------------------------------------
// Literals.

TEST(PromqlParserLiterals, Numbers) {
  struct Case {
    const char* in;
    double want;
  };
  const Case cases[] = {
      {"1", 1},        {".5", 0.5},   {"5.", 5},     {"123.4567", 123.4567}, {"5e-3", 0.005},
      {"5e3", 5000},   {"0xc", 12},   {"0755", 493}, {"+5.5e-3", 0.0055},    {"-0755", -493},
      {"1_000", 1000}, {"0x1_f", 31}, {"08", 8},     {"1e+2", 100},          {"- 1", -1},
      {"--1", 1},
  };
  for (const Case& c : cases) {
    auto e = MustParse(c.in);
    ASSERT_NE(e, nullptr);
    ASSERT_EQ(e->kind(), ExprKind::kNumberLiteral) << c.in;
    EXPECT_DOUBLE_EQ(e->As<NumberLiteral>().value, c.want) << c.in;
    EXPECT_FALSE(e->As<NumberLiteral>().is_duration) << c.in;
    EXPECT_EQ(e->type(), ValueType::kScalar);
  }
  EXPECT_TRUE(std::isinf(MustParse("+Inf")->As<NumberLiteral>().value));
  EXPECT_LT(MustParse("-inf")->As<NumberLiteral>().value, 0);
  EXPECT_TRUE(std::isnan(MustParse("NaN")->As<NumberLiteral>().value));
  EXPECT_TRUE(std::isnan(MustParse("nAn")->As<NumberLiteral>().value));
}

TEST(PromqlParserLiterals, DurationsAsNumbers) {
  auto e = MustParse("1h30m");
  ASSERT_EQ(e->kind(), ExprKind::kNumberLiteral);
  EXPECT_DOUBLE_EQ(e->As<NumberLiteral>().value, 5400);
  EXPECT_TRUE(e->As<NumberLiteral>().is_duration);
  EXPECT_EQ(ToString(*e), "1h30m");
  EXPECT_EQ(ToString(*MustParse("500ms")), "500ms");
  EXPECT_EQ(ToString(*MustParse("-5m")), "-5m");
  EXPECT_EQ(Structure("time() - 1d"), "(- (time ) 86400)");
}

TEST(PromqlParserLiterals, NumberPositions) {
  auto e = MustParse("-1");
  EXPECT_EQ(e->pos.start, 0);
  EXPECT_EQ(e->pos.end, 2);
  e = MustParse(" +5");
  EXPECT_EQ(e->pos.start, 1);
  EXPECT_EQ(e->pos.end, 3);
}

TEST(PromqlParserLiterals, Strings) {
  struct Case {
    std::string in;
    std::string want;
  };
  const Case cases[] = {
      {R"("double-quoted string \" with escaped quote")",
       "double-quoted string \" with escaped quote"},
      {R"('single-quoted string \' with escaped quote')",
       "single-quoted string ' with escaped quote"},
      {"`backtick-quoted string`", "backtick-quoted string"},
      {R"("\a\b\f\n\r\t\v\\\" - \xFF\377\u1234\U00010111\U0001011111☺")",
       "\a\b\f\n\r\t\v\\\" - \xFF\377\u1234\U00010111\U0001011111☺"},
      {R"('\a\b\f\n\r\t\v\\\' - \xFF\377\u1234\U00010111\U0001011111☺')",
       "\a\b\f\n\r\t\v\\' - \xFF\377\u1234\U00010111\U0001011111☺"},
      {"`\\a\\b\\\"\\' - \\xFF`", "\\a\\b\\\"\\' - \\xFF"},
      {R"("\x41\101\u00e9")", "AA\xc3\xa9"},
  };
  for (const Case& c : cases) {
    auto e = MustParse(c.in);
    ASSERT_NE(e, nullptr) << c.in;
    ASSERT_EQ(e->kind(), ExprKind::kStringLiteral);
    EXPECT_EQ(e->As<StringLiteral>().value, c.want) << c.in;
    EXPECT_EQ(e->type(), ValueType::kString);
    // The printed form parses back to the same value.
    auto again = MustParse(ToString(*e));
    EXPECT_EQ(again->As<StringLiteral>().value, c.want) << ToString(*e);
  }
}

TEST(PromqlParserLiterals, Comments) {
  EXPECT_EQ(Structure("foo # a comment\n + bar # another"), "(+ foo bar)");
  EXPECT_EQ(Structure("sum(\n  # inside\n  x{a=\"b\", # in braces\n c=\"d\"}\n)"),
            "(sum by[] x{a=\"b\",c=\"d\"})");
}

// ---------------------------------------------------------------------------------------------
// Selectors.

TEST(PromqlParserSelectors, NameAndMatchers) {
  auto e = MustParse(R"(foo{a="b", foo!="bar", test=~"test", bar!~"baz",})");
  ASSERT_EQ(e->kind(), ExprKind::kVectorSelector);
  const auto& vs = e->As<VectorSelector>();
  EXPECT_EQ(vs.name, "foo");
  ASSERT_EQ(vs.matchers.size(), 5u);
  EXPECT_EQ(vs.matchers[0].ToString(), R"(a="b")");
  EXPECT_EQ(vs.matchers[1].type(), tsdb::LabelMatcher::Type::kNotEqual);
  EXPECT_EQ(vs.matchers[2].type(), tsdb::LabelMatcher::Type::kRegexMatch);
  EXPECT_EQ(vs.matchers[3].type(), tsdb::LabelMatcher::Type::kRegexNoMatch);
  EXPECT_EQ(vs.matchers[4].name(), "__name__");
  EXPECT_EQ(vs.matchers[4].value(), "foo");
  EXPECT_EQ(vs.pos.start, 0);
  EXPECT_EQ(vs.pos.end, 49);
  EXPECT_EQ(vs.type(), ValueType::kVector);
}

TEST(PromqlParserSelectors, QuotedNames) {
  auto e = MustParse(R"({"my.metric", "my.label"="v", 'other'=~"x.*"})");
  const auto& vs = e->As<VectorSelector>();
  EXPECT_EQ(vs.name, "");
  ASSERT_EQ(vs.matchers.size(), 3u);
  EXPECT_EQ(vs.matchers[0].name(), "__name__");
  EXPECT_EQ(vs.matchers[0].value(), "my.metric");
  EXPECT_EQ(vs.matchers[1].name(), "my.label");
  EXPECT_EQ(vs.matchers[2].name(), "other");
  EXPECT_EQ(ToString(*e), R"({"my.label"="v",__name__="my.metric",other=~"x.*"})");
  // Specifying __name__ twice inside the braces is allowed.
  EXPECT_EQ(MustParse(R"({"bar", __name__="baz"})")->As<VectorSelector>().matchers.size(), 2u);
}

TEST(PromqlParserSelectors, KeywordsAsNames) {
  for (const char* name :
       {"sum", "offset", "by", "without", "and", "or", "unless", "start", "end", "step", "anchored",
        "smoothed", "min", "count_values", "fill", "group", "limitk"}) {
    auto e = MustParse(name);
    ASSERT_NE(e, nullptr) << name;
    ASSERT_EQ(e->kind(), ExprKind::kVectorSelector) << name;
    EXPECT_EQ(e->As<VectorSelector>().name, name);
    auto m = MustParse(absl::StrCat(name, "{job=\"x\"}[5m]"));
    ASSERT_NE(m, nullptr) << name;
    EXPECT_EQ(m->kind(), ExprKind::kMatrixSelector) << name;
  }
  EXPECT_EQ(Structure("sum(sum)"), "(sum by[] sum)");
  EXPECT_EQ(Structure("a + sum"), "(+ a sum)");
  EXPECT_EQ(Structure(R"(foo{on="x", by="y", offset="z", bool="w"})"),
            R"(foo{bool="w",by="y",offset="z",on="x"})");
  EXPECT_EQ(Structure("sum by (on, bool, offset) (x)"), "(sum by[on,bool,offset] x)");
}

TEST(PromqlParserSelectors, OffsetAndAt) {
  auto e = MustParse("foo offset 5m");
  EXPECT_EQ(e->As<VectorSelector>().original_offset_ms, 300000);
  EXPECT_EQ(e->As<VectorSelector>().offset_ms, 300000);
  EXPECT_EQ(e->pos.end, 13);
  e = MustParse("foo offset -7m");
  EXPECT_EQ(e->As<VectorSelector>().original_offset_ms, -420000);
  e = MustParse("foo OFFSET 1h30m");
  EXPECT_EQ(e->As<VectorSelector>().original_offset_ms, 5400000);
  e = MustParse("foo offset 3600");
  EXPECT_EQ(e->As<VectorSelector>().original_offset_ms, 3600000);

  struct AtCase {
    const char* in;
    int64_t ms;
  };
  const AtCase at_cases[] = {{"foo @ 1603774568", 1603774568000},
                             {"foo @ -100", -100000},
                             {"foo @ .3", 300},
                             {"foo @ 3.", 3000},
                             {"foo @ 3.3333", 3333},
                             {"foo @ 3.3335", 3334},
                             {"foo @ 3e2", 300000},
                             {"foo @ 0xA", 10000},
                             {"foo @ -3.3e1", -33000}};
  for (const AtCase& c : at_cases) {
    auto v = MustParse(c.in);
    ASSERT_TRUE(v->As<VectorSelector>().timestamp_ms.has_value()) << c.in;
    EXPECT_EQ(*v->As<VectorSelector>().timestamp_ms, c.ms) << c.in;
  }
  e = MustParse("foo @ start()");
  EXPECT_EQ(e->As<VectorSelector>().at, AtModifier::kStart);
  EXPECT_FALSE(e->As<VectorSelector>().timestamp_ms.has_value());
  e = MustParse("foo @ end() offset 1m");
  EXPECT_EQ(e->As<VectorSelector>().at, AtModifier::kEnd);
  EXPECT_EQ(e->As<VectorSelector>().original_offset_ms, 60000);
  e = MustParse("foo offset 1m @ 10");
  EXPECT_EQ(*e->As<VectorSelector>().timestamp_ms, 10000);
  EXPECT_EQ(e->As<VectorSelector>().original_offset_ms, 60000);
}

TEST(PromqlParserSelectors, RangesAndSubqueries) {
  auto e = MustParse(R"(test{a="b"}[5y] OFFSET 3d)");
  ASSERT_EQ(e->kind(), ExprKind::kMatrixSelector);
  const auto& m = e->As<MatrixSelector>();
  EXPECT_EQ(m.range_ms, 5LL * 365 * 24 * 3600 * 1000);
  EXPECT_EQ(m.selector().original_offset_ms, 3LL * 24 * 3600 * 1000);
  EXPECT_EQ(m.selector().pos.end, 11);
  EXPECT_EQ(m.pos.end, 25);
  EXPECT_EQ(m.type(), ValueType::kMatrix);
  EXPECT_EQ(MustParse("foo[4.018]")->As<MatrixSelector>().range_ms, 4018);
  EXPECT_EQ(MustParse("test[5]")->As<MatrixSelector>().range_ms, 5000);

  e = MustParse(R"(foo{bar="baz"}[10m5s:1h6ms])");
  ASSERT_EQ(e->kind(), ExprKind::kSubquery);
  EXPECT_EQ(e->As<SubqueryExpr>().range_ms, 605000);
  EXPECT_EQ(e->As<SubqueryExpr>().step_ms, 3600006);
  EXPECT_EQ(e->pos.end, 27);
  e = MustParse("foo[10m:]");
  EXPECT_EQ(e->As<SubqueryExpr>().step_ms, 0);
  e = MustParse("some_metric[10m:5s] offset 1m @ 123");
  EXPECT_EQ(e->As<SubqueryExpr>().original_offset_ms, 60000);
  EXPECT_EQ(*e->As<SubqueryExpr>().timestamp_ms, 123000);
  EXPECT_EQ(e->pos.end, 35);
  // Modifiers before the subquery belong to the inner selector.
  e = MustParse("some_metric @ 123 offset 1m [10m:5s]");
  const auto& inner = e->As<SubqueryExpr>().expr->As<VectorSelector>();
  EXPECT_EQ(*inner.timestamp_ms, 123000);
  EXPECT_EQ(inner.original_offset_ms, 60000);
  EXPECT_EQ(inner.pos.end, 27);
  EXPECT_EQ(Structure("min_over_time(rate(foo[2s])[5m:] offset 4m)[4m:3s]"),
            "(subquery (min_over_time (subquery (rate foo[2s]) 300000 0 240000)) 240000 3000 0)");
}

TEST(PromqlParserSelectors, ExtendedRangeSelectors) {
  auto e = MustParse("increase(metric[1m] anchored)");
  EXPECT_TRUE(e->As<CallExpr>().args[0]->As<MatrixSelector>().selector().anchored);
  e = MustParse("metric @ 100 smoothed");
  EXPECT_TRUE(e->As<VectorSelector>().smoothed);
  EXPECT_EQ(ToString(*e), "metric @ 100.000 smoothed");
  e = MustParse("metric offset -100 smoothed + 0");
  EXPECT_TRUE(e->As<BinaryExpr>().lhs->As<VectorSelector>().smoothed);
}

// ---------------------------------------------------------------------------------------------
// Operators.

TEST(PromqlParserOperators, PrecedenceAndAssociativity) {
  struct Case {
    const char* in;
    const char* want;
  };
  const Case cases[] = {
      {"1 + 2 * 3", "(+ 1 (* 2 3))"},
      {"1 * 2 + 3", "(+ (* 1 2) 3)"},
      {"1 - 2 - 3", "(- (- 1 2) 3)"},
      {"2 ^ 3 ^ 2", "(^ 2 (^ 3 2))"},
      {"-2 ^ 2", "(neg (^ 2 2))"},
      {"-1^-2", "(neg (^ 1 -2))"},
      {"-1*2", "(* -1 2)"},
      {"-a * b", "(* (neg a) b)"},
      {"-a ^ b", "(neg (^ a b))"},
      {"2 ^ -a * b", "(* (^ 2 (neg a)) b)"},
      {"+1 + -2 * 1", "(+ 1 (* -2 1))"},
      {"1 + 2/(3*1)", "(+ 1 (/ 2 (paren (* 3 1))))"},
      {"1 < bool 2 - 1 * 2", "(< bool 1 (- 2 (* 1 2)))"},
      {"a % b atan2 c", "(atan2 (% a b) c)"},
      {"a == b + c", "(== a (+ b c))"},
      {"a and b == c", "(and a (== b c))"},
      {"foo + bar or bla and blub", "(or (+ foo bar) (and bla blub))"},
      {"foo and bar unless baz or qux", "(or (unless (and foo bar) baz) qux)"},
      {"a or b or c", "(or (or a b) c)"},
      {"a unless b and c", "(and (unless a b) c)"},
      {"a > b < c", "(< (> a b) c)"},
      {"-foo offset 5m", "(neg foo offset 5m)"},
      {"a + b offset 1m", "(+ a b offset 1m)"},
      {"a ^ -b offset 1m", "(^ a (neg b offset 1m))"},
      {"a ^ max_over_time(b[5m:])", "(^ a (max_over_time (subquery b 300000 0 0)))"},
      {"foo offset 5s-8", "(- foo offset 5s 8)"},
      {"foo offset -1^1", "(^ foo offset -1s 1)"},
      {"metric1_total offset -2 ^ 2", "(^ metric1_total offset -2s 2)"},
      {"metric1_total offset 100 + 2", "(+ metric1_total offset 1m40s 2)"},
      {"--a", "(neg (neg a))"},
      {"a </ 2 + 1", "(+ (</ a 2) 1)"},
      {"AND_metric AND b", "(and AND_metric b)"},
  };
  for (const Case& c : cases) EXPECT_EQ(Structure(c.in), c.want) << c.in;
}

TEST(PromqlParserOperators, VectorMatching) {
  auto e = MustParse("bar + on(foo) bla / on(baz, buz) group_right(test) blub");
  const auto& add = e->As<BinaryExpr>();
  ASSERT_TRUE(add.matching.has_value());
  EXPECT_TRUE(add.matching->on);
  EXPECT_EQ(add.matching->matching_labels, std::vector<std::string>{"foo"});
  EXPECT_EQ(add.matching->card, MatchCardinality::kOneToOne);
  const auto& div = add.rhs->As<BinaryExpr>();
  EXPECT_EQ(div.matching->card, MatchCardinality::kOneToMany);
  EXPECT_EQ(div.matching->matching_labels, (std::vector<std::string>{"baz", "buz"}));
  EXPECT_EQ(div.matching->include, std::vector<std::string>{"test"});

  e = MustParse("foo / ignoring(test,blub) group_left(blub) bar");
  EXPECT_FALSE(e->As<BinaryExpr>().matching->on);
  EXPECT_EQ(e->As<BinaryExpr>().matching->card, MatchCardinality::kManyToOne);

  e = MustParse("foo and bar");
  EXPECT_EQ(e->As<BinaryExpr>().matching->card, MatchCardinality::kManyToMany);
  e = MustParse("foo unless on(bar) baz");
  EXPECT_EQ(e->As<BinaryExpr>().matching->card, MatchCardinality::kManyToMany);
  EXPECT_TRUE(e->As<BinaryExpr>().matching->on);

  // No matching between a vector and a scalar.
  e = MustParse("foo * 2");
  EXPECT_FALSE(e->As<BinaryExpr>().matching.has_value());
  EXPECT_EQ(e->type(), ValueType::kVector);
  e = MustParse("1 + 2");
  EXPECT_EQ(e->type(), ValueType::kScalar);
  e = MustParse("foo == bool 1");
  EXPECT_TRUE(e->As<BinaryExpr>().return_bool);
}

TEST(PromqlParserOperators, FillModifiers) {
  auto e = MustParse("left_vector + fill_left(5) fill_right(7) right_vector");
  const auto& m = *e->As<BinaryExpr>().matching;
  EXPECT_EQ(*m.fill_lhs, 5);
  EXPECT_EQ(*m.fill_rhs, 7);
  e = MustParse("a + on(job) group_left fill(-Inf) b");
  EXPECT_TRUE(std::isinf(*e->As<BinaryExpr>().matching->fill_lhs));
  EXPECT_LT(*e->As<BinaryExpr>().matching->fill_rhs, 0);
  EXPECT_EQ(ToString(*e), "a + on (job) group_left () fill(-Inf) b");
  e = MustParse("a == bool fill(NaN) b");
  EXPECT_TRUE(std::isnan(*e->As<BinaryExpr>().matching->fill_rhs));
  // fill without parentheses is a metric name.
  EXPECT_EQ(Structure("other + fill"), "(+ other fill)");
  EXPECT_EQ(Structure("other + fill(0) fill"), "(+ other fill)");
  EXPECT_EQ(ParseError("a and fill(0) b"),
            "1:1: parse error: filling in missing series not allowed for set operators");
  EXPECT_EQ(ParseError("a + fill(0) 1"),
            "1:1: parse error: filling in missing series only allowed between instant vectors");
  ParseOptions off;
  off.enable_binop_fill_modifiers = false;
  EXPECT_EQ(ParseError("a + fill(0) b", off),
            "1:1: parse error: binop fill modifiers are experimental and not enabled");
}

// ---------------------------------------------------------------------------------------------
// Aggregations and functions.

TEST(PromqlParserAggregations, Forms) {
  EXPECT_EQ(Structure("sum by (foo)(some_metric)"), "(sum by[foo] some_metric)");
  EXPECT_EQ(Structure("sum (some_metric) without (foo)"), "(sum without[foo] some_metric)");
  EXPECT_EQ(Structure("SUM BY (group) (x)"), "(sum by[group] x)");
  EXPECT_EQ(Structure("sum by (foo,bar,)(x)"), "(sum by[foo,bar] x)");
  EXPECT_EQ(Structure(R"(sum by ("foo bar", baz)({"some.metric"}))"),
            R"((sum by[foo bar,baz] {__name__="some.metric"}))");
  EXPECT_EQ(Structure("topk(5, some_metric)"), "(topk by[] 5 some_metric)");
  EXPECT_EQ(Structure(R"(count_values("value", x))"), R"((count_values by[] "value" x))");
  EXPECT_EQ(Structure("quantile(0.9, x) by (a)"), "(quantile by[a] 0.9 x)");
  EXPECT_EQ(Structure("limitk(2, x)"), "(limitk by[] 2 x)");
  EXPECT_EQ(Structure("limit_ratio(0.5, x)"), "(limit_ratio by[] 0.5 x)");
  EXPECT_EQ(Structure("group without () (x)"), "(group without[] x)");
  EXPECT_EQ(Structure("topk(scalar(y), x)"), "(topk by[] (scalar y) x)");
  auto e = MustParse("sum by (job) (rate(x[5m]))");
  EXPECT_EQ(e->pos.start, 0);
  EXPECT_EQ(e->pos.end, 26);
  e = MustParse("sum(x) by (job)");
  EXPECT_EQ(e->pos.end, 15);
  EXPECT_EQ(e->type(), ValueType::kVector);
}

TEST(PromqlParserFunctions, Calls) {
  auto e = MustParse("rate(some_metric[5m])");
  ASSERT_EQ(e->kind(), ExprKind::kCall);
  const auto& c = e->As<CallExpr>();
  EXPECT_EQ(c.func->name, "rate");
  ASSERT_EQ(c.args.size(), 1u);
  EXPECT_EQ(c.pos.start, 0);
  EXPECT_EQ(c.pos.end, 21);
  EXPECT_EQ(c.args[0]->pos.start, 5);
  EXPECT_EQ(c.args[0]->pos.end, 20);
  EXPECT_EQ(Structure("round(x)"), "(round x)");
  EXPECT_EQ(Structure("round(x, 5)"), "(round x 5)");
  EXPECT_EQ(Structure(R"(label_join(x, "a", ",", "b", "c", "d"))"),
            R"((label_join x "a" "," "b" "c" "d"))");
  EXPECT_EQ(Structure(R"(sort_by_label(x, "a", "b"))"), R"((sort_by_label x "a" "b"))");
  EXPECT_EQ(Structure("clamp(x, 0, 1)"), "(clamp x 0 1)");
  EXPECT_EQ(Structure("histogram_quantile(0.9, rate(x[5m]))"),
            "(histogram_quantile 0.9 (rate x[5m]))");
  EXPECT_EQ(Structure("hour()"), "(hour )");
  EXPECT_EQ(Structure("vector(time())"), "(vector (time ))");
  EXPECT_EQ(MustParse("scalar(x)")->type(), ValueType::kScalar);
  EXPECT_EQ(Structure("start() + end() + range() + step()"),
            "(+ (+ (+ (start ) (end )) (range )) (step ))");
  EXPECT_EQ(Structure("min_of(3, max_of(1, 2))"), "(min_of 3 (max_of 1 2))");
  EXPECT_EQ(Structure("double_exponential_smoothing(x[5m], 0.1, 0.2)"),
            "(double_exponential_smoothing x[5m] 0.1 0.2)");
  EXPECT_EQ(Structure("holt_winters(x[5m], 0.1, 0.2)"), "(holt_winters x[5m] 0.1 0.2)");
  for (const char* f : {"mad_over_time", "ts_of_min_over_time", "ts_of_max_over_time",
                        "ts_of_last_over_time", "ts_of_first_over_time", "first_over_time"}) {
    EXPECT_EQ(Structure(absl::StrCat(f, "(x[1m])")), absl::StrCat("(", f, " x[1m])"));
  }
  e = MustParse(R"(info(x, {foo="bar"}))");
  EXPECT_TRUE(e->As<CallExpr>().args[1]->As<VectorSelector>().bypass_empty_matcher_check);
  EXPECT_EQ(Structure(R"(info(x, {__name__=~".+_info"}))"), R"((info x {__name__=~".+_info"}))");
}

TEST(PromqlParserFunctions, Table) {
  const FunctionInfo* rate = LookupFunction("rate");
  ASSERT_NE(rate, nullptr);
  EXPECT_EQ(rate->arg_types, std::vector<ValueType>{ValueType::kMatrix});
  EXPECT_EQ(rate->return_type, ValueType::kVector);
  EXPECT_FALSE(rate->experimental);
  EXPECT_EQ(LookupFunction("Rate"), nullptr);
  EXPECT_EQ(LookupFunction("nope"), nullptr);
  const FunctionInfo* lj = LookupFunction("label_join");
  EXPECT_EQ(lj->MinArgs(), 3);
  EXPECT_EQ(lj->MaxArgs(), -1);
  EXPECT_EQ(lj->ArgType(7), ValueType::kString);
  const FunctionInfo* round = LookupFunction("round");
  EXPECT_EQ(round->MinArgs(), 1);
  EXPECT_EQ(round->MaxArgs(), 2);
  EXPECT_EQ(LookupFunction("time")->MaxArgs(), 0);
  EXPECT_EQ(LookupFunction("time")->return_type, ValueType::kScalar);
  for (const char* exp : {"sort_by_label", "sort_by_label_desc", "double_exponential_smoothing",
                          "holt_winters", "mad_over_time", "ts_of_min_over_time", "info", "start",
                          "end", "range", "step", "min_of", "max_of"}) {
    ASSERT_NE(LookupFunction(exp), nullptr) << exp;
    EXPECT_TRUE(LookupFunction(exp)->experimental) << exp;
  }
  auto all = AllFunctions();
  EXPECT_GT(all.size(), 80u);
  for (size_t i = 1; i < all.size(); ++i) EXPECT_LT(all[i - 1].name, all[i].name);
}

TEST(PromqlParserFunctions, ExperimentalGate) {
  ParseOptions off;
  off.enable_experimental_functions = false;
  EXPECT_EQ(ParseError(R"(sort_by_label(x, "a"))", off),
            "1:1: parse error: function \"sort_by_label\" is not enabled");
  EXPECT_EQ(ParseError("limitk(1, x)", off),
            "1:1: parse error: limitk() is experimental and must be enabled with "
            "--enable-feature=promql-experimental-functions");
  EXPECT_EQ(ParseError("rate(x[5m])", off), "OK: rate(x[5m])");
  ParseOptions no_ext;
  no_ext.enable_extended_range_selectors = false;
  EXPECT_EQ(ParseError("rate(x[5m] anchored)", no_ext),
            "1:6: parse error: anchored modifier is experimental and not enabled");
  ParseOptions no_dur;
  no_dur.enable_duration_expressions = false;
  EXPECT_EQ(ParseError("x[5m+1m]", no_dur),
            "1:3: parse error: experimental duration expression is not enabled");
  EXPECT_EQ(ParseError("x[5m] offset 300", no_dur), "OK: x[5m] offset 5m");
}

// ---------------------------------------------------------------------------------------------
// Duration expressions.

TEST(PromqlParserDurations, ConstantExpressions) {
  struct Case {
    const char* in;
    int64_t range_ms;
  };
  const Case cases[] = {
      {"x[26m+4m]", 1800000},        {"x[1800]", 1800000},
      {"x[60*30]", 1800000},         {"x[2m*(10+5)]", 1800000},
      {"x[-5m+35m]", 1800000},       {"x[1h/2]", 1800000},
      {"x[1h30m % 1h]", 1800000},    {"x[30m1s-30m1s % 1m]", 1800000},
      {"x[(9m30s+30s)*3]", 1800000}, {"x[24m+((1.5*2m)+2m)]", 1740000},
  };
  for (const Case& c : cases) {
    auto e = MustParse(c.in);
    ASSERT_NE(e, nullptr) << c.in;
    EXPECT_EQ(e->As<MatrixSelector>().range_ms, c.range_ms) << c.in;
  }
  auto e = MustParse("x[29s+1s:((((8 - 2) / 3) * 7s) % 4) + 8000ms] offset (20*500ms)");
  EXPECT_EQ(e->As<SubqueryExpr>().range_ms, 30000);
  EXPECT_EQ(e->As<SubqueryExpr>().step_ms, 10000);
  EXPECT_EQ(e->As<SubqueryExpr>().original_offset_ms, 10000);
  e = MustParse("max_over_time(x[step():range()])");
  EXPECT_EQ(ToString(*e), "max_over_time(x[step():range()])");
  EXPECT_EQ(ParseError("x[:5m]"),
            "1:3: parse error: unexpected colon before duration in duration expression");
  e = MustParse("x offset (100 + 2)");
  EXPECT_EQ(e->As<VectorSelector>().original_offset_ms, 102000);
  EXPECT_EQ(ToString(*e), "x offset (100 + 2)");
  e = MustParse("x offset (-2 * 2)");
  EXPECT_EQ(e->As<VectorSelector>().original_offset_ms, -4000);
  e = MustParse("x offset -(2 ^ 2)");
  EXPECT_EQ(e->As<VectorSelector>().original_offset_ms, -4000);
}

TEST(PromqlParserDurations, QueryDependentExpressions) {
  auto e = MustParse(
      "count_over_time(x[step()+1ms]) + y offset min_of(step(), 1s) + "
      "sum_over_time(z[1m:STEP()])");
  ASSERT_NE(e, nullptr);
  ASSERT_TRUE(ResolveDurations(*e, {.step_ms = 10000, .range_ms = 60000}, "q").ok());
  std::vector<int64_t> seen;
  Inspect(*e, [&](const Expr& n, const std::vector<const Expr*>&) {
    if (n.Is<MatrixSelector>()) seen.push_back(n.As<MatrixSelector>().range_ms);
    if (n.Is<VectorSelector>()) seen.push_back(n.As<VectorSelector>().offset_ms);
    if (n.Is<SubqueryExpr>()) seen.push_back(n.As<SubqueryExpr>().step_ms);
    return true;
  });
  EXPECT_THAT(seen, ::testing::ElementsAre(10001, 0, 1000, 10000, 0));
  EXPECT_EQ(ToString(*e),
            "count_over_time(x[step() + 1ms]) + y offset min_of(step(), 1s) + "
            "sum_over_time(z[1m:step()])");

  auto r = MustParse("x[range()]");
  ASSERT_TRUE(ResolveDurations(*r, {.step_ms = 0, .range_ms = 5000}, "x[range()]").ok());
  EXPECT_EQ(r->As<MatrixSelector>().range_ms, 5000);
  auto st = ResolveDurations(*r, {.step_ms = 0, .range_ms = 0}, "x[range()]");
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "1:3: parse error: duration must be greater than 0");
}

TEST(PromqlParserDurations, ParseDuration) {
  EXPECT_EQ(*ParseDuration("1h30m"), 5400000);
  EXPECT_EQ(*ParseDuration("500ms"), 500);
  EXPECT_EQ(*ParseDuration("1y2w3d"), (365 + 14 + 3) * 86400000LL);
  EXPECT_EQ(*ParseDuration("0"), 0);
  EXPECT_EQ(ParseDuration("5m1h").status().message(), "not a valid duration string: \"5m1h\"");
  EXPECT_EQ(ParseDuration("5y1hs").status().message(), "unknown unit \"hs\" in duration \"5y1hs\"");
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_FALSE(ParseDuration("1.5h").ok());
  EXPECT_EQ(ParseDuration("999999999999y").status().message(), "duration out of range");
  EXPECT_EQ(FormatDuration(5400000), "1h30m");
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(8 * 86400000LL), "8d");
  EXPECT_EQ(FormatDuration(14 * 86400000LL), "2w");
  EXPECT_EQ(FormatDuration(365 * 86400000LL + 1), "365d1ms");
  EXPECT_EQ(FormatDuration(-1500), "-1s500ms");
}

// ---------------------------------------------------------------------------------------------
// Errors: the texts and positions of Prometheus' parser.

TEST(PromqlParserErrors, Messages) {
  struct Case {
    std::string in;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"", "unknown position: parse error: no expression found in input"},
      {"# just a comment\n\n", "1:1: parse error: no expression found in input"},
      {"1+", "1:3: parse error: unexpected end of input"},
      {".", "1:1: parse error: unexpected character: '.'"},
      {"2.5.", "1:1: parse error: bad number or duration syntax: \"2.5.\""},
      {"100..4", "1:1: parse error: bad number or duration syntax: \"100..\""},
      {"0deadbeef", "1:1: parse error: bad number or duration syntax: \"0de\""},
      {"1 /", "1:4: parse error: unexpected end of input"},
      {"*1", "1:1: parse error: unexpected <op:*>"},
      {"(1))", "1:5: parse error: unexpected right parenthesis ')'"},
      {"((1)", "1:5: parse error: unclosed left parenthesis"},
      {"(", "1:2: parse error: unclosed left parenthesis"},
      {"1 and 1", "1:1: parse error: set operator \"and\" not allowed in binary scalar expression"},
      {"1 == 1", "1:3: parse error: comparisons between scalars must use BOOL modifier"},
      {"1 or 1", "1:1: parse error: set operator \"or\" not allowed in binary scalar expression"},
      {"1 unless 1",
       "1:1: parse error: set operator \"unless\" not allowed in binary scalar expression"},
      {"1 !~ 1", "1:3: parse error: unexpected character after '!': '~'"},
      {"1 =~ 1", "1:3: parse error: unexpected character after '=': '~'"},
      {"-\"string\"",
       "1:1: parse error: unary expression only allowed on expressions of type scalar or instant "
       "vector, got \"string\""},
      {"-test[5m]",
       "1:1: parse error: unary expression only allowed on expressions of type scalar or instant "
       "vector, got \"range vector\""},
      {"@@", "1:1: parse error: unexpected <op:@>"},
      {"1 offset 1d",
       "1:1: parse error: offset modifier must be preceded by an instant vector selector or range "
       "vector selector or a subquery"},
      {"foo offset 1s offset 2s", "1:1: parse error: offset may not be set multiple times"},
      {"a - on(b) ignoring(c) d", "1:11: parse error: unexpected <ignoring>"},
      {"foo and 1",
       "1:1: parse error: set operator \"and\" not allowed in binary scalar expression"},
      {"1 or on(bar) foo",
       "1:1: parse error: vector matching only allowed between instant vectors"},
      {"foo == on(bar) 10",
       "1:1: parse error: vector matching only allowed between instant vectors"},
      {"foo + group_left(baz) bar", "1:7: parse error: unexpected <group_left>"},
      {"foo and on(bar) group_left(baz) bar",
       "1:1: parse error: no grouping allowed for \"and\" operation"},
      {"foo or on(bar) group_right(baz) bar",
       "1:1: parse error: no grouping allowed for \"or\" operation"},
      {R"(http_requests{group="production"} + on(instance) group_left(job,instance) cpu_count{type="smp"})",
       "1:35: parse error: label \"instance\" must not occur in ON and GROUP clause at once"},
      {"foo + bool bar",
       "1:5: parse error: bool modifier can only be used on comparison operators"},
      {"foo and bool 10",
       "1:5: parse error: bool modifier can only be used on comparison operators"},
      {"foo @ +Inf", "1:1: parse error: timestamp out of bounds for @ modifier: +Inf"},
      {"foo @ -Inf", "1:1: parse error: timestamp out of bounds for @ modifier: -Inf"},
      {"foo @ NaN", "1:1: parse error: timestamp out of bounds for @ modifier: NaN"},
      {"foo @ 9223372036854775809",
       "1:1: parse error: timestamp out of bounds for @ modifier: 9223372036854775808.000000"},
      {"{", "1:2: parse error: unexpected end of input inside braces"},
      {"}", "1:1: parse error: unexpected character: '}'"},
      {"some{", "1:6: parse error: unexpected end of input inside braces"},
      {"some}", "1:5: parse error: unexpected character: '}'"},
      {"some_metric{a=b}",
       "1:15: parse error: unexpected identifier \"b\" in label matching, expected string"},
      {"some_metric{a:b=\"b\"}", "1:14: parse error: unexpected character inside braces: ':'"},
      {"foo{a*\"b\"}", "1:6: parse error: unexpected character inside braces: '*'"},
      {"foo{a>=\"b\"}", "1:6: parse error: unexpected character inside braces: '>'"},
      {"some_metric{a=\"\xff\"}", "1:15: parse error: invalid UTF-8 rune"},
      {"foo{gibberish}",
       "1:14: parse error: unexpected \"}\" in label matching, expected label matching operator"},
      {"foo{1}", "1:5: parse error: unexpected character inside braces: '1'"},
      {"{}", "1:1: parse error: vector selector must contain at least one non-empty matcher"},
      {"{x=\"\"}", "1:1: parse error: vector selector must contain at least one non-empty matcher"},
      {"{x=~\".*\"}",
       "1:1: parse error: vector selector must contain at least one non-empty matcher"},
      {"{x!=\"a\"}",
       "1:1: parse error: vector selector must contain at least one non-empty matcher"},
      {"foo{__name__=\"bar\"}",
       "1:1: parse error: metric name must not be set twice: \"foo\" or \"bar\""},
      {"foo{__name__= =}",
       "1:15: parse error: unexpected \"=\" in label matching, expected string"},
      {"foo{,}",
       "1:5: parse error: unexpected \",\" in label matching, expected identifier or \"}\""},
      {"foo{__name__ == \"bar\"}",
       "1:15: parse error: unexpected \"=\" in label matching, expected string"},
      {"foo{__name__=\"bar\" lol}",
       "1:20: parse error: unexpected identifier \"lol\" in label matching, expected \",\" or "
       "\"}\""},
      {"foo{\"a\"=}", "1:9: parse error: unexpected \"}\" in label matching, expected string"},
      {"foo{a=~\"(\"}",
       "1:5: parse error: invalid regular expression for label a \"(\": missing ): ^(?:()$"},
      {"foo[5mm]", "1:5: parse error: bad number or duration syntax: \"5mm\""},
      {"foo[5m1]", "1:5: parse error: bad number or duration syntax: \"5m1\""},
      {"foo[5m:1m1]", "1:8: parse error: bad number or duration syntax: \"1m1\""},
      {"foo[5y1hs]", "1:5: parse error: unknown unit \"hs\" in duration \"5y1hs\""},
      {"foo[5m1h]", "1:5: parse error: not a valid duration string: \"5m1h\""},
      {"foo[5m1m]", "1:5: parse error: not a valid duration string: \"5m1m\""},
      {"foo[0m]", "1:5: parse error: duration must be greater than 0"},
      {"foo[\"5m\"]", "1:5: parse error: unexpected character in duration expression: '\"'"},
      {"foo[]",
       "1:5: parse error: unexpected \"]\" in subquery or range selector, expected number, "
       "duration, step(), or range()"},
      {"foo[-1]", "1:5: parse error: duration must be greater than 0"},
      {"foo[5m:0s]", "1:8: parse error: duration must be greater than 0"},
      {"some_metric[5m] OFFSET 1mm", "1:24: parse error: bad number or duration syntax: \"1mm\""},
      {"some_metric[5m] OFFSET",
       "1:23: parse error: unexpected end of input in offset, expected number, duration, step(), "
       "or range()"},
      {"some_metric OFFSET 1m[5m]", "1:22: parse error: no offset modifiers allowed before range"},
      {"some_metric[5m] @", "1:18: parse error: unexpected end of input in @, expected timestamp"},
      {"some_metric @ 1234 [5m]", "1:20: parse error: no @ modifiers allowed before range"},
      {"(foo + bar)[5m]", "1:12: parse error: ranges only allowed for vector selectors"},
      {"sum by (\"foo)(some_metric{})", "1:9: parse error: unterminated quoted string"},
      {"sum without(==)(some_metric)",
       "1:13: parse error: unexpected <op:==> in grouping opts, expected label"},
      {"sum without(,)(some_metric)",
       "1:13: parse error: unexpected \",\" in grouping opts, expected label"},
      {"sum without(foo,,)(some_metric)",
       "1:17: parse error: unexpected \",\" in grouping opts, expected label"},
      {"sum some_metric by (test)", "1:5: parse error: unexpected identifier \"some_metric\""},
      {"sum (some_metric) by test",
       "1:22: parse error: unexpected identifier \"test\" in grouping opts, expected \"(\""},
      {"sum () by (test)", "1:1: parse error: no arguments for aggregate expression provided"},
      {"MIN keep_common (some_metric)", "1:5: parse error: unexpected identifier \"keep_common\""},
      {"MIN (some_metric) keep_common", "1:19: parse error: unexpected identifier \"keep_common\""},
      {"sum (some_metric) without (test) by (test)", "1:34: parse error: unexpected <by>"},
      {"sum without (test) (some_metric) by (test)", "1:34: parse error: unexpected <by>"},
      {"topk(some_metric)",
       "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, "
       "got 1"},
      {"topk(some_metric,)",
       "1:17: parse error: trailing commas not allowed in function call args"},
      {"topk(some_metric, other_metric)",
       "1:6: parse error: expected type scalar in aggregation parameter, got instant vector"},
      {"count_values(5, other_metric)",
       "1:14: parse error: expected type string in aggregation parameter, got scalar"},
      {"sum(1)",
       "1:5: parse error: expected type instant vector in aggregation expression, got scalar"},
      {"rate(some_metric[5m]) @ 1234",
       "1:1: parse error: @ modifier must be preceded by an instant vector selector or range "
       "vector selector or a subquery"},
      {"floor()", "1:1: parse error: expected 1 argument(s) in call to \"floor\", got 0"},
      {"floor(some_metric, other_metric)",
       "1:1: parse error: expected 1 argument(s) in call to \"floor\", got 2"},
      {"floor(1)",
       "1:7: parse error: expected type instant vector in call to function \"floor\", got scalar"},
      {"hour(some_metric, some_metric, some_metric)",
       "1:1: parse error: expected at most 1 argument(s) in call to \"hour\", got 3"},
      {"label_join(x, \"a\")",
       "1:1: parse error: expected at least 3 argument(s) in call to \"label_join\", got 2"},
      {"label_join(x, \"a\", \",\", 1)",
       "1:25: parse error: expected type string in call to function \"label_join\", got scalar"},
      {"time(some_metric)", "1:1: parse error: expected 0 argument(s) in call to \"time\", got 1"},
      {"non_existent_function_far_bar()",
       "1:1: parse error: unknown function with name \"non_existent_function_far_bar\""},
      {"rate(some_metric)",
       "1:6: parse error: expected type range vector in call to function \"rate\", got instant "
       "vector"},
      {"rate(avg)",
       "1:6: parse error: expected type range vector in call to function \"rate\", got instant "
       "vector"},
      {"label_replace(a, `b`, `c\xff`, `d`, `.*`)", "1:23: parse error: invalid UTF-8 rune"},
      {"-=", "1:2: parse error: unexpected \"=\""},
      {"++-++-+-+-<", "1:11: parse error: unexpected <op:<>"},
      {"e-+=/(0)", "1:4: parse error: unexpected \"=\""},
      {"a>b()", "1:3: parse error: unknown function with name \"b\""},
      {"`\\``", "1:4: parse error: unterminated raw string"},
      {"\"\\", "1:1: parse error: escape sequence not terminated"},
      {"\"\\c\"", "1:1: parse error: unknown escape sequence U+0063 'c'"},
      {"\"\\x.\"", "1:1: parse error: illegal character U+002E '.' in escape sequence"},
      {"\"abc\ndef\"", "1:1: parse error: unterminated quoted string"},
      {"foo{bar=\"baz\"}[", "1:16: parse error: unexpected end of input in duration expression"},
      {"test[5d] OFFSET 10s [10m:5s]",
       "1:1: parse error: subquery is only allowed on instant vector, got matrix instead"},
      {"(foo + bar{nm=\"val\"})[5m:][10m:5s]",
       "1:1: parse error: subquery is only allowed on instant vector, got matrix instead"},
      {"rate(food[1m])[1h] offset 1h",
       "1:15: parse error: ranges only allowed for vector selectors"},
      {"info(rate(http_request_counter_total{}[5m]), target_info{foo=\"bar\"})",
       "1:46: parse error: expected label selectors only, got vector selector instead"},
      {"info(http_request_counter_total{namespace=\"zzz\"}, {foo=\"bar\"} == 1)",
       "1:51: parse error: expected label selectors only"},
      {"foo[step]",
       "1:9: parse error: unexpected \"]\" in subquery or range selector, expected number, "
       "duration, step(), or range()"},
      {"foo[step()/0d]", "1:11: parse error: division by zero"},
      {"foo[5s/0d]", "1:7: parse error: division by zero"},
      {"foo offset (4d/0)", "1:15: parse error: division by zero"},
      {"foo[5s%0d]", "1:7: parse error: modulo by zero"},
      {"foo offset 9.5e10", "1:12: parse error: duration out of range"},
      {"foo[9.5e10]", "1:5: parse error: duration out of range"},
      {"sum(", "1:5: parse error: unclosed left parenthesis"},
      {"sum(rate(", "1:10: parse error: unclosed left parenthesis"},
      {"foo[5s x 5s]", "1:8: parse error: unexpected character: 'x', expected ':'"},
      {"foo[5s s 5s]", "1:8: parse error: unexpected character: 's', expected ':'"},
      {"foo[5m:1m:]", "1:10: parse error: unexpected repeated colon in duration expression"},
      {"foo[5m] [5m]", "1:9: parse error: ranges only allowed for vector selectors"},
      {"foo bar", "1:5: parse error: unexpected identifier \"bar\""},
      {"foo 1", "1:5: parse error: unexpected number \"1\""},
      {"foo \"a long string literal\"", "1:5: parse error: unexpected string \"\\\"a long st\"..."},
      {"rate(x[5m]) anchored", "1:1: parse error: anchored modifier not implemented"},
      {"x[5m:] smoothed", "1:1: parse error: smoothed modifier is not supported for subqueries"},
      {"x anchored smoothed",
       "1:1: parse error: anchored and smoothed modifiers cannot be used together"},
      {"x @ 1 @ 2", "1:1: parse error: @ <timestamp> may not be set multiple times"},
      {"x{a=\"b\"} on", "1:10: parse error: unexpected <on>"},
      {"]", "1:1: parse error: unexpected right bracket ']'"},
      {"a +\nfoo bar", "2:5: parse error: unexpected identifier \"bar\""},
  };
  for (const Case& c : cases) EXPECT_EQ(ParseError(c.in), c.want) << "input: " << c.in;
}

TEST(PromqlParserErrors, NestingIsBounded) {
  // Deep inputs fail cleanly instead of exhausting the stack.
  for (const std::string& in :
       {std::string(100000, '('), std::string(100000, '-') + "1",
        "1" +
            [] {
              std::string s;
              for (int i = 0; i < 50000; ++i) s += "+1";
              return s;
            }(),
        "x" +
            [] {
              std::string s;
              for (int i = 0; i < 5000; ++i) s += "[1m:]";
              return s;
            }(),
        "x[" + std::string(50000, '(') + "1m" + std::string(50000, ')') + "]",
        [] {
          std::string s;
          for (int i = 0; i < 20000; ++i) s += "abs(";
          return s;
        }()}) {
    auto r = ParseExpr(in);
    EXPECT_FALSE(r.ok()) << in.substr(0, 40);
  }
  // Within the limit, long chains are fine.
  std::string chain = "a";
  for (int i = 0; i < 500; ++i) chain += " + a";
  EXPECT_TRUE(ParseExpr(chain).ok());
}

TEST(PromqlParserErrors, RandomInputDoesNotCrash) {
  // Mutations of valid queries: they must parse or fail with an error, never crash.
  const std::vector<std::string> seeds = {
      R"(sum by (job) (rate(http_requests_total{code=~"5.."}[5m] offset 1m)))",
      "histogram_quantile(0.9, sum(rate(x[5m:1m] @ end())) by (le))",
      "a + on(b) group_left(c) fill(0) d[1h:step()] offset -(2*1m)",
      R"({"utf8.name", 'x'!~`y`} # comment)",
  };
  std::mt19937 rng(42);
  const std::string alphabet = "()[]{}:,@+-*/%^=!~<>\"'`#.0123456789abcxyz_ \n";
  for (int i = 0; i < 1500; ++i) {
    std::string s = seeds[static_cast<size_t>(i) % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits && !s.empty(); ++k) {
      const size_t pos = rng() % s.size();
      switch (rng() % 3) {
        case 0:
          s.erase(pos, 1);
          break;
        case 1:
          s.insert(pos, 1, alphabet[rng() % alphabet.size()]);
          break;
        default:
          s[pos] = alphabet[rng() % alphabet.size()];
          break;
      }
    }
    auto r = ParseExpr(s);
    if (r.ok()) {
      // Whatever parses must print to something that parses to the same text again.
      const std::string printed = ToString(**r);
      auto again = ParseExpr(printed);
      ASSERT_TRUE(again.ok()) << s << " -> " << printed << ": " << again.status();
      EXPECT_EQ(ToString(**again), printed) << s;
    } else {
      EXPECT_THAT(std::string(r.status().message()), ::testing::HasSubstr("parse error"));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Printing and traversal.

TEST(PromqlParserPrinter, CanonicalForms) {
  struct Case {
    const char* in;
    const char* out;  // nullptr: same as in
  };
  const Case cases[] = {
      {"sum by() (task:errors:rate10s{job=\"s\"})", "sum(task:errors:rate10s{job=\"s\"})"},
      {"sum by(code) (task:errors:rate10s{job=\"s\"})",
       "sum by (code) (task:errors:rate10s{job=\"s\"})"},
      {"sum without() (task:errors:rate10s{job=\"s\"})",
       "sum without () (task:errors:rate10s{job=\"s\"})"},
      {"topk(5, task:errors:rate10s{job=\"s\"})", nullptr},
      {"count_values(\"value\", task:errors:rate10s{job=\"s\"})", nullptr},
      {"a - on() c", "a - on () c"},
      {"a - on(b) group_left(x, y) c", "a - on (b) group_left (x, y) c"},
      {"a - on(b) group_left c", "a - on (b) group_left () c"},
      {"a - ignoring(b) c", "a - ignoring (b) c"},
      {"a - ignoring() c", "a - c"},
      {"a - ignoring() group_left(x) c", "a - ignoring () group_left (x) c"},
      {"up > bool 0", nullptr},
      {"a offset 1m", nullptr},
      {"a offset -7m", nullptr},
      {"a{c=\"d\"}[5m] offset 1m", nullptr},
      {"a[1h:5m] offset 1m", nullptr},
      {"{__name__=\"a\"}", nullptr},
      {"a{b!~\"c\"}[1m]", nullptr},
      {"a @ 10", "a @ 10.000"},
      {"a[1m] @ 10", "a[1m] @ 10.000"},
      {"a @ start()", nullptr},
      {"a[1m] @ end()", nullptr},
      {"a[1m] offset 1m @ 10", "a[1m] @ 10.000 offset 1m"},
      {"foo{b=\"x\", a=\"y\"}", "foo{a=\"y\",b=\"x\"}"},
      {"1e6 * 123456 - 0.00001", "1e+06 * 123456 - 1e-05"},
      {"-(1 + 2)", nullptr},
      {"x[90m]", "x[1h30m]"},
      {"x[5m:] offset 100", "x[5m:] offset 1m40s"},
      {"'a\\'b\\n'", "\"a'b\\n\""},
      {"x[step() * 2:1m]", nullptr},
      {"foo[-(10s - 5s) + 20s]", nullptr},
      {"Inf ^ x + +Inf", nullptr},
      {"x offset (Inf ^ 0)", nullptr},
  };
  for (const Case& c : cases) {
    auto e = MustParse(c.in);
    ASSERT_NE(e, nullptr) << c.in;
    EXPECT_EQ(ToString(*e), c.out ? c.out : c.in) << c.in;
  }
}

TEST(PromqlParserPrinter, ProgrammaticSelectors) {
  VectorSelector vs;
  vs.name = "my.metric";
  vs.matchers.push_back(
      *tsdb::LabelMatcher::Make(tsdb::LabelMatcher::Type::kEqual, "__name__", "my.metric"));
  vs.matchers.push_back(*tsdb::LabelMatcher::Make(tsdb::LabelMatcher::Type::kEqual, "a.b", "c"));
  EXPECT_EQ(ToString(vs), R"({"my.metric","a.b"="c"})");
  auto back = MustParse(ToString(vs));
  EXPECT_EQ(back->As<VectorSelector>().matchers.size(), 2u);
  vs.name = "on";
  vs.matchers.clear();
  vs.matchers.push_back(
      *tsdb::LabelMatcher::Make(tsdb::LabelMatcher::Type::kEqual, "__name__", "on"));
  EXPECT_EQ(ToString(vs), R"({__name__="on"})");
}

TEST(PromqlParserPrinter, AtRewriteRoundTrip) {
  // What the test runner does: add @ T to every selector and subquery without one.
  auto e = MustParse("sum(rate(x[5m])) + y offset 1m + max_over_time(z[10m:1m]) + w @ 5");
  InspectMutable(*e, [](Expr& n, const std::vector<Expr*>&) {
    if (n.Is<VectorSelector>() && !n.As<VectorSelector>().timestamp_ms) {
      n.As<VectorSelector>().timestamp_ms = 100000;
    }
    if (n.Is<SubqueryExpr>()) {
      if (!n.As<SubqueryExpr>().timestamp_ms) n.As<SubqueryExpr>().timestamp_ms = 100000;
      return false;  // nothing inside a subquery is touched
    }
    return true;
  });
  const std::string printed = ToString(*e);
  EXPECT_EQ(printed,
            "sum(rate(x[5m] @ 100.000)) + y @ 100.000 offset 1m + "
            "max_over_time(z[10m:1m] @ 100.000) + w @ 5.000");
  EXPECT_EQ(ToString(*MustParse(printed)), printed);
}

TEST(PromqlParserPrinter, CloneAndTraversal) {
  auto e = MustParse("topk(3, sum by (a) (rate(x{y=\"z\"}[5m] offset 1m))) / on(a) (b - 1)");
  auto copy = e->Clone();
  EXPECT_EQ(ToString(*copy), ToString(*e));
  std::vector<std::string> kinds;
  Inspect(*e, [&](const Expr& n, const std::vector<const Expr*>& path) {
    kinds.push_back(absl::StrCat(static_cast<int>(n.kind()), "@", path.size()));
    return true;
  });
  // binary, aggregate(topk), number, aggregate(sum), call, matrix, vector, paren, binary, vector,
  // number.
  EXPECT_THAT(kinds, ::testing::ElementsAre("7@0", "8@1", "0@2", "8@2", "9@3", "3@4", "2@5", "5@1",
                                            "7@2", "2@3", "0@3"));
  auto children = Children(*e);
  ASSERT_EQ(children.size(), 2u);
  EXPECT_EQ(children[0]->kind(), ExprKind::kAggregate);
  // Replacing a child through its slot.
  auto slots = ChildSlots(*e);
  auto wrapper = std::make_unique<StepInvariantExpr>();
  wrapper->expr = std::move(*slots[1]);
  *slots[1] = std::move(wrapper);
  EXPECT_EQ(ToString(*e), ToString(*copy));
}

TEST(PromqlParserPositions, LineCol) {
  EXPECT_EQ(PositionToLineCol("abc", 0), "1:1");
  EXPECT_EQ(PositionToLineCol("abc", 2), "1:3");
  EXPECT_EQ(PositionToLineCol("ab\ncd", 3), "2:1");
  EXPECT_EQ(PositionToLineCol("ab\ncd", 4), "2:2");
  EXPECT_EQ(PositionToLineCol("ab\ncd", 9), "invalid position");
  EXPECT_EQ(PositionToLineCol("", 0), "unknown position");
  EXPECT_EQ(PositionToLineColPair("a\nb\nc", 4), std::make_pair(3, 1));
  auto e = MustParse("sum(\n  rate(foo[5m])\n)");
  const auto& call = e->As<AggregateExpr>().expr;
  EXPECT_EQ(PositionToLineCol("sum(\n  rate(foo[5m])\n)", call->pos.start), "2:3");
  auto b = MustParse("foo + bar * 2");
  EXPECT_EQ(b->pos.start, 0);
  EXPECT_EQ(b->pos.end, 13);
  EXPECT_EQ(b->As<BinaryExpr>().rhs->pos.start, 6);
  auto p = MustParse("(sum(foo) )");
  EXPECT_EQ(p->pos.end, 11);
  EXPECT_EQ(p->As<ParenExpr>().expr->pos.end, 9);
}

// ---------------------------------------------------------------------------------------------
// match[] selectors and series descriptions.

TEST(PromqlParserSelectorOnly, MetricSelector) {
  auto m = ParseMetricSelector(R"(up{job="api", instance=~"a.*"})");
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->size(), 3u);
  EXPECT_EQ((*m)[2].name(), "__name__");
  m = ParseMetricSelector(R"({"my.metric"})");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)[0].value(), "my.metric");
  EXPECT_EQ(ParseMetricSelector("{}").status().message(),
            "1:1: parse error: vector selector must contain at least one non-empty matcher");
  EXPECT_EQ(ParseMetricSelector("up[5m]").status().message(), "1:3: parse error: unexpected \"[\"");
  EXPECT_EQ(ParseMetricSelector("sum(up)").status().message(),
            "1:4: parse error: unexpected \"(\"");
  EXPECT_FALSE(ParseMetricSelector("").ok());
}

TEST(PromqlParserSelectorOnly, Metric) {
  auto l = ParseMetric(R"(http_requests{job="api-server", instance="0", group="production",})");
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->ToString(), R"(http_requests{group="production", instance="0", job="api-server"})");
  l = ParseMetric(R"({"my.metric", "my.label"='v'})");
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->MetricName(), "my.metric");
  EXPECT_EQ(l->Get("my.label"), "v");
  l = ParseMetric("sum");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->MetricName(), "sum");
  l = ParseMetric("{}");
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE(l->empty());
  EXPECT_FALSE(ParseMetric(R"(x{a!="b"})").ok());
  EXPECT_FALSE(ParseMetric(R"(x{a="b"} 1)").ok());
}

// ---------------------------------------------------------------------------------------------
// Every eval expression of the upstream PromQL test scripts parses and round-trips.

std::filesystem::path FindTestdata() {
  std::vector<std::filesystem::path> candidates;
  if (const char* env = std::getenv("MA_PROMQL_TESTDATA")) candidates.emplace_back(env);
  if (const char* root = std::getenv("MA_SOURCE_ROOT")) {
    candidates.push_back(std::filesystem::path(root) / "tests/promql/testdata");
  }
  candidates.emplace_back("/work/shared/promql-testdata");
  for (const auto& c : candidates) {
    std::error_code ec;
    if (std::filesystem::exists(c / "upstream", ec)) return c / "upstream";
    if (std::filesystem::exists(c / "functions.test", ec)) return c;
  }
  return {};
}

// The expression of an eval header line, or "" if the line is not one.
std::string EvalExpr(const std::string& raw) {
  std::istringstream in(raw);
  std::string word;
  in >> word;
  if (word.rfind("eval", 0) != 0) return "";
  std::string kind;
  in >> kind;
  int skip = 0;
  if (kind == "instant") {
    skip = 2;  // at <time>
  } else if (kind == "range") {
    skip = 6;  // from <a> to <b> step <c>
  } else {
    return "";
  }
  for (int i = 0; i < skip; ++i) in >> word;
  std::string rest;
  std::getline(in, rest);
  const size_t first = rest.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  rest = rest.substr(first);
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t' || rest.back() == '\r')) {
    rest.pop_back();
  }
  return rest;
}

// All eval expressions of one .test file, keyed by "file.test:line".
std::map<std::string, std::string> EvalsOf(const std::filesystem::path& file) {
  std::map<std::string, std::string> out;
  std::ifstream in(file);
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    std::string expr = EvalExpr(line);
    if (!expr.empty()) {
      out[absl::StrCat(file.filename().string(), ":", lineno)] = std::move(expr);
    }
  }
  return out;
}

std::vector<std::string> UpstreamFiles() {
  std::vector<std::string> files;
  const std::filesystem::path dir = FindTestdata();
  if (!dir.empty()) {
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (entry.path().extension() == ".test") files.push_back(entry.path().filename().string());
    }
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) files.push_back("none");
  return files;
}

class PromqlParserUpstream : public ::testing::TestWithParam<std::string> {};

TEST_P(PromqlParserUpstream, EvalExpressionsParseAndRoundTrip) {
  const std::filesystem::path dir = FindTestdata();
  if (dir.empty()) GTEST_SKIP() << "PromQL test data not found";
  const auto evals = EvalsOf(dir / GetParam());
  EXPECT_FALSE(evals.empty());
  for (const auto& [where, expr] : evals) {
    auto r = ParseExpr(expr);
    ASSERT_TRUE(r.ok()) << where << ": " << expr << "\n" << r.status();
    const std::string printed = ToString(**r);
    auto again = ParseExpr(printed);
    ASSERT_TRUE(again.ok()) << expr << " printed as " << printed << ": " << again.status();
    EXPECT_EQ(ToString(**again), printed) << expr;
    EXPECT_EQ(S(**again), S(**r)) << expr;
  }
}

INSTANTIATE_TEST_SUITE_P(Files, PromqlParserUpstream, ::testing::ValuesIn(UpstreamFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (!absl::ascii_isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

// Every entry of the stable float-only selection names an eval line (all of which parse, see
// above), and the selection has the documented size.
TEST(PromqlParserUpstreamSelection, StableFloatEvalsExist) {
  const std::filesystem::path dir = FindTestdata();
  if (dir.empty()) GTEST_SKIP() << "PromQL test data not found";
  std::map<std::string, std::string> all;
  int count = 0;
  for (const std::string& f : UpstreamFiles()) {
    auto evals = EvalsOf(dir / f);
    count += static_cast<int>(evals.size());
    all.merge(evals);
  }
  EXPECT_GE(count, 2000);
  std::ifstream stable(dir.parent_path() / "stable-float.txt");
  if (!stable) GTEST_SKIP() << "stable-float.txt not found";
  int listed = 0;
  std::string loc;
  while (stable >> loc) {
    ++listed;
    EXPECT_TRUE(all.count(loc)) << loc;
  }
  EXPECT_EQ(listed, 884);
}

// Expected texts as Prometheus 2.42's /api/v1/format_query returns them for the same input.
TEST(PromqlPrettify, SplitsWhatDoesNotFitOneHundredCharacters) {
  EXPECT_EQ(Prettify(*MustParse("sum(rate(x[5m]))  /  2")), "sum(rate(x[5m])) / 2");
  EXPECT_EQ(
      Prettify(*MustParse(
          "-(sum by (job) (rate(http_requests_total{job=\"api-server\",code=~\"5..\"}[5m])) / "
          "sum by (job) (rate(http_requests_total[5m])))")),
      "-(\n"
      "    sum by (job) (rate(http_requests_total{code=~\"5..\",job=\"api-server\"}[5m]))\n"
      "  /\n"
      "    sum by (job) (rate(http_requests_total[5m]))\n"
      ")");
  EXPECT_EQ(Prettify(*MustParse("topk(5, sum by (a_long_label_name, another_long_label_name) "
                                "(some_metric_with_a_long_name_total{x=\"y\"}))")),
            "topk(\n  5,\n  sum by (a_long_label_name, another_long_label_name) "
            "(some_metric_with_a_long_name_total{x=\"y\"})\n)");
  EXPECT_EQ(Prettify(*MustParse("label_join(up{job=\"api-server-with-a-long-name\",instance="
                                "\"some-instance-name:8080\"}, \"foo\", \",\", \"l1\", \"l2\", "
                                "\"l3\")")),
            "label_join(\n  up{instance=\"some-instance-name:8080\",job=\"api-server-with-a-long-"
            "name\"},\n  \"foo\",\n  \",\",\n  \"l1\",\n  \"l2\",\n  \"l3\"\n)");
  // A subquery that fits is not indented, as in Prometheus.
  EXPECT_EQ(Prettify(*MustParse("max_over_time(rate(some_really_long_metric_name_for_testing_"
                                "purposes_total{label_one=\"value one\"}[5m])[1h:1m])")),
            "max_over_time(\nrate(some_really_long_metric_name_for_testing_purposes_total{label_"
            "one=\"value one\"}[5m])[1h:1m]\n)");
}

}  // namespace
}  // namespace promql
