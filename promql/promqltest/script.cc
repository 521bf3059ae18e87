#include "promql/promqltest/script.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "promql/parser/lexer.h"
#include "re2/re2.h"

namespace promql::promqltest {

namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c); }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::string FirstWord(std::string_view s) {
  s = Trim(s);
  size_t i = 0;
  while (i < s.size() && !IsSpace(s[i])) ++i;
  return std::string(s.substr(0, i));
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (absl::ascii_tolower(static_cast<unsigned char>(a[i])) !=
        absl::ascii_tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// Parses an unsigned decimal integer filling all of s.
bool ParseUint(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 18) return false;
  int64_t v = 0;
  for (char c : s) {
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

// Reads a float number at the start of s: optional sign, then Inf/NaN or a decimal with optional
// fraction and exponent. Returns the number of bytes used (0 when there is no number).
size_t ReadNumber(std::string_view s, bool allow_sign, double* out) {
  size_t i = 0;
  bool neg = false;
  if (allow_sign && i < s.size() && (s[i] == '+' || s[i] == '-')) {
    neg = s[i] == '-';
    ++i;
  }
  std::string_view rest = s.substr(i);
  auto starts_ci = [&](std::string_view word) {
    return rest.size() >= word.size() && EqualsIgnoreCase(rest.substr(0, word.size()), word);
  };
  if (starts_ci("inf")) {
    size_t len = starts_ci("infinity") ? 8 : 3;
    *out = neg ? -INFINITY : INFINITY;
    return i + len;
  }
  if (starts_ci("nan")) {
    *out = NAN;
    return i + 3;
  }
  size_t j = i;
  bool digits = false;
  while (j < s.size() && IsDigit(s[j])) {
    ++j;
    digits = true;
  }
  if (j < s.size() && s[j] == '.') {
    ++j;
    while (j < s.size() && IsDigit(s[j])) {
      ++j;
      digits = true;
    }
  }
  if (!digits) return 0;
  if (j < s.size() && (s[j] == 'e' || s[j] == 'E')) {
    size_t k = j + 1;
    if (k < s.size() && (s[k] == '+' || s[k] == '-')) ++k;
    if (k < s.size() && IsDigit(s[k])) {
      while (k < s.size() && IsDigit(s[k])) ++k;
      j = k;
    }
  }
  std::string num(s.substr(0, j));
  *out = std::strtod(num.c_str(), nullptr);
  return j;
}

absl::Status ParseFloatItem(std::string_view tok, std::vector<SlotValue>* out) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid value \"", std::string(tok), "\": ", std::string(why)));
  };
  if (tok == "_") {
    out->push_back({});
    return absl::OkStatus();
  }
  if (tok.size() > 2 && tok.substr(0, 2) == "_x") {
    int64_t n;
    if (!ParseUint(tok.substr(2), &n)) return bad("bad repeat count");
    for (int64_t i = 0; i < n; ++i) out->push_back({});
    return absl::OkStatus();
  }
  if (tok == "stale") {
    out->push_back({SlotValue::Kind::kFloat, StaleNaN(), {}});
    return absl::OkStatus();
  }
  double v;
  size_t used = ReadNumber(tok, true, &v);
  if (used == 0) return bad("not a number");
  std::string_view rest = tok.substr(used);
  if (rest.empty()) {
    out->push_back({SlotValue::Kind::kFloat, v, {}});
    return absl::OkStatus();
  }
  if (rest[0] == 'x') {
    int64_t n;
    if (!ParseUint(rest.substr(1), &n)) return bad("bad repeat count");
    for (int64_t i = 0; i <= n; ++i) out->push_back({SlotValue::Kind::kFloat, v, {}});
    return absl::OkStatus();
  }
  if (rest[0] == '+' || rest[0] == '-') {
    bool minus = rest[0] == '-';
    double d;
    size_t dused = ReadNumber(rest.substr(1), false, &d);
    if (dused == 0) return bad("bad increment");
    std::string_view tail = rest.substr(1 + dused);
    if (tail.empty() || tail[0] != 'x') return bad("expected x<count> after the increment");
    int64_t n;
    if (!ParseUint(tail.substr(1), &n)) return bad("bad repeat count");
    if (minus) d = -d;
    double cur = v;
    out->push_back({SlotValue::Kind::kFloat, cur, {}});
    for (int64_t i = 0; i < n; ++i) {
      cur += d;
      out->push_back({SlotValue::Kind::kFloat, cur, {}});
    }
    return absl::OkStatus();
  }
  return bad("unexpected text after the number");
}

// Reads a quoted string starting at s[*i] and advances past it. The escapes are those of PromQL
// string literals (parser::UnquoteString); a quote character is escaped only in a string it
// delimits, as Go's strconv.Unquote requires.
absl::StatusOr<std::string> ReadQuoted(std::string_view s, size_t* i) {
  const char q = s[*i];
  size_t j = *i + 1;
  if (q == '`') {
    const size_t end = s.find('`', j);
    if (end == std::string_view::npos) return absl::InvalidArgumentError("unterminated raw string");
    *i = end + 1;
    return std::string(s.substr(j, end - j));
  }
  for (; j < s.size() && s[j] != '\n'; ++j) {
    if (s[j] == q) {
      absl::StatusOr<std::string> out = parser::UnquoteString(s.substr(*i, j + 1 - *i));
      if (!out.ok()) return absl::InvalidArgumentError("invalid escape sequence in string");
      *i = j + 1;
      return out;
    }
    if (s[j] == '\\') {
      ++j;
      if (j < s.size() && (s[j] == '"' || s[j] == '\'') && s[j] != q) {
        return absl::InvalidArgumentError("invalid escape sequence in string");
      }
    }
  }
  return absl::InvalidArgumentError("unterminated quoted string");
}

void SkipSpaces(std::string_view s, size_t* i) {
  while (*i < s.size() && IsSpace(s[*i])) ++(*i);
}

// Parses the series descriptor at the start of s; *i is left after it.
absl::StatusOr<tsdb::Labels> ReadSeriesDescriptor(std::string_view s, size_t* i) {
  std::vector<tsdb::Label> labels;
  std::string name;
  SkipSpaces(s, i);
  if (*i < s.size() && IsIdentStart(s[*i])) {
    size_t j = *i;
    while (j < s.size() && IsIdentChar(s[j])) ++j;
    name = std::string(s.substr(*i, j - *i));
    *i = j;
  }
  if (*i < s.size() && s[*i] == '{') {
    ++(*i);
    while (true) {
      SkipSpaces(s, i);
      if (*i >= s.size()) return absl::InvalidArgumentError("unterminated label set");
      if (s[*i] == '}') {
        ++(*i);
        break;
      }
      std::string lname;
      bool quoted = false;
      if (s[*i] == '"' || s[*i] == '\'' || s[*i] == '`') {
        auto q = ReadQuoted(s, i);
        if (!q.ok()) return q.status();
        lname = *q;
        quoted = true;
      } else if (IsIdentStart(s[*i])) {
        size_t j = *i;
        while (j < s.size() && IsIdentChar(s[j])) ++j;
        lname = std::string(s.substr(*i, j - *i));
        *i = j;
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("unexpected character '", std::string(1, s[*i]), "' in label set"));
      }
      SkipSpaces(s, i);
      if (*i < s.size() && s[*i] == '=') {
        ++(*i);
        SkipSpaces(s, i);
        if (*i >= s.size() || (s[*i] != '"' && s[*i] != '\'' && s[*i] != '`')) {
          return absl::InvalidArgumentError(
              absl::StrCat("expected a quoted value for label ", lname));
        }
        auto v = ReadQuoted(s, i);
        if (!v.ok()) return v.status();
        labels.push_back({lname, *v});
      } else if (quoted && *i < s.size() && (s[*i] == ',' || s[*i] == '}')) {
        if (!name.empty()) return absl::InvalidArgumentError("metric name given twice");
        name = lname;
      } else {
        return absl::InvalidArgumentError(absl::StrCat("expected '=' after label ", lname));
      }
      SkipSpaces(s, i);
      if (*i < s.size() && s[*i] == ',') {
        ++(*i);
        continue;
      }
      if (*i < s.size() && s[*i] == '}') continue;
      return absl::InvalidArgumentError("expected ',' or '}' in label set");
    }
  } else if (name.empty()) {
    return absl::InvalidArgumentError("expected a series (metric name or label set)");
  }
  if (!name.empty()) labels.push_back({std::string(tsdb::kMetricNameLabel), name});
  return tsdb::Labels(std::move(labels));
}

}  // namespace

absl::StatusOr<std::vector<SlotValue>> ParseValueSequence(std::string_view s) {
  std::vector<SlotValue> out;
  size_t i = 0;
  while (true) {
    SkipSpaces(s, &i);
    if (i >= s.size()) break;
    if (s.substr(i, 2) == "{{") {
      size_t end = s.find("}}", i + 2);
      if (end == std::string_view::npos) {
        return absl::InvalidArgumentError("unterminated native histogram value '{{'");
      }
      std::string h(Trim(s.substr(i + 2, end - i - 2)));
      i = end + 2;
      int64_t copies = 1;
      if (i < s.size() && (s[i] == '+' || s[i] == '-') && s.substr(i + 1, 2) == "{{") {
        size_t end2 = s.find("}}", i + 3);
        if (end2 == std::string_view::npos) {
          return absl::InvalidArgumentError("unterminated native histogram value '{{'");
        }
        i = end2 + 2;
        if (i >= s.size() || s[i] != 'x') {
          return absl::InvalidArgumentError("expected x<count> after a histogram increment");
        }
      }
      if (i < s.size() && s[i] == 'x') {
        size_t j = i + 1;
        while (j < s.size() && IsDigit(s[j])) ++j;
        int64_t n;
        if (!ParseUint(s.substr(i + 1, j - i - 1), &n)) {
          return absl::InvalidArgumentError("bad repeat count after a histogram value");
        }
        copies = n + 1;
        i = j;
      }
      if (i < s.size() && !IsSpace(s[i])) {
        return absl::InvalidArgumentError("unexpected text after a histogram value");
      }
      for (int64_t k = 0; k < copies; ++k) {
        out.push_back({SlotValue::Kind::kHistogram, 0, h});
      }
      continue;
    }
    size_t j = i;
    while (j < s.size() && !IsSpace(s[j])) ++j;
    if (absl::Status st = ParseFloatItem(s.substr(i, j - i), &out); !st.ok()) return st;
    i = j;
  }
  return out;
}

absl::StatusOr<SeriesLine> ParseSeriesLine(std::string_view text) {
  size_t i = 0;
  auto labels = ReadSeriesDescriptor(text, &i);
  if (!labels.ok()) return labels.status();
  if (i < text.size() && !IsSpace(text[i])) {
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected text after the series: \"", std::string(text.substr(i)), "\""));
  }
  auto values = ParseValueSequence(text.substr(i));
  if (!values.ok()) return values.status();
  SeriesLine out;
  out.labels = std::move(*labels);
  out.values = std::move(*values);
  return out;
}

absl::StatusOr<int64_t> ParseTestDuration(std::string_view s) {
  if (s == "0") return 0;
  if (s.empty()) return absl::InvalidArgumentError("empty duration");
  static constexpr struct {
    const char* unit;
    int64_t ms;
  } kUnits[] = {{"y", 365LL * 24 * 3600 * 1000},
                {"w", 7LL * 24 * 3600 * 1000},
                {"d", 24LL * 3600 * 1000},
                {"h", 3600LL * 1000},
                {"m", 60LL * 1000},
                {"s", 1000},
                {"ms", 1}};
  int64_t total = 0;
  size_t i = 0;
  int last_unit = -1;
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && IsDigit(s[j])) ++j;
    int64_t n;
    if (!ParseUint(s.substr(i, j - i), &n)) {
      return absl::InvalidArgumentError(absl::StrCat("invalid duration \"", std::string(s), "\""));
    }
    size_t k = j;
    while (k < s.size() && !IsDigit(s[k])) ++k;
    std::string_view unit = s.substr(j, k - j);
    int found = -1;
    for (int u = 0; u < 7; ++u) {
      if (unit == kUnits[u].unit) found = u;
    }
    if (found < 0 || found <= last_unit) {
      return absl::InvalidArgumentError(absl::StrCat("invalid duration \"", std::string(s), "\""));
    }
    last_unit = found;
    total += n * kUnits[found].ms;
    i = k;
  }
  return total;
}

absl::StatusOr<std::string> UnquoteString(std::string_view quoted) {
  quoted = Trim(quoted);
  if (quoted.size() < 2 || (quoted[0] != '"' && quoted[0] != '\'' && quoted[0] != '`')) {
    return absl::InvalidArgumentError("expected a quoted string");
  }
  size_t i = 0;
  auto s = ReadQuoted(quoted, &i);
  if (!s.ok()) return s.status();
  if (i != quoted.size()) return absl::InvalidArgumentError("text after the quoted string");
  return s;
}

std::optional<double> ParseScalarLine(std::string_view text) {
  std::string s(Trim(text));
  if (s.empty()) return std::nullopt;
  // Go's ParseInt(s, 0, 64): sign, base prefix, '_' separators only with a prefix.
  {
    size_t i = 0;
    bool neg = false;
    if (s[i] == '+' || s[i] == '-') {
      neg = s[i] == '-';
      ++i;
    }
    int base = 10;
    bool prefix = false;
    if (i + 1 < s.size() && s[i] == '0') {
      char p = absl::ascii_tolower(static_cast<unsigned char>(s[i + 1]));
      if (p == 'x') {
        base = 16, i += 2, prefix = true;
      } else if (p == 'o') {
        base = 8, i += 2, prefix = true;
      } else if (p == 'b') {
        base = 2, i += 2, prefix = true;
      } else {
        base = 8, i += 1, prefix = true;
      }
    }
    bool ok = i < s.size();
    double v = 0;
    bool last_underscore = true;
    for (size_t k = i; k < s.size() && ok; ++k) {
      char c = s[k];
      if (c == '_' && prefix) {
        last_underscore = true;
        continue;
      }
      int d;
      if (IsDigit(c)) {
        d = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        d = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        d = c - 'A' + 10;
      } else {
        ok = false;
        break;
      }
      if (d >= base) ok = false;
      v = v * base + d;
      last_underscore = false;
    }
    if (ok && !last_underscore && std::fabs(v) < 9.3e18) return neg ? -v : v;
  }
  // Go's ParseFloat.
  {
    const char* begin = s.c_str();
    if (IsSpace(*begin)) return std::nullopt;
    std::string_view body = s;
    if (!body.empty() && (body[0] == '+' || body[0] == '-')) body.remove_prefix(1);
    if (EqualsIgnoreCase(body, "inf") || EqualsIgnoreCase(body, "infinity")) {
      return s[0] == '-' ? -INFINITY : INFINITY;
    }
    if (EqualsIgnoreCase(body, "nan")) return NAN;
    for (char c : body) {
      if (!(IsDigit(c) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-' || c == 'x' ||
            c == 'X' || c == 'p' || c == 'P' || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
        return std::nullopt;
      }
    }
    char* end = nullptr;
    errno = 0;
    double v = std::strtod(begin, &end);
    if (end == begin || *end != '\0') return std::nullopt;
    return v;
  }
}

namespace {

struct Lines {
  std::vector<std::string> lines;  // trimmed; comment lines are empty
};

Lines SplitLines(std::string_view text) {
  Lines out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view l = Trim(text.substr(start, nl - start));
    if (!l.empty() && l[0] == '#') l = {};
    out.lines.emplace_back(l);
    start = nl + 1;
  }
  return out;
}

absl::Status LineError(int line, const absl::Status& st) {
  return absl::InvalidArgumentError(absl::StrCat("line ", line, ": ", std::string(st.message())));
}
absl::Status LineError(int line, std::string_view msg) {
  return absl::InvalidArgumentError(absl::StrCat("line ", line, ": ", std::string(msg)));
}

absl::Status ParseLoad(const Lines& l, size_t* i, LoadCmd* cmd) {
  static const RE2 kPat(R"(^load(?:_(with_nhcb))?\s+(.+?)$)");
  const std::string& header = l.lines[*i];
  cmd->line = static_cast<int>(*i) + 1;
  std::string nhcb, step;
  if (!RE2::FullMatch(header, kPat, &nhcb, &step)) {
    return LineError(cmd->line, "invalid load command (want 'load <step>')");
  }
  cmd->with_nhcb = !nhcb.empty();
  auto d = ParseTestDuration(step);
  if (!d.ok()) return LineError(cmd->line, d.status());
  cmd->step_ms = *d;
  std::map<tsdb::Labels, size_t> seen;
  while (*i + 1 < l.lines.size()) {
    const std::string& def = l.lines[*i + 1];
    if (def.empty()) break;
    ++(*i);
    int line = static_cast<int>(*i) + 1;
    // Start-timestamp lines ("series@st ..."): not supported; skipped.
    {
      size_t p = 0;
      auto lbl = ReadSeriesDescriptor(def, &p);
      if (lbl.ok() && std::string_view(def).substr(p, 3) == "@st") continue;
    }
    auto s = ParseSeriesLine(def);
    if (!s.ok()) return LineError(line, s.status());
    s->line = line;
    for (const SlotValue& v : s->values) {
      if (v.kind == SlotValue::Kind::kHistogram) ++cmd->histogram_values;
    }
    auto it = seen.find(s->labels);
    if (it != seen.end()) {
      cmd->series[it->second] = std::move(*s);
    } else {
      seen.emplace(s->labels, cmd->series.size());
      cmd->series.push_back(std::move(*s));
    }
  }
  return absl::OkStatus();
}

absl::Status ParseExpectLine(const std::string& def, int line, EvalCmd* cmd) {
  static const RE2 kPat(
      R"(^expect\s+(ordered|fail|warn|no_warn|info|no_info)(?:\s+(regex|msg):(.+))?$)");
  std::string kind, mode, text;
  if (!RE2::FullMatch(def, kPat, &kind, &mode, &text)) {
    return LineError(line, absl::StrCat("invalid expect statement \"", def, "\""));
  }
  AnnotationExpect e;
  if (mode == "msg") {
    e.match = AnnotationExpect::Match::kMsg;
    e.text = std::string(Trim(text));
  } else if (mode == "regex") {
    e.match = AnnotationExpect::Match::kRegex;
    e.text = std::string(Trim(text));
    RE2 re(e.text);
    if (!re.ok()) return LineError(line, absl::StrCat("invalid regex \"", e.text, "\""));
  }
  if (kind == "ordered") {
    cmd->ordered = true;
  } else if (kind == "fail") {
    if (cmd->expect_fail && cmd->fail.match != AnnotationExpect::Match::kAny) {
      return LineError(line, "more than one 'expect fail'");
    }
    cmd->expect_fail = true;
    cmd->fail = e;
  } else if (kind == "warn") {
    if (cmd->expect_no_warn) return LineError(line, "'expect warn' with 'expect no_warn'");
    cmd->warn_checked = true;
    cmd->warns.push_back(e);
  } else if (kind == "no_warn") {
    if (!cmd->warns.empty()) return LineError(line, "'expect warn' with 'expect no_warn'");
    cmd->warn_checked = true;
    cmd->expect_no_warn = true;
  } else if (kind == "info") {
    if (cmd->expect_no_info) return LineError(line, "'expect info' with 'expect no_info'");
    cmd->info_checked = true;
    cmd->infos.push_back(e);
  } else if (kind == "no_info") {
    if (!cmd->infos.empty()) return LineError(line, "'expect info' with 'expect no_info'");
    cmd->info_checked = true;
    cmd->expect_no_info = true;
  }
  return absl::OkStatus();
}

absl::Status ParseEval(const Lines& l, size_t* i, EvalCmd* cmd) {
  static const RE2 kInstant(
      R"(^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$)");
  static const RE2 kRange(
      R"(^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$)");
  const std::string& header = l.lines[*i];
  cmd->line = static_cast<int>(*i) + 1;
  std::string mod, at, from, to, step, expr;
  if (RE2::FullMatch(header, kInstant, &mod, &at, &expr)) {
    cmd->range = false;
    auto t = ParseTestDuration(at);
    if (!t.ok()) return LineError(cmd->line, t.status());
    cmd->start_ms = cmd->end_ms = *t;
  } else if (RE2::FullMatch(header, kRange, &mod, &from, &to, &step, &expr)) {
    cmd->range = true;
    auto s = ParseTestDuration(from);
    auto e = ParseTestDuration(to);
    auto d = ParseTestDuration(step);
    if (!s.ok()) return LineError(cmd->line, s.status());
    if (!e.ok()) return LineError(cmd->line, e.status());
    if (!d.ok()) return LineError(cmd->line, d.status());
    if (*e < *s) return LineError(cmd->line, "invalid test definition, end timestamp before start");
    cmd->start_ms = *s;
    cmd->end_ms = *e;
    cmd->step_ms = *d;
  } else {
    return LineError(cmd->line,
                     "invalid evaluation command. Must be either 'eval[_fail|_warn|_info|_ordered] "
                     "instant [at <offset:duration>] <query>' or 'eval[_fail|_warn|_info] range "
                     "from <from> to <to> step <step> <query>'");
  }
  cmd->expr = expr;
  bool old_fail = mod == "fail";
  if (old_fail) cmd->expect_fail = true;
  if (mod == "warn") {
    cmd->warn_checked = true;
    cmd->warns.push_back({
        AnnotationExpect::Match::kAny,
        "",
    });
  }
  if (mod == "info") {
    cmd->info_checked = true;
    cmd->infos.push_back({AnnotationExpect::Match::kAny, ""});
  }
  if (mod == "ordered") cmd->ordered = true;

  while (*i + 1 < l.lines.size()) {
    const std::string& def = l.lines[*i + 1];
    if (def.empty()) break;
    ++(*i);
    int line = static_cast<int>(*i) + 1;
    if (old_fail && def.rfind("expected_fail_message", 0) == 0) {
      cmd->fail.match = AnnotationExpect::Match::kMsg;
      cmd->fail.text = std::string(Trim(std::string_view(def).substr(21)));
      break;
    }
    if (old_fail && def.rfind("expected_fail_regexp", 0) == 0) {
      cmd->fail.match = AnnotationExpect::Match::kRegex;
      cmd->fail.text = std::string(Trim(std::string_view(def).substr(20)));
      break;
    }
    if (def.rfind("expect range vector", 0) == 0) {
      static const RE2 kRv(R"(^expect range vector\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+)$)");
      std::string a, b, c;
      if (!RE2::FullMatch(def, kRv, &a, &b, &c)) {
        return LineError(line, "invalid range vector definition");
      }
      auto s = ParseTestDuration(std::string(Trim(a)));
      auto e = ParseTestDuration(std::string(Trim(b)));
      auto d = ParseTestDuration(std::string(Trim(c)));
      if (!s.ok() || !e.ok() || !d.ok()) return LineError(line, "invalid range vector definition");
      cmd->range_vector = true;
      cmd->rv_start_ms = *s;
      cmd->rv_end_ms = *e;
      cmd->rv_step_ms = *d;
      continue;
    }
    if (def.rfind("expect string", 0) == 0) {
      auto s = UnquoteString(std::string_view(def).substr(13));
      if (!s.ok()) return LineError(line, s.status());
      cmd->expect_string = *s;
      continue;
    }
    {
      size_t sp = def.find(' ');
      if (std::string_view(def).substr(0, sp) == "expect") {
        if (absl::Status st = ParseExpectLine(def, line, cmd); !st.ok()) return st;
        continue;
      }
    }
    if (auto num = ParseScalarLine(def); num.has_value()) {
      cmd->expect_scalar = *num;
      break;
    }
    auto s = ParseSeriesLine(def);
    if (!s.ok()) return LineError(line, s.status());
    s->line = line;
    if (s->values.size() > 1 && !cmd->range && !cmd->range_vector) {
      return LineError(line, "expecting multiple values in instant evaluation not allowed");
    }
    cmd->series.push_back(std::move(*s));
  }
  if (cmd->ordered && cmd->range) return LineError(cmd->line, "'expect ordered' in a range eval");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Script> ParseScript(std::string_view text) {
  Lines l = SplitLines(text);
  Script script;
  for (size_t i = 0; i < l.lines.size(); ++i) {
    const std::string& line = l.lines[i];
    if (line.empty()) continue;
    std::string word = absl::AsciiStrToLower(FirstWord(line));
    Command cmd;
    if (word == "clear") {
      cmd.kind = Command::Kind::kClear;
      cmd.clear.line = static_cast<int>(i) + 1;
    } else if (word.rfind("load", 0) == 0) {
      cmd.kind = Command::Kind::kLoad;
      if (absl::Status st = ParseLoad(l, &i, &cmd.load); !st.ok()) return st;
    } else if (word.rfind("eval", 0) == 0) {
      cmd.kind = Command::Kind::kEval;
      cmd.eval.expr_line = static_cast<int>(i) + 1;
      if (absl::Status st = ParseEval(l, &i, &cmd.eval); !st.ok()) return st;
    } else {
      return LineError(static_cast<int>(i) + 1, absl::StrCat("invalid command \"", line, "\""));
    }
    script.commands.push_back(std::move(cmd));
  }
  return script;
}

}  // namespace promql::promqltest
