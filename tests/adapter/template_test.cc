// Tests of the rule template engine (adapter/rules/template.h): Go text/template semantics with
// "<<" ">>" delimiters, Go's fmt printing, errors with line:column, and the query templates of
// prometheus-adapter's documentation rendering the queries it shows.
#include "adapter/rules/template.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace {

using rules::Template;
using rules::TemplateData;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// prometheus-adapter's query template arguments.
const std::vector<std::string> kQueryFields = {"Series", "LabelMatchers", "LabelValuesByName",
                                               "GroupBy", "GroupBySlice"};

TemplateData QueryData() {
  return TemplateData{
      {"Series", std::string("http_requests_total")},
      {"LabelMatchers", std::string("namespace=\"somens\",pod=~\"p1|p2\"")},
      {"LabelValuesByName",
       std::map<std::string, std::string>{{"namespace", "somens"}, {"pod", "p1|p2"}}},
      {"GroupBy", std::string("pod")},
      {"GroupBySlice", std::vector<std::string>{"pod"}},
  };
}

// A field set for the language tests.
const std::vector<std::string> kFields = {"Str", "EmptyStr", "List",    "Empty",
                                          "Map", "EmptyMap", "Missing", "Quote"};

TemplateData Data() {
  return TemplateData{
      {"Str", std::string("hello")},
      {"EmptyStr", std::string("")},
      {"List", std::vector<std::string>{"a", "b", "c"}},
      {"Empty", std::vector<std::string>{}},
      {"Map", std::map<std::string, std::string>{{"y", "2"}, {"x", "1"}}},
      {"EmptyMap", std::map<std::string, std::string>{}},
      {"Quote", std::string("a \"q\"\n")},
  };
}

// Renders text with data; parse and execution errors come back as "ERROR: <message>".
std::string Render(std::string_view text, const TemplateData& data = Data(),
                   const std::vector<std::string>& fields = kFields) {
  absl::StatusOr<Template> t = Template::Parse(text, fields);
  if (!t.ok()) return "ERROR: " + std::string(t.status().message());
  absl::StatusOr<std::string> out = t->Execute(data);
  if (!out.ok()) return "ERROR: " + std::string(out.status().message());
  return *out;
}

std::string ParseError(std::string_view text, const std::vector<std::string>& fields = kFields) {
  absl::StatusOr<Template> t = Template::Parse(text, fields);
  if (t.ok()) return "(parsed)";
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(t.status().message());
}

std::string ExecError(std::string_view text, const TemplateData& data = Data(),
                      const std::vector<std::string>& fields = kFields) {
  absl::StatusOr<Template> t = Template::Parse(text, fields);
  if (!t.ok()) return "(parse error) " + std::string(t.status().message());
  absl::StatusOr<std::string> out = t->Execute(data);
  if (out.ok()) return "(executed) " + *out;
  return std::string(out.status().message());
}

TEST(RuleTemplateTest, TextAndFields) {
  EXPECT_EQ(Render(""), "");
  EXPECT_EQ(Render("plain text"), "plain text");
  EXPECT_EQ(Render("<<.Str>>"), "hello");
  EXPECT_EQ(Render("a\n <<.Str>> \n\tb\n"), "a\n hello \n\tb\n");
  EXPECT_EQ(Render("[<<.Missing>>]"), "[]");  // declared, absent from the data
  EXPECT_EQ(Render("<<$.Str>>"), "hello");
  EXPECT_EQ(Render("<<.Map.x>><<.Map.y>>"), "12");
  EXPECT_EQ(Render("[<<.Map.nope>>]"), "[]");  // a missing map key reads as ""
  EXPECT_EQ(Render("a > b >> c"), "a > b >> c");
  EXPECT_EQ(Render("<<.Str>>>"), "hello>");
  // Actions may span lines (Go 1.16).
  EXPECT_EQ(Render("<<if\n  .Str\r\n>>yes<<end>>"), "yes");
  EXPECT_EQ(Render("<<print\n1\n2>>"), "1 2");
}

TEST(RuleTemplateTest, GoPrinting) {
  EXPECT_EQ(Render("<<.List>>"), "[a b c]");
  EXPECT_EQ(Render("<<.Empty>>"), "[]");
  EXPECT_EQ(Render("<<.Map>>"), "map[x:1 y:2]");  // sorted keys
  EXPECT_EQ(Render("<<.EmptyMap>>"), "map[]");
  EXPECT_EQ(Render("<<true>> <<false>>"), "true false");
  EXPECT_EQ(Render("<<42>> <<-7>> <<+3>> <<0x1F>> <<0o17>> <<017>> <<0b101>> <<1_000>>"),
            "42 -7 3 31 15 15 5 1000");
  EXPECT_EQ(Render("<<'a'>> <<'\\n'>>"), "97 10");
  EXPECT_EQ(Render("<<1.5>> <<1.0>> <<1e6>> <<123456.0>> <<1234567.0>> <<0.0001>> <<0.00001>>"),
            "1.5 1 1e+06 123456 1.234567e+06 0.0001 1e-05");
  EXPECT_EQ(Render("<<\"tab\\tq\\\"\\x41\\u00e9\">>"), "tab\tq\"A\xC3\xA9");
  EXPECT_EQ(Render("<<`raw \\n`>>"), "raw \\n");
}

TEST(RuleTemplateTest, Variables) {
  EXPECT_EQ(Render("<<$x := .Str>><<$x>>-<<$x>>"), "hello-hello");
  EXPECT_EQ(Render("<<$x := 1>><<$x = 2>><<$x>>"), "2");
  EXPECT_EQ(Render("<<$x := .Map>><<$x.y>>"), "2");
  EXPECT_EQ(Render("<<with .Map>><<$.Str>><<end>>"), "hello");
  // Assignment inside a range changes the outer variable.
  EXPECT_EQ(Render("<<$last := \"\">><<range .List>><<$last = .>><<end>><<$last>>"), "c");
  // A variable declared inside a control ends with it.
  EXPECT_THAT(ParseError("<<if true>><<$y := 1>><<end>><<$y>>"),
              HasSubstr("undefined variable \"$y\""));
  EXPECT_EQ(ParseError("<<$x>>"), "1:3: undefined variable \"$x\"");
  EXPECT_THAT(ParseError("<<$x = 1>>"), HasSubstr("undefined variable \"$x\""));
}

TEST(RuleTemplateTest, IfElse) {
  EXPECT_EQ(Render("<<if .Str>>yes<<end>>"), "yes");
  EXPECT_EQ(Render("<<if .EmptyStr>>yes<<else>>no<<end>>"), "no");
  EXPECT_EQ(Render("<<if .EmptyStr>>a<<else if .Empty>>b<<else if .Str>>c<<else>>d<<end>>"), "c");
  EXPECT_EQ(Render("<<if .EmptyStr>>a<<else if .Empty>>b<<else>>d<<end>>"), "d");
  // Truthiness: empty string/slice/map, false, 0 are false.
  const char* falsy[] = {"false",     "0",         "0.0",      "\"\"",     ".Empty",
                         ".EmptyMap", ".EmptyStr", ".Missing", ".Map.nope"};
  for (const char* v : falsy) {
    EXPECT_EQ(Render(std::string("<<if ") + v + ">>t<<else>>f<<end>>"), "f") << v;
  }
  const char* truthy[] = {"true", "1", "-1", "0.5", "\"x\"", ".List", ".Map", ".", "$"};
  for (const char* v : truthy) {
    EXPECT_EQ(Render(std::string("<<if ") + v + ">>t<<else>>f<<end>>"), "t") << v;
  }
  EXPECT_EQ(Render("<<if $v := .Str>><<$v>><<else>>none<<end>>"), "hello");
}

TEST(RuleTemplateTest, Range) {
  EXPECT_EQ(Render("<<range .List>><<.>><<end>>"), "abc");
  EXPECT_EQ(Render("<<range $i, $v := .List>><<$i>>=<<$v>>,<<end>>"), "0=a,1=b,2=c,");
  EXPECT_EQ(Render("<<range $v := .List>><<$v>><<end>>"), "abc");
  EXPECT_EQ(Render("<<range $k, $v := .Map>><<$k>>:<<$v>> <<end>>"), "x:1 y:2 ");
  EXPECT_EQ(Render("<<range .Map>><<.>><<end>>"), "12");
  EXPECT_EQ(Render("<<range .Empty>>x<<else>>none<<end>>"), "none");
  EXPECT_EQ(Render("<<range .EmptyMap>>x<<else>>none<<end>>"), "none");
  EXPECT_EQ(Render("<<range .List>><<.>><<else>>none<<end>>"), "abc");
  EXPECT_EQ(Render("<<range .List>><<if eq . \"b\">><<continue>><<end>><<.>><<end>>"), "ac");
  EXPECT_EQ(Render("<<range .List>><<if eq . \"b\">><<break>><<end>><<.>><<end>>"), "a");
  EXPECT_EQ(Render("<<range .List>><<range $.Map>><<.>><<break>><<end>><<end>>"), "111");
  EXPECT_EQ(Render("<<range 3>><<.>><<end>>"), "012");  // Go 1.22 range over int
  // The else of an inner range breaks the outer one.
  EXPECT_EQ(Render("<<range .List>><<.>><<range $.Empty>><<else>><<break>><<end>><<end>>"), "a");
  EXPECT_EQ(Render("<<range .List>><<range $.Empty>><<else>><<continue>><<end>>x<<end>>"), "");
  EXPECT_EQ(Render("<<range $i, $v := .List>><<if $i>>,<<end>><<$v>><<end>>"), "a,b,c");
  // "." is the element; fields of a string are an execution error.
  EXPECT_EQ(ExecError("<<range .List>><<.Str>><<end>>"),
            "1:18: can't evaluate field Str in type string");
  EXPECT_EQ(ExecError("<<range .Str>><<end>>"), "1:1: range can't iterate over hello");
  EXPECT_EQ(ParseError("<<break>>"), "1:1: <<break>> outside <<range>>");
  EXPECT_EQ(ParseError("<<range .List>><<else>><<continue>><<end>>"),
            "1:24: <<continue>> outside <<range>>");
  EXPECT_EQ(ParseError("<<if $a, $b := .List>><<end>>"), "1:8: too many declarations in if");
}

TEST(RuleTemplateTest, With) {
  EXPECT_EQ(Render("<<with .Str>>[<<.>>]<<end>>"), "[hello]");
  EXPECT_EQ(Render("<<with .EmptyStr>>x<<else>>y<<end>>"), "y");
  EXPECT_EQ(Render("<<with .EmptyStr>>x<<else with .List>><<index . 2>><<end>>"), "c");
  EXPECT_EQ(Render("<<with $m := .Map>><<.x>><<$m.y>><<end>>"), "12");
  // Inside "with", "." is the map: its keys are not checked against the field set.
  EXPECT_EQ(Render("<<with .LabelValuesByName>><<.pod>><<end>>", QueryData(), kQueryFields),
            "p1|p2");
}

TEST(RuleTemplateTest, PipelinesAndParentheses) {
  EXPECT_EQ(Render("<<.Str | printf \"%s!\">>"), "hello!");
  EXPECT_EQ(Render("<<\"a\" | print \"b\">>"), "ba");
  EXPECT_EQ(Render("<<.List | len>>"), "3");
  EXPECT_EQ(Render("<<.List | len | printf \"%d items\">>"), "3 items");
  EXPECT_EQ(Render("<<print (len .List) (index .List 1)>>"), "3b");
  EXPECT_EQ(Render("<<(index .List 0)>>"), "a");
  EXPECT_EQ(Render("<<(.Map).x>>"), "1");
  EXPECT_EQ(Render("<<printf \"%s-%s\" (.Str | printf \"<%s>\") (print 1 2)>>"), "<hello>-1 2");
  EXPECT_EQ(ParseError("<<\"a\" | \"b\">>"), "1:9: non executable command in pipeline stage 2");
  EXPECT_EQ(ParseError("<<.Str \"x\">>"), "1:3: can't give argument to non-function .Str");
  EXPECT_EQ(ParseError("<<\"x\" | .Str>>"), "1:9: can't give argument to non-function .Str");
  EXPECT_EQ(ParseError("<<.Str |>>"), "1:9: missing command after |");
  EXPECT_EQ(ParseError("<<(.Str>>"), "1:8: unclosed left paren");
  EXPECT_EQ(ParseError("<<.Str)>>"), "1:7: unexpected right paren");
  EXPECT_EQ(ParseError("<<()>>"), "1:4: missing value for parenthesized pipeline");
  EXPECT_EQ(ParseError("<<if>>x<<end>>"), "1:5: missing value for if");
  EXPECT_EQ(ParseError("<<>>"), "1:3: missing value for command");
}

TEST(RuleTemplateTest, IndexAndLen) {
  EXPECT_EQ(Render("<<index .List 1>>"), "b");
  EXPECT_EQ(Render("<<index .Map \"y\">>"), "2");
  EXPECT_EQ(Render("[<<index .Map \"zz\">>]"), "[]");
  EXPECT_EQ(Render("<<index .List>>"), "[a b c]");
  EXPECT_EQ(Render("<<index .Str 1>>"), "101");  // a byte, as in Go
  EXPECT_EQ(Render("<<len .Str>> <<len .Map>> <<len .Empty>>"), "5 2 0");
  EXPECT_EQ(ExecError("<<index .List 3>>"), "1:3: error calling index: index out of range: 3");
  EXPECT_EQ(ExecError("<<index .List -1>>"), "1:3: error calling index: index out of range: -1");
  EXPECT_EQ(ExecError("<<index .List \"a\">>"),
            "1:3: error calling index: cannot index slice/array with type string");
  EXPECT_EQ(ExecError("<<index .Map 1>>"),
            "1:3: error calling index: value has type int; should be string");
  EXPECT_EQ(ExecError("<<index true 1>>"),
            "1:3: error calling index: can't index item of type bool");
  EXPECT_EQ(ExecError("<<len 3>>"), "1:3: error calling len: len of type int");
  EXPECT_EQ(ParseError("<<len>>"), "1:3: wrong number of args for len: want 1 got 0");
  EXPECT_EQ(ParseError("<<len .List .Str>>"), "1:3: wrong number of args for len: want 1 got 2");
  EXPECT_EQ(ParseError("<<.List | index>>"), "(parsed)");
}

TEST(RuleTemplateTest, Comparisons) {
  EXPECT_EQ(Render("<<eq .Str \"x\" \"hello\">>"), "true");
  EXPECT_EQ(Render("<<eq .Str \"x\" \"y\">>"), "false");
  EXPECT_EQ(Render("<<eq 1 1>> <<eq 1 2>> <<eq true true>> <<eq 1.5 1.5>>"),
            "true false true true");
  EXPECT_EQ(Render("<<ne 1 2>> <<ne \"a\" \"a\">>"), "true false");
  EXPECT_EQ(Render("<<lt 1 2>> <<lt 2 1>> <<le 2 2>> <<gt \"b\" \"a\">> <<ge 1 2>> <<ge 2 2>>"),
            "true false true true false true");
  EXPECT_EQ(Render("<<lt 1.5 2.5>> <<gt .Str \"abc\">>"), "true true");
  EXPECT_EQ(ExecError("<<eq 1 \"a\">>"),
            "1:3: error calling eq: incompatible types for comparison");
  EXPECT_EQ(ExecError("<<eq 1 1.0>>"), "1:3: error calling eq: incompatible types for comparison");
  EXPECT_EQ(ExecError("<<lt true false>>"), "1:3: error calling lt: invalid type for comparison");
  EXPECT_THAT(ExecError("<<eq .List .List>>"), HasSubstr("error calling eq: uncomparable type"));
  EXPECT_EQ(ExecError("<<eq 1>>"), "1:3: error calling eq: missing argument for comparison");
  // eq stops at the first match.
  EXPECT_EQ(Render("<<eq 1 1 \"x\">>"), "true");
  EXPECT_EQ(ParseError("<<ne 1>>"), "1:3: wrong number of args for ne: want 2 got 1");
}

TEST(RuleTemplateTest, Logic) {
  EXPECT_EQ(Render("<<and 1 0 2>>"), "0");
  EXPECT_EQ(Render("<<and 1 2>>"), "2");
  EXPECT_EQ(Render("<<and .Str .List>>"), "[a b c]");
  EXPECT_EQ(Render("<<or 0 \"\" \"x\">>"), "x");
  EXPECT_EQ(Render("[<<or 0 \"\">>]"), "[]");
  EXPECT_EQ(Render("<<or .EmptyStr .Str>>"), "hello");
  EXPECT_EQ(Render("<<not .EmptyStr>> <<not .Str>> <<not 0>>"), "true false true");
  // and/or evaluate only as far as needed.
  EXPECT_EQ(Render("<<or 1 (index .List 10)>>"), "1");
  EXPECT_EQ(Render("<<and 0 (index .List 10)>>"), "0");
  EXPECT_THAT(ExecError("<<and 1 (index .List 10)>>"), HasSubstr("index out of range: 10"));
  EXPECT_EQ(Render("<<.Str | and 1>>"), "hello");
  EXPECT_EQ(Render("<<if and .Str (not .EmptyStr)>>ok<<end>>"), "ok");
  EXPECT_EQ(ParseError("<<not>>"), "1:3: wrong number of args for not: want 1 got 0");
}

TEST(RuleTemplateTest, PrintFunctions) {
  EXPECT_EQ(Render("<<print 1 2>>"), "1 2");
  EXPECT_EQ(Render("<<print \"a\" \"b\">>"), "ab");
  EXPECT_EQ(Render("<<print \"a\" 1 2 \"b\" true>>"), "a1 2btrue");
  EXPECT_EQ(Render("<<print .List .Map>>"), "[a b c] map[x:1 y:2]");
  EXPECT_EQ(Render("<<print>>"), "");
  EXPECT_EQ(Render("<<println \"a\" 1>>"), "a 1\n");
  EXPECT_EQ(Render("<<println>>"), "\n");
  EXPECT_EQ(Render("<<printf \"%s-%d-%v-%q-%%\" \"a\" 5 .List \"x\">>"), "a-5-[a b c]-\"x\"-%");
  EXPECT_EQ(Render("<<printf \"%q\" .Quote>>"), "\"a \\\"q\\\"\\n\"");
  EXPECT_EQ(Render("<<printf \"%q\" .List>>"), "[\"a\" \"b\" \"c\"]");
  EXPECT_EQ(Render("<<printf \"%v|%s\" .Map .Map>>"), "map[x:1 y:2]|map[x:1 y:2]");
  EXPECT_EQ(Render("<<printf \"%5s|%-5s|%05d|%x|%X|%.2f|%t|%c|%o|%b\" \"ab\" \"cd\" 42 255 255 "
                   "3.14159 true 65 8 5>>"),
            "   ab|cd   |00042|ff|FF|3.14|true|A|10|101");
  EXPECT_EQ(Render("<<printf \"%+d|% d|%#x|%.3s|%6.2f|%e|%g|%v\" 5 5 255 \"abcdef\" 3.14159 "
                   "1234.5678 0.5 2.5>>"),
            "+5| 5|0xff|abc|  3.14|1.234568e+03|0.5|2.5");
  EXPECT_EQ(Render("<<printf \"%*d|%-*d|\" 4 7 3 8>>"), "   7|8  |");
  // Go's inline formatting errors.
  EXPECT_EQ(Render("<<printf \"%d\" \"x\">>"), "%!d(string=x)");
  EXPECT_EQ(Render("<<printf \"%s\" 3>>"), "%!s(int=3)");
  EXPECT_EQ(Render("<<printf \"%d\" .List>>"), "[%!d(string=a) %!d(string=b) %!d(string=c)]");
  EXPECT_EQ(Render("<<printf \"%s\">>"), "%!s(MISSING)");
  EXPECT_EQ(Render("<<printf \"%s\" \"a\" \"b\" 1>>"), "a%!(EXTRA string=b, int=1)");
  EXPECT_EQ(Render("<<printf \"x%\">>"), "x%!(NOVERB)");
  EXPECT_EQ(Render("<<printf \"%z\" 1>>"), "%!z(int=1)");
  EXPECT_EQ(Render("<<printf \"%v %s\" nil nil>>"), "<nil> %!s(<nil>)");
  EXPECT_EQ(ExecError("<<printf 1>>"), "1:3: wrong type for value; expected string; got int");
}

TEST(RuleTemplateTest, UrlqueryAndJoin) {
  EXPECT_EQ(Render("<<urlquery \"a b&c=d/\xC3\xA9~_.-\">>"), "a+b%26c%3Dd%2F%C3%A9~_.-");
  EXPECT_EQ(Render("<<urlquery \"a\" 1 2>>"), "a1+2");
  EXPECT_EQ(Render("<<.LabelMatchers | urlquery>>", QueryData(), kQueryFields),
            "namespace%3D%22somens%22%2Cpod%3D~%22p1%7Cp2%22");
  EXPECT_EQ(Render("<<join \",\" .List>>"), "a,b,c");
  EXPECT_EQ(Render("<<.List | join \"|\">>"), "a|b|c");
  EXPECT_EQ(Render("[<<join \",\" .Empty>>]"), "[]");
  EXPECT_EQ(ExecError("<<join \",\" .Str>>"),
            "1:3: error calling join: can't join a string; want []string");
  EXPECT_EQ(ExecError("<<join 1 .List>>"),
            "1:3: error calling join: separator must be a string, not int");
  EXPECT_EQ(ParseError("<<join \",\">>"), "1:3: wrong number of args for join: want 2 got 1");
}

TEST(RuleTemplateTest, CommentsAndTrimMarkers) {
  EXPECT_EQ(Render("a<</* comment */>>b"), "ab");
  EXPECT_EQ(Render("a<</* multi\nline */>>b"), "ab");
  EXPECT_EQ(Render("a \n<<- /* c */ ->>\n b"), "ab");
  EXPECT_EQ(Render("a  \n\t<<- .Str ->>  \n b"), "ahellob");
  EXPECT_EQ(Render("a  <<- .Str>>  b"), "ahello  b");
  EXPECT_EQ(Render("a  <<.Str ->>  b"), "a  hellob");
  EXPECT_EQ(Render("a <<-3>> b"), "a -3 b");  // no space after "-": a negative number
  EXPECT_EQ(Render("<<range .List ->>\n  <<.>>\n<<- end>>"), "abc");
  EXPECT_EQ(ParseError("<</* c */ x>>"), "1:1: comment ends before closing delimiter");
  EXPECT_EQ(ParseError("x <</* c"), "1:3: unclosed comment");
  EXPECT_EQ(ParseError("<<.Str->>"), "1:7: bad character U+002D '-'");
}

TEST(RuleTemplateTest, ParseErrorsWithPosition) {
  EXPECT_EQ(ParseError("<<.Series | toUpper>>", kQueryFields),
            "1:13: function \"toUpper\" not defined");
  EXPECT_EQ(ParseError("sum(<<.Serie>>)", kQueryFields),
            "1:7: can't evaluate field Serie (known: GroupBy, GroupBySlice, LabelMatchers, "
            "LabelValuesByName, Series)");
  EXPECT_EQ(ParseError("x\n  <<end>>"), "2:3: unexpected <<end>>");
  EXPECT_EQ(ParseError("<<else>>"), "1:1: unexpected <<else>>");
  EXPECT_EQ(ParseError("abc\n de <<.Str"), "2:5: unclosed action");
  EXPECT_EQ(ParseError("abc <<.Str\n>>x <<.Str"), "2:5: unclosed action");
  EXPECT_EQ(ParseError("<<if .Str>>x"), "1:13: unexpected EOF: <<if>> at 1:1 has no <<end>>");
  EXPECT_EQ(ParseError("<<\"abc>>"), "1:3: unterminated quoted string");
  EXPECT_EQ(ParseError("<<\"abc\n\">>"), "1:3: unterminated quoted string");
  EXPECT_EQ(ParseError("<<`abc>>"), "1:3: unterminated raw quoted string");
  EXPECT_EQ(ParseError("<<'a>>"), "1:3: unterminated character constant");
  EXPECT_EQ(ParseError("<<\"\\q\">>"), "1:3: invalid syntax in quoted string \"\\q\"");
  EXPECT_EQ(ParseError("<<define \"x\">>y<<end>>"),
            "1:3: <<define>> is not supported in rule templates");
  EXPECT_EQ(ParseError("<<template \"x\">>"),
            "1:3: <<template>> is not supported in rule templates");
  EXPECT_EQ(ParseError("<<block \"x\" .>>y<<end>>"),
            "1:3: <<block>> is not supported in rule templates");
  EXPECT_EQ(ParseError("<<html .Str>>"), "1:3: function \"html\" not defined");
  EXPECT_EQ(ParseError("<<.Map.x.y>>"), "1:3: can't evaluate field y in type string");
  EXPECT_EQ(ParseError("<<if .Str>>a<<else>>b<<else>>c<<end>>"),
            "1:22: expected <<end>>; found <<else>>");
  EXPECT_EQ(ParseError("<<range .List>>a<<else if .Str>>b<<end>>"),
            "1:17: unexpected <<else if>> in <<range>>");
  EXPECT_EQ(ParseError("<<3x>>"), "1:3: bad number syntax: \"3x\"");
  EXPECT_EQ(ParseError("<<99999999999999999999>>"),
            "1:3: integer overflow or illegal number syntax: \"99999999999999999999\"");
  EXPECT_EQ(ParseError("<<.Str # x>>"), "1:8: unexpected \"#\" in operand");
  EXPECT_EQ(ParseError("<<\x01>>"), "1:3: unrecognized character in action: U+0001");
  EXPECT_EQ(ParseError("<<nil>>"), "1:3: nil is not a command");
  EXPECT_EQ(ParseError("<<\"a\".x>>"), "1:6: unexpected . after term \"a\"");
  EXPECT_EQ(ParseError("<<if true>>\n\n  <<end>>\n <<end>>"), "4:2: unexpected <<end>>");
}

TEST(RuleTemplateTest, NestingIsBounded) {
  std::string ok = std::string(99, '(') + "1" + std::string(99, ')');
  EXPECT_EQ(Render("<<" + ok + ">>"), "1");
  std::string deep = std::string(101, '(') + "1" + std::string(101, ')');
  EXPECT_THAT(ParseError("<<" + deep + ">>"), HasSubstr("nesting too deep (limit 100)"));
  std::string ifs;
  for (int i = 0; i < 101; ++i) ifs += "<<if true>>";
  ifs += "x";
  for (int i = 0; i < 101; ++i) ifs += "<<end>>";
  EXPECT_THAT(ParseError(ifs), HasSubstr("nesting too deep"));
  // Very deep input fails cleanly instead of exhausting the stack.
  std::string huge = "<<" + std::string(100000, '(');
  EXPECT_THAT(ParseError(huge), StartsWith("1:"));
}

TEST(RuleTemplateTest, ExecutionIsBounded) {
  EXPECT_THAT(ExecError("<<range 100000000>><<end>>"), HasSubstr("execution exceeds"));
  EXPECT_THAT(ExecError("<<$x := \"ab\">><<range 100>><<$x = printf \"%s%s\" $x $x>><<end>>"),
              HasSubstr("execution produces more than"));
}

TEST(RuleTemplateTest, ExecutionErrorsWithPosition) {
  EXPECT_EQ(ExecError("a\nb <<index .GroupBySlice 5>>", QueryData(), kQueryFields),
            "2:5: error calling index: index out of range: 5");
  EXPECT_EQ(ExecError("<<.Str.foo>>"), "1:3: can't evaluate field foo in type string");
  EXPECT_EQ(ExecError("<<with .List>><<.x>><<end>>"),
            "1:17: can't evaluate field x in type []string");
  EXPECT_EQ(ExecError("<<with $>><<.Nope>><<end>>"),
            "1:13: can't evaluate field Nope (known: Empty, EmptyMap, EmptyStr, List, Map, "
            "Missing, Quote, Str)");
  EXPECT_EQ(ExecError("<<range $i, $v := 3>><<end>>"),
            "1:1: can't use 3 to iterate over more than one variable");
}

TEST(RuleTemplateTest, RootPrintsAsTheArgumentStruct) {
  TemplateData data = {{"Group", std::string("apps")}, {"Resource", std::string("deployment")}};
  EXPECT_EQ(Render("<<.>>", data, {"Group", "Resource"}), "{apps deployment}");
  EXPECT_EQ(Render("<<printf \"%+v\" .>>", data, {"Group", "Resource"}),
            "{Group:apps Resource:deployment}");
}

TEST(RuleTemplateTest, CopiesShareTheParsedTree) {
  absl::StatusOr<Template> t = Template::Parse("<<.Str>>!", kFields);
  ASSERT_TRUE(t.ok());
  Template copy = *t;
  Template moved = std::move(*t);
  EXPECT_EQ(copy.text(), "<<.Str>>!");
  EXPECT_EQ(*copy.Execute(Data()), "hello!");
  EXPECT_EQ(*moved.Execute(Data()), "hello!");
  copy = moved;
  EXPECT_EQ(*copy.Execute({}), "!");  // every field absent
}

// The templates of prometheus-adapter's documentation and default configuration.
TEST(RuleTemplateTest, PrometheusAdapterQueries) {
  EXPECT_EQ(Render("sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)", QueryData(),
                   kQueryFields),
            "sum(rate(http_requests_total{namespace=\"somens\",pod=~\"p1|p2\"}[2m])) by (pod)");
  EXPECT_EQ(Render("<<index .LabelValuesByName \"pod\">>", QueryData(), kQueryFields), "p1|p2");
  EXPECT_EQ(Render("<<.LabelValuesByName.namespace>>", QueryData(), kQueryFields), "somens");

  TemplateData counter = QueryData();
  counter["Series"] = std::string("container_cpu_usage_seconds_total");
  EXPECT_EQ(Render("sum(rate(<<.Series>>{<<.LabelMatchers>>,container!=\"POD\"}[5m])) by "
                   "(<<.GroupBy>>)",
                   counter, kQueryFields),
            "sum(rate(container_cpu_usage_seconds_total{namespace=\"somens\",pod=~\"p1|p2\","
            "container!=\"POD\"}[5m])) by (pod)");
  EXPECT_EQ(Render("sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)", counter, kQueryFields),
            "sum(container_cpu_usage_seconds_total{namespace=\"somens\",pod=~\"p1|p2\"}) by (pod)");

  // Resource rules: Series empty, GroupBy "<pod label>,<container label>".
  TemplateData resource = {
      {"Series", std::string("")},
      {"LabelMatchers", std::string("namespace=\"kube-system\",pod=~\"p1|p2\"")},
      {"LabelValuesByName",
       std::map<std::string, std::string>{{"namespace", "kube-system"}, {"pod", "p1|p2"}}},
      {"GroupBy", std::string("pod,container")},
      {"GroupBySlice", std::vector<std::string>{"pod", "container"}},
  };
  EXPECT_EQ(Render("sum by (<<.GroupBy>>) (irate(container_cpu_usage_seconds_total{<<."
                   "LabelMatchers>>,container!=\"\",pod!=\"\"}[4m]))",
                   resource, kQueryFields),
            "sum by (pod,container) (irate(container_cpu_usage_seconds_total{namespace=\"kube-"
            "system\",pod=~\"p1|p2\",container!=\"\",pod!=\"\"}[4m]))");
  EXPECT_EQ(Render("<<range $i, $v := .GroupBySlice>><<if $i>>,<<end>><<$v>><<end>>", resource,
                   kQueryFields),
            "pod,container");
  EXPECT_EQ(Render("<<join \",\" .GroupBySlice>>", resource, kQueryFields), "pod,container");
  TemplateData node = {{"Series", std::string("")},
                       {"LabelMatchers", std::string("node=~\"n1|n2\"")},
                       {"GroupBy", std::string("node")},
                       {"GroupBySlice", std::vector<std::string>{"node"}}};
  EXPECT_EQ(Render("sum by (<<.GroupBy>>) (irate(node_cpu_usage_seconds_total{<<.LabelMatchers>>}"
                   "[4m]))",
                   node, kQueryFields),
            "sum by (node) (irate(node_cpu_usage_seconds_total{node=~\"n1|n2\"}[4m]))");

  // External rules: GroupBy and GroupBySlice are empty.
  TemplateData external = {{"Series", std::string("queue_depth")},
                           {"LabelMatchers", std::string("queue=\"jobs\"")},
                           {"LabelValuesByName", std::map<std::string, std::string>{}},
                           {"GroupBy", std::string("")},
                           {"GroupBySlice", std::vector<std::string>{}}};
  EXPECT_EQ(Render("sum(<<.Series>>{<<.LabelMatchers>>}) by (name)", external, kQueryFields),
            "sum(queue_depth{queue=\"jobs\"}) by (name)");
  // A fixed query without actions.
  EXPECT_EQ(Render("count(cheddar{sharp=\"true\"})", external, kQueryFields),
            "count(cheddar{sharp=\"true\"})");

  // resources.template: label names from group and resource.
  const std::vector<std::string> resource_fields = {"Group", "Resource"};
  TemplateData deployment = {{"Group", std::string("apps")},
                             {"Resource", std::string("deployment")}};
  EXPECT_EQ(Render("<<.Group>>_<<.Resource>>", deployment, resource_fields), "apps_deployment");
  EXPECT_EQ(Render("kube_<<.Resource>>", deployment, resource_fields), "kube_deployment");
  EXPECT_EQ(Render("<<.Resource>>", {{"Group", std::string("")}, {"Resource", std::string("pod")}},
                   resource_fields),
            "pod");
}

}  // namespace
