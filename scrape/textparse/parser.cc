#include "scrape/textparse/parser.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tsdb/utf8.h"

namespace scrape::textparse {

namespace {

// Character classes of the legacy Prometheus charset, as lookup tables.
struct CharTables {
  std::array<bool, 256> metric_start{};   // [a-zA-Z_:]
  std::array<bool, 256> metric_char{};    // [a-zA-Z0-9_:]
  std::array<bool, 256> label_start{};    // [a-zA-Z_]
  std::array<bool, 256> label_char{};     // [a-zA-Z0-9_]
  std::array<bool, 256> value_special{};  // '"', '\\' and non-ASCII bytes inside label values
  constexpr CharTables() {
    for (int c = 0; c < 256; ++c) {
      value_special[c] = c == '"' || c == '\\' || c >= 0x80;
      const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
      const bool digit = c >= '0' && c <= '9';
      label_start[c] = alpha;
      label_char[c] = alpha || digit;
      metric_start[c] = alpha || c == ':';
      metric_char[c] = alpha || digit || c == ':';
    }
  }
};
constexpr CharTables kChars;

inline bool MetricStart(char c) { return kChars.metric_start[static_cast<unsigned char>(c)]; }
inline bool MetricChar(char c) { return kChars.metric_char[static_cast<unsigned char>(c)]; }
inline bool LabelStart(char c) { return kChars.label_start[static_cast<unsigned char>(c)]; }
inline bool LabelChar(char c) { return kChars.label_char[static_cast<unsigned char>(c)]; }
inline bool ValueSpecial(char c) { return kChars.value_special[static_cast<unsigned char>(c)]; }
inline bool Blank(char c) { return c == ' ' || c == '\t'; }

// Abseil is built with its own string_view type here; this bridges std::string_view to it.
inline absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

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

// A quoted, escaped excerpt of input for error messages.
std::string Quote(std::string_view s) {
  constexpr size_t kMax = 48;
  if (s.size() > kMax) return absl::StrCat("\"", absl::CEscape(AV(s.substr(0, kMax))), "...\"");
  return absl::StrCat("\"", absl::CEscape(AV(s)), "\"");
}

// Names a character for an error message.
std::string Describe(std::string_view line, size_t offset) {
  if (offset >= line.size()) return "end of line";
  const unsigned char c = static_cast<unsigned char>(line[offset]);
  if (c == '\r') return "carriage return";
  if (c == '\'') return "\"'\"";
  if (c >= 0x20 && c < 0x7f) return absl::StrFormat("'%c'", c);
  return absl::StrFormat("byte 0x%02x", c);
}

// Exact powers of ten as doubles (10^22 is the largest exactly representable one).
constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                             1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

// A decimal float: correctly rounded via the exact fast path when the significand fits in 53
// bits and the exponent is small, otherwise via std::from_chars.
std::optional<double> ParseDecimal(std::string_view s, bool negative) {
  const char* p = s.data();
  const char* const end = p + s.size();
  uint64_t mantissa = 0;
  int exp10 = 0;
  bool exact = true;
  bool any_digit = false;
  constexpr uint64_t kMantissaLimit = 100000000000000000ULL;  // 1e17
  while (p < end && *p >= '0' && *p <= '9') {
    any_digit = true;
    if (mantissa < kMantissaLimit) {
      mantissa = mantissa * 10 + static_cast<uint64_t>(*p - '0');
    } else {
      exact = false;
      ++exp10;
    }
    ++p;
  }
  if (p < end && *p == '.') {
    ++p;
    while (p < end && *p >= '0' && *p <= '9') {
      any_digit = true;
      if (mantissa < kMantissaLimit) {
        mantissa = mantissa * 10 + static_cast<uint64_t>(*p - '0');
        --exp10;
      } else {
        exact = false;
      }
      ++p;
    }
  }
  if (!any_digit) return std::nullopt;
  if (p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    bool exp_negative = false;
    if (p < end && (*p == '+' || *p == '-')) {
      exp_negative = *p == '-';
      ++p;
    }
    if (p == end) return std::nullopt;
    int e = 0;
    while (p < end && *p >= '0' && *p <= '9') {
      if (e < 100000) e = e * 10 + (*p - '0');
      ++p;
    }
    exp10 += exp_negative ? -e : e;
  }
  if (p != end) return std::nullopt;

  if (exact && mantissa <= (uint64_t{1} << 53) && exp10 >= -22 && exp10 <= 22) {
    double d = static_cast<double>(mantissa);
    d = exp10 >= 0 ? d * kPow10[exp10] : d / kPow10[-exp10];
    return negative ? -d : d;
  }
  double d = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), end, d, std::chars_format::general);
  if (ptr != end) return std::nullopt;
  if (ec == std::errc::result_out_of_range) {
    // Overflow is an error (as in Go's ParseFloat); underflow yields zero or a subnormal.
    std::string copy(s);
    errno = 0;
    d = std::strtod(copy.c_str(), nullptr);
    if (std::isinf(d)) return std::nullopt;
  } else if (ec != std::errc()) {
    return std::nullopt;
  }
  return negative ? -d : d;
}

// OpenMetrics timestamps: float seconds, to int64 milliseconds truncated toward zero.
enum class TsError { kNone, kSyntax, kNotFinite, kRange };
TsError ParseSecondsToMillis(std::string_view s, int64_t* ms) {
  size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    negative = s[i] == '-';
    ++i;
  }
  // Plain decimals ([+-]digits[.digits]) are converted exactly, in one pass.
  constexpr uint64_t kMaxSeconds =
      static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / 1000;
  const size_t n = s.size();
  size_t j = i;
  uint64_t seconds = 0;
  bool any_digit = false;
  bool too_big = false;
  for (; j < n && s[j] >= '0' && s[j] <= '9'; ++j) {
    any_digit = true;
    if (!too_big) {
      seconds = seconds * 10 + static_cast<uint64_t>(s[j] - '0');
      too_big = seconds > kMaxSeconds;
    }
  }
  uint64_t millis = 0;
  int frac_digits = 0;
  if (j < n && s[j] == '.') {
    for (++j; j < n && s[j] >= '0' && s[j] <= '9'; ++j) {
      any_digit = true;
      if (frac_digits < 3) {
        millis = millis * 10 + static_cast<uint64_t>(s[j] - '0');
        ++frac_digits;
      }
    }
  }
  if (j == n && any_digit) {
    if (too_big) return TsError::kRange;
    for (; frac_digits < 3; ++frac_digits) millis *= 10;
    const uint64_t total = seconds * 1000 + millis;
    if (total > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return TsError::kRange;
    *ms = negative ? -static_cast<int64_t>(total) : static_cast<int64_t>(total);
    return TsError::kNone;
  }
  const std::optional<double> v = ParseValue(s);
  if (!v) return TsError::kSyntax;
  if (!std::isfinite(*v)) return TsError::kNotFinite;
  const double x = *v * 1000;
  if (!(x > -9.2e18 && x < 9.2e18)) return TsError::kRange;
  *ms = static_cast<int64_t>(x);
  return TsError::kNone;
}

// Whether a sample named family+suffix belongs to a family of the given type.
bool SuffixAllowed(MetricType type, std::string_view suffix) {
  switch (type) {
    case MetricType::kUnknown:
    case MetricType::kGauge:
    case MetricType::kStateset:
      return suffix.empty();
    case MetricType::kCounter:
      return suffix.empty() || suffix == "_total" || suffix == "_created";
    case MetricType::kHistogram:
      return suffix == "_bucket" || suffix == "_sum" || suffix == "_count" || suffix == "_created";
    case MetricType::kGaugeHistogram:
      return suffix == "_bucket" || suffix == "_gsum" || suffix == "_gcount";
    case MetricType::kSummary:
      return suffix.empty() || suffix == "_sum" || suffix == "_count" || suffix == "_created";
    case MetricType::kInfo:
      return suffix == "_info";
  }
  return false;
}

size_t SkipBlanks(std::string_view s, size_t pos) {
  while (pos < s.size() && Blank(s[pos])) ++pos;
  return pos;
}

}  // namespace

struct Parser::Line {
  std::string_view text;  // without the line feed
  int no = 0;
  bool last = false;      // not terminated by a line feed (end of input)
  bool reserved = false;  // unescaped_ has room for this line's unescaped text
};

std::string_view MetricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kUnknown:
      return "unknown";
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
    case MetricType::kGaugeHistogram:
      return "gaugehistogram";
    case MetricType::kSummary:
      return "summary";
    case MetricType::kInfo:
      return "info";
    case MetricType::kStateset:
      return "stateset";
  }
  return "unknown";
}

std::optional<MetricType> ParseMetricType(std::string_view text, Format format) {
  if (text == "counter") return MetricType::kCounter;
  if (text == "gauge") return MetricType::kGauge;
  if (text == "histogram") return MetricType::kHistogram;
  if (text == "summary") return MetricType::kSummary;
  if (format == Format::kPrometheusText) {
    if (text == "untyped") return MetricType::kUnknown;
    return std::nullopt;
  }
  if (text == "gaugehistogram") return MetricType::kGaugeHistogram;
  if (text == "info") return MetricType::kInfo;
  if (text == "stateset") return MetricType::kStateset;
  if (text == "unknown") return MetricType::kUnknown;
  return std::nullopt;
}

std::optional<double> ParseValue(std::string_view text) {
  if (text.empty()) return std::nullopt;
  bool negative = false;
  bool signed_ = false;
  if (text[0] == '+' || text[0] == '-') {
    negative = text[0] == '-';
    signed_ = true;
    text.remove_prefix(1);
  }
  if (text.empty()) return std::nullopt;
  const char c = absl::ascii_tolower(static_cast<unsigned char>(text[0]));
  if (c == 'i') {
    if (EqualsIgnoreCase(text, "inf") || EqualsIgnoreCase(text, "infinity")) {
      return negative ? -std::numeric_limits<double>::infinity()
                      : std::numeric_limits<double>::infinity();
    }
    return std::nullopt;
  }
  if (c == 'n') {
    if (!signed_ && EqualsIgnoreCase(text, "nan")) {
      return std::numeric_limits<double>::quiet_NaN();
    }
    return std::nullopt;
  }
  return ParseDecimal(text, negative);
}

Parser::Parser(std::string_view input, Format format) : input_(input), format_(format) {}

absl::Status Parser::Fail(int line, size_t offset_in_line, std::string what) {
  error_line_ = line;
  error_column_ = static_cast<int>(offset_in_line) + 1;
  error_what_ = std::move(what);
  error_ = absl::InvalidArgumentError(
      absl::StrFormat("line %d, column %d: %s", error_line_, error_column_, error_what_));
  done_ = true;
  return error_;
}

absl::StatusOr<EntryType> Parser::Next() {
  if (!error_.ok()) return error_;
  if (done_) return EntryType::kEOF;
  while (true) {
    if (pos_ >= input_.size()) {
      if (format_ == Format::kOpenMetrics) {
        return Fail(line_no_ + 1, 0, "unexpected end of input: expected '# EOF'");
      }
      done_ = true;
      entry_ = Entry{};
      entry_.line = line_no_ + 1;
      return EntryType::kEOF;
    }
    const size_t start = pos_;
    const void* nl = std::memchr(input_.data() + start, '\n', input_.size() - start);
    const size_t end =
        nl ? static_cast<size_t>(static_cast<const char*>(nl) - input_.data()) : input_.size();
    pos_ = nl ? end + 1 : input_.size();
    ++line_no_;
    Line line;
    line.text = input_.substr(start, end - start);
    line.no = line_no_;
    line.last = nl == nullptr;
    bool produced = false;
    if (absl::Status s = ParseLine(line, &produced); !s.ok()) return s;
    if (!produced) continue;
    if (entry_.type == EntryType::kEOF) {
      done_ = true;
      if (pos_ < input_.size()) return Fail(line_no_ + 1, 0, "unexpected data after '# EOF'");
    } else if (line.last && format_ == Format::kOpenMetrics) {
      return Fail(line.no, line.text.size(),
                  "unexpected end of input: expected a line feed and '# EOF'");
    }
    return entry_.type;
  }
}

absl::Status Parser::ParseLine(Line& line, bool* produced) {
  const std::string_view t = line.text;
  entry_.line = line.no;
  entry_.name = {};
  entry_.metric_type = MetricType::kUnknown;
  entry_.exemplar.reset();
  entry_.timestamp_ms.reset();
  entry_.labels = {};
  entry_.text = {};
  entry_.family = {};
  entry_.series_text = {};
  entry_.value = 0;
  entry_.value_end_column = 0;
  unescaped_.clear();

  if (format_ == Format::kPrometheusText) {
    const size_t i = SkipBlanks(t, 0);
    if (i == t.size()) return absl::OkStatus();  // blank line
    *produced = true;
    if (t[i] == '#') return ParseMetaLine(line);
    return ParseSeriesLine(line);
  }
  if (t.empty()) {
    return Fail(line.no, 0, "blank lines are not allowed in OpenMetrics");
  }
  *produced = true;
  if (t[0] == '#') return ParseMetaLine(line);
  return ParseSeriesLine(line);
}

absl::Status Parser::ParseMetaLine(Line& line) {
  const std::string_view t = line.text;
  enum class Kind { kHelp, kType, kUnit } kind;
  size_t p;  // start of the metric name
  if (format_ == Format::kPrometheusText) {
    const size_t hash = SkipBlanks(t, 0);
    const size_t k = SkipBlanks(t, hash + 1);
    const std::string_view word = t.substr(k, 4);
    const bool keyword =
        k > hash + 1 && k + 4 < t.size() && Blank(t[k + 4]) && (word == "HELP" || word == "TYPE");
    if (!keyword) {
      entry_.type = EntryType::kComment;
      entry_.text = t.substr(k);
      return absl::OkStatus();
    }
    kind = word == "HELP" ? Kind::kHelp : Kind::kType;
    p = SkipBlanks(t, k + 4);
  } else {
    if (t.size() < 2 || t[1] != ' ') {
      return Fail(line.no, 1,
                  absl::StrCat("expected ' ' after '#', found ", Describe(t, 1),
                               " (OpenMetrics allows only '# HELP', '# TYPE', '# UNIT' and "
                               "'# EOF' lines)"));
    }
    const std::string_view rest = t.substr(2);
    if (rest == "EOF") {
      entry_.type = EntryType::kEOF;
      return absl::OkStatus();
    }
    if (rest.starts_with("HELP ")) {
      kind = Kind::kHelp;
    } else if (rest.starts_with("TYPE ")) {
      kind = Kind::kType;
    } else if (rest.starts_with("UNIT ")) {
      kind = Kind::kUnit;
    } else if (rest.starts_with("EOF")) {
      return Fail(line.no, 5, "unexpected text after '# EOF'");
    } else {
      return Fail(
          line.no, 2,
          absl::StrCat("expected HELP, TYPE, UNIT or EOF after '# ', found ",
                       Quote(rest.substr(0, 8)), " (OpenMetrics allows no other comments)"));
    }
    p = 7;
  }
  const char* kind_name = kind == Kind::kHelp ? "HELP" : kind == Kind::kType ? "TYPE" : "UNIT";

  if (p >= t.size() || !MetricStart(t[p])) {
    return Fail(
        line.no, p,
        absl::StrCat("expected a metric name after ", kind_name, ", found ", Describe(t, p)));
  }
  size_t q = p + 1;
  while (q < t.size() && MetricChar(t[q])) ++q;
  const std::string_view name = t.substr(p, q - p);
  std::string_view text;
  if (format_ == Format::kPrometheusText) {
    if (q < t.size() && !Blank(t[q])) {
      return Fail(line.no, q,
                  absl::StrCat("unexpected ", Describe(t, q), " after metric name ", Quote(name)));
    }
    text = t.substr(SkipBlanks(t, q));
  } else {
    if (q >= t.size()) {
      return Fail(line.no, q,
                  absl::StrCat("expected ' ' and the ",
                               kind == Kind::kHelp   ? "help text"
                               : kind == Kind::kType ? "type"
                                                     : "unit",
                               " after metric name ", Quote(name)));
    }
    if (t[q] != ' ') {
      return Fail(line.no, q,
                  absl::StrCat("unexpected ", Describe(t, q), " after metric name ", Quote(name)));
    }
    text = t.substr(q + 1);
  }
  const size_t text_offset = static_cast<size_t>(text.data() - t.data());

  if (name != family_) {
    family_ = name;
    family_type_ = MetricType::kUnknown;
  }
  entry_.name = name;
  switch (kind) {
    case Kind::kHelp: {
      entry_.type = EntryType::kHelp;
      if (text.find('\\') == std::string_view::npos) {
        entry_.text = text;
        break;
      }
      unescaped_.reserve(text.size());
      for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) {
          const char e = text[i + 1];
          if (e == '\\') {
            unescaped_.push_back('\\');
            ++i;
            continue;
          }
          if (e == 'n') {
            unescaped_.push_back('\n');
            ++i;
            continue;
          }
          if (e == '"' && format_ == Format::kOpenMetrics) {
            unescaped_.push_back('"');
            ++i;
            continue;
          }
        }
        unescaped_.push_back(text[i]);
      }
      entry_.text = unescaped_;
      break;
    }
    case Kind::kType: {
      std::string_view word = text;
      if (format_ == Format::kPrometheusText) {
        while (!word.empty() && Blank(word.back())) word.remove_suffix(1);
      }
      const std::optional<MetricType> type = ParseMetricType(word, format_);
      if (!type) {
        return Fail(line.no, text_offset,
                    absl::StrCat("invalid metric type ", Quote(word), ": expected ",
                                 format_ == Format::kPrometheusText
                                     ? "counter, gauge, histogram, summary or untyped"
                                     : "counter, gauge, histogram, gaugehistogram, summary, "
                                       "info, stateset or unknown"));
      }
      entry_.type = EntryType::kType;
      entry_.metric_type = *type;
      family_type_ = *type;
      break;
    }
    case Kind::kUnit: {
      if (!text.empty() && !(name.size() > text.size() && name.ends_with(text) &&
                             name[name.size() - text.size() - 1] == '_')) {
        return Fail(
            line.no, text_offset,
            absl::StrCat("unit ", Quote(text), " is not a suffix of metric name ", Quote(name),
                         " (the name must end in \"_", std::string(text), "\")"));
      }
      entry_.type = EntryType::kUnit;
      entry_.text = text;
      break;
    }
  }
  return absl::OkStatus();
}

absl::Status Parser::ParseQuotedValue(Line& line, size_t& pos, std::string_view label,
                                      std::string_view* value) {
  const std::string_view t = line.text;
  const size_t open = pos;
  size_t p = pos + 1;
  const size_t start = p;
  bool escapes = false;
  bool high = false;
  while (p < t.size()) {
    const char c = t[p];
    if (!ValueSpecial(c)) {
      ++p;
      continue;
    }
    if (c == '"') break;
    if (c == '\\') {
      escapes = true;
      if (p + 1 < t.size() && (t[p + 1] & 0x80)) high = true;
      p += 2;
      continue;
    }
    if (c & 0x80) high = true;
    ++p;
  }
  if (p >= t.size()) {
    return Fail(line.no, open,
                absl::StrCat("unterminated value of label ", Quote(label),
                             ": expected a closing '\"' before the end of the line (a line feed "
                             "in a value must be written as \\n)"));
  }
  std::string_view raw = t.substr(start, p - start);
  pos = p + 1;
  if (high && !tsdb::IsValidUtf8(raw)) {
    return Fail(line.no, start, absl::StrCat("invalid UTF-8 in the value of label ", Quote(label)));
  }
  if (!escapes) {
    *value = raw;
    return absl::OkStatus();
  }
  if (!line.reserved) {
    // Reserve room for the whole line once, so views into unescaped_ stay valid on this line.
    unescaped_.reserve(t.size());
    line.reserved = true;
  }
  const size_t out_start = unescaped_.size();
  for (size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '\\' && i + 1 < raw.size()) {
      const char e = raw[i + 1];
      if (e == '\\' || e == '"') {
        unescaped_.push_back(e);
        ++i;
        continue;
      }
      if (e == 'n') {
        unescaped_.push_back('\n');
        ++i;
        continue;
      }
    }
    // Unknown escapes are kept as written, as Prometheus does.
    unescaped_.push_back(c);
  }
  *value = std::string_view(unescaped_).substr(out_start);
  return absl::OkStatus();
}

absl::Status Parser::ParseLabels(Line& line, size_t& pos, std::vector<LabelPair>& out,
                                 bool exemplar) {
  const std::string_view t = line.text;
  const bool om = format_ == Format::kOpenMetrics;
  const char* what = exemplar ? "exemplar label" : "label";
  size_t p = pos + 1;  // past '{'
  bool after_comma = false;
  while (true) {
    if (!om) p = SkipBlanks(t, p);
    if (p < t.size() && t[p] == '}' && !(om && after_comma)) {
      pos = p + 1;
      return absl::OkStatus();
    }
    if (p >= t.size() || !LabelStart(t[p])) {
      return Fail(line.no, p,
                  absl::StrCat("expected ", what, " name", after_comma ? " after ','" : " or '}'",
                               ", found ", Describe(t, p)));
    }
    const size_t name_start = p;
    ++p;
    while (p < t.size() && LabelChar(t[p])) ++p;
    const std::string_view name = t.substr(name_start, p - name_start);
    if (!om) p = SkipBlanks(t, p);
    if (p >= t.size() || t[p] != '=') {
      return Fail(line.no, p,
                  absl::StrCat("expected '=' after ", what, " name ", Quote(name), ", found ",
                               Describe(t, p)));
    }
    ++p;
    if (!om) p = SkipBlanks(t, p);
    if (p >= t.size() || t[p] != '"') {
      return Fail(line.no, p,
                  absl::StrCat("expected '\"' to open the value of ", what, " ", Quote(name),
                               ", found ", Describe(t, p)));
    }
    std::string_view value;
    if (absl::Status s = ParseQuotedValue(line, p, name, &value); !s.ok()) return s;
    out.push_back(LabelPair{name, value});
    if (!om) p = SkipBlanks(t, p);
    if (p < t.size() && t[p] == ',') {
      ++p;
      after_comma = true;
      continue;
    }
    if (p < t.size() && t[p] == '}') {
      pos = p + 1;
      return absl::OkStatus();
    }
    return Fail(line.no, p,
                absl::StrCat("expected ',' or '}' after the value of ", what, " ", Quote(name),
                             ", found ", Describe(t, p)));
  }
}

absl::Status Parser::CheckDuplicates(Line& line, std::span<const LabelPair> labels,
                                     bool with_metric_name) {
  const std::string_view t = line.text;
  auto offset_of = [&](std::string_view name) {
    return static_cast<size_t>(name.data() - t.data());
  };
  if (with_metric_name) {
    for (const LabelPair& l : labels) {
      if (l.name == tsdb::kMetricNameLabel) {
        return Fail(line.no, offset_of(l.name),
                    "label name \"__name__\" repeats the metric name, which is given before '{'");
      }
    }
  }
  std::string_view duplicate;
  if (labels.size() <= 16) {
    for (size_t i = 1; i < labels.size() && duplicate.empty(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (labels[i].name == labels[j].name) {
          duplicate = labels[i].name;
          break;
        }
      }
    }
  } else {
    name_scratch_.clear();
    for (const LabelPair& l : labels) name_scratch_.push_back(l.name);
    std::sort(name_scratch_.begin(), name_scratch_.end());
    auto it = std::adjacent_find(name_scratch_.begin(), name_scratch_.end());
    if (it != name_scratch_.end()) {
      // Report the second occurrence in input order.
      bool seen = false;
      for (const LabelPair& l : labels) {
        if (l.name != *it) continue;
        if (seen) {
          duplicate = l.name;
          break;
        }
        seen = true;
      }
    }
  }
  if (!duplicate.empty()) {
    return Fail(line.no, offset_of(duplicate),
                absl::StrCat("duplicate label name ", Quote(duplicate)));
  }
  return absl::OkStatus();
}

void Parser::ResolveFamily() {
  const std::string_view name = entry_.name;
  if (!family_.empty() && name.size() >= family_.size() &&
      name.compare(0, family_.size(), family_) == 0 &&
      SuffixAllowed(family_type_, name.substr(family_.size()))) {
    entry_.family = family_;
    entry_.metric_type = family_type_;
    return;
  }
  family_ = name;
  family_type_ = MetricType::kUnknown;
  entry_.family = name;
  entry_.metric_type = MetricType::kUnknown;
}

absl::Status Parser::ParseSeriesLine(Line& line) {
  const std::string_view t = line.text;
  const bool om = format_ == Format::kOpenMetrics;
  size_t p = om ? 0 : SkipBlanks(t, 0);
  if (!MetricStart(t[p])) {
    return Fail(line.no, p,
                absl::StrCat("expected a metric name", om ? " or '#'" : ", '#' or a blank line",
                             ", found ", Describe(t, p)));
  }
  const size_t name_start = p;
  ++p;
  while (p < t.size() && MetricChar(t[p])) ++p;
  const std::string_view name = t.substr(name_start, p - name_start);
  entry_.type = EntryType::kSeries;
  entry_.name = name;

  labels_.clear();
  size_t q = om ? p : SkipBlanks(t, p);
  bool has_labels = false;
  if (q < t.size() && t[q] == '{') {
    has_labels = true;
    if (absl::Status s = ParseLabels(line, q, labels_, /*exemplar=*/false); !s.ok()) return s;
    if (absl::Status s = CheckDuplicates(line, labels_, true); !s.ok()) return s;
    p = q;
  }
  entry_.series_text = t.substr(name_start, p - name_start);
  entry_.labels = labels_;
  const char* after = has_labels ? "the labels" : "the metric name";

  // The value.
  if (om) {
    if (p >= t.size()) {
      return Fail(line.no, p, absl::StrCat("expected ' ' and a value after ", after));
    }
    if (t[p] != ' ') {
      return Fail(
          line.no, p,
          absl::StrCat("expected ' ' and a value after ", after, ", found ", Describe(t, p)));
    }
    ++p;
    if (p >= t.size() || t[p] == ' ') {
      return Fail(line.no, p,
                  absl::StrCat("expected a value after ", after, ", found ", Describe(t, p),
                               " (fields are separated by exactly one space)"));
    }
  } else {
    const size_t v = SkipBlanks(t, p);
    if (v == p && !has_labels && p < t.size()) {
      return Fail(line.no, p,
                  absl::StrCat("unexpected ", Describe(t, p), " after metric name ", Quote(name)));
    }
    p = v;
    if (p >= t.size()) {
      return Fail(line.no, p, absl::StrCat("expected a value after ", after));
    }
  }
  const size_t value_start = p;
  while (p < t.size() && t[p] != ' ' && (om || t[p] != '\t')) ++p;
  const std::string_view value_text = t.substr(value_start, p - value_start);
  const std::optional<double> value = ParseValue(value_text);
  if (!value) {
    return Fail(line.no, value_start,
                absl::StrCat("invalid value ", Quote(value_text),
                             ": expected a number, NaN, +Inf or -Inf"));
  }
  entry_.value = *value;
  entry_.value_end_column = static_cast<int>(p) + 1;

  // The timestamp.
  if (!om) {
    p = SkipBlanks(t, p);
    if (p < t.size()) {
      const size_t ts_start = p;
      while (p < t.size() && !Blank(t[p])) ++p;
      const std::string_view ts = t.substr(ts_start, p - ts_start);
      int64_t ms = 0;
      const char* first = ts.data();
      const char* last = ts.data() + ts.size();
      if (first < last && *first == '+') {
        return Fail(line.no, ts_start,
                    absl::StrCat("invalid timestamp ", Quote(ts),
                                 ": expected integer milliseconds since the Unix epoch"));
      }
      const auto [ptr, ec] = std::from_chars(first, last, ms);
      if (ec == std::errc::result_out_of_range) {
        return Fail(line.no, ts_start, absl::StrCat("timestamp ", Quote(ts), " is out of range"));
      }
      if (ec != std::errc() || ptr != last) {
        return Fail(line.no, ts_start,
                    absl::StrCat("invalid timestamp ", Quote(ts),
                                 ": expected integer milliseconds since the Unix epoch"));
      }
      entry_.timestamp_ms = ms;
      p = SkipBlanks(t, p);
      if (p < t.size()) {
        return Fail(line.no, p,
                    absl::StrCat("unexpected ", Describe(t, p),
                                 " after the timestamp: expected the end of the line"));
      }
    }
    ResolveFamily();
    return absl::OkStatus();
  }

  // OpenMetrics: [" " timestamp] [" # {" exemplar] end of line.
  auto at_exemplar = [&](size_t i) { return t.compare(i, 3, "# {") == 0; };
  if (p < t.size()) {
    ++p;  // the ' ' that ended the value
    if (!at_exemplar(p)) {
      const size_t ts_start = p;
      if (p >= t.size() || t[p] == ' ') {
        return Fail(line.no, p,
                    absl::StrCat("expected a timestamp or '# {' after the value, found ",
                                 Describe(t, p), " (fields are separated by exactly one space)"));
      }
      while (p < t.size() && t[p] != ' ') ++p;
      const std::string_view ts = t.substr(ts_start, p - ts_start);
      if (ts[0] == '#') {
        return Fail(line.no, ts_start, "expected '# {' to start an exemplar");
      }
      int64_t ms = 0;
      switch (ParseSecondsToMillis(ts, &ms)) {
        case TsError::kNone:
          break;
        case TsError::kSyntax:
          return Fail(line.no, ts_start,
                      absl::StrCat("invalid timestamp ", Quote(ts),
                                   ": expected seconds since the Unix epoch"));
        case TsError::kNotFinite:
          return Fail(line.no, ts_start,
                      absl::StrCat("invalid timestamp ", Quote(ts), ": must be finite"));
        case TsError::kRange:
          return Fail(line.no, ts_start, absl::StrCat("timestamp ", Quote(ts), " is out of range"));
      }
      entry_.timestamp_ms = ms;
      if (p < t.size()) {
        if (!at_exemplar(p + 1)) {
          if (p + 1 < t.size() && t[p + 1] == '#') {
            return Fail(line.no, p + 1, "expected '# {' to start an exemplar");
          }
          return Fail(line.no, p,
                      absl::StrCat("unexpected ", Describe(t, p),
                                   " after the timestamp: expected the end of the line or "
                                   "' # {' and an exemplar"));
        }
        ++p;
      }
    }
  }
  if (p < t.size()) {
    // An exemplar: "# {labels} value [timestamp]".
    const size_t hash = p;
    if (!name.ends_with("_total") && !name.ends_with("_bucket")) {
      return Fail(line.no, hash,
                  absl::StrCat("exemplars are only allowed on samples named *_total or "
                               "*_bucket, not ",
                               Quote(name)));
    }
    p += 2;  // "# "
    exemplar_labels_.clear();
    if (absl::Status s = ParseLabels(line, p, exemplar_labels_, /*exemplar=*/true); !s.ok()) {
      return s;
    }
    if (absl::Status s = CheckDuplicates(line, exemplar_labels_, false); !s.ok()) return s;
    Exemplar ex;
    ex.labels = exemplar_labels_;
    if (p >= t.size() || t[p] != ' ' || p + 1 >= t.size() || t[p + 1] == ' ') {
      return Fail(line.no, p < t.size() && t[p] == ' ' ? p + 1 : p,
                  "expected ' ' and a value after the exemplar labels");
    }
    ++p;
    const size_t ev_start = p;
    while (p < t.size() && t[p] != ' ') ++p;
    const std::string_view ev = t.substr(ev_start, p - ev_start);
    const std::optional<double> exemplar_value = ParseValue(ev);
    if (!exemplar_value) {
      return Fail(line.no, ev_start,
                  absl::StrCat("invalid exemplar value ", Quote(ev),
                               ": expected a number, NaN, +Inf or -Inf"));
    }
    ex.value = *exemplar_value;
    if (p < t.size()) {
      ++p;
      const size_t ets_start = p;
      while (p < t.size() && t[p] != ' ') ++p;
      const std::string_view ets = t.substr(ets_start, p - ets_start);
      int64_t ms = 0;
      if (ets.empty() || ParseSecondsToMillis(ets, &ms) != TsError::kNone) {
        return Fail(line.no, ets_start,
                    absl::StrCat("invalid exemplar timestamp ", Quote(ets),
                                 ": expected finite seconds since the Unix epoch"));
      }
      ex.timestamp_ms = ms;
      if (p < t.size()) {
        return Fail(line.no, p,
                    absl::StrCat("unexpected ", Describe(t, p),
                                 " after the exemplar timestamp: expected the end of the line"));
      }
    }
    entry_.exemplar = ex;
  }
  ResolveFamily();
  return absl::OkStatus();
}

void AppendLabels(const Entry& entry, std::vector<tsdb::Label>* out) {
  out->push_back(tsdb::Label{std::string(tsdb::kMetricNameLabel), std::string(entry.name)});
  for (const LabelPair& l : entry.labels) {
    if (l.value.empty()) continue;
    out->push_back(tsdb::Label{std::string(l.name), std::string(l.value)});
  }
}

tsdb::Labels ToLabels(const Entry& entry) {
  std::vector<tsdb::Label> labels;
  labels.reserve(entry.labels.size() + 1);
  AppendLabels(entry, &labels);
  return tsdb::Labels(std::move(labels));
}

}  // namespace scrape::textparse
