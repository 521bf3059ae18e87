#include "promql/parser/lexer.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace promql::parser {
namespace {

constexpr int kEofRune = -1;
constexpr int kRuneError = 0xFFFD;

bool IsSpace(int r) { return r == ' ' || r == '\t' || r == '\n' || r == '\r'; }
bool IsDigit(int r) { return r >= '0' && r <= '9'; }
bool IsAlpha(int r) { return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'); }
bool IsAlphaNumeric(int r) { return IsAlpha(r) || IsDigit(r); }

absl::string_view A(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Decodes one UTF-8 sequence at s[i]. Returns the rune and its width; invalid input yields
// (kRuneError, 1) like Go's utf8.DecodeRuneInString.
std::pair<int, int> DecodeRune(std::string_view s, size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return {b0, 1};
  auto cont = [&](size_t k) {
    return k < s.size() && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80;
  };
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]) & 0x3F; };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (!cont(i + 1)) return {kRuneError, 1};
    return {((b0 & 0x1F) << 6) | byte(i + 1), 2};
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (!cont(i + 1) || !cont(i + 2)) return {kRuneError, 1};
    const int r = ((b0 & 0x0F) << 12) | (byte(i + 1) << 6) | byte(i + 2);
    if (r < 0x800 || (r >= 0xD800 && r < 0xE000)) return {kRuneError, 1};
    return {r, 3};
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return {kRuneError, 1};
    const int r = ((b0 & 0x07) << 18) | (byte(i + 1) << 12) | (byte(i + 2) << 6) | byte(i + 3);
    if (r < 0x10000 || r > 0x10FFFF) return {kRuneError, 1};
    return {r, 4};
  }
  return {kRuneError, 1};
}

void AppendUtf8(std::string* out, uint32_t r) {
  if (r < 0x80) {
    out->push_back(static_cast<char>(r));
  } else if (r < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (r >> 6)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else if (r < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (r >> 12)));
    out->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (r >> 18)));
    out->push_back(static_cast<char>(0x80 | ((r >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
  }
}

// An approximation of Go's unicode.IsPrint for runes outside ASCII.
bool IsPrintRune(int r) {
  if (r < 0x20 || r == 0x7F) return false;
  if (r < 0x7F) return true;
  if (r < 0xA1) return false;  // C1 controls and NBSP
  if (r == 0xAD) return false;
  if ((r >= 0x2000 && r <= 0x200F) || (r >= 0x2028 && r <= 0x202F) ||
      (r >= 0x205F && r <= 0x206F) || r == 0x3000 || r == 0xFEFF || (r >= 0xFFF9 && r <= 0xFFFB) ||
      (r >= 0xE000 && r <= 0xF8FF)) {
    return false;
  }
  return true;
}

void AppendEscapedRune(std::string* out, int r, char quote) {
  if (r == quote || r == '\\') {
    out->push_back('\\');
    out->push_back(static_cast<char>(r));
    return;
  }
  if (IsPrintRune(r)) {
    AppendUtf8(out, static_cast<uint32_t>(r));
    return;
  }
  switch (r) {
    case '\a':
      out->append("\\a");
      return;
    case '\b':
      out->append("\\b");
      return;
    case '\f':
      out->append("\\f");
      return;
    case '\n':
      out->append("\\n");
      return;
    case '\r':
      out->append("\\r");
      return;
    case '\t':
      out->append("\\t");
      return;
    case '\v':
      out->append("\\v");
      return;
    default:
      break;
  }
  if (r < ' ' || r == 0x7F) {
    absl::StrAppend(out, absl::StrFormat("\\x%02x", r));
  } else if (r < 0x10000) {
    absl::StrAppend(out, absl::StrFormat("\\u%04x", r));
  } else {
    absl::StrAppend(out, absl::StrFormat("\\U%08x", r));
  }
}

// Go's %#U: "U+0063 'c'" (the quoted form only for printable runes).
std::string FormatUPlus(int r) {
  std::string out = absl::StrFormat("U+%04X", r < 0 ? kRuneError : r);
  if (r >= 0 && IsPrintRune(r)) {
    out += " '";
    AppendUtf8(&out, static_cast<uint32_t>(r));
    out += "'";
  }
  return out;
}

int DigitVal(int ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return 16;
}

struct KeywordEntry {
  std::string_view word;
  Keyword keyword;
};

constexpr KeywordEntry kKeywords[] = {
    {"and", Keyword::kAnd},
    {"or", Keyword::kOr},
    {"unless", Keyword::kUnless},
    {"atan2", Keyword::kAtan2},
    {"sum", Keyword::kSum},
    {"avg", Keyword::kAvg},
    {"count", Keyword::kCount},
    {"min", Keyword::kMin},
    {"max", Keyword::kMax},
    {"group", Keyword::kGroup},
    {"stddev", Keyword::kStddev},
    {"stdvar", Keyword::kStdvar},
    {"topk", Keyword::kTopk},
    {"bottomk", Keyword::kBottomk},
    {"count_values", Keyword::kCountValues},
    {"quantile", Keyword::kQuantile},
    {"limitk", Keyword::kLimitk},
    {"limit_ratio", Keyword::kLimitRatio},
    {"offset", Keyword::kOffset},
    {"smoothed", Keyword::kSmoothed},
    {"anchored", Keyword::kAnchored},
    {"by", Keyword::kBy},
    {"without", Keyword::kWithout},
    {"on", Keyword::kOn},
    {"ignoring", Keyword::kIgnoring},
    {"group_left", Keyword::kGroupLeft},
    {"group_right", Keyword::kGroupRight},
    {"bool", Keyword::kBool},
    {"fill", Keyword::kFill},
    {"fill_left", Keyword::kFillLeft},
    {"fill_right", Keyword::kFillRight},
    {"start", Keyword::kStart},
    {"end", Keyword::kEnd},
    {"step", Keyword::kStep},
};

Keyword LookupKeyword(std::string_view lower) {
  for (const KeywordEntry& e : kKeywords) {
    if (e.word == lower) return e.keyword;
  }
  return Keyword::kNone;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = absl::ascii_tolower(static_cast<unsigned char>(c));
  return out;
}

// Go's %.10q...: the first ten runes quoted, then "...".
std::string ShortQuote(std::string_view s) {
  if (s.size() <= 10) return GoQuote(s);
  size_t i = 0;
  for (int runes = 0; runes < 10 && i < s.size(); ++runes) i += DecodeRune(s, i).second;
  return GoQuote(s.substr(0, i)) + "...";
}

}  // namespace

bool IsAggregatorKeyword(Keyword k) { return k >= Keyword::kSum && k <= Keyword::kLimitRatio; }
bool IsOperatorKeyword(Keyword k) { return k >= Keyword::kAnd && k <= Keyword::kAtan2; }

std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    auto [r, w] = DecodeRune(s, i);
    if (r == kRuneError && w == 1 && !(s.size() - i >= 3 && s.substr(i, 3) == "\xEF\xBF\xBD")) {
      absl::StrAppend(&out, absl::StrFormat("\\x%02x", static_cast<unsigned char>(s[i])));
    } else {
      AppendEscapedRune(&out, r, '"');
    }
    i += w;
  }
  out += "\"";
  return out;
}

std::string GoQuoteRune(int rune) {
  std::string out = "'";
  if (rune < 0 || rune > 0x10FFFF) rune = kRuneError;
  AppendEscapedRune(&out, rune, '\'');
  out += "'";
  return out;
}

std::string DescribeToken(const Token& tok) {
  switch (tok.type) {
    case TokenType::kEOF:
      return "end of input";
    case TokenType::kError:
      return tok.error;
    case TokenType::kIdentifier:
      if (tok.keyword == Keyword::kNone) return "identifier " + GoQuote(tok.text);
      if (IsOperatorKeyword(tok.keyword)) return absl::StrCat("<op:", A(tok.text), ">");
      if (IsAggregatorKeyword(tok.keyword)) return absl::StrCat("<aggr:", A(tok.text), ">");
      if (tok.keyword == Keyword::kStart || tok.keyword == Keyword::kEnd ||
          tok.keyword == Keyword::kStep) {
        return GoQuote(tok.text);
      }
      return absl::StrCat("<", A(tok.text), ">");
    case TokenType::kMetricIdentifier:
      return "metric identifier " + GoQuote(tok.text);
    case TokenType::kNumber:
      return "number " + ShortQuote(tok.text);
    case TokenType::kDuration:
      return "duration " + ShortQuote(tok.text);
    case TokenType::kString:
      return "string " + ShortQuote(tok.text);
    case TokenType::kLeftParen:
    case TokenType::kRightParen:
    case TokenType::kLeftBrace:
    case TokenType::kRightBrace:
    case TokenType::kLeftBracket:
    case TokenType::kRightBracket:
    case TokenType::kComma:
    case TokenType::kColon:
    case TokenType::kEql:
      return GoQuote(tok.text);
    default:
      return absl::StrCat("<op:", A(tok.text), ">");
  }
}

int Lexer::NextRune() {
  if (pos_ >= static_cast<int>(input_.size())) {
    width_ = 0;
    return kEofRune;
  }
  auto [r, w] = DecodeRune(input_, static_cast<size_t>(pos_));
  width_ = w;
  pos_ += w;
  return r;
}

int Lexer::PeekRune() {
  const int r = NextRune();
  Backup();
  return r;
}

bool Lexer::Accept(std::string_view valid) {
  const int r = NextRune();
  if (r >= 0 && r < 0x80 && valid.find(static_cast<char>(r)) != std::string_view::npos) {
    return true;
  }
  Backup();
  return false;
}

bool Lexer::Is(std::string_view valid) {
  const int r = PeekRune();
  return r >= 0 && r < 0x80 && valid.find(static_cast<char>(r)) != std::string_view::npos;
}

Token Lexer::Emit(TokenType type) {
  Token t;
  t.type = type;
  t.pos = start_;
  t.text = input_.substr(static_cast<size_t>(start_), static_cast<size_t>(pos_ - start_));
  start_ = pos_;
  return t;
}

Token Lexer::Error(std::string message) {
  Token t;
  t.type = TokenType::kError;
  t.pos = start_;
  t.error = std::move(message);
  done_ = true;
  return t;
}

void Lexer::SkipComment() {
  // The '#' has not been consumed yet.
  while (pos_ < static_cast<int>(input_.size()) && input_[pos_] != '\n' && input_[pos_] != '\r') {
    ++pos_;
  }
  start_ = pos_;
}

Token Lexer::Next() {
  if (done_) {
    start_ = static_cast<int>(input_.size());
    pos_ = start_;
    Token t;
    t.type = TokenType::kEOF;
    t.pos = start_;
    return t;
  }
  Token t;
  if (brace_open_) {
    t = LexInsideBraces();
  } else if (bracket_open_) {
    t = LexInsideBrackets();
  } else {
    t = LexStatement();
  }
  if (t.type == TokenType::kEOF || t.type == TokenType::kError) done_ = true;
  if (bracket_open_ || t.type == TokenType::kRightBracket) {
    last_was_number_ = t.type == TokenType::kNumber || t.type == TokenType::kDuration;
    // A ':' right after '[' is an error; after anything else the parser judges it.
    got_duration_ = t.type != TokenType::kLeftBracket;
  }
  return t;
}

Token Lexer::LexStatement() {
  for (;;) {
    start_ = pos_;
    if (pos_ < static_cast<int>(input_.size()) && input_[pos_] == '#') {
      SkipComment();
      continue;
    }
    const int r = NextRune();
    if (IsSpace(r)) continue;
    start_ = pos_ - width_;
    switch (r) {
      case kEofRune:
        start_ = pos_;
        if (paren_depth_ != 0) return Error("unclosed left parenthesis");
        return Emit(TokenType::kEOF);
      case ',':
        return Emit(TokenType::kComma);
      case '*':
        return Emit(TokenType::kMul);
      case '/':
        return Emit(TokenType::kDiv);
      case '%':
        return Emit(TokenType::kMod);
      case '+':
        return Emit(TokenType::kAdd);
      case '-':
        return Emit(TokenType::kSub);
      case '^':
        return Emit(TokenType::kPow);
      case '=': {
        const int t = PeekRune();
        if (t == '=') {
          NextRune();
          return Emit(TokenType::kEqlc);
        }
        if (t == '~') return Error("unexpected character after '=': '~'");
        return Emit(TokenType::kEql);
      }
      case '!': {
        const int t = NextRune();
        if (t != '=') return Error("unexpected character after '!': " + GoQuoteRune(t));
        return Emit(TokenType::kNeq);
      }
      case '<': {
        const int t = PeekRune();
        if (t == '=') {
          NextRune();
          return Emit(TokenType::kLte);
        }
        if (t == '/') {
          NextRune();
          return Emit(TokenType::kTrimUpper);
        }
        return Emit(TokenType::kLss);
      }
      case '>': {
        const int t = PeekRune();
        if (t == '=') {
          NextRune();
          return Emit(TokenType::kGte);
        }
        if (t == '/') {
          NextRune();
          return Emit(TokenType::kTrimLower);
        }
        return Emit(TokenType::kGtr);
      }
      case '"':
      case '\'':
        return LexString(static_cast<char>(r));
      case '`':
        return LexString('`');
      case '(':
        ++paren_depth_;
        return Emit(TokenType::kLeftParen);
      case ')':
        --paren_depth_;
        if (paren_depth_ < 0) {
          start_ = pos_;
          return Error("unexpected right parenthesis ')'");
        }
        return Emit(TokenType::kRightParen);
      case '{':
        brace_open_ = true;
        return Emit(TokenType::kLeftBrace);
      case '[':
        bracket_open_ = true;
        got_colon_ = false;
        got_duration_ = false;
        last_was_number_ = false;
        return Emit(TokenType::kLeftBracket);
      case ']':
        return Error("unexpected right bracket ']'");
      case '@':
        return Emit(TokenType::kAt);
      default:
        break;
    }
    if (IsDigit(r) || (r == '.' && IsDigit(PeekRune()))) {
      Backup();
      return LexNumberOrDuration();
    }
    if (IsAlpha(r) || r == ':') {
      Backup();
      return LexWord(true);
    }
    return Error("unexpected character: " + GoQuoteRune(r));
  }
}

Token Lexer::LexInsideBraces() {
  for (;;) {
    start_ = pos_;
    if (pos_ < static_cast<int>(input_.size()) && input_[pos_] == '#') {
      SkipComment();
      continue;
    }
    const int r = NextRune();
    if (IsSpace(r)) continue;
    start_ = pos_ - width_;
    if (r == kEofRune) {
      start_ = pos_;
      return Error("unexpected end of input inside braces");
    }
    if (IsAlpha(r)) {
      while (IsAlphaNumeric(NextRune())) {
      }
      Backup();
      return Emit(TokenType::kIdentifier);
    }
    switch (r) {
      case ',':
        return Emit(TokenType::kComma);
      case '"':
      case '\'':
        return LexString(static_cast<char>(r));
      case '`':
        return LexString('`');
      case '=':
        if (NextRune() == '~') return Emit(TokenType::kEqlRegex);
        Backup();
        return Emit(TokenType::kEql);
      case '!': {
        const int nr = NextRune();
        if (nr == '~') return Emit(TokenType::kNeqRegex);
        if (nr == '=') return Emit(TokenType::kNeq);
        return Error("unexpected character after '!' inside braces: " + GoQuoteRune(nr));
      }
      case '{':
        return Error("unexpected left brace '{'");
      case '}':
        brace_open_ = false;
        return Emit(TokenType::kRightBrace);
      default:
        return Error("unexpected character inside braces: " + GoQuoteRune(r));
    }
  }
}

Token Lexer::LexInsideBrackets() {
  for (;;) {
    start_ = pos_;
    const int r = NextRune();
    if (IsSpace(r)) continue;
    start_ = pos_ - width_;
    switch (r) {
      case kEofRune:
        start_ = pos_;
        return Error("unexpected end of input in duration expression");
      case ']':
        bracket_open_ = false;
        got_colon_ = false;
        return Emit(TokenType::kRightBracket);
      case ':':
        if (got_colon_) return Error("unexpected repeated colon in duration expression");
        if (!got_duration_) return Error("unexpected colon before duration in duration expression");
        got_colon_ = true;
        return Emit(TokenType::kColon);
      case '(':
        ++paren_depth_;
        return Emit(TokenType::kLeftParen);
      case ')':
        --paren_depth_;
        if (paren_depth_ < 0) {
          start_ = pos_;
          return Error("unexpected right parenthesis ')'");
        }
        return Emit(TokenType::kRightParen);
      case '+':
        return Emit(TokenType::kAdd);
      case '-':
        return Emit(TokenType::kSub);
      case '*':
        return Emit(TokenType::kMul);
      case '/':
        return Emit(TokenType::kDiv);
      case '%':
        return Emit(TokenType::kMod);
      case '^':
        return Emit(TokenType::kPow);
      case ',':
        return Emit(TokenType::kComma);
      default:
        break;
    }
    if (IsDigit(r) || (r == '.' && IsDigit(PeekRune()))) {
      Backup();
      return LexNumberOrDuration();
    }
    if (IsAlpha(r)) {
      const int first = r;
      while (IsAlphaNumeric(NextRune())) {
      }
      Backup();
      const std::string word = Lower(input_.substr(start_, pos_ - start_));
      if (word == "step" || word == "range" || word == "min_of" || word == "max_of" ||
          word == "min" || word == "max") {
        Token t = Emit(TokenType::kIdentifier);
        t.keyword = LookupKeyword(word);
        return t;
      }
      if (last_was_number_) {
        return Error(absl::StrCat("unexpected character: ", GoQuoteRune(first), ", expected ':'"));
      }
      return Error("unexpected character in duration expression: " + GoQuoteRune(first));
    }
    return Error("unexpected character in duration expression: " + GoQuoteRune(r));
  }
}

Token Lexer::LexWord(bool allow_colon) {
  for (;;) {
    const int r = NextRune();
    if (IsAlphaNumeric(r) || (allow_colon && r == ':')) continue;
    Backup();
    break;
  }
  const std::string_view word = input_.substr(start_, pos_ - start_);
  const std::string lower = Lower(word);
  if (lower == "inf" || lower == "nan") return Emit(TokenType::kNumber);
  const Keyword kw = LookupKeyword(lower);
  if (kw != Keyword::kNone) {
    Token t = Emit(TokenType::kIdentifier);
    t.keyword = kw;
    return t;
  }
  if (word.find(':') != std::string_view::npos) return Emit(TokenType::kMetricIdentifier);
  return Emit(TokenType::kIdentifier);
}

Token Lexer::LexNumberOrDuration() {
  if (ScanNumber()) return Emit(TokenType::kNumber);
  if (AcceptRemainingDuration()) {
    Backup();
    return Emit(TokenType::kDuration);
  }
  return Error("bad number or duration syntax: " + GoQuote(input_.substr(start_, pos_ - start_)));
}

bool Lexer::ScanNumber() {
  const int initial = pos_;
  std::string_view digits = "0123456789";
  const bool hex = Accept("0") && Accept("xX");
  if (hex) {
    Accept("_");
    digits = "0123456789abcdefABCDEF";
  }
  const std::string all = std::string(digits) + "._eE";
  Accept(".");
  Accept(digits);
  bool dot_consumed = false;
  bool exponent_consumed = false;
  while (Is(all)) {
    if (Is(".") && dot_consumed) {
      Accept(".");
      return false;
    }
    if (Is("eE") && exponent_consumed) {
      Accept("eE");
      return false;
    }
    if (Accept(".")) {
      dot_consumed = true;
      if (Accept("_.")) return false;
      if (hex) return false;
      continue;
    }
    if (Accept("eE")) {
      exponent_consumed = true;
      Accept("+-");
      if (Accept("._eE") || PeekRune() == kEofRune) return false;
      continue;
    }
    if (Accept("_")) {
      if (Accept("._eE") || PeekRune() == kEofRune) return false;
      continue;
    }
    while (Accept(digits)) {
    }
  }
  if (pos_ == initial) return false;
  return !IsAlphaNumeric(PeekRune());
}

bool Lexer::AcceptRemainingDuration() {
  if (!Accept("smhdwy")) return false;
  Accept("s");
  while (Accept("0123456789")) {
    while (Accept("0123456789")) {
    }
    if (!Accept("smhdw")) return false;
    Accept("s");
  }
  return !IsAlphaNumeric(NextRune());
}

Token Lexer::LexString(char quote) {
  // The opening quote has been consumed; start_ is on it.
  for (;;) {
    const int r = NextRune();
    if (quote == '`') {
      if (r == kEofRune) return Error("unterminated raw string");
      if (r == kRuneError && width_ == 1) return Error("invalid UTF-8 rune");
      if (r == '`') break;
      continue;
    }
    if (r == '\\') {
      int ch = NextRune();
      int n = 0;
      uint32_t base = 0;
      uint32_t max = 0;
      switch (ch) {
        case 'a':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
        case 'v':
        case '\\':
          continue;
        case '0':
        case '1':
        case '2':
        case '3':
        case '4':
        case '5':
        case '6':
        case '7':
          n = 3;
          base = 8;
          max = 255;
          break;
        case 'x':
          ch = NextRune();
          n = 2;
          base = 16;
          max = 255;
          break;
        case 'u':
          ch = NextRune();
          n = 4;
          base = 16;
          max = 0x10FFFF;
          break;
        case 'U':
          ch = NextRune();
          n = 8;
          base = 16;
          max = 0x10FFFF;
          break;
        case kEofRune:
          return Error("escape sequence not terminated");
        default:
          if (ch == quote) continue;
          return Error("unknown escape sequence " + FormatUPlus(ch));
      }
      uint32_t x = 0;
      while (n > 0) {
        const auto d = static_cast<uint32_t>(DigitVal(ch));
        if (d >= base) {
          if (ch == kEofRune) return Error("escape sequence not terminated");
          return Error(absl::StrCat("illegal character ", FormatUPlus(ch), " in escape sequence"));
        }
        x = x * base + d;
        --n;
        if (n > 0) ch = NextRune();
      }
      if (x > max || (x >= 0xD800 && x < 0xE000)) {
        return Error("escape sequence is an invalid Unicode code point");
      }
      continue;
    }
    if (r == kRuneError && width_ == 1) return Error("invalid UTF-8 rune");
    if (r == kEofRune || r == '\n') return Error("unterminated quoted string");
    if (r == quote) break;
  }
  return Emit(TokenType::kString);
}

absl::StatusOr<std::string> UnquoteString(std::string_view quoted) {
  if (quoted.size() < 2 || quoted.front() != quoted.back()) {
    return absl::InvalidArgumentError("invalid quoted string");
  }
  const char quote = quoted.front();
  std::string_view body = quoted.substr(1, quoted.size() - 2);
  if (quote == '`') return std::string(body);
  std::string out;
  out.reserve(body.size());
  for (size_t i = 0; i < body.size();) {
    const char c = body[i];
    if (c != '\\') {
      out.push_back(c);
      ++i;
      continue;
    }
    if (i + 1 >= body.size()) return absl::InvalidArgumentError("escape sequence not terminated");
    const char e = body[i + 1];
    i += 2;
    switch (e) {
      case 'a':
        out.push_back('\a');
        continue;
      case 'b':
        out.push_back('\b');
        continue;
      case 'f':
        out.push_back('\f');
        continue;
      case 'n':
        out.push_back('\n');
        continue;
      case 'r':
        out.push_back('\r');
        continue;
      case 't':
        out.push_back('\t');
        continue;
      case 'v':
        out.push_back('\v');
        continue;
      case '\\':
        out.push_back('\\');
        continue;
      case '\'':
      case '"':
        out.push_back(e);
        continue;
      default:
        break;
    }
    int n = 0;
    uint32_t base = 16;
    if (e >= '0' && e <= '7') {
      n = 3;
      base = 8;
      i -= 1;  // the first digit is part of the value
    } else if (e == 'x') {
      n = 2;
    } else if (e == 'u') {
      n = 4;
    } else if (e == 'U') {
      n = 8;
    } else {
      return absl::InvalidArgumentError("unknown escape sequence");
    }
    if (i + n > body.size()) return absl::InvalidArgumentError("escape sequence not terminated");
    uint32_t x = 0;
    for (int k = 0; k < n; ++k) {
      const auto d = static_cast<uint32_t>(DigitVal(body[i + k]));
      if (d >= base) return absl::InvalidArgumentError("illegal character in escape sequence");
      x = x * base + d;
    }
    i += n;
    if (e == 'x' || (e >= '0' && e <= '7')) {
      if (x > 255) return absl::InvalidArgumentError("invalid escape value");
      out.push_back(static_cast<char>(x));
    } else {
      if (x > 0x10FFFF || (x >= 0xD800 && x < 0xE000)) {
        return absl::InvalidArgumentError("escape sequence is an invalid Unicode code point");
      }
      AppendUtf8(&out, x);
    }
  }
  return out;
}

absl::StatusOr<int64_t> ParseDurationMs(std::string_view text) {
  if (text == "0") return 0;
  if (text.empty()) return absl::InvalidArgumentError("empty duration string");
  struct Unit {
    std::string_view name;
    uint64_t ns;
    int order;
  };
  static constexpr Unit kUnits[] = {
      {"y", 365ULL * 24 * 3600 * 1000000000ULL, 1},
      {"w", 7ULL * 24 * 3600 * 1000000000ULL, 2},
      {"d", 24ULL * 3600 * 1000000000ULL, 3},
      {"h", 3600ULL * 1000000000ULL, 4},
      {"m", 60ULL * 1000000000ULL, 5},
      {"s", 1000000000ULL, 6},
      {"ms", 1000000ULL, 7},
  };
  const std::string invalid = "not a valid duration string: " + GoQuote(text);
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t total = 0;
  int last_order = 0;
  std::string_view s = text;
  while (!s.empty()) {
    if (!IsDigit(static_cast<unsigned char>(s[0]))) return absl::InvalidArgumentError(invalid);
    size_t i = 0;
    uint64_t v = 0;
    bool overflow = false;
    for (; i < s.size() && IsDigit(static_cast<unsigned char>(s[i])); ++i) {
      const uint64_t d = static_cast<uint64_t>(s[i] - '0');
      if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) overflow = true;
      v = v * 10 + d;
    }
    if (overflow) return absl::InvalidArgumentError(invalid);
    s.remove_prefix(i);
    i = 0;
    while (i < s.size() && !IsDigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == 0) return absl::InvalidArgumentError(invalid);
    const std::string_view unit_name = s.substr(0, i);
    s.remove_prefix(i);
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (u.name == unit_name) unit = &u;
    }
    if (unit == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown unit ", GoQuote(unit_name), " in duration ", GoQuote(text)));
    }
    if (unit->order <= last_order) return absl::InvalidArgumentError(invalid);
    last_order = unit->order;
    if (v > (kMax + 1) / unit->ns) return absl::InvalidArgumentError("duration out of range");
    total += v * unit->ns;
    if (total > kMax) return absl::InvalidArgumentError("duration out of range");
  }
  return static_cast<int64_t>(total / 1000000ULL);
}

namespace {

// Go's underscoreOK for integer/float literals: '_' only between digits or after a base prefix.
bool UnderscoresOk(std::string_view s) {
  char saw = '^';  // '^' start, '0' digit, '_' underscore, '!' other
  size_t i = 0;
  bool hex = false;
  if (s.size() >= 2 && s[0] == '0') {
    const char p = absl::ascii_tolower(static_cast<unsigned char>(s[1]));
    if (p == 'x' || p == 'o' || p == 'b') {
      hex = p == 'x';
      i = 2;
      saw = '0';
    }
  }
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (IsDigit(static_cast<unsigned char>(c)) ||
        (hex && DigitVal(static_cast<unsigned char>(c)) < 16)) {
      saw = '0';
      continue;
    }
    if (c == '_') {
      if (saw != '0') return false;
      saw = '_';
      continue;
    }
    if (saw == '_') return false;
    saw = '!';
  }
  return saw != '_';
}

bool ParseInteger(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  int base = 10;
  size_t i = 0;
  if (s.size() >= 2 && s[0] == '0') {
    const char p = absl::ascii_tolower(static_cast<unsigned char>(s[1]));
    if (p == 'x') {
      base = 16;
      i = 2;
    } else if (p == 'o') {
      base = 8;
      i = 2;
    } else if (p == 'b') {
      base = 2;
      i = 2;
    } else {
      base = 8;
      i = 1;
    }
  }
  if (s.find('_') != std::string_view::npos && !UnderscoresOk(s)) return false;
  uint64_t v = 0;
  bool any = i == 1;  // a lone leading 0 counts as a digit
  for (; i < s.size(); ++i) {
    if (s[i] == '_') continue;
    const int d = DigitVal(static_cast<unsigned char>(s[i]));
    if (d >= base) return false;
    if (v > (static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) - d) / base) return false;
    v = v * base + d;
    any = true;
  }
  if (!any) return false;
  *out = static_cast<int64_t>(v);
  return true;
}

}  // namespace

absl::StatusOr<double> ParseNumber(std::string_view text) {
  const std::string lower = Lower(text);
  if (lower == "inf" || lower == "+inf") return std::numeric_limits<double>::infinity();
  if (lower == "-inf") return -std::numeric_limits<double>::infinity();
  if (lower == "nan") return std::numeric_limits<double>::quiet_NaN();
  int64_t iv = 0;
  if (ParseInteger(text, &iv)) return static_cast<double>(iv);
  const std::string prefix = "error parsing number: strconv.ParseFloat: parsing " + GoQuote(text);
  if (text.find('_') != std::string_view::npos && !UnderscoresOk(text)) {
    return absl::InvalidArgumentError(prefix + ": invalid syntax");
  }
  std::string cleaned;
  for (char c : text) {
    if (c != '_') cleaned.push_back(c);
  }
  // strtod would accept forms Go rejects ("infinity", "nan(...)", leading spaces); the lexer
  // never produces those, but check the characters anyway.
  for (char c : cleaned) {
    if (!(IsDigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == 'E' || c == '+' ||
          c == '-' || c == 'x' || c == 'X' || c == 'p' || c == 'P' ||
          DigitVal(static_cast<unsigned char>(c)) < 16)) {
      return absl::InvalidArgumentError(prefix + ": invalid syntax");
    }
  }
  if (cleaned.empty()) return absl::InvalidArgumentError(prefix + ": invalid syntax");
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(cleaned.c_str(), &end);
  if (end != cleaned.c_str() + cleaned.size()) {
    return absl::InvalidArgumentError(prefix + ": invalid syntax");
  }
  const bool is_hex =
      cleaned.size() > 1 && cleaned[0] == '0' && (cleaned[1] == 'x' || cleaned[1] == 'X');
  if (is_hex && cleaned.find_first_of("pP") == std::string::npos) {
    // Go requires a 'p' exponent in hexadecimal floats.
    return absl::InvalidArgumentError(prefix + ": invalid syntax");
  }
  if (std::isinf(v)) return absl::InvalidArgumentError(prefix + ": value out of range");
  return v;
}

}  // namespace promql::parser
