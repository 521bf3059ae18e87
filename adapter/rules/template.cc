// The rule template engine: a lexer, a parser to a small tree and a tree-walking executor with
// Go text/template's semantics (see template.h for the supported language). Errors inside the
// engine are thrown as TemplateError and turned into absl::Status at the API boundary; nothing
// escapes Parse or Execute.
#include "adapter/rules/template.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "adapter/rules/template_internal.h"

namespace rules {
namespace {

using template_internal::Value;
using Kind = Value::Kind;

// Nesting of control structures and parenthesised pipelines; deeper templates are rejected so
// that neither the parser nor the executor can exhaust the stack.
constexpr int kMaxNesting = 100;
// Execution budget: a template cannot loop or build strings without bound (nested ranges,
// doubling a variable in a loop). Rule queries are orders of magnitude below both.
constexpr uint64_t kMaxSteps = 1'000'000;
constexpr uint64_t kMaxBytes = 16ull << 20;

struct TemplateError {
  size_t pos;
  std::string msg;
};

[[noreturn]] void Fail(size_t pos, std::string msg) { throw TemplateError{pos, std::move(msg)}; }

// "line:col" (1-based, column in bytes) of a byte offset.
std::string Where(std::string_view text, size_t pos) {
  pos = std::min(pos, text.size());
  size_t line = 1, line_start = 0;
  for (size_t i = 0; i < pos; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return absl::StrCat(line, ":", pos - line_start + 1);
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsAlnum(char c) {
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string RuneName(std::string_view s, size_t p) {
  unsigned char c = static_cast<unsigned char>(s[p]);
  char buf[32];
  if (c >= 0x20 && c < 0x7F) {
    std::snprintf(buf, sizeof(buf), "U+%04X '%c'", c, c);
  } else {
    std::snprintf(buf, sizeof(buf), "U+%04X", c);
  }
  return buf;
}

// ---------------------------------------------------------------------------------------------
// Lexer.

enum class Tok {
  kText,
  kLeftDelim,
  kRightDelim,
  kSpace,
  kPipe,
  kLeftParen,
  kRightParen,
  kAssign,
  kDeclare,
  kChar,  // any other printable ASCII character, e.g. ","
  kString,
  kRawString,
  kCharConst,
  kNumber,
  kBool,
  kField,
  kVariable,
  kIdentifier,
  kDot,
  kNil,
  kIf,
  kElse,
  kEnd,
  kRange,
  kWith,
  kBreak,
  kContinue,
  kDefine,
  kTemplate,
  kBlock,
  kEOF,
};

struct Token {
  Tok type;
  size_t pos;
  std::string val;
};

class Lexer {
 public:
  explicit Lexer(std::string_view in) : in_(in) {}

  std::vector<Token> Run() {
    size_t pos = 0;
    bool trim_next = false;
    while (true) {
      if (trim_next) {
        while (pos < in_.size() && IsSpace(in_[pos])) ++pos;
        trim_next = false;
      }
      size_t x = in_.find("<<", pos);
      if (x == std::string_view::npos) {
        if (pos < in_.size()) Emit(Tok::kText, pos, in_.substr(pos));
        Emit(Tok::kEOF, in_.size(), "");
        return std::move(toks_);
      }
      bool trim_left = x + 3 < in_.size() && in_[x + 2] == '-' && IsSpace(in_[x + 3]);
      size_t text_end = x;
      if (trim_left) {
        while (text_end > pos && IsSpace(in_[text_end - 1])) --text_end;
      }
      if (text_end > pos) Emit(Tok::kText, pos, in_.substr(pos, text_end - pos));
      size_t after = x + 2 + (trim_left ? 2 : 0);
      if (in_.substr(after, 2) == "/*") {
        size_t close = in_.find("*/", after + 2);
        if (close == std::string_view::npos) Fail(x, "unclosed comment");
        size_t p = close + 2;
        bool trim = false;
        if (!AtRightDelim(p, &trim)) Fail(x, "comment ends before closing delimiter");
        pos = p + 2 + (trim ? 2 : 0);
        trim_next = trim;
        continue;
      }
      Emit(Tok::kLeftDelim, x, "<<");
      pos = InsideAction(x, after, &trim_next);
    }
  }

 private:
  void Emit(Tok t, size_t pos, std::string_view val) {
    toks_.push_back(Token{t, pos, std::string(val)});
  }

  bool AtRightDelim(size_t p, bool* trim) const {
    if (in_.substr(p, 2) == ">>") {
      *trim = false;
      return true;
    }
    if (p + 1 < in_.size() && IsSpace(in_[p]) && in_[p + 1] == '-' &&
        in_.substr(p + 2, 2) == ">>") {
      *trim = true;
      return true;
    }
    return false;
  }

  bool AtTerminator(size_t p) const {
    if (p >= in_.size()) return true;
    char c = in_[p];
    if (IsSpace(c)) return true;
    switch (c) {
      case '.':
      case ',':
      case '|':
      case ':':
      case ')':
      case '(':
        return true;
    }
    return in_.substr(p, 2) == ">>";
  }

  void CheckTerminator(size_t p) const {
    if (!AtTerminator(p)) Fail(p, "bad character " + RuneName(in_, p));
  }

  // Lexes the inside of an action starting at p; returns the position after its right
  // delimiter.
  size_t InsideAction(size_t action_start, size_t p, bool* trim_next) {
    int paren_depth = 0;
    while (true) {
      bool trim = false;
      if (AtRightDelim(p, &trim)) {
        if (paren_depth > 0) Fail(p, "unclosed left paren");
        size_t q = p + (trim ? 2 : 0);
        Emit(Tok::kRightDelim, q, ">>");
        *trim_next = trim;
        return q + 2;
      }
      if (p >= in_.size()) Fail(action_start, "unclosed action");
      char c = in_[p];
      if (IsSpace(c)) {
        size_t start = p;
        while (p < in_.size() && IsSpace(in_[p])) ++p;
        // The last space may belong to a trim marker " ->>".
        if (in_.substr(p, 3) == "->>") {
          --p;
          if (p == start) continue;
        }
        Emit(Tok::kSpace, start, in_.substr(start, p - start));
        continue;
      }
      switch (c) {
        case '=':
          Emit(Tok::kAssign, p, "=");
          ++p;
          continue;
        case ':':
          if (p + 1 >= in_.size() || in_[p + 1] != '=') Fail(p, "expected :=");
          Emit(Tok::kDeclare, p, ":=");
          p += 2;
          continue;
        case '|':
          Emit(Tok::kPipe, p, "|");
          ++p;
          continue;
        case '"':
          p = Quote(p, '"', Tok::kString, "unterminated quoted string");
          continue;
        case '\'':
          p = Quote(p, '\'', Tok::kCharConst, "unterminated character constant");
          continue;
        case '`': {
          size_t close = in_.find('`', p + 1);
          if (close == std::string_view::npos) Fail(p, "unterminated raw quoted string");
          Emit(Tok::kRawString, p, in_.substr(p, close + 1 - p));
          p = close + 1;
          continue;
        }
        case '$': {
          size_t q = p + 1;
          while (q < in_.size() && IsAlnum(in_[q])) ++q;
          CheckTerminator(q);
          Emit(Tok::kVariable, p, in_.substr(p, q - p));
          p = q;
          continue;
        }
        case '(':
          Emit(Tok::kLeftParen, p, "(");
          ++paren_depth;
          ++p;
          continue;
        case ')':
          if (--paren_depth < 0) Fail(p, "unexpected right paren");
          Emit(Tok::kRightParen, p, ")");
          ++p;
          continue;
        default:
          break;
      }
      if (c == '.' && !(p + 1 < in_.size() && IsDigit(in_[p + 1]))) {
        size_t q = p + 1;
        while (q < in_.size() && IsAlnum(in_[q])) ++q;
        CheckTerminator(q);
        Emit(q == p + 1 ? Tok::kDot : Tok::kField, p, in_.substr(p, q - p));
        p = q;
        continue;
      }
      if (c == '.' || c == '+' || c == '-' || IsDigit(c)) {
        p = Number(p);
        continue;
      }
      if (IsAlnum(c)) {
        size_t q = p;
        while (q < in_.size() && IsAlnum(in_[q])) ++q;
        CheckTerminator(q);
        std::string_view word = in_.substr(p, q - p);
        Emit(KeywordType(word), p, word);
        p = q;
        continue;
      }
      unsigned char uc = static_cast<unsigned char>(c);
      if (uc >= 0x20 && uc < 0x7F) {
        Emit(Tok::kChar, p, in_.substr(p, 1));
        ++p;
        continue;
      }
      Fail(p, "unrecognized character in action: " + RuneName(in_, p));
    }
  }

  static Tok KeywordType(std::string_view w) {
    if (w == "if") return Tok::kIf;
    if (w == "else") return Tok::kElse;
    if (w == "end") return Tok::kEnd;
    if (w == "range") return Tok::kRange;
    if (w == "with") return Tok::kWith;
    if (w == "break") return Tok::kBreak;
    if (w == "continue") return Tok::kContinue;
    if (w == "define") return Tok::kDefine;
    if (w == "template") return Tok::kTemplate;
    if (w == "block") return Tok::kBlock;
    if (w == "nil") return Tok::kNil;
    if (w == "true" || w == "false") return Tok::kBool;
    return Tok::kIdentifier;
  }

  size_t Quote(size_t p, char quote, Tok type, const char* unterminated) {
    size_t q = p + 1;
    while (true) {
      if (q >= in_.size() || in_[q] == '\n') Fail(p, unterminated);
      if (in_[q] == '\\') {
        ++q;
        if (q >= in_.size() || in_[q] == '\n') Fail(p, unterminated);
      } else if (in_[q] == quote) {
        break;
      }
      ++q;
    }
    Emit(type, p, in_.substr(p, q + 1 - p));
    return q + 1;
  }

  // Go's scanNumber: the token's extent; its value is parsed by the parser.
  size_t Number(size_t p) {
    size_t q = p;
    auto accept = [&](std::string_view set) {
      if (q < in_.size() && set.find(in_[q]) != std::string_view::npos) {
        ++q;
        return true;
      }
      return false;
    };
    auto accept_run = [&](std::string_view set) {
      while (q < in_.size() && set.find(in_[q]) != std::string_view::npos) ++q;
    };
    accept("+-");
    std::string_view digits = "0123456789_";
    if (accept("0")) {
      if (accept("xX")) {
        digits = "0123456789abcdefABCDEF_";
      } else if (accept("oO")) {
        digits = "01234567_";
      } else if (accept("bB")) {
        digits = "01_";
      }
    }
    accept_run(digits);
    if (accept(".")) accept_run(digits);
    if (digits.size() == 11 && accept("eE")) {
      accept("+-");
      accept_run("0123456789_");
    }
    if (digits.size() == 23 && accept("pP")) {
      accept("+-");
      accept_run("0123456789_");
    }
    accept("i");
    if (q < in_.size() && IsAlnum(in_[q])) {
      Fail(p, absl::StrCat("bad number syntax: \"", std::string(in_.substr(p, q + 1 - p)), "\""));
    }
    Emit(Tok::kNumber, p, in_.substr(p, q - p));
    return q;
  }

  std::string_view in_;
  std::vector<Token> toks_;
};

// ---------------------------------------------------------------------------------------------
// Tree.

struct Pipe;

struct Operand {
  enum class Type { kFunc, kDot, kNil, kVar, kField, kBool, kInt, kFloat, kString, kPipe };
  Type type = Type::kNil;
  size_t pos = 0;
  std::string name;                // function or variable name
  std::vector<std::string> chain;  // field names after the term
  std::string repr;                // how the operand reads, for messages
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::unique_ptr<Pipe> pipe;
};

struct Command {
  size_t pos = 0;
  std::vector<Operand> args;
};

struct Pipe {
  size_t pos = 0;
  bool assign = false;
  std::vector<std::pair<std::string, size_t>> decl;
  std::vector<Command> cmds;
};

struct Node;

struct Branch {
  std::unique_ptr<Pipe> pipe;
  std::vector<Node> list;
};

struct Node {
  enum class Type { kText, kAction, kIf, kWith, kRange, kBreak, kContinue };
  Type type = Type::kText;
  size_t pos = 0;
  std::string text;              // kText
  std::unique_ptr<Pipe> pipe;    // kAction
  std::vector<Branch> branches;  // kIf/kWith: if, else if...; kRange: one
  std::vector<Node> else_list;
  bool has_else = false;
};

// Function arities: minimum and maximum argument counts (-1: variadic).
struct FuncInfo {
  const char* name;
  int min;
  int max;
};
constexpr FuncInfo kFuncs[] = {
    {"and", 1, -1},    {"or", 1, -1},      {"not", 1, 1},       {"index", 1, -1},
    {"len", 1, 1},     {"eq", 1, -1},      {"ne", 2, 2},        {"lt", 2, 2},
    {"le", 2, 2},      {"gt", 2, 2},       {"ge", 2, 2},        {"print", 0, -1},
    {"printf", 1, -1}, {"println", 0, -1}, {"urlquery", 0, -1}, {"join", 2, 2},
};

const FuncInfo* FindFunc(std::string_view name) {
  for (const FuncInfo& f : kFuncs) {
    if (name == f.name) return &f;
  }
  return nullptr;
}

void CheckArity(const FuncInfo& f, int got, size_t pos) {
  if (got < f.min || (f.max >= 0 && got > f.max)) {
    if (f.max < 0) {
      Fail(pos, absl::StrCat("wrong number of args for ", f.name, ": want at least ", f.min,
                             " got ", got));
    }
    Fail(pos, absl::StrCat("wrong number of args for ", f.name, ": want ", f.min, " got ", got));
  }
}

// ---------------------------------------------------------------------------------------------
// Literals.

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes one UTF-8 rune; 0 length for an invalid byte.
size_t DecodeUtf8(std::string_view s, size_t i, uint32_t& r) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    r = c;
    return 1;
  }
  size_t n;
  uint32_t min;
  if ((c & 0xE0) == 0xC0) {
    n = 2, r = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3, r = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4, r = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    r = (r << 6) | (cc & 0x3F);
  }
  if (r < min || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) return 0;
  return n;
}

// strconv.UnquoteChar: decodes one character or escape of s at i (inside quotes `quote`).
// Returns false on a syntax error. multibyte: the value is a rune to encode, not a byte.
bool UnquoteChar(std::string_view s, size_t& i, char quote, uint32_t& value, bool& is_byte) {
  is_byte = false;
  char c = s[i];
  if (c == quote && (quote == '\'' || quote == '"')) return false;
  if (static_cast<unsigned char>(c) >= 0x80) {
    size_t n = DecodeUtf8(s, i, value);
    if (n == 0) {
      value = 0xFFFD;
      n = 1;
    }
    i += n;
    return true;
  }
  if (c != '\\') {
    value = static_cast<unsigned char>(c);
    ++i;
    return true;
  }
  if (i + 1 >= s.size()) return false;
  char e = s[i + 1];
  i += 2;
  switch (e) {
    case 'a':
      value = '\a';
      return true;
    case 'b':
      value = '\b';
      return true;
    case 'f':
      value = '\f';
      return true;
    case 'n':
      value = '\n';
      return true;
    case 'r':
      value = '\r';
      return true;
    case 't':
      value = '\t';
      return true;
    case 'v':
      value = '\v';
      return true;
    case '\\':
      value = '\\';
      return true;
    case '\'':
    case '"':
      if (e != quote) return false;
      value = static_cast<unsigned char>(e);
      return true;
    case 'x':
    case 'u':
    case 'U': {
      size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
      if (i + n > s.size()) return false;
      uint32_t v = 0;
      for (size_t k = 0; k < n; ++k) {
        int h = HexVal(s[i + k]);
        if (h < 0) return false;
        v = (v << 4) | static_cast<uint32_t>(h);
      }
      i += n;
      if (e == 'x') {
        value = v;
        is_byte = true;
        return true;
      }
      if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return false;
      value = v;
      return true;
    }
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7': {
      uint32_t v = static_cast<uint32_t>(e - '0');
      if (i + 2 > s.size()) return false;
      for (size_t k = 0; k < 2; ++k) {
        char d = s[i + k];
        if (d < '0' || d > '7') return false;
        v = v * 8 + static_cast<uint32_t>(d - '0');
      }
      if (v > 255) return false;
      i += 2;
      value = v;
      is_byte = true;
      return true;
    }
    default:
      return false;
  }
}

bool UnquoteString(std::string_view tok, std::string& out) {
  if (tok.size() < 2) return false;
  if (tok[0] == '`') {
    for (char c : tok.substr(1, tok.size() - 2)) {
      if (c != '\r') out.push_back(c);
    }
    return true;
  }
  std::string_view body = tok.substr(1, tok.size() - 2);
  size_t i = 0;
  while (i < body.size()) {
    if (body[i] == '\n') return false;
    uint32_t v;
    bool is_byte;
    if (!UnquoteChar(body, i, '"', v, is_byte)) return false;
    if (is_byte || v < 0x80) {
      out.push_back(static_cast<char>(v));
    } else {
      template_internal::AppendRune(out, v);
    }
  }
  return true;
}

// Go's strconv underscoreOK: underscores only between digits or after a base prefix.
bool UnderscoreOK(std::string_view s) {
  char saw = '^';
  size_t i = 0;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  bool hex = false;
  if (s.size() >= 2 && s[0] == '0') {
    char l = static_cast<char>(s[1] | 0x20);
    if (l == 'x' || l == 'b' || l == 'o') {
      hex = l == 'x';
      i = 2;
      saw = '0';
    }
  }
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (IsDigit(c) || (hex && HexVal(c) >= 0)) {
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

// strconv.ParseInt(s, 0, 64).
bool ParseGoInt(std::string_view s, int64_t& out) {
  bool neg = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return false;
  int base = 10;
  bool prefixed = false;
  if (s.size() >= 2 && s[0] == '0') {
    char l = static_cast<char>(s[1] | 0x20);
    if (l == 'x') base = 16, prefixed = true;
    if (l == 'o') base = 8, prefixed = true;
    if (l == 'b') base = 2, prefixed = true;
    if (prefixed) {
      s.remove_prefix(2);
    } else {
      base = 8;
      s.remove_prefix(1);
    }
  }
  if (s.empty() && prefixed) return false;
  uint64_t v = 0;
  bool any = false;
  for (char c : s) {
    if (c == '_') continue;
    int d = HexVal(c);
    if (d < 0 || d >= base) return false;
    if (v > (UINT64_MAX - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base)) return false;
    v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
    any = true;
  }
  if (!any && base != 8) return false;
  if (neg) {
    if (v > static_cast<uint64_t>(INT64_MAX) + 1) return false;
    out = static_cast<int64_t>(0 - v);
  } else {
    if (v > static_cast<uint64_t>(INT64_MAX)) return false;
    out = static_cast<int64_t>(v);
  }
  return true;
}

// Parses a number token into an int or float operand (Go's parse.newNumber + idealConstant).
void ParseNumber(const Token& t, Operand& op) {
  const std::string& text = t.val;
  if (!text.empty() && text.back() == 'i') {
    Fail(t.pos, absl::StrCat("complex number ", text, " is not supported"));
  }
  if (!UnderscoreOK(text)) Fail(t.pos, absl::StrCat("illegal number syntax: \"", text, "\""));
  std::string clean;
  for (char c : text) {
    if (c != '_') clean.push_back(c);
  }
  std::string_view unsigned_text = text;
  if (!unsigned_text.empty() && (unsigned_text[0] == '+' || unsigned_text[0] == '-')) {
    unsigned_text.remove_prefix(1);
  }
  bool hex = unsigned_text.size() > 2 && unsigned_text[0] == '0' &&
             (unsigned_text[1] == 'x' || unsigned_text[1] == 'X');
  bool looks_float = hex ? text.find_first_of("pP") != std::string::npos
                         : text.find_first_of(".eE") != std::string::npos;
  int64_t iv;
  if (!looks_float && ParseGoInt(clean, iv)) {
    op.type = Operand::Type::kInt;
    op.i = iv;
    return;
  }
  if (!looks_float) {
    Fail(t.pos, absl::StrCat("integer overflow or illegal number syntax: \"", text, "\""));
  }
  if (hex && text.find_first_of("pP") == std::string::npos) {
    Fail(t.pos, absl::StrCat("illegal number syntax: \"", text, "\""));
  }
  errno = 0;
  char* end = nullptr;
  double f = std::strtod(clean.c_str(), &end);
  if (end != clean.c_str() + clean.size() || (errno == ERANGE && f != 0)) {
    Fail(t.pos, absl::StrCat("illegal number syntax: \"", text, "\""));
  }
  op.type = Operand::Type::kFloat;
  op.f = f;
}

// ---------------------------------------------------------------------------------------------
// Parser.

std::string TokName(const Token& t) {
  switch (t.type) {
    case Tok::kEOF:
      return "EOF";
    case Tok::kRightDelim:
      return "\">>\"";
    case Tok::kLeftDelim:
      return "\"<<\"";
    case Tok::kSpace:
      return "space";
    case Tok::kText:
      return "text";
    default:
      return absl::StrCat("\"", t.val, "\"");
  }
}

class Parser {
 public:
  Parser(std::string_view text, const std::vector<std::string>& fields, std::vector<Token> toks)
      : text_(text), fields_(fields), toks_(std::move(toks)) {}

  std::vector<Node> Run() {
    std::vector<Node> root;
    vars_.push_back("$");
    dot_root_.push_back(true);
    while (Peek().type != Tok::kEOF) {
      Node n;
      bool end_or_else = false;
      size_t pos = Peek().pos;
      TextOrAction(n, end_or_else);
      if (end_or_else) {
        Fail(pos, absl::StrCat("unexpected <<", n.text, ">>"));
      }
      root.push_back(std::move(n));
    }
    return root;
  }

 private:
  const Token& Peek() const { return toks_[idx_]; }
  const Token& Next() {
    const Token& t = toks_[idx_];
    if (idx_ + 1 < toks_.size()) ++idx_;
    return t;
  }
  const Token& PeekNonSpace() {
    while (toks_[idx_].type == Tok::kSpace) ++idx_;
    return toks_[idx_];
  }
  const Token& NextNonSpace() {
    PeekNonSpace();
    return Next();
  }

  void Enter(size_t pos) {
    if (++depth_ > kMaxNesting) {
      Fail(pos, absl::StrCat("nesting too deep (limit ", kMaxNesting, ")"));
    }
  }
  void Leave() { --depth_; }

  // Parses text or one action into n. For <<end>> and <<else>> sets end_or_else and n.text to
  // "end", "else", "else if" or "else with".
  void TextOrAction(Node& n, bool& end_or_else) {
    const Token& t = NextNonSpace();
    if (t.type == Tok::kText) {
      n.type = Node::Type::kText;
      n.pos = t.pos;
      n.text = t.val;
      return;
    }
    if (t.type != Tok::kLeftDelim) Fail(t.pos, absl::StrCat("unexpected ", TokName(t)));
    Action(t.pos, n, end_or_else);
  }

  void ExpectRightDelim(const char* context) {
    const Token& t = NextNonSpace();
    if (t.type != Tok::kRightDelim) {
      Fail(t.pos, absl::StrCat("unexpected ", TokName(t), " in <<", context, ">>"));
    }
  }

  void Action(size_t delim_pos, Node& n, bool& end_or_else) {
    const Token& t = NextNonSpace();
    n.pos = delim_pos;
    switch (t.type) {
      case Tok::kDefine:
      case Tok::kTemplate:
      case Tok::kBlock:
        Fail(t.pos, absl::StrCat("<<", t.val, ">> is not supported in rule templates"));
      case Tok::kBreak:
      case Tok::kContinue: {
        ExpectRightDelim(t.val.c_str());
        if (range_depth_ == 0) Fail(delim_pos, absl::StrCat("<<", t.val, ">> outside <<range>>"));
        n.type = t.type == Tok::kBreak ? Node::Type::kBreak : Node::Type::kContinue;
        return;
      }
      case Tok::kEnd:
        ExpectRightDelim("end");
        end_or_else = true;
        n.text = "end";
        return;
      case Tok::kElse: {
        const Token& p = PeekNonSpace();
        end_or_else = true;
        if (p.type == Tok::kIf || p.type == Tok::kWith) {
          n.text = p.type == Tok::kIf ? "else if" : "else with";
          Next();
          return;
        }
        ExpectRightDelim("else");
        n.text = "else";
        return;
      }
      case Tok::kIf:
        Control(Node::Type::kIf, delim_pos, n);
        return;
      case Tok::kWith:
        Control(Node::Type::kWith, delim_pos, n);
        return;
      case Tok::kRange:
        Control(Node::Type::kRange, delim_pos, n);
        return;
      default:
        break;
    }
    --idx_;  // back up to the start of the pipeline
    n.type = Node::Type::kAction;
    n.pipe = ParsePipe("command", Tok::kRightDelim);
  }

  // Parses a list up to <<end>> or <<else...>>; returns which of them ended it ("end", "else",
  // "else if", "else with") and where its action starts.
  std::pair<std::string, size_t> ItemList(std::vector<Node>& list, size_t control_pos,
                                          const char* context) {
    while (PeekNonSpace().type != Tok::kEOF) {
      Node n;
      bool end_or_else = false;
      TextOrAction(n, end_or_else);
      if (end_or_else) return {n.text, n.pos};
      list.push_back(std::move(n));
    }
    Fail(Peek().pos, absl::StrCat("unexpected EOF: <<", context, ">> at ",
                                  Where(text_, control_pos), " has no <<end>>"));
  }

  void Control(Node::Type type, size_t pos, Node& n) {
    const char* context = type == Node::Type::kIf     ? "if"
                          : type == Node::Type::kWith ? "with"
                                                      : "range";
    Enter(pos);
    size_t vars_mark = vars_.size();
    n.type = type;
    n.pos = pos;
    while (true) {
      Branch br;
      br.pipe = ParsePipe(context, Tok::kRightDelim);
      if (type == Node::Type::kRange) ++range_depth_;
      dot_root_.push_back(type == Node::Type::kIf ? dot_root_.back() : false);
      auto [next, next_pos] = ItemList(br.list, pos, context);
      dot_root_.pop_back();
      if (type == Node::Type::kRange) --range_depth_;
      n.branches.push_back(std::move(br));
      if (next == "end") break;
      if ((next == "else if" && type == Node::Type::kIf) ||
          (next == "else with" && type == Node::Type::kWith)) {
        Enter(pos);  // each "else if" counts as a level, as in Go's tree
        continue;
      }
      if (next != "else") {
        Fail(next_pos, absl::StrCat("unexpected <<", next, ">> in <<", context, ">>"));
      }
      n.has_else = true;
      auto [last, last_pos] = ItemList(n.else_list, pos, context);
      if (last != "end") {
        Fail(last_pos, absl::StrCat("expected <<end>>; found <<", last, ">>"));
      }
      break;
    }
    for (size_t k = 0; k + 1 < n.branches.size(); ++k) Leave();
    vars_.resize(vars_mark);
    Leave();
  }

  std::unique_ptr<Pipe> ParsePipe(const char* context, Tok end) {
    auto pipe = std::make_unique<Pipe>();
    pipe->pos = PeekNonSpace().pos;
    // Declarations.
    if (PeekNonSpace().type == Tok::kVariable) {
      size_t save = idx_;
      const Token v = Next();
      const Token& after = PeekNonSpace();
      if (after.type == Tok::kAssign || after.type == Tok::kDeclare) {
        pipe->assign = after.type == Tok::kAssign;
        Next();
        pipe->decl.emplace_back(v.val, v.pos);
      } else if (after.type == Tok::kChar && after.val == ",") {
        Next();
        pipe->decl.emplace_back(v.val, v.pos);
        if (std::string_view(context) != "range") {
          Fail(after.pos, absl::StrCat("too many declarations in ", context));
        }
        const Token v2 = NextNonSpace();
        if (v2.type != Tok::kVariable) Fail(v2.pos, "range can only initialize variables");
        const Token& op = NextNonSpace();
        if (op.type != Tok::kAssign && op.type != Tok::kDeclare) {
          Fail(op.pos, absl::StrCat("unexpected ", TokName(op), " in range declaration"));
        }
        pipe->assign = op.type == Tok::kAssign;
        pipe->decl.emplace_back(v2.val, v2.pos);
      } else {
        idx_ = save;
      }
      for (const auto& [name, pos] : pipe->decl) {
        if (name == "$") Fail(pos, "cannot declare or assign $");
        if (pipe->assign) {
          if (std::find(vars_.begin(), vars_.end(), name) == vars_.end()) {
            Fail(pos, absl::StrCat("undefined variable \"", name, "\""));
          }
        }
      }
    }
    while (true) {
      const Token& t = PeekNonSpace();
      if (t.type == end) {
        Next();
        break;
      }
      switch (t.type) {
        case Tok::kBool:
        case Tok::kCharConst:
        case Tok::kDot:
        case Tok::kField:
        case Tok::kIdentifier:
        case Tok::kNumber:
        case Tok::kNil:
        case Tok::kRawString:
        case Tok::kString:
        case Tok::kVariable:
        case Tok::kLeftParen:
          pipe->cmds.push_back(ParseCommand());
          if (toks_[idx_ - 1].type == Tok::kPipe) {
            const Token& after = PeekNonSpace();
            if (after.type == end) Fail(after.pos, "missing command after |");
          }
          continue;
        default:
          Fail(t.pos, absl::StrCat("unexpected ", TokName(t), " in ", context));
      }
    }
    if (pipe->cmds.empty()) Fail(pipe->pos, absl::StrCat("missing value for ", context));
    CheckPipe(*pipe);
    // Variables become visible after their declaration.
    if (!pipe->assign) {
      for (const auto& [name, pos] : pipe->decl) vars_.push_back(name);
    }
    return pipe;
  }

  void CheckPipe(const Pipe& pipe) {
    for (size_t k = 0; k < pipe.cmds.size(); ++k) {
      const Command& cmd = pipe.cmds[k];
      const Operand& first = cmd.args[0];
      int got = static_cast<int>(cmd.args.size()) - 1 + (k > 0 ? 1 : 0);
      if (first.type == Operand::Type::kFunc) {
        CheckArity(*FindFunc(first.name), got, first.pos);
        continue;
      }
      if (first.type == Operand::Type::kNil) Fail(first.pos, "nil is not a command");
      if (k > 0) {
        switch (first.type) {
          case Operand::Type::kBool:
          case Operand::Type::kDot:
          case Operand::Type::kInt:
          case Operand::Type::kFloat:
          case Operand::Type::kString:
            Fail(first.pos, absl::StrCat("non executable command in pipeline stage ", k + 1));
          default:
            break;
        }
      }
      if (got > 0) {
        Fail(first.pos, absl::StrCat("can't give argument to non-function ", first.repr));
      }
    }
  }

  Command ParseCommand() {
    Command cmd;
    cmd.pos = PeekNonSpace().pos;
    while (true) {
      PeekNonSpace();
      Operand op;
      bool have = ParseOperand(op);
      if (have) cmd.args.push_back(std::move(op));
      const Token& t = Next();
      if (t.type == Tok::kSpace) continue;
      if (t.type == Tok::kRightDelim || t.type == Tok::kRightParen) {
        --idx_;
      } else if (t.type != Tok::kPipe) {
        Fail(t.pos, absl::StrCat("unexpected ", TokName(t), " in operand"));
      }
      break;
    }
    if (cmd.args.empty()) Fail(cmd.pos, "empty command");
    // A function in a later argument position is called without arguments.
    for (size_t k = 1; k < cmd.args.size(); ++k) {
      if (cmd.args[k].type == Operand::Type::kFunc) {
        CheckArity(*FindFunc(cmd.args[k].name), 0, cmd.args[k].pos);
      }
    }
    return cmd;
  }

  void CheckRootField(const std::string& name, size_t pos) {
    if (std::find(fields_.begin(), fields_.end(), name) != fields_.end()) return;
    std::vector<std::string> known(fields_.begin(), fields_.end());
    std::sort(known.begin(), known.end());
    Fail(pos,
         absl::StrCat("can't evaluate field ", name, " (known: ", absl::StrJoin(known, ", "), ")"));
  }

  // Checks a field chain starting at the root: the first name must be declared, and since field
  // values are at most map[string]string, at most one key can follow.
  void CheckRootChain(const std::vector<std::string>& chain, size_t pos) {
    if (chain.empty()) return;
    CheckRootField(chain[0], pos);
    if (chain.size() > 2) {
      Fail(pos, absl::StrCat("can't evaluate field ", chain[2], " in type string"));
    }
  }

  bool ParseOperand(Operand& op) {
    if (!ParseTerm(op)) return false;
    if (Peek().type == Tok::kField) {
      size_t chain_pos = Peek().pos;
      std::vector<std::string> extra;
      while (Peek().type == Tok::kField) extra.push_back(Next().val.substr(1));
      switch (op.type) {
        case Operand::Type::kField:
        case Operand::Type::kVar:
        case Operand::Type::kPipe:
          break;
        default:
          Fail(chain_pos, absl::StrCat("unexpected . after term ", op.repr));
      }
      for (auto& e : extra) {
        op.repr += "." + e;
        op.chain.push_back(std::move(e));
      }
    }
    if (op.type == Operand::Type::kField && dot_root_.back()) CheckRootChain(op.chain, op.pos);
    if (op.type == Operand::Type::kVar && op.name == "$") CheckRootChain(op.chain, op.pos);
    return true;
  }

  bool ParseTerm(Operand& op) {
    const Token& t = NextNonSpace();
    op.pos = t.pos;
    op.repr = t.val;
    switch (t.type) {
      case Tok::kIdentifier:
        if (FindFunc(t.val) == nullptr) {
          Fail(t.pos, absl::StrCat("function \"", t.val, "\" not defined"));
        }
        op.type = Operand::Type::kFunc;
        op.name = t.val;
        return true;
      case Tok::kDot:
        op.type = Operand::Type::kDot;
        return true;
      case Tok::kNil:
        op.type = Operand::Type::kNil;
        return true;
      case Tok::kVariable:
        if (std::find(vars_.begin(), vars_.end(), t.val) == vars_.end()) {
          Fail(t.pos, absl::StrCat("undefined variable \"", t.val, "\""));
        }
        op.type = Operand::Type::kVar;
        op.name = t.val;
        return true;
      case Tok::kField:
        op.type = Operand::Type::kField;
        op.chain.push_back(t.val.substr(1));
        return true;
      case Tok::kBool:
        op.type = Operand::Type::kBool;
        op.b = t.val == "true";
        return true;
      case Tok::kCharConst: {
        std::string_view body = std::string_view(t.val).substr(1);
        size_t i = 0;
        uint32_t v;
        bool is_byte;
        if (body.empty() || !UnquoteChar(body, i, '\'', v, is_byte) || body.substr(i) != "'") {
          Fail(t.pos, absl::StrCat("malformed character constant: ", t.val));
        }
        op.type = Operand::Type::kInt;
        op.i = v;
        return true;
      }
      case Tok::kNumber:
        ParseNumber(t, op);
        return true;
      case Tok::kString:
      case Tok::kRawString:
        op.type = Operand::Type::kString;
        if (!UnquoteString(t.val, op.s)) {
          Fail(t.pos, absl::StrCat("invalid syntax in quoted string ", t.val));
        }
        return true;
      case Tok::kLeftParen: {
        Enter(t.pos);
        op.type = Operand::Type::kPipe;
        op.pipe = ParsePipe("parenthesized pipeline", Tok::kRightParen);
        op.repr = "(...)";
        Leave();
        return true;
      }
      default:
        --idx_;
        return false;
    }
  }

  std::string_view text_;
  const std::vector<std::string>& fields_;
  std::vector<Token> toks_;
  size_t idx_ = 0;
  std::vector<std::string> vars_;
  std::vector<bool> dot_root_;
  int range_depth_ = 0;
  int depth_ = 0;
};

}  // namespace

struct Template::Tree {
  std::string text;
  std::vector<std::string> fields;
  std::vector<Node> root;
};

namespace {

// ---------------------------------------------------------------------------------------------
// Execution.

bool Truth(const Value& v) {
  switch (v.kind) {
    case Kind::kNil:
      return false;
    case Kind::kBool:
      return v.b;
    case Kind::kInt:
      return v.i != 0;
    case Kind::kFloat:
      return v.f != 0;
    case Kind::kString:
      return !v.s.empty();
    case Kind::kList:
      return !v.list->empty();
    case Kind::kMap:
      return !v.map->empty();
    case Kind::kRoot:
      return true;  // a struct
  }
  return false;
}

enum class BasicKind { kInvalid, kBool, kInt, kFloat, kString };

BasicKind Basic(const Value& v) {
  switch (v.kind) {
    case Kind::kBool:
      return BasicKind::kBool;
    case Kind::kInt:
      return BasicKind::kInt;
    case Kind::kFloat:
      return BasicKind::kFloat;
    case Kind::kString:
      return BasicKind::kString;
    default:
      return BasicKind::kInvalid;
  }
}

// Go's eq for two values; throws a message string on incomparable values.
bool Equal(const Value& a, const Value& b) {
  BasicKind ka = Basic(a), kb = Basic(b);
  if (a.kind == Kind::kList || a.kind == Kind::kMap) {
    throw std::string(absl::StrCat("uncomparable type ", template_internal::GoTypeName(a), ": ",
                                   template_internal::PrintValue(a)));
  }
  if (ka != kb) throw std::string("incompatible types for comparison");
  switch (ka) {
    case BasicKind::kBool:
      return a.b == b.b;
    case BasicKind::kInt:
      return a.i == b.i;
    case BasicKind::kFloat:
      return a.f == b.f;
    case BasicKind::kString:
      return a.s == b.s;
    case BasicKind::kInvalid:
      if (b.kind == Kind::kList || b.kind == Kind::kMap) {
        throw std::string(absl::StrCat("uncomparable type ", template_internal::GoTypeName(b), ": ",
                                       template_internal::PrintValue(b)));
      }
      if (a.kind == Kind::kNil || b.kind == Kind::kNil) return a.kind == b.kind;
      throw std::string("invalid type for comparison");
  }
  return false;
}

bool Less(const Value& a, const Value& b) {
  BasicKind ka = Basic(a), kb = Basic(b);
  if (ka == BasicKind::kInvalid || kb == BasicKind::kInvalid) {
    throw std::string("invalid type for comparison");
  }
  if (ka != kb) throw std::string("incompatible types for comparison");
  switch (ka) {
    case BasicKind::kInt:
      return a.i < b.i;
    case BasicKind::kFloat:
      return a.f < b.f;
    case BasicKind::kString:
      return a.s < b.s;
    default:
      throw std::string("invalid type for comparison");
  }
}

class Executor {
 public:
  Executor(const std::vector<Node>& tree, const std::vector<std::string>& fields,
           const TemplateData& data)
      : tree_(tree), root_{&data, &fields} {}

  std::string Run() {
    Value root = Value::RootValue(&root_);
    vars_.emplace_back("$", root);
    WalkList(tree_, root);
    return std::move(out_);
  }

 private:
  enum class Flow { kNormal, kBreak, kContinue };

  void Step(size_t pos) {
    if (++steps_ > kMaxSteps) {
      Fail(pos, absl::StrCat("execution exceeds ", kMaxSteps, " steps"));
    }
  }
  void Spend(size_t bytes, size_t pos) {
    bytes_ += bytes;
    if (bytes_ > kMaxBytes) {
      Fail(pos, absl::StrCat("execution produces more than ", kMaxBytes, " bytes"));
    }
  }
  void Write(const std::string& s, size_t pos) {
    Spend(s.size(), pos);
    out_ += s;
  }

  Flow WalkList(const std::vector<Node>& list, const Value& dot) {
    for (const Node& n : list) {
      Flow f = Walk(n, dot);
      if (f != Flow::kNormal) return f;
    }
    return Flow::kNormal;
  }

  Flow Walk(const Node& n, const Value& dot) {
    Step(n.pos);
    switch (n.type) {
      case Node::Type::kText:
        Write(n.text, n.pos);
        return Flow::kNormal;
      case Node::Type::kAction: {
        Value v = EvalPipe(*n.pipe, dot);
        if (n.pipe->decl.empty()) {
          Write(v.kind == Kind::kNil ? "<no value>" : template_internal::PrintValue(v), n.pos);
        }
        return Flow::kNormal;
      }
      case Node::Type::kBreak:
        return Flow::kBreak;
      case Node::Type::kContinue:
        return Flow::kContinue;
      case Node::Type::kIf:
      case Node::Type::kWith: {
        size_t mark = vars_.size();
        Flow f = Flow::kNormal;
        bool done = false;
        for (const Branch& br : n.branches) {
          Value v = EvalPipe(*br.pipe, dot);
          if (Truth(v)) {
            f = WalkList(br.list, n.type == Node::Type::kWith ? v : dot);
            done = true;
            break;
          }
        }
        if (!done && n.has_else) f = WalkList(n.else_list, dot);
        vars_.resize(mark);
        return f;
      }
      case Node::Type::kRange:
        return WalkRange(n, dot);
    }
    return Flow::kNormal;
  }

  Flow WalkRange(const Node& n, const Value& dot) {
    size_t mark = vars_.size();
    const Pipe& pipe = *n.branches[0].pipe;
    Value v = EvalPipe(pipe, dot);
    size_t body_mark = vars_.size();
    auto set_vars = [&](const Value& index, const Value& elem) {
      if (pipe.decl.empty()) return;
      if (pipe.assign) {
        if (pipe.decl.size() > 1) {
          SetVar(pipe.decl[0].first, index, pipe.decl[0].second);
          SetVar(pipe.decl[1].first, elem, pipe.decl[1].second);
        } else {
          SetVar(pipe.decl[0].first, elem, pipe.decl[0].second);
        }
      } else {
        vars_[body_mark - 1].second = elem;
        if (pipe.decl.size() > 1) vars_[body_mark - 2].second = index;
      }
    };
    // Runs one iteration; returns false to stop the loop.
    auto iteration = [&](const Value& index, const Value& elem) {
      Step(n.pos);
      set_vars(index, elem);
      Flow f = WalkList(n.branches[0].list, elem);
      vars_.resize(body_mark);
      return f != Flow::kBreak;
    };
    bool ran = false;
    switch (v.kind) {
      case Kind::kList: {
        for (size_t k = 0; k < v.list->size(); ++k) {
          ran = true;
          if (!iteration(Value::Int(static_cast<int64_t>(k)), Value::String((*v.list)[k]))) break;
        }
        break;
      }
      case Kind::kMap: {
        for (const auto& [key, val] : *v.map) {
          ran = true;
          if (!iteration(Value::String(key), Value::String(val))) break;
        }
        break;
      }
      case Kind::kInt: {
        if (pipe.decl.size() > 1) {
          Fail(n.pos, absl::StrCat("can't use ", v.i, " to iterate over more than one variable"));
        }
        for (int64_t k = 0; k < v.i; ++k) {
          ran = true;
          if (!iteration(Value::Int(k), Value::Int(k))) break;
        }
        break;
      }
      case Kind::kNil:
        break;
      default:
        Fail(n.pos, absl::StrCat("range can't iterate over ", template_internal::PrintValue(v)));
    }
    // The else list of a range inside another range may break or continue the outer one.
    Flow f = Flow::kNormal;
    if (!ran && n.has_else) f = WalkList(n.else_list, dot);
    vars_.resize(mark);
    return f;
  }

  void SetVar(const std::string& name, const Value& v, size_t pos) {
    for (size_t k = vars_.size(); k-- > 0;) {
      if (vars_[k].first == name) {
        vars_[k].second = v;
        return;
      }
    }
    Fail(pos, absl::StrCat("undefined variable: ", name));
  }

  const Value& GetVar(const std::string& name, size_t pos) {
    for (size_t k = vars_.size(); k-- > 0;) {
      if (vars_[k].first == name) return vars_[k].second;
    }
    Fail(pos, absl::StrCat("undefined variable: ", name));
  }

  Value EvalPipe(const Pipe& pipe, const Value& dot) {
    Value v;
    bool have = false;
    for (const Command& cmd : pipe.cmds) {
      v = EvalCommand(cmd, dot, have ? &v : nullptr);
      have = true;
    }
    for (const auto& [name, pos] : pipe.decl) {
      if (pipe.assign) {
        SetVar(name, v, pos);
      } else {
        vars_.emplace_back(name, v);
      }
    }
    return v;
  }

  Value EvalCommand(const Command& cmd, const Value& dot, const Value* final) {
    Step(cmd.pos);
    const Operand& first = cmd.args[0];
    if (first.type == Operand::Type::kFunc) return CallFunc(first, cmd.args, 1, dot, final);
    // The parser admits no arguments for non-functions.
    return EvalArg(first, dot);
  }

  Value Field(const Value& recv, const std::string& name, size_t pos) {
    switch (recv.kind) {
      case Kind::kRoot: {
        const auto& fields = *recv.root->fields;
        if (std::find(fields.begin(), fields.end(), name) == fields.end()) {
          std::vector<std::string> known(fields.begin(), fields.end());
          std::sort(known.begin(), known.end());
          Fail(pos, absl::StrCat("can't evaluate field ", name,
                                 " (known: ", absl::StrJoin(known, ", "), ")"));
        }
        auto it = recv.root->data->find(name);
        if (it == recv.root->data->end()) return Value::String("");
        return template_internal::FromTemplateValue(it->second);
      }
      case Kind::kMap: {
        auto it = recv.map->find(name);
        return Value::String(it == recv.map->end() ? "" : it->second);
      }
      case Kind::kNil:
        Fail(pos, absl::StrCat("nil data; no entry for key \"", name, "\""));
      default:
        Fail(pos, absl::StrCat("can't evaluate field ", name, " in type ",
                               template_internal::GoTypeName(recv)));
    }
  }

  Value Chain(Value v, const std::vector<std::string>& chain, size_t pos) {
    for (const std::string& name : chain) v = Field(v, name, pos);
    return v;
  }

  Value EvalArg(const Operand& op, const Value& dot) {
    switch (op.type) {
      case Operand::Type::kFunc:
        return CallFunc(op, {}, 0, dot, nullptr);
      case Operand::Type::kDot:
        return dot;
      case Operand::Type::kNil:
        return Value::Nil();
      case Operand::Type::kVar:
        return Chain(GetVar(op.name, op.pos), op.chain, op.pos);
      case Operand::Type::kField:
        return Chain(dot, op.chain, op.pos);
      case Operand::Type::kBool:
        return Value::Bool(op.b);
      case Operand::Type::kInt:
        return Value::Int(op.i);
      case Operand::Type::kFloat:
        return Value::Float(op.f);
      case Operand::Type::kString:
        return Value::String(op.s);
      case Operand::Type::kPipe: {
        Value v = EvalPipe(*op.pipe, dot);
        return Chain(std::move(v), op.chain, op.pos);
      }
    }
    return Value::Nil();
  }

  [[noreturn]] void CallError(const Operand& fn, const std::string& msg) {
    Fail(fn.pos, absl::StrCat("error calling ", fn.name, ": ", msg));
  }

  // Calls function fn with the operands args[from..] and the piped value final (if any).
  Value CallFunc(const Operand& fn, const std::vector<Operand>& args, size_t from, const Value& dot,
                 const Value* final) {
    const std::string& name = fn.name;
    if (name == "and" || name == "or") {
      bool want = name == "or";
      Value v;
      for (size_t k = from; k < args.size(); ++k) {
        v = EvalArg(args[k], dot);
        if (Truth(v) == want) return v;
      }
      if (final != nullptr) v = *final;
      return v;
    }
    std::vector<Value> a;
    for (size_t k = from; k < args.size(); ++k) a.push_back(EvalArg(args[k], dot));
    if (final != nullptr) a.push_back(*final);
    Value r = Builtin(fn, a);
    if (r.kind == Kind::kString) Spend(r.s.size(), fn.pos);
    return r;
  }

  void NoNil(const Operand& fn, const std::vector<Value>& a) {
    for (const Value& v : a) {
      if (v.kind == Kind::kNil) {
        Fail(fn.pos, absl::StrCat("invalid nil argument to ", fn.name));
      }
    }
  }

  Value Builtin(const Operand& fn, const std::vector<Value>& a) {
    const std::string& name = fn.name;
    if (name == "print") return Value::String(template_internal::Sprint(a));
    if (name == "println") return Value::String(template_internal::Sprintln(a));
    if (name == "printf") {
      if (a[0].kind != Kind::kString) {
        Fail(fn.pos, absl::StrCat("wrong type for value; expected string; got ",
                                  template_internal::GoTypeName(a[0])));
      }
      std::vector<Value> rest(a.begin() + 1, a.end());
      return Value::String(template_internal::Sprintf(a[0].s, rest));
    }
    if (name == "urlquery") {
      if (a.size() == 1 && a[0].kind == Kind::kString) {
        return Value::String(template_internal::QueryEscape(a[0].s));
      }
      std::vector<Value> printable = a;
      for (Value& v : printable) {
        if (v.kind == Kind::kNil) v = Value::String("<no value>");
      }
      return Value::String(template_internal::QueryEscape(template_internal::Sprint(printable)));
    }
    NoNil(fn, a);
    if (name == "not") return Value::Bool(!Truth(a[0]));
    if (name == "len") {
      switch (a[0].kind) {
        case Kind::kString:
          return Value::Int(static_cast<int64_t>(a[0].s.size()));
        case Kind::kList:
          return Value::Int(static_cast<int64_t>(a[0].list->size()));
        case Kind::kMap:
          return Value::Int(static_cast<int64_t>(a[0].map->size()));
        default:
          CallError(fn, "len of type " + template_internal::GoTypeName(a[0]));
      }
    }
    if (name == "index") {
      Value item = a[0];
      for (size_t k = 1; k < a.size(); ++k) {
        const Value& ix = a[k];
        switch (item.kind) {
          case Kind::kList:
          case Kind::kString: {
            if (ix.kind != Kind::kInt) {
              CallError(fn,
                        "cannot index slice/array with type " + template_internal::GoTypeName(ix));
            }
            size_t len = item.kind == Kind::kList ? item.list->size() : item.s.size();
            if (ix.i < 0 || static_cast<uint64_t>(ix.i) >= len) {
              CallError(fn, absl::StrCat("index out of range: ", ix.i));
            }
            if (item.kind == Kind::kList) {
              item = Value::String((*item.list)[static_cast<size_t>(ix.i)]);
            } else {
              item = Value::Int(static_cast<unsigned char>(item.s[static_cast<size_t>(ix.i)]));
            }
            break;
          }
          case Kind::kMap: {
            if (ix.kind != Kind::kString) {
              CallError(
                  fn, "value has type " + template_internal::GoTypeName(ix) + "; should be string");
            }
            auto it = item.map->find(ix.s);
            item = Value::String(it == item.map->end() ? "" : it->second);
            break;
          }
          default:
            CallError(fn, "can't index item of type " + template_internal::GoTypeName(item));
        }
      }
      return item;
    }
    if (name == "join") {
      if (a[0].kind != Kind::kString) {
        CallError(fn, "separator must be a string, not " + template_internal::GoTypeName(a[0]));
      }
      if (a[1].kind != Kind::kList) {
        CallError(fn, "can't join a " + template_internal::GoTypeName(a[1]) + "; want []string");
      }
      return Value::String(absl::StrJoin(*a[1].list, a[0].s));
    }
    try {
      if (name == "eq") {
        if (a[0].kind == Kind::kList || a[0].kind == Kind::kMap) Equal(a[0], a[0]);
        if (a.size() < 2) throw std::string("missing argument for comparison");
        for (size_t k = 1; k < a.size(); ++k) {
          if (Equal(a[0], a[k])) return Value::Bool(true);
        }
        return Value::Bool(false);
      }
      if (name == "ne") return Value::Bool(!Equal(a[0], a[1]));
      if (name == "lt") return Value::Bool(Less(a[0], a[1]));
      if (name == "le") return Value::Bool(Less(a[0], a[1]) || Equal(a[0], a[1]));
      if (name == "gt") return Value::Bool(!(Less(a[0], a[1]) || Equal(a[0], a[1])));
      if (name == "ge") return Value::Bool(!Less(a[0], a[1]));
    } catch (const std::string& msg) {
      CallError(fn, msg);
    }
    Fail(fn.pos, absl::StrCat("function \"", name, "\" not defined"));
  }

  const std::vector<Node>& tree_;
  template_internal::Root root_;
  std::vector<std::pair<std::string, Value>> vars_;
  std::string out_;
  uint64_t steps_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace

absl::StatusOr<Template> Template::Parse(std::string_view text,
                                         const std::vector<std::string>& fields) {
  auto tree = std::make_shared<Tree>();
  tree->text = std::string(text);
  tree->fields = fields;
  try {
    std::vector<Token> toks = Lexer(tree->text).Run();
    tree->root = Parser(tree->text, tree->fields, std::move(toks)).Run();
  } catch (const TemplateError& e) {
    return absl::InvalidArgumentError(absl::StrCat(Where(tree->text, e.pos), ": ", e.msg));
  }
  return Template(std::shared_ptr<const Tree>(std::move(tree)));
}

absl::StatusOr<std::string> Template::Execute(const TemplateData& data) const {
  try {
    return Executor(tree_->root, tree_->fields, data).Run();
  } catch (const TemplateError& e) {
    return absl::InvalidArgumentError(absl::StrCat(Where(tree_->text, e.pos), ": ", e.msg));
  }
}

const std::string& Template::text() const { return tree_->text; }

Template::Template(std::shared_ptr<const Tree> tree) : tree_(std::move(tree)) {}
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;
Template::Template(const Template&) = default;
Template& Template::operator=(const Template&) = default;
Template::~Template() = default;

}  // namespace rules
