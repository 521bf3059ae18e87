#include "tsdb/matcher.h"

#include "gtest/gtest.h"
#include "tsdb/index/postings.h"
#include "tsdb/labels.h"

namespace tsdb {
namespace {

using Type = LabelMatcher::Type;

TEST(LabelMatcherTest, RegexIsFullyAnchored) {
  auto m = *LabelMatcher::Make(Type::kRegexMatch, "job", "api");
  EXPECT_TRUE(m.Matches("api"));
  EXPECT_FALSE(m.Matches("api-server"));
  EXPECT_FALSE(m.Matches("my-api"));
  auto alt = *LabelMatcher::Make(Type::kRegexMatch, "job", "a|b");
  EXPECT_TRUE(alt.Matches("a"));
  EXPECT_FALSE(alt.Matches("ab"));  // anchoring applies to the whole alternation
}

TEST(LabelMatcherTest, DotMatchesNewlineAsInPrometheus) {
  auto m = *LabelMatcher::Make(Type::kRegexMatch, "x", "a.b");
  EXPECT_TRUE(m.Matches("a\nb"));
}

TEST(LabelMatcherTest, MatchesEmpty) {
  EXPECT_TRUE(LabelMatcher::Make(Type::kEqual, "a", "")->MatchesEmpty());
  EXPECT_FALSE(LabelMatcher::Make(Type::kEqual, "a", "x")->MatchesEmpty());
  EXPECT_TRUE(LabelMatcher::Make(Type::kNotEqual, "a", "x")->MatchesEmpty());
  EXPECT_TRUE(LabelMatcher::Make(Type::kRegexMatch, "a", ".*")->MatchesEmpty());
  EXPECT_FALSE(LabelMatcher::Make(Type::kRegexMatch, "a", ".+")->MatchesEmpty());
  EXPECT_TRUE(LabelMatcher::Make(Type::kRegexNoMatch, "a", ".+")->MatchesEmpty());
}

TEST(LabelMatcherTest, InvalidRegexNamesLabelAndCause) {
  auto m = LabelMatcher::Make(Type::kRegexMatch, "path", "a(b");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("path"), std::string::npos) << m.status();
  EXPECT_NE(m.status().message().find("missing )"), std::string::npos) << m.status();
}

TEST(LabelMatcherTest, SetMatchesAndRange) {
  auto set = *LabelMatcher::Make(Type::kRegexMatch, "a", "x|y|z");
  EXPECT_EQ(set.SetMatches(), (std::vector<std::string>{"x", "y", "z"}));
  auto prefix = *LabelMatcher::Make(Type::kRegexMatch, "a", "host-12.*");
  EXPECT_TRUE(prefix.SetMatches().empty());
  std::string lo, hi;
  ASSERT_TRUE(prefix.PossibleMatchRange(&lo, &hi));
  EXPECT_LE(lo, "host-12");
  EXPECT_GE(hi, "host-129999");
  EXPECT_GT(lo, "host-11");
}

TEST(LabelMatcherTest, ToString) {
  EXPECT_EQ(LabelMatcher::Make(Type::kRegexNoMatch, "a", "x\"y")->ToString(), "a!~\"x\\\"y\"");
}

TEST(PostingsTest, SetOperations) {
  PostingsList a{1, 3, 5, 7, 9};
  PostingsList b{3, 4, 5, 10};
  EXPECT_EQ(Intersect(a, b), (PostingsList{3, 5}));
  EXPECT_EQ(Subtract(a, b), (PostingsList{1, 7, 9}));
  EXPECT_EQ(Union({&a, &b}), (PostingsList{1, 3, 4, 5, 7, 9, 10}));
  PostingsList big;
  for (uint64_t i = 0; i < 10000; i += 2) big.push_back(i);
  PostingsList small{4, 5, 9998, 20000};
  EXPECT_EQ(Intersect(small, big), (PostingsList{4, 9998}));  // galloping path
  EXPECT_TRUE(Intersect({}, big).empty());
}

TEST(LabelsTest, SortsDropsEmptyAndValidates) {
  Labels l{{"z", "1"}, {"__name__", "up"}, {"a", ""}, {"b", "2"}};
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[0].name, "__name__");
  EXPECT_EQ(l.ToString(), "up{b=\"2\", z=\"1\"}");
  EXPECT_TRUE(l.Validate().ok());
  EXPECT_FALSE(Labels({{"__name__", "up"}, {"1bad", "x"}}).Validate().ok());
  EXPECT_FALSE(Labels({{"__name__", "9up"}}).Validate().ok());
  EXPECT_FALSE(Labels({{"job", "x"}}).Validate().ok());  // no metric name
  auto bad_utf8 = Labels({{"__name__", "up"}, {"v", std::string("a\xff", 2)}}).Validate();
  ASSERT_FALSE(bad_utf8.ok());
  EXPECT_NE(bad_utf8.message().find("UTF-8"), std::string::npos);
  EXPECT_EQ(Labels({{"a", "x\"\n"}}).ToString(), "{a=\"x\\\"\\n\"}");
}

}  // namespace
}  // namespace tsdb
