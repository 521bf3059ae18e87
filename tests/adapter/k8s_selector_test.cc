#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapter/k8s/selector.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace k8s {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

LabelSelector MustParse(std::string_view text) {
  absl::StatusOr<LabelSelector> s = LabelSelector::Parse(text);
  EXPECT_TRUE(s.ok()) << text << ": " << s.status();
  return s.ok() ? *s : LabelSelector();
}

std::string ParseError(std::string_view text) {
  absl::StatusOr<LabelSelector> s = LabelSelector::Parse(text);
  EXPECT_FALSE(s.ok()) << text << " parsed as " << (s.ok() ? s->String() : "");
  return s.ok() ? "" : std::string(s.status().message());
}

Requirement Req(std::string key, SelectorOp op, std::vector<std::string> values = {}) {
  return Requirement{std::move(key), op, std::move(values)};
}

// A lookup over a fixed label set.
LabelLookup Labels(std::map<std::string, std::string> labels) {
  return [labels = std::move(labels)](std::string_view key) -> std::optional<std::string_view> {
    auto it = labels.find(std::string(key));
    if (it == labels.end()) return std::nullopt;
    return std::string_view(it->second);
  };
}

bool Matches(std::string_view selector, std::map<std::string, std::string> labels) {
  return MustParse(selector).Matches(Labels(std::move(labels)));
}

TEST(K8sSelectorParseTest, EmptyTextSelectsEverything) {
  for (std::string_view text : {"", " ", "\t\r\n "}) {
    LabelSelector s = MustParse(text);
    EXPECT_TRUE(s.empty());
    EXPECT_EQ(s.String(), "");
    EXPECT_TRUE(s.Matches(Labels({})));
    EXPECT_TRUE(s.Matches(Labels({{"a", "b"}})));
  }
  EXPECT_TRUE(LabelSelector().empty());
}

TEST(K8sSelectorParseTest, EveryOperator) {
  EXPECT_THAT(MustParse("a=b").requirements(), ElementsAre(Req("a", SelectorOp::kEquals, {"b"})));
  EXPECT_THAT(MustParse("a==b").requirements(),
              ElementsAre(Req("a", SelectorOp::kDoubleEquals, {"b"})));
  EXPECT_THAT(MustParse("a!=b").requirements(),
              ElementsAre(Req("a", SelectorOp::kNotEquals, {"b"})));
  EXPECT_THAT(MustParse("a in (y,x)").requirements(),
              ElementsAre(Req("a", SelectorOp::kIn, {"x", "y"})));
  EXPECT_THAT(MustParse("a notin (y,x,y)").requirements(),
              ElementsAre(Req("a", SelectorOp::kNotIn, {"x", "y"})));
  EXPECT_THAT(MustParse("a").requirements(), ElementsAre(Req("a", SelectorOp::kExists)));
  EXPECT_THAT(MustParse("!a").requirements(), ElementsAre(Req("a", SelectorOp::kDoesNotExist)));
  EXPECT_THAT(MustParse("a>5").requirements(),
              ElementsAre(Req("a", SelectorOp::kGreaterThan, {"5"})));
  EXPECT_THAT(MustParse("a<007").requirements(),
              ElementsAre(Req("a", SelectorOp::kLessThan, {"007"})));
}

TEST(K8sSelectorParseTest, WhitespaceAroundTokens) {
  LabelSelector s = MustParse("  x  in  ( b , a )\t,\n!y , z = 1 ,w!=2,v ==3 , u ");
  EXPECT_THAT(
      s.requirements(),
      ElementsAre(Req("u", SelectorOp::kExists), Req("v", SelectorOp::kDoubleEquals, {"3"}),
                  Req("w", SelectorOp::kNotEquals, {"2"}), Req("x", SelectorOp::kIn, {"a", "b"}),
                  Req("y", SelectorOp::kDoesNotExist), Req("z", SelectorOp::kEquals, {"1"})));
  EXPECT_EQ(s.String(), "u,v==3,w!=2,x in (a,b),!y,z=1");
  // No whitespace at all around set operators' parentheses is fine too.
  EXPECT_THAT(MustParse("x in(a)").requirements(), ElementsAre(Req("x", SelectorOp::kIn, {"a"})));
}

TEST(K8sSelectorParseTest, SortsByKeyStably) {
  LabelSelector s = MustParse("b=1,a=2,c,a!=3,!a");
  EXPECT_THAT(
      s.requirements(),
      ElementsAre(Req("a", SelectorOp::kEquals, {"2"}), Req("a", SelectorOp::kNotEquals, {"3"}),
                  Req("a", SelectorOp::kDoesNotExist), Req("b", SelectorOp::kEquals, {"1"}),
                  Req("c", SelectorOp::kExists)));
  EXPECT_EQ(s.String(), "a=2,a!=3,!a,b=1,c");
}

TEST(K8sSelectorParseTest, EmptyValues) {
  EXPECT_THAT(MustParse("a=").requirements(), ElementsAre(Req("a", SelectorOp::kEquals, {""})));
  EXPECT_THAT(
      MustParse("a=,b!=").requirements(),
      ElementsAre(Req("a", SelectorOp::kEquals, {""}), Req("b", SelectorOp::kNotEquals, {""})));
  EXPECT_THAT(MustParse("a in ()").requirements(), ElementsAre(Req("a", SelectorOp::kIn, {""})));
  EXPECT_THAT(MustParse("a in (,)").requirements(), ElementsAre(Req("a", SelectorOp::kIn, {""})));
  EXPECT_THAT(MustParse("a in (,x)").requirements(),
              ElementsAre(Req("a", SelectorOp::kIn, {"", "x"})));
  EXPECT_THAT(MustParse("a in (x,)").requirements(),
              ElementsAre(Req("a", SelectorOp::kIn, {"", "x"})));
  EXPECT_THAT(MustParse("a notin (x,,y)").requirements(),
              ElementsAre(Req("a", SelectorOp::kNotIn, {"", "x", "y"})));
}

TEST(K8sSelectorParseTest, KeywordsAsKeysAndValues) {
  EXPECT_THAT(MustParse("in in (in,notin)").requirements(),
              ElementsAre(Req("in", SelectorOp::kIn, {"in", "notin"})));
  EXPECT_THAT(MustParse("notin=in").requirements(),
              ElementsAre(Req("notin", SelectorOp::kEquals, {"in"})));
  EXPECT_THAT(MustParse("!notin").requirements(),
              ElementsAre(Req("notin", SelectorOp::kDoesNotExist)));
  EXPECT_THAT(MustParse("in").requirements(), ElementsAre(Req("in", SelectorOp::kExists)));
}

TEST(K8sSelectorParseTest, QualifiedKeys) {
  EXPECT_THAT(MustParse("app.kubernetes.io/name=web").requirements(),
              ElementsAre(Req("app.kubernetes.io/name", SelectorOp::kEquals, {"web"})));
  EXPECT_THAT(MustParse("A_b.C-9=Z_z.9-x").requirements(),
              ElementsAre(Req("A_b.C-9", SelectorOp::kEquals, {"Z_z.9-x"})));
  const std::string name63(63, 'n');
  const std::string label63(63, 'l');
  std::string prefix253 = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'p');
  ASSERT_EQ(prefix253.size(), 253u);
  EXPECT_TRUE(LabelSelector::Parse(prefix253 + "/" + name63).ok());
  EXPECT_TRUE(LabelSelector::Parse("k=" + std::string(63, 'v')).ok());
}

TEST(K8sSelectorMatchesTest, Equality) {
  EXPECT_TRUE(Matches("a=b", {{"a", "b"}}));
  EXPECT_TRUE(Matches("a==b", {{"a", "b"}, {"c", "d"}}));
  EXPECT_FALSE(Matches("a=b", {{"a", "c"}}));
  EXPECT_FALSE(Matches("a=b", {}));
  EXPECT_TRUE(Matches("a=", {{"a", ""}}));
  EXPECT_FALSE(Matches("a=", {}));  // an empty value still needs the label
  EXPECT_FALSE(Matches("a=b,a=c", {{"a", "b"}}));
}

TEST(K8sSelectorMatchesTest, InequalityHoldsForAbsentLabels) {
  EXPECT_TRUE(Matches("a!=b", {}));
  EXPECT_TRUE(Matches("a!=b", {{"a", "c"}}));
  EXPECT_FALSE(Matches("a!=b", {{"a", "b"}}));
  EXPECT_FALSE(Matches("a!=", {{"a", ""}}));
}

TEST(K8sSelectorMatchesTest, SetOperators) {
  EXPECT_TRUE(Matches("a in (x,y)", {{"a", "y"}}));
  EXPECT_FALSE(Matches("a in (x,y)", {{"a", "z"}}));
  EXPECT_FALSE(Matches("a in (x,y)", {}));
  EXPECT_TRUE(Matches("a in (x,)", {{"a", ""}}));
  EXPECT_TRUE(Matches("a notin (x,y)", {{"a", "z"}}));
  EXPECT_TRUE(Matches("a notin (x,y)", {}));  // absent labels are not in any set
  EXPECT_FALSE(Matches("a notin (x,y)", {{"a", "x"}}));
}

TEST(K8sSelectorMatchesTest, Existence) {
  EXPECT_TRUE(Matches("a", {{"a", ""}}));
  EXPECT_FALSE(Matches("a", {{"b", "x"}}));
  EXPECT_TRUE(Matches("!a", {{"b", "x"}}));
  EXPECT_FALSE(Matches("!a", {{"a", ""}}));
}

TEST(K8sSelectorMatchesTest, GreaterAndLessThan) {
  EXPECT_TRUE(Matches("a>5", {{"a", "6"}}));
  EXPECT_FALSE(Matches("a>5", {{"a", "5"}}));
  EXPECT_TRUE(Matches("a>5", {{"a", "+6"}}));  // strconv.ParseInt accepts a sign
  EXPECT_FALSE(Matches("a>5", {{"a", "-6"}}));
  EXPECT_TRUE(Matches("a<5", {{"a", "-6"}}));
  EXPECT_TRUE(Matches("a<5", {{"a", "04"}}));
  EXPECT_FALSE(Matches("a<5", {{"a", "5"}}));
  EXPECT_FALSE(Matches("a<5", {}));            // absent
  EXPECT_FALSE(Matches("a<5", {{"a", "x"}}));  // not an integer
  EXPECT_FALSE(Matches("a<5", {{"a", ""}}));
  EXPECT_FALSE(Matches("a>5", {{"a", "1_000"}}));
  EXPECT_FALSE(Matches("a>5", {{"a", "9223372036854775808"}}));  // overflows int64
  EXPECT_TRUE(Matches("a>5", {{"a", "9223372036854775807"}}));
  EXPECT_TRUE(Matches("a<0", {{"a", "-9223372036854775808"}}));
  EXPECT_TRUE(Matches("a>9223372036854775806", {{"a", "9223372036854775807"}}));
}

TEST(K8sSelectorMatchesTest, AllRequirementsMustHold) {
  EXPECT_TRUE(Matches("a=b,c in (d),!e,f!=g", {{"a", "b"}, {"c", "d"}}));
  EXPECT_FALSE(Matches("a=b,c in (d),!e,f!=g", {{"a", "b"}, {"c", "d"}, {"e", ""}}));
  EXPECT_FALSE(Matches("a=b,c in (d),!e,f!=g", {{"a", "b"}, {"c", "d"}, {"f", "g"}}));
}

TEST(K8sSelectorStringTest, CanonicalForm) {
  EXPECT_EQ(MustParse("c in (z, y),a=b,!d,e notin (x),f==1,g!=2,h>3,i<4,j").String(),
            "a=b,c in (y,z),!d,e notin (x),f==1,g!=2,h>3,i<4,j");
  EXPECT_EQ(MustParse("x in (b,,a)").String(), "x in (,a,b)");
  EXPECT_EQ(MustParse("x in ()").String(), "x in ()");
  EXPECT_EQ(MustParse("x=").String(), "x=");
}

TEST(K8sSelectorStringTest, RoundTrips) {
  for (std::string_view text :
       {"a=b", "a==b", "a!=b", "a in (x,y)", "a notin (,x)", "a", "!a", "a>1", "a<2",
        "a=", "in in (in)", "notin", "x in ()", "example.com/k=v,b in (c),!d",
        "a=1,a=2,a in (3),!a,a", "z,y,x,w=1,v!=2"}) {
    LabelSelector first = MustParse(text);
    LabelSelector second = MustParse(first.String());
    EXPECT_EQ(first.requirements(), second.requirements()) << text;
    EXPECT_EQ(first.String(), second.String()) << text;
  }
}

TEST(K8sSelectorJsonTest, Shapes) {
  EXPECT_EQ(LabelSelector().ToJson(), "null");
  EXPECT_EQ(MustParse("").ToJson(), "null");
  EXPECT_EQ(MustParse("b=2,a==1").ToJson(), R"({"matchLabels":{"a":"1","b":"2"}})");
  EXPECT_EQ(MustParse("a in (y,x)").ToJson(),
            R"({"matchExpressions":[{"key":"a","operator":"In","values":["x","y"]}]})");
  EXPECT_EQ(MustParse("app=web,tier notin (cache),!canary,zone,n>3,m<4").ToJson(),
            R"({"matchLabels":{"app":"web"},"matchExpressions":[)"
            R"({"key":"canary","operator":"DoesNotExist"},)"
            R"({"key":"m","operator":"Lt","values":["4"]},)"
            R"({"key":"n","operator":"Gt","values":["3"]},)"
            R"({"key":"tier","operator":"NotIn","values":["cache"]},)"
            R"({"key":"zone","operator":"Exists"}]})");
  EXPECT_EQ(MustParse("a!=b").ToJson(),
            R"({"matchExpressions":[{"key":"a","operator":"NotIn","values":["b"]}]})");
  EXPECT_EQ(MustParse("a=").ToJson(), R"({"matchLabels":{"a":""}})");
  EXPECT_EQ(MustParse("a in ()").ToJson(),
            R"({"matchExpressions":[{"key":"a","operator":"In","values":[""]}]})");
}

TEST(K8sSelectorJsonTest, RepeatedEqualityKeepsItsMeaning) {
  EXPECT_EQ(MustParse("a=x,a=y").ToJson(), R"({"matchLabels":{"a":"x"},"matchExpressions":[)"
                                           R"({"key":"a","operator":"In","values":["y"]}]})");
  EXPECT_EQ(MustParse("a=x,b=y,a==x").ToJson(),
            R"({"matchLabels":{"a":"x","b":"y"},"matchExpressions":[)"
            R"({"key":"a","operator":"In","values":["x"]}]})");
}

TEST(K8sSelectorErrorTest, StructuralErrors) {
  EXPECT_EQ(ParseError(","),
            "found ',', expected: !, identifier, or 'end of string' (at offset 0)");
  EXPECT_EQ(ParseError("a=b,"), "found '', expected: identifier after ',' (at offset 4)");
  EXPECT_EQ(ParseError("a=b,,c"), "found ',', expected: identifier after ',' (at offset 4)");
  EXPECT_EQ(ParseError("a=b c"), "found 'c', expected: ',' or 'end of string' (at offset 4)");
  EXPECT_EQ(ParseError("a b"),
            "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt "
            "(at offset 2)");
  EXPECT_EQ(ParseError("a IN (b)"),
            "unable to parse requirement: found 'IN', expected: in, notin, =, ==, !=, gt, lt "
            "(at offset 2)");
  EXPECT_EQ(ParseError("!"),
            "unable to parse requirement: found '', expected: identifier "
            "(at offset 1)");
  EXPECT_EQ(ParseError("!!a"),
            "unable to parse requirement: found '!', expected: identifier "
            "(at offset 1)");
  EXPECT_EQ(ParseError("!a=b"), "found '=', expected: ',' or 'end of string' (at offset 2)");
  EXPECT_EQ(ParseError("a=(b)"),
            "unable to parse requirement: found '(', expected: identifier (at offset 2)");
  EXPECT_EQ(ParseError("a=b=c"), "found '=', expected: ',' or 'end of string' (at offset 3)");
  EXPECT_EQ(ParseError(")"),
            "found ')', expected: !, identifier, or 'end of string' (at offset 0)");
}

TEST(K8sSelectorErrorTest, SetErrors) {
  EXPECT_EQ(ParseError("a in"),
            "unable to parse requirement: found '' expected: '(' (at offset 4)");
  EXPECT_EQ(ParseError("a in b"),
            "unable to parse requirement: found 'b' expected: '(' (at offset 5)");
  EXPECT_EQ(ParseError("a notin (b"),
            "unable to parse requirement: found '', expected: ',' or ')' (at offset 10)");
  EXPECT_EQ(ParseError("a in (b c)"),
            "unable to parse requirement: found 'c', expected: ',' or ')' (at offset 8)");
  EXPECT_EQ(ParseError("x in (a in b)"),
            "unable to parse requirement: found 'in', expected: ',' or ')' (at offset 8)");
  EXPECT_EQ(ParseError("a in (="),
            "unable to parse requirement: found '=', expected: ',', ')' or identifier "
            "(at offset 6)");
  EXPECT_EQ(ParseError("a in (b,=)"),
            "unable to parse requirement: found '=', expected: ',', or identifier (at offset 8)");
  EXPECT_EQ(ParseError("a in (b))"), "found ')', expected: ',' or 'end of string' (at offset 8)");
}

TEST(K8sSelectorErrorTest, InvalidKeys) {
  EXPECT_EQ(ParseError("a b=c"),
            "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt "
            "(at offset 2)");
  std::string err = ParseError("a$=b");
  EXPECT_THAT(err, StartsWith("unable to parse requirement: invalid label key \"a$\": name part "
                              "must consist of alphanumeric characters, '-', '_' or '.', and "
                              "must start and end with an alphanumeric character (e.g. "
                              "'MyName',  or 'my.name',  or '123-abc', regex used for validation "
                              "is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"));
  EXPECT_THAT(err, HasSubstr("(at offset 0)"));
  EXPECT_THAT(ParseError("-a"), HasSubstr("invalid label key \"-a\": name part must consist"));
  EXPECT_THAT(ParseError("a."), HasSubstr("invalid label key \"a.\""));
  EXPECT_THAT(
      ParseError("x=1, " + std::string(64, 'k')),
      AllOf(HasSubstr("name part must be no more than 63 characters"), HasSubstr("(at offset 5)")));
  EXPECT_THAT(ParseError("/a"), HasSubstr("prefix part must be non-empty"));
  EXPECT_THAT(ParseError("p/"),
              HasSubstr("name part must be non-empty; name part must consist of"));
  EXPECT_THAT(ParseError("Example.com/a"),
              HasSubstr("prefix part a lowercase RFC 1123 subdomain must consist of lower case "
                        "alphanumeric characters, '-' or '.', and must start and end with an "
                        "alphanumeric character (e.g. 'example.com', regex used for validation "
                        "is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"));
  EXPECT_THAT(ParseError("a..b/c"), HasSubstr("prefix part a lowercase RFC 1123"));
  EXPECT_THAT(ParseError("a-/c"), HasSubstr("prefix part a lowercase RFC 1123"));
  EXPECT_THAT(ParseError(std::string(254, 'p') + "/c"),
              HasSubstr("prefix part must be no more than 253 characters"));
  EXPECT_THAT(ParseError("a/b/c"), HasSubstr("a qualified name must consist of alphanumeric "));
  EXPECT_THAT(ParseError("a/b/c"), HasSubstr("with an optional DNS subdomain prefix and '/' "
                                             "(e.g. 'example.com/MyName')"));
  EXPECT_THAT(ParseError("\"x\"=y"), HasSubstr("invalid label key \"\\\"x\\\"\""));
  EXPECT_THAT(ParseError("k\xff=v"), HasSubstr("invalid label key \"k\\xff\""));
  // A NUL byte is part of the key (Kubernetes would stop reading there).
  EXPECT_THAT(ParseError(std::string("a\0b=c", 5)), HasSubstr("invalid label key \"a\\x00b\""));
}

TEST(K8sSelectorErrorTest, InvalidValues) {
  EXPECT_THAT(ParseError("k=" + std::string(64, 'v')),
              AllOf(HasSubstr("unable to parse requirement: invalid label value: \"vvvv"),
                    HasSubstr("\": at key: \"k\": must be no more than 63 characters"),
                    HasSubstr("(at offset 2)")));
  EXPECT_THAT(ParseError("k=-v"),
              HasSubstr("invalid label value: \"-v\": at key: \"k\": a valid label must be an "
                        "empty string or consist of alphanumeric characters, '-', '_' or '.', "
                        "and must start and end with an alphanumeric character (e.g. "
                        "'MyValue',  or 'my_value',  or '12345', regex used for validation is "
                        "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?') (at offset 2)"));
  EXPECT_THAT(ParseError("k in (ok, bad/)"),
              AllOf(HasSubstr("invalid label value: \"bad/\""), HasSubstr("(at offset 10)")));
  // Both problems of one requirement are reported, as Kubernetes aggregates them.
  std::string both = ParseError("k in (a_, _b)");
  EXPECT_THAT(both, StartsWith("unable to parse requirement: [invalid label value: \"_b\""));
  EXPECT_THAT(both, HasSubstr(", invalid label value: \"a_\""));
  EXPECT_THAT(both, HasSubstr("(at offset 10)"));  // "_b" sorts first
}

TEST(K8sSelectorErrorTest, ComparisonNeedsAnInteger) {
  EXPECT_EQ(ParseError("a>b"),
            "unable to parse requirement: invalid value \"b\": for 'Gt', 'Lt' operators, the "
            "value must be an integer (at offset 2)");
  EXPECT_THAT(ParseError("a<"), HasSubstr("invalid value \"\": for 'Gt', 'Lt' operators"));
  EXPECT_THAT(ParseError("a<1.5"), HasSubstr("the value must be an integer"));
  EXPECT_THAT(ParseError("a<99999999999999999999"), HasSubstr("the value must be an integer"));
  // -1 is an integer but not a valid label value; x- is neither.
  EXPECT_THAT(ParseError("a>-1"), HasSubstr("invalid label value: \"-1\""));
  EXPECT_THAT(ParseError("a>x-"),
              AllOf(StartsWith("unable to parse requirement: [invalid value \"x-\""),
                    HasSubstr(", invalid label value: \"x-\"")));
}

}  // namespace
}  // namespace k8s
