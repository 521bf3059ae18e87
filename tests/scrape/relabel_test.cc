// Relabelling: every action with Prometheus' documented examples and the edge cases that were
// checked against a running Prometheus 2.42 (its /api/v1/targets after target relabelling).
#include "scrape/relabel.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tsdb/labels.h"

namespace scrape {
namespace {

using ::testing::HasSubstr;

RelabelRule Rule(RelabelAction action) {
  RelabelRule r;
  r.action = action;
  return r;
}

RelabelRule Replace(std::vector<std::string> sources, std::string target,
                    std::string regex = "(.*)", std::string replacement = "$1") {
  RelabelRule r;
  r.source_labels = std::move(sources);
  r.target_label = std::move(target);
  r.regex = std::move(regex);
  r.replacement = std::move(replacement);
  return r;
}

// Compiles rules (failing the test on an error) and applies them to in.
std::optional<tsdb::Labels> Apply(std::vector<RelabelRule> rules, tsdb::Labels in) {
  for (RelabelRule& r : rules) {
    absl::Status st = r.Compile();
    EXPECT_TRUE(st.ok()) << st;
  }
  if (!Relabel(rules, &in)) return std::nullopt;
  return in;
}

TEST(RelabelDefaultsTest, MatchPrometheus) {
  RelabelRule r;
  EXPECT_EQ(r.separator, ";");
  EXPECT_EQ(r.regex, "(.*)");
  EXPECT_EQ(r.replacement, "$1");
  EXPECT_EQ(r.action, RelabelAction::kReplace);
  EXPECT_EQ(r.modulus, 0u);
  EXPECT_FALSE(r.compiled());
}

TEST(RelabelActionTest, ParsesCaseInsensitively) {
  EXPECT_EQ(*ParseRelabelAction("Replace"), RelabelAction::kReplace);
  EXPECT_EQ(*ParseRelabelAction("LABELMAP"), RelabelAction::kLabelMap);
  EXPECT_EQ(*ParseRelabelAction("keepequal"), RelabelAction::kKeepEqual);
  EXPECT_EQ(*ParseRelabelAction("dropequal"), RelabelAction::kDropEqual);
  EXPECT_EQ(*ParseRelabelAction("uppercase"), RelabelAction::kUppercase);
  absl::StatusOr<RelabelAction> bad = ParseRelabelAction("explode");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "unknown relabel action \"explode\"");
  for (RelabelAction a :
       {RelabelAction::kReplace, RelabelAction::kKeep, RelabelAction::kDrop,
        RelabelAction::kKeepEqual, RelabelAction::kDropEqual, RelabelAction::kHashMod,
        RelabelAction::kLabelMap, RelabelAction::kLabelDrop, RelabelAction::kLabelKeep,
        RelabelAction::kLowercase, RelabelAction::kUppercase}) {
    EXPECT_EQ(*ParseRelabelAction(RelabelActionName(a)), a);
  }
}

TEST(RelabelReplaceTest, JoinsSourcesWithSeparatorAndExpands) {
  // Prometheus' documentation example: source_labels [__meta_a, __meta_b], regex "(.*);(.*)".
  auto out = Apply({Replace({"a", "b"}, "c", "(.*);(.*)", "${2}-${1}")},
                   tsdb::Labels({{"a", "x"}, {"b", "y"}}));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->Get("c"), "y-x");
  EXPECT_EQ(out->Get("a"), "x");
}

TEST(RelabelReplaceTest, AbsentSourcesJoinAsEmptyValues) {
  RelabelRule r = Replace({"a", "missing", "b"}, "joined");
  r.separator = "|";
  auto out = Apply({r}, tsdb::Labels({{"a", "1"}, {"b", "2"}}));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->Get("joined"), "1||2");

  // The regex sees the empty middle value.
  out = Apply({Replace({"a", "missing", "b"}, "m", "1;;2", "yes")},
              tsdb::Labels({{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(out->Get("m"), "yes");
}

TEST(RelabelReplaceTest, NoMatchLeavesTargetUnchanged) {
  auto out =
      Apply({Replace({"a"}, "t", "nomatch.*", "new")}, tsdb::Labels({{"a", "x"}, {"t", "old"}}));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->Get("t"), "old");
}

TEST(RelabelReplaceTest, RegexIsAnchoredAtBothEnds) {
  auto out = Apply({Replace({"a"}, "t", "b", "hit")}, tsdb::Labels({{"a", "abc"}}));
  EXPECT_FALSE(out->Has("t"));
  out = Apply({Replace({"a"}, "t", "a.c", "hit")}, tsdb::Labels({{"a", "abc"}}));
  EXPECT_EQ(out->Get("t"), "hit");
}

TEST(RelabelReplaceTest, EmptyResultDeletesTheTarget) {
  // An absent source matches the default regex with $1 = "": the target label goes, which is how
  // Prometheus configurations delete a label.
  auto out = Apply({Replace({"missing"}, "a")}, tsdb::Labels({{"a", "1"}, {"b", "2"}}));
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, tsdb::Labels({{"b", "2"}}));
}

TEST(RelabelReplaceTest, EmptyResultWithTemplatedTargetDeletesNothing) {
  // Prometheus 2.42 deletes the unexpanded target_label ("${1}"), which never exists.
  auto out =
      Apply({Replace({"foo"}, "${1}", "(.*)", "")}, tsdb::Labels({{"foo", "bar"}, {"bar", "x"}}));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->Get("bar"), "x");
}

TEST(RelabelReplaceTest, TargetLabelIsExpanded) {
  auto out = Apply({Replace({"foo"}, "${1}_x", "(.*)", "v")}, tsdb::Labels({{"foo", "abc"}}));
  EXPECT_EQ(out->Get("abc_x"), "v");
}

TEST(RelabelReplaceTest, InvalidTargetAfterExpansionIsSkipped) {
  auto out = Apply({Replace({"foo"}, "${1}")}, tsdb::Labels({{"foo", "1abc"}, {"keep", "y"}}));
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, tsdb::Labels({{"foo", "1abc"}, {"keep", "y"}}));
  out = Apply({Replace({"foo"}, "x_${1}")}, tsdb::Labels({{"foo", "a-b"}}));
  EXPECT_EQ(*out, tsdb::Labels({{"foo", "a-b"}}));
}

TEST(RelabelReplaceTest, ExpansionFollowsGoRegexpExpand) {
  // Cases checked against Prometheus 2.42 (job J-expand of the oracle configuration).
  const std::string re = "(?P<first>a)(b)(c)";
  const tsdb::Labels in({{"foo", "abc"}});
  auto expand = [&](std::string replacement) {
    auto out = Apply({Replace({"foo"}, "t", re, std::move(replacement))}, in);
    return std::string(out->Get("t"));
  };
  EXPECT_EQ(expand("$1x"), "");  // the group named "1x"
  EXPECT_EQ(expand("${1}x"), "ax");
  EXPECT_EQ(expand("$first-$$-${3}"), "a-$-c");
  EXPECT_EQ(expand("$ {1} $"), "$ {1} $");
  EXPECT_EQ(expand("${1 }|$9|$01|${first}"), "${1 }|||a");
  EXPECT_EQ(expand("$"), "$");
  EXPECT_EQ(expand("${}"), "${}");
  EXPECT_EQ(expand("$0"), "abc");
  EXPECT_EQ(expand("${2}${2}"), "bb");
}

TEST(RelabelReplaceTest, NonParticipatingGroupExpandsToEmpty) {
  auto out = Apply({Replace({"foo"}, "t", "abc|(z)", "[$1]")}, tsdb::Labels({{"foo", "abc"}}));
  EXPECT_EQ(out->Get("t"), "[]");
}

TEST(RelabelReplaceTest, RegexIsWrappedAsPrometheusWrapsIt) {
  // "^(?:a)|(b)$": the first alternative is anchored only at the start, as in Prometheus.
  auto out = Apply({Replace({"foo"}, "t", "a)|(b", "inj")}, tsdb::Labels({{"foo", "abc"}}));
  EXPECT_EQ(out->Get("t"), "inj");
}

TEST(RelabelReplaceTest, DotDoesNotMatchNewline) {
  // Prometheus 2.42 compiles without the s flag: "(.*)" does not match a value with '\n'.
  auto out = Apply({Replace({"foo"}, "copied"), Replace({"foo"}, "dot", "a.b", "matched")},
                   tsdb::Labels({{"foo", "a\nb"}}));
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->Has("copied"));
  EXPECT_FALSE(out->Has("dot"));
  // The flag can still be given explicitly.
  out = Apply({Replace({"foo"}, "dot", "(?s)a.b", "matched")}, tsdb::Labels({{"foo", "a\nb"}}));
  EXPECT_EQ(out->Get("dot"), "matched");
}

TEST(RelabelReplaceTest, LiteralReplacementSetsConstant) {
  RelabelRule r;
  r.target_label = "env";
  r.replacement = "prod";
  auto out = Apply({r}, tsdb::Labels({{"a", "1"}}));
  EXPECT_EQ(out->Get("env"), "prod");
}

TEST(RelabelReplaceTest, RulesSeeEarlierRulesOutput) {
  auto out = Apply({Replace({"a"}, "b"), Replace({"b"}, "c", "(.*)", "${1}${1}")},
                   tsdb::Labels({{"a", "x"}}));
  EXPECT_EQ(out->Get("c"), "xx");
}

TEST(RelabelKeepDropTest, KeepAndDrop) {
  RelabelRule keep = Rule(RelabelAction::kKeep);
  keep.source_labels = {"__name__"};
  keep.regex = "node_(cpu|load1)";
  EXPECT_TRUE(Apply({keep}, tsdb::Labels({{"__name__", "node_load1"}})));
  EXPECT_FALSE(Apply({keep}, tsdb::Labels({{"__name__", "node_load15"}})));
  EXPECT_FALSE(Apply({keep}, tsdb::Labels({{"x", "y"}})));

  RelabelRule drop = Rule(RelabelAction::kDrop);
  drop.source_labels = {"__name__"};
  drop.regex = "go_.*";
  EXPECT_FALSE(Apply({drop}, tsdb::Labels({{"__name__", "go_goroutines"}})));
  EXPECT_TRUE(Apply({drop}, tsdb::Labels({{"__name__", "up"}})));

  // Absent source: the value is "", which the default regex matches.
  RelabelRule drop_default = Rule(RelabelAction::kDrop);
  drop_default.source_labels = {"missing"};
  EXPECT_FALSE(Apply({drop_default}, tsdb::Labels({{"a", "b"}})));
}

TEST(RelabelKeepDropTest, DroppedLabelsAreLeftUnchanged) {
  std::vector<RelabelRule> rules = {Replace({"a"}, "b"), Rule(RelabelAction::kDrop)};
  rules[1].source_labels = {"a"};
  for (RelabelRule& r : rules) ASSERT_TRUE(r.Compile().ok());
  tsdb::Labels labels({{"a", "1"}});
  EXPECT_FALSE(Relabel(rules, &labels));
  EXPECT_EQ(labels, tsdb::Labels({{"a", "1"}}));
}

TEST(RelabelKeepDropTest, KeepEqualAndDropEqual) {
  RelabelRule keq = Rule(RelabelAction::kKeepEqual);
  keq.source_labels = {"a"};
  keq.target_label = "b";
  EXPECT_TRUE(Apply({keq}, tsdb::Labels({{"a", "1"}, {"b", "1"}})));
  EXPECT_FALSE(Apply({keq}, tsdb::Labels({{"a", "1"}, {"b", "2"}})));
  EXPECT_FALSE(Apply({keq}, tsdb::Labels({{"a", "1"}})));
  EXPECT_TRUE(Apply({keq}, tsdb::Labels({{"c", "1"}})));  // both absent: "" == ""

  RelabelRule deq = Rule(RelabelAction::kDropEqual);
  deq.source_labels = {"a"};
  deq.target_label = "b";
  EXPECT_FALSE(Apply({deq}, tsdb::Labels({{"a", "1"}, {"b", "1"}})));
  EXPECT_TRUE(Apply({deq}, tsdb::Labels({{"a", "1"}, {"b", "2"}})));

  // Several sources are joined before the comparison.
  RelabelRule multi = Rule(RelabelAction::kKeepEqual);
  multi.source_labels = {"a", "b"};
  multi.target_label = "c";
  EXPECT_TRUE(Apply({multi}, tsdb::Labels({{"a", "1"}, {"b", "2"}, {"c", "1;2"}})));
}

TEST(RelabelHashModTest, UsesLastEightBytesOfMd5BigEndian) {
  // md5("foo") = acbd18db4cc2f85c edef654fccc4a4d8.
  EXPECT_EQ(HashModSum64("foo"), 0xedef654fccc4a4d8ULL);
  // md5("") = d41d8cd98f00b204 e9800998ecf8427e.
  EXPECT_EQ(HashModSum64(""), 0xe9800998ecf8427eULL);
}

TEST(RelabelHashModTest, MatchesPrometheus) {
  // Values read from a Prometheus 2.42's targets (oracle job C-hashmod).
  auto hashmod = [](std::vector<std::string> sources, uint64_t modulus, std::string target) {
    RelabelRule r = Rule(RelabelAction::kHashMod);
    r.source_labels = std::move(sources);
    r.modulus = modulus;
    r.target_label = std::move(target);
    return r;
  };
  auto out =
      Apply({hashmod({"foo"}, 1000, "m1000"), hashmod({"foo"}, 18446744073709551615ULL, "mbig"),
             hashmod({"__address__"}, 7, "maddr"), hashmod({"nothing"}, 1000000007, "mempty")},
            tsdb::Labels({{"__address__", "h:3"}, {"foo", "foo"}}));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->Get("m1000"), "696");
  EXPECT_EQ(out->Get("mbig"), "17145033699835028696");
  EXPECT_EQ(out->Get("maddr"), "4");
  EXPECT_EQ(out->Get("mempty"), "493334464");
}

TEST(RelabelLabelMapTest, CopiesMatchingNames) {
  RelabelRule r = Rule(RelabelAction::kLabelMap);
  r.regex = "__meta_kubernetes_pod_label_(.+)";
  auto out = Apply({r}, tsdb::Labels({{"__meta_kubernetes_pod_label_app", "web"},
                                      {"__meta_kubernetes_pod_label_tier", "front"},
                                      {"__meta_other", "x"}}));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->Get("app"), "web");
  EXPECT_EQ(out->Get("tier"), "front");
  EXPECT_EQ(out->Get("__meta_kubernetes_pod_label_app"), "web");  // kept
  EXPECT_FALSE(out->Has("other"));
}

TEST(RelabelLabelMapTest, WorksOnASnapshot) {
  // Oracle job I-labelmap-chain: a label added by the rule is not matched again by it, and each
  // rule sees the values as they were when it started.
  RelabelRule first = Rule(RelabelAction::kLabelMap);
  first.regex = "(.)_x";
  first.replacement = "${1}_y";
  RelabelRule second = Rule(RelabelAction::kLabelMap);
  second.regex = "a_(.)";
  second.replacement = "b_${1}";
  auto out = Apply({first, second}, tsdb::Labels({{"a_x", "1"}, {"b_x", "2"}}));
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, tsdb::Labels({{"a_x", "1"}, {"a_y", "1"}, {"b_x", "1"}, {"b_y", "1"}}));
}

TEST(RelabelLabelMapTest, InvalidResultingNamesAreSkipped) {
  // Deliberate difference: Prometheus 2.42 would store a label named "1".
  RelabelRule r = Rule(RelabelAction::kLabelMap);
  r.regex = "x(.*)";
  auto out = Apply({r}, tsdb::Labels({{"x1", "one"}, {"xa", "aa"}, {"x_", "under"}}));
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, tsdb::Labels(
                      {{"_", "under"}, {"a", "aa"}, {"x1", "one"}, {"x_", "under"}, {"xa", "aa"}}));
}

TEST(RelabelLabelDropKeepTest, DropAndKeepByName) {
  RelabelRule drop = Rule(RelabelAction::kLabelDrop);
  drop.regex = "tmp_.*";
  auto out = Apply({drop}, tsdb::Labels({{"tmp_a", "1"}, {"tmp_b", "2"}, {"keep", "3"}}));
  EXPECT_EQ(*out, tsdb::Labels({{"keep", "3"}}));

  RelabelRule keep = Rule(RelabelAction::kLabelKeep);
  keep.regex = "__name__|job|instance";
  out = Apply({keep},
              tsdb::Labels({{"__name__", "up"}, {"job", "j"}, {"pod", "p"}, {"instance", "i"}}));
  EXPECT_EQ(*out, tsdb::Labels({{"__name__", "up"}, {"instance", "i"}, {"job", "j"}}));

  // Names are matched whole.
  RelabelRule partial = Rule(RelabelAction::kLabelDrop);
  partial.regex = "tmp";
  out = Apply({partial}, tsdb::Labels({{"tmp_a", "1"}}));
  EXPECT_EQ(*out, tsdb::Labels({{"tmp_a", "1"}}));
}

TEST(RelabelCaseTest, LowercaseAndUppercase) {
  RelabelRule low = Rule(RelabelAction::kLowercase);
  low.source_labels = {"foo"};
  low.target_label = "low";
  RelabelRule up = Rule(RelabelAction::kUppercase);
  up.source_labels = {"foo"};
  up.target_label = "up";
  // Oracle job F-case.
  auto out = Apply({low, up}, tsdb::Labels({{"foo", "ÉaBc-ß-İ"}}));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->Get("low"), "éabc-ß-i");
  EXPECT_EQ(out->Get("up"), "ÉABC-ß-İ");

  // Invalid UTF-8 becomes U+FFFD, as Go's strings.ToLower does.
  out = Apply({low}, tsdb::Labels({{"foo", "A\xff"}}));
  EXPECT_EQ(out->Get("low"), "a\xef\xbf\xbd");

  // An empty value deletes the target.
  out = Apply({low}, tsdb::Labels({{"low", "old"}}));
  EXPECT_FALSE(out->Has("low"));
}

TEST(RelabelValidateTest, PrometheusErrors) {
  auto error = [](RelabelRule r) { return std::string(r.Compile().message()); };
  RelabelRule r = Rule(RelabelAction::kReplace);
  EXPECT_EQ(error(r), "relabel configuration for replace action requires 'target_label' value");
  r = Rule(RelabelAction::kHashMod);
  r.target_label = "t";
  EXPECT_EQ(error(r), "relabel configuration for hashmod requires non-zero modulus");
  r = Rule(RelabelAction::kReplace);
  r.target_label = "1bad";
  EXPECT_EQ(error(r), "\"1bad\" is invalid 'target_label' for replace action");
  r.target_label = "a-b";
  EXPECT_EQ(error(r), "\"a-b\" is invalid 'target_label' for replace action");
  r.target_label = "${1}_ok";
  EXPECT_TRUE(r.Compile().ok());
  r = Rule(RelabelAction::kLowercase);
  r.target_label = "t";
  r.replacement = "x";
  EXPECT_EQ(error(r), "'replacement' can not be set for lowercase action");
  r = Rule(RelabelAction::kLabelMap);
  r.replacement = "a-b";
  EXPECT_EQ(error(r), "\"a-b\" is invalid 'replacement' for labelmap action");
  r = Rule(RelabelAction::kKeepEqual);
  r.target_label = "t";
  r.separator = ",";
  EXPECT_EQ(error(r),
            "keepequal action requires only 'source_labels' and `target_label`, and no other "
            "fields");
  r = Rule(RelabelAction::kLabelDrop);
  r.source_labels = {"a"};
  EXPECT_EQ(error(r), "labeldrop action requires only 'regex', and no other fields");
  r = Rule(RelabelAction::kKeep);
  r.source_labels = {"bad-name"};
  EXPECT_EQ(error(r), "\"bad-name\" is not a valid label name");
  r = Rule(RelabelAction::kKeep);
  r.regex = "(unclosed";
  EXPECT_THAT(error(r), HasSubstr("invalid regex \"(unclosed\""));
  EXPECT_FALSE(r.compiled());
}

TEST(RelabelValidateTest, UncompiledRulesAreSkipped) {
  std::vector<RelabelRule> rules = {Rule(RelabelAction::kDrop)};  // would drop everything
  tsdb::Labels labels({{"a", "1"}});
  EXPECT_TRUE(Relabel(rules, &labels));
  EXPECT_EQ(labels, tsdb::Labels({{"a", "1"}}));
}

TEST(RelabelValidateTest, CompileRulesNamesTheIndex) {
  std::vector<RelabelRule> rules = {Replace({"a"}, "b"), Rule(RelabelAction::kReplace)};
  absl::Status st = CompileRelabelRules(&rules);
  EXPECT_THAT(std::string(st.message()), HasSubstr("relabel rule 1: "));
  EXPECT_TRUE(rules[0].compiled());
}

TEST(RelabelValidateTest, CopiesShareCompiledState) {
  RelabelRule r = Replace({"a"}, "b");
  ASSERT_TRUE(r.Compile().ok());
  RelabelRule copy = r;
  EXPECT_TRUE(copy.compiled());
  EXPECT_TRUE(copy.Matches("anything"));
  EXPECT_FALSE(copy.Matches("with\nnewline"));
}

TEST(LabelBuilderTest, SetGetDelKeepOrder) {
  LabelBuilder b(tsdb::Labels({{"b", "2"}}));
  b.Set("a", "1");
  b.Set("c", "3");
  b.Set("b", "22");
  EXPECT_EQ(b.Get("b"), "22");
  EXPECT_EQ(b.Get("zz"), "");
  b.Set("c", "");  // empty deletes
  b.Del("missing");
  EXPECT_EQ(b.Labels(), tsdb::Labels({{"a", "1"}, {"b", "22"}}));
  tsdb::Labels taken = b.TakeLabels();
  EXPECT_EQ(taken.size(), 2u);
  EXPECT_EQ(b.size(), 0u);
  b.Reset(taken);
  EXPECT_EQ(b.size(), 2u);
}

TEST(ExpandTemplateTest, GoExpandRules) {
  const std::vector<std::optional<std::string_view>> groups = {"abc", "a", std::nullopt};
  const std::vector<std::string> names = {"", "first", ""};
  EXPECT_EQ(ExpandTemplate("$1-$first-${2}-$3-$$", groups, names), "a-a---$");
  EXPECT_EQ(ExpandTemplate("${first}x$firstx", groups, names), "ax");
  EXPECT_EQ(ExpandTemplate("no refs", groups, names), "no refs");
  EXPECT_EQ(ExpandTemplate("$é", groups, names), "");  // a (non-existent) Unicode name
}

}  // namespace
}  // namespace scrape
