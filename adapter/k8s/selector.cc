// Label-selector parsing with the grammar, token rules and error texts of Kubernetes'
// labels.Parse: a lexer splits the text into identifiers and the operator symbols, and a
// recursive-descent parser turns the tokens into requirements, validating keys (qualified names)
// and values (label values) as NewRequirement does. Every error carries the byte offset of the
// token it is about.
#include "adapter/k8s/selector.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tsdb/text_escape.h"

namespace k8s {
namespace {

// ---------------------------------------------------------------------------------------------
// Validation (k8s.io/apimachinery/pkg/util/validation), written without regular expressions.

constexpr size_t kQualifiedNameMaxLength = 63;
constexpr size_t kLabelValueMaxLength = 63;
constexpr size_t kDns1123SubdomainMaxLength = 253;

constexpr char kQualifiedNameFmt[] = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
constexpr char kQualifiedNameErrMsg[] =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character";
constexpr char kLabelValueFmt[] = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
constexpr char kLabelValueErrMsg[] =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character";
constexpr char kDns1123SubdomainFmt[] =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
constexpr char kDns1123SubdomainErrMsg[] =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character";

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], i.e. non-empty, alphanumeric at both ends.
bool MatchesQualifiedNamePattern(std::string_view s) {
  if (s.empty() || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  for (char c : s) {
    if (!IsAlnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

// Dot-separated labels of [a-z0-9-], each non-empty and alphanumeric at both ends.
bool MatchesDns1123SubdomainPattern(std::string_view s) {
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string_view label =
        s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || !IsLowerAlnum(label.front()) || !IsLowerAlnum(label.back())) {
      return false;
    }
    for (char c : label) {
      if (!IsLowerAlnum(c) && c != '-') return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// Kubernetes' RegexError: the message, examples and the pattern the value must match.
std::string RegexError(std::string_view msg, std::string_view fmt,
                       std::initializer_list<std::string_view> examples) {
  std::string out(msg);
  out += " (e.g. ";
  bool first = true;
  for (std::string_view example : examples) {
    if (!first) out += " or ";
    first = false;
    absl::StrAppend(&out, "'", absl::string_view(example.data(), example.size()), "', ");
  }
  absl::StrAppend(&out, "regex used for validation is '", absl::string_view(fmt.data(), fmt.size()),
                  "')");
  return out;
}

std::string MaxLenError(size_t n) {
  return absl::StrCat("must be no more than ", n, " characters");
}

// validation.IsQualifiedName: the list of problems, empty when `key` is a valid label key.
std::vector<std::string> QualifiedNameErrors(std::string_view key) {
  std::vector<std::string> errs;
  size_t slash = key.find('/');
  std::string_view name = key;
  if (slash != std::string_view::npos) {
    if (key.find('/', slash + 1) != std::string_view::npos) {
      errs.push_back(absl::StrCat(
          "a qualified name ",
          RegexError(kQualifiedNameErrMsg, kQualifiedNameFmt, {"MyName", "my.name", "123-abc"}),
          " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"));
      return errs;
    }
    std::string_view prefix = key.substr(0, slash);
    name = key.substr(slash + 1);
    if (prefix.empty()) {
      errs.push_back("prefix part must be non-empty");
    } else {
      if (prefix.size() > kDns1123SubdomainMaxLength) {
        errs.push_back("prefix part " + MaxLenError(kDns1123SubdomainMaxLength));
      }
      if (!MatchesDns1123SubdomainPattern(prefix)) {
        errs.push_back("prefix part " +
                       RegexError(kDns1123SubdomainErrMsg, kDns1123SubdomainFmt, {"example.com"}));
      }
    }
  }
  if (name.empty()) {
    errs.push_back("name part must be non-empty");
  } else if (name.size() > kQualifiedNameMaxLength) {
    errs.push_back("name part " + MaxLenError(kQualifiedNameMaxLength));
  }
  if (!MatchesQualifiedNamePattern(name)) {
    errs.push_back("name part " + RegexError(kQualifiedNameErrMsg, kQualifiedNameFmt,
                                             {"MyName", "my.name", "123-abc"}));
  }
  return errs;
}

// validation.IsValidLabelValue.
std::vector<std::string> LabelValueErrors(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > kLabelValueMaxLength) errs.push_back(MaxLenError(kLabelValueMaxLength));
  if (!value.empty() && !MatchesQualifiedNamePattern(value)) {
    errs.push_back(RegexError(kLabelValueErrMsg, kLabelValueFmt, {"MyValue", "my_value", "12345"}));
  }
  return errs;
}

// Quotes s as Go's %q does for ASCII text; other bytes become \xNN so that messages stay
// printable ASCII whatever the input.
std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
  return out;
}

// A token's text inside `found '...'`: verbatim when printable ASCII (as Kubernetes prints it),
// otherwise with the odd bytes escaped.
std::string Literal(std::string_view s) {
  std::string q = Quote(s);
  return q.substr(1, q.size() - 2);
}

// strconv.ParseInt(s, 10, 64): optional sign, at least one decimal digit, within int64.
std::optional<int64_t> ParseInt64(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  const uint64_t limit =
      negative ? uint64_t{1} << 63 : static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (limit - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  if (negative) return static_cast<int64_t>(0 - v);  // two's complement; -2^63 included
  return static_cast<int64_t>(v);
}

// ---------------------------------------------------------------------------------------------
// Lexer.

enum class Tok {
  kEnd,
  kClosePar,
  kComma,
  kNot,  // "!" (DoesNotExistToken)
  kDoubleEquals,
  kEquals,
  kGreaterThan,
  kIdentifier,
  kIn,
  kLessThan,
  kNotEquals,
  kNotIn,
  kOpenPar,
};

struct Token {
  Tok tok;
  std::string_view literal;
  size_t offset;  // byte offset of the token's first character (end: the input's length)
};

// Whitespace between tokens, as Kubernetes' isWhitespace.
bool IsWhitespace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool IsSpecialSymbol(char c) {
  switch (c) {
    case '=':
    case '!':
    case '(':
    case ')':
    case ',':
    case '>':
    case '<':
      return true;
    default:
      return false;
  }
}

Tok SingleSymbol(char c) {
  switch (c) {
    case '=':
      return Tok::kEquals;
    case '!':
      return Tok::kNot;
    case '(':
      return Tok::kOpenPar;
    case ')':
      return Tok::kClosePar;
    case ',':
      return Tok::kComma;
    case '>':
      return Tok::kGreaterThan;
    default:  // '<'
      return Tok::kLessThan;
  }
}

// Splits the whole text into tokens, the last one kEnd. Operators are the longest match among
// "=", "==", "!", "!=", "(", ")", ",", ">", "<"; identifiers run up to whitespace or an
// operator character, and "in"/"notin" are keywords (the parser treats them as identifiers
// where a value or key is expected).
//
// Unlike Kubernetes' lexer, which stops at the first NUL byte and ignores the rest of the text,
// a NUL is an ordinary identifier character here (and is then rejected by key/value
// validation): text after it is never silently dropped.
std::vector<Token> Lex(std::string_view s) {
  std::vector<Token> tokens;
  size_t pos = 0;
  while (true) {
    while (pos < s.size() && IsWhitespace(s[pos])) ++pos;
    if (pos >= s.size()) {
      tokens.push_back({Tok::kEnd, std::string_view(), s.size()});
      return tokens;
    }
    const size_t start = pos;
    if (IsSpecialSymbol(s[pos])) {
      Tok tok = SingleSymbol(s[pos]);
      size_t len = 1;
      if (pos + 1 < s.size() && s[pos + 1] == '=') {
        if (s[pos] == '!') {
          tok = Tok::kNotEquals;
          len = 2;
        } else if (s[pos] == '=') {
          tok = Tok::kDoubleEquals;
          len = 2;
        }
      }
      pos += len;
      tokens.push_back({tok, s.substr(start, len), start});
      continue;
    }
    while (pos < s.size() && !IsSpecialSymbol(s[pos]) && !IsWhitespace(s[pos])) ++pos;
    std::string_view word = s.substr(start, pos - start);
    Tok tok = Tok::kIdentifier;
    if (word == "in") {
      tok = Tok::kIn;
    } else if (word == "notin") {
      tok = Tok::kNotIn;
    }
    tokens.push_back({tok, word, start});
  }
}

// ---------------------------------------------------------------------------------------------
// Parser.

// Where a token is read: in kValues context the keywords "in" and "notin" are identifiers.
enum class Context { kKeyAndOperator, kValues };

// A failure and the byte offset it is about.
struct ParseError {
  std::string message;
  size_t offset;
};

struct RawValue {
  std::string text;
  size_t offset;
};

class Parser {
 public:
  explicit Parser(std::string_view text) : tokens_(Lex(text)) {}

  // The requirements in the order written, or the first error.
  std::optional<ParseError> Parse(std::vector<Requirement>* out) {
    while (true) {
      Token t = Lookahead(Context::kValues);
      switch (t.tok) {
        case Tok::kIdentifier:
        case Tok::kNot: {
          Requirement r;
          if (std::optional<ParseError> err = ParseRequirement(&r)) {
            err->message = "unable to parse requirement: " + err->message;
            return err;
          }
          out->push_back(std::move(r));
          Token next = Consume(Context::kValues);
          if (next.tok == Tok::kEnd) return std::nullopt;
          if (next.tok == Tok::kComma) {
            Token after = Lookahead(Context::kValues);
            if (after.tok != Tok::kIdentifier && after.tok != Tok::kNot) {
              return Found(after, "expected: identifier after ','");
            }
            continue;
          }
          return Found(next, "expected: ',' or 'end of string'");
        }
        case Tok::kEnd:
          return std::nullopt;
        default:
          return Found(t, "expected: !, identifier, or 'end of string'");
      }
    }
  }

 private:
  static ParseError Found(const Token& t, std::string_view expected) {
    return ParseError{absl::StrCat("found '", Literal(t.literal), "', ",
                                   absl::string_view(expected.data(), expected.size())),
                      t.offset};
  }

  static Token InContext(Token t, Context context) {
    if (context == Context::kValues && (t.tok == Tok::kIn || t.tok == Tok::kNotIn)) {
      t.tok = Tok::kIdentifier;
    }
    return t;
  }

  Token Lookahead(Context context) const { return InContext(tokens_[pos_], context); }

  // Returns the current token and moves on; the final kEnd token is never passed.
  Token Consume(Context context) {
    Token t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return InContext(t, context);
  }

  std::optional<ParseError> ParseRequirement(Requirement* r) {
    // Key, with "!" in front for DoesNotExist; a bare key before ',' or the end is Exists.
    std::optional<SelectorOp> op;
    Token t = Consume(Context::kValues);
    if (t.tok == Tok::kNot) {
      op = SelectorOp::kDoesNotExist;
      t = Consume(Context::kValues);
    }
    if (t.tok != Tok::kIdentifier) return Found(t, "expected: identifier");
    std::vector<std::string> key_errs = QualifiedNameErrors(t.literal);
    if (!key_errs.empty()) {
      return ParseError{
          absl::StrCat("invalid label key ", Quote(t.literal), ": ", absl::StrJoin(key_errs, "; ")),
          t.offset};
    }
    r->key = std::string(t.literal);
    Token next = Lookahead(Context::kValues);
    if (!op && (next.tok == Tok::kEnd || next.tok == Tok::kComma)) op = SelectorOp::kExists;
    if (op) {
      r->op = *op;
      return std::nullopt;
    }

    Token op_token = Consume(Context::kKeyAndOperator);
    switch (op_token.tok) {
      case Tok::kIn:
        r->op = SelectorOp::kIn;
        break;
      case Tok::kNotIn:
        r->op = SelectorOp::kNotIn;
        break;
      case Tok::kEquals:
        r->op = SelectorOp::kEquals;
        break;
      case Tok::kDoubleEquals:
        r->op = SelectorOp::kDoubleEquals;
        break;
      case Tok::kNotEquals:
        r->op = SelectorOp::kNotEquals;
        break;
      case Tok::kGreaterThan:
        r->op = SelectorOp::kGreaterThan;
        break;
      case Tok::kLessThan:
        r->op = SelectorOp::kLessThan;
        break;
      default:
        return Found(op_token, "expected: in, notin, =, ==, !=, gt, lt");
    }

    std::vector<RawValue> values;
    std::optional<ParseError> err = (r->op == SelectorOp::kIn || r->op == SelectorOp::kNotIn)
                                        ? ParseValues(&values)
                                        : ParseExactValue(&values);
    if (err) return err;
    return Validate(r, std::move(values));
  }

  // "(" list ")" for in/notin. "()" is the one empty value; empty entries ("(a,)", "(,a)",
  // "(a,,b)") are the empty value too.
  std::optional<ParseError> ParseValues(std::vector<RawValue>* values) {
    Token open = Consume(Context::kValues);
    if (open.tok != Tok::kOpenPar) {
      // Kubernetes' text, without a comma before "expected".
      return ParseError{absl::StrCat("found '", Literal(open.literal), "' expected: '('"),
                        open.offset};
    }
    Token t = Lookahead(Context::kValues);
    switch (t.tok) {
      case Tok::kIdentifier:
      case Tok::kComma: {
        if (std::optional<ParseError> err = ParseIdentifiersList(values)) return err;
        Token close = Consume(Context::kValues);
        if (close.tok != Tok::kClosePar) return Found(close, "expected: ')'");
        return std::nullopt;
      }
      case Tok::kClosePar:
        Consume(Context::kValues);
        values->push_back({"", t.offset});
        return std::nullopt;
      default:
        return Found(t, "expected: ',', ')' or identifier");
    }
  }

  // Comma-separated, possibly empty identifiers up to (not including) ")".
  std::optional<ParseError> ParseIdentifiersList(std::vector<RawValue>* values) {
    while (true) {
      Token t = Consume(Context::kValues);
      switch (t.tok) {
        case Tok::kIdentifier: {
          values->push_back({std::string(t.literal), t.offset});
          Token next = Lookahead(Context::kValues);
          if (next.tok == Tok::kComma) continue;
          if (next.tok == Tok::kClosePar) return std::nullopt;
          return Found(next, "expected: ',' or ')'");
        }
        case Tok::kComma: {
          if (values->empty()) values->push_back({"", t.offset});  // "(,"
          Token next = Lookahead(Context::kValues);
          if (next.tok == Tok::kClosePar) {  // ",)"
            values->push_back({"", next.offset});
            return std::nullopt;
          }
          if (next.tok == Tok::kComma) {  // ",,"
            Consume(Context::kValues);
            values->push_back({"", next.offset});
          }
          continue;
        }
        default:
          return Found(t, "expected: ',', or identifier");
      }
    }
  }

  // The one value after =, ==, !=, >, <; empty when the requirement ends right there.
  std::optional<ParseError> ParseExactValue(std::vector<RawValue>* values) {
    Token t = Lookahead(Context::kValues);
    if (t.tok == Tok::kEnd || t.tok == Tok::kComma) {
      values->push_back({"", t.offset});
      return std::nullopt;
    }
    t = Consume(Context::kValues);
    if (t.tok != Tok::kIdentifier) return Found(t, "expected: identifier");
    values->push_back({std::string(t.literal), t.offset});
    return std::nullopt;
  }

  // NewRequirement's checks: values sorted and deduplicated, each a label value; an integer for
  // Gt/Lt. Several problems are reported together, "[first, second]", as Kubernetes aggregates
  // them; the offset is the first problem's.
  static std::optional<ParseError> Validate(Requirement* r, std::vector<RawValue> values) {
    std::stable_sort(values.begin(), values.end(),
                     [](const RawValue& a, const RawValue& b) { return a.text < b.text; });
    values.erase(std::unique(values.begin(), values.end(),
                             [](const RawValue& a, const RawValue& b) { return a.text == b.text; }),
                 values.end());
    std::vector<std::string> errs;
    size_t offset = 0;
    auto add = [&](std::string msg, size_t at) {
      if (errs.empty()) offset = at;
      errs.push_back(std::move(msg));
    };
    if (r->op == SelectorOp::kGreaterThan || r->op == SelectorOp::kLessThan) {
      for (const RawValue& v : values) {
        if (!ParseInt64(v.text)) {
          add(absl::StrCat("invalid value ", Quote(v.text),
                           ": for 'Gt', 'Lt' operators, the value must be an integer"),
              v.offset);
        }
      }
    }
    for (const RawValue& v : values) {
      std::vector<std::string> value_errs = LabelValueErrors(v.text);
      if (!value_errs.empty()) {
        add(absl::StrCat("invalid label value: ", Quote(v.text), ": at key: ", Quote(r->key), ": ",
                         absl::StrJoin(value_errs, "; ")),
            v.offset);
      }
    }
    if (!errs.empty()) {
      std::string message =
          errs.size() == 1 ? errs.front() : absl::StrCat("[", absl::StrJoin(errs, ", "), "]");
      return ParseError{std::move(message), offset};
    }
    r->values.clear();
    for (RawValue& v : values) r->values.push_back(std::move(v.text));
    return std::nullopt;
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
};

// ---------------------------------------------------------------------------------------------
// JSON output.

bool HasValue(const Requirement& r, std::string_view v) {
  return std::find(r.values.begin(), r.values.end(), v) != r.values.end();
}

bool RequirementMatches(const Requirement& r, const LabelLookup& lookup) {
  std::optional<std::string_view> value = lookup(r.key);
  switch (r.op) {
    case SelectorOp::kEquals:
    case SelectorOp::kDoubleEquals:
    case SelectorOp::kIn:
      return value.has_value() && HasValue(r, *value);
    case SelectorOp::kNotEquals:
    case SelectorOp::kNotIn:
      return !value.has_value() || !HasValue(r, *value);
    case SelectorOp::kExists:
      return value.has_value();
    case SelectorOp::kDoesNotExist:
      return !value.has_value();
    case SelectorOp::kGreaterThan:
    case SelectorOp::kLessThan: {
      if (!value.has_value() || r.values.size() != 1) return false;
      std::optional<int64_t> have = ParseInt64(*value);
      std::optional<int64_t> want = ParseInt64(r.values.front());
      if (!have || !want) return false;
      return r.op == SelectorOp::kGreaterThan ? *have > *want : *have < *want;
    }
  }
  return false;
}

}  // namespace

absl::StatusOr<LabelSelector> LabelSelector::Parse(std::string_view text) {
  LabelSelector selector;
  Parser parser(text);
  if (std::optional<ParseError> err = parser.Parse(&selector.requirements_)) {
    return absl::InvalidArgumentError(absl::StrCat(err->message, " (at offset ", err->offset, ")"));
  }
  std::stable_sort(selector.requirements_.begin(), selector.requirements_.end(),
                   [](const Requirement& a, const Requirement& b) { return a.key < b.key; });
  return selector;
}

bool LabelSelector::Matches(const LabelLookup& lookup) const {
  for (const Requirement& r : requirements_) {
    if (!RequirementMatches(r, lookup)) return false;
  }
  return true;
}

std::string LabelSelector::String() const {
  std::string out;
  for (const Requirement& r : requirements_) {
    if (!out.empty()) out += ',';
    if (r.op == SelectorOp::kDoesNotExist) out += '!';
    out += r.key;
    std::string_view op;
    switch (r.op) {
      case SelectorOp::kEquals:
        op = "=";
        break;
      case SelectorOp::kDoubleEquals:
        op = "==";
        break;
      case SelectorOp::kNotEquals:
        op = "!=";
        break;
      case SelectorOp::kIn:
        op = " in ";
        break;
      case SelectorOp::kNotIn:
        op = " notin ";
        break;
      case SelectorOp::kGreaterThan:
        op = ">";
        break;
      case SelectorOp::kLessThan:
        op = "<";
        break;
      case SelectorOp::kExists:
      case SelectorOp::kDoesNotExist:
        continue;
    }
    out += op;
    const bool set = r.op == SelectorOp::kIn || r.op == SelectorOp::kNotIn;
    if (set) {
      std::vector<std::string> sorted = r.values;
      std::sort(sorted.begin(), sorted.end());
      absl::StrAppend(&out, "(", absl::StrJoin(sorted, ","), ")");
    } else if (!r.values.empty()) {
      out += r.values.front();
    }
  }
  return out;
}

std::string LabelSelector::ToJson() const {
  if (requirements_.empty()) return "null";
  // The first equality requirement of a key goes to matchLabels; a further one on the same key
  // (an unsatisfiable "a=x,a=y") stays a requirement, as In with its one value, so that the
  // object selects what the text selects. != is NotIn with its one value, which has the same
  // meaning (absent labels included).
  std::string labels;
  std::string expressions;
  std::string last_label_key;
  bool have_label = false;
  for (const Requirement& r : requirements_) {
    const bool equality = r.op == SelectorOp::kEquals || r.op == SelectorOp::kDoubleEquals;
    if (equality && r.values.size() == 1 && (!have_label || r.key != last_label_key)) {
      labels += labels.empty() ? "{" : ",";
      tsdb::AppendJsonString(r.key, &labels);
      labels += ':';
      tsdb::AppendJsonString(r.values.front(), &labels);
      last_label_key = r.key;
      have_label = true;
      continue;
    }
    std::string_view op;
    switch (r.op) {
      case SelectorOp::kEquals:
      case SelectorOp::kDoubleEquals:
      case SelectorOp::kIn:
        op = "In";
        break;
      case SelectorOp::kNotEquals:
      case SelectorOp::kNotIn:
        op = "NotIn";
        break;
      case SelectorOp::kExists:
        op = "Exists";
        break;
      case SelectorOp::kDoesNotExist:
        op = "DoesNotExist";
        break;
      case SelectorOp::kGreaterThan:
        op = "Gt";
        break;
      case SelectorOp::kLessThan:
        op = "Lt";
        break;
    }
    expressions += expressions.empty() ? "[" : ",";
    expressions += "{\"key\":";
    tsdb::AppendJsonString(r.key, &expressions);
    absl::StrAppend(&expressions, ",\"operator\":\"", absl::string_view(op.data(), op.size()),
                    "\"");
    if (!r.values.empty()) {
      std::vector<std::string> sorted = r.values;
      std::sort(sorted.begin(), sorted.end());
      expressions += ",\"values\":[";
      for (size_t i = 0; i < sorted.size(); ++i) {
        if (i > 0) expressions += ',';
        tsdb::AppendJsonString(sorted[i], &expressions);
      }
      expressions += ']';
    }
    expressions += '}';
  }
  std::string out = "{";
  if (!labels.empty()) absl::StrAppend(&out, "\"matchLabels\":", labels, "}");
  if (!expressions.empty()) {
    if (!labels.empty()) out += ',';
    absl::StrAppend(&out, "\"matchExpressions\":", expressions, "]");
  }
  out += '}';
  return out;
}

}  // namespace k8s
