// Go fmt printing for the rule template engine: fmt.Sprint/Sprintln/Sprintf over template
// values, strconv.Quote and url.QueryEscape, with Go's output byte for byte for the values a
// template can hold (strings, []string, map[string]string, bool, int, float64).
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "adapter/rules/template_internal.h"

namespace rules::template_internal {
namespace {

struct Spec {
  bool minus = false, plus = false, sharp = false, zero = false, space = false;
  bool has_wid = false, has_prec = false;
  int wid = 0, prec = 0;
};

bool TooLarge(int64_t x) { return x > 1000000 || x < -1000000; }

size_t RuneCount(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

// Pads s to the width with spaces (or zeros), on the left unless "-".
void Pad(std::string& out, std::string_view s, const Spec& sp) {
  if (!sp.has_wid || sp.wid <= 0) {
    out.append(s);
    return;
  }
  size_t n = RuneCount(s);
  size_t w = static_cast<size_t>(sp.wid);
  if (n >= w) {
    out.append(s);
    return;
  }
  if (sp.minus) {
    out.append(s);
    out.append(w - n, ' ');
  } else {
    out.append(w - n, sp.zero ? '0' : ' ');
    out.append(s);
  }
}

// Decodes one UTF-8 rune at s[i]; returns its length, or 0 (and r = 0xFFFD) for an invalid byte.
size_t DecodeRune(std::string_view s, size_t i, uint32_t& r) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  r = 0xFFFD;
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
    r = 0xFFFD;
    return 0;
  }
  if (i + n > s.size()) {
    r = 0xFFFD;
    return 0;
  }
  for (size_t k = 1; k < n; ++k) {
    unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) {
      r = 0xFFFD;
      return 0;
    }
    r = (r << 6) | (cc & 0x3F);
  }
  if (r < min || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) {
    r = 0xFFFD;
    return 0;
  }
  return n;
}

// An approximation of Go's unicode.IsPrint, exact for ASCII and Latin-1.
bool IsPrint(uint32_t r) {
  if (r < 0x20 || r == 0x7F) return false;
  if (r >= 0x80 && r < 0xA0) return false;
  if (r == 0xAD) return false;
  if (r >= 0x2028 && r <= 0x202E) return false;
  if (r >= 0x200B && r <= 0x200F) return false;
  if (r >= 0x2060 && r <= 0x206F) return false;
  if (r == 0xFEFF || r == 0xFFFE || r == 0xFFFF) return false;
  if (r >= 0xFFF9 && r <= 0xFFFB) return false;
  if (r >= 0xE000 && r <= 0xF8FF) return false;
  if (r >= 0xF0000) return false;
  return true;
}

const char kHex[] = "0123456789abcdef";
const char kHexUpper[] = "0123456789ABCDEF";

void AppendEscapedRune(std::string& out, uint32_t r, char quote, bool ascii_only) {
  if (r == static_cast<uint32_t>(quote) || r == '\\') {
    out.push_back('\\');
    out.push_back(static_cast<char>(r));
    return;
  }
  if (ascii_only ? (r < 0x80 && IsPrint(r)) : IsPrint(r)) {
    AppendRune(out, r);
    return;
  }
  switch (r) {
    case '\a':
      out += "\\a";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    case '\v':
      out += "\\v";
      return;
  }
  if (r < 0x20 || r == 0x7F) {
    out += "\\x";
    out.push_back(kHex[r >> 4]);
    out.push_back(kHex[r & 0xF]);
  } else if (r < 0x10000) {
    out += "\\u";
    for (int sh = 12; sh >= 0; sh -= 4) out.push_back(kHex[(r >> sh) & 0xF]);
  } else {
    out += "\\U";
    for (int sh = 28; sh >= 0; sh -= 4) out.push_back(kHex[(r >> sh) & 0xF]);
  }
}

std::string QuoteWith(std::string_view s, char quote, bool ascii_only) {
  std::string out;
  out.push_back(quote);
  for (size_t i = 0; i < s.size();) {
    uint32_t r;
    size_t n = DecodeRune(s, i, r);
    if (n == 0) {  // invalid UTF-8 byte
      unsigned char c = static_cast<unsigned char>(s[i]);
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
      ++i;
      continue;
    }
    AppendEscapedRune(out, r, quote, ascii_only);
    i += n;
  }
  out.push_back(quote);
  return out;
}

// strconv.CanBackquote.
bool CanBackquote(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    uint32_t r;
    size_t n = DecodeRune(s, i, r);
    if (n == 0) return false;
    if (n == 1) {
      if (r == '`' || r == 0x7F || (r < ' ' && r != '\t')) return false;
    } else if (r == 0xFEFF) {
      return false;
    }
    i += n;
  }
  return true;
}

std::string Digits(uint64_t u, int base, bool upper) {
  const char* digits = upper ? kHexUpper : kHex;
  std::string d;
  do {
    d.push_back(digits[u % static_cast<uint64_t>(base)]);
    u /= static_cast<uint64_t>(base);
  } while (u != 0);
  return std::string(d.rbegin(), d.rend());
}

void FmtInteger(std::string& out, int64_t v, int base, char verb, const Spec& sp) {
  bool neg = v < 0;
  uint64_t u = neg ? (~static_cast<uint64_t>(v) + 1) : static_cast<uint64_t>(v);
  std::string digits = Digits(u, base, verb == 'X');
  if (sp.has_prec) {
    if (sp.prec == 0 && u == 0) digits.clear();
    if (static_cast<int>(digits.size()) < sp.prec) {
      digits.insert(0, static_cast<size_t>(sp.prec) - digits.size(), '0');
    }
  }
  std::string prefix;
  if (sp.sharp) {
    if (base == 8 && (digits.empty() || digits[0] != '0')) prefix = "0";
    if (base == 16) prefix = verb == 'X' ? "0X" : "0x";
    if (base == 2) prefix = "0b";
  }
  if (verb == 'O') prefix = "0o";
  std::string sign;
  if (neg) {
    sign = "-";
  } else if (sp.plus) {
    sign = "+";
  } else if (sp.space) {
    sign = " ";
  }
  std::string body = prefix + digits;
  if (sp.zero && sp.has_wid && !sp.minus && !sp.has_prec) {
    size_t want = static_cast<size_t>(sp.wid);
    if (sign.size() + body.size() < want) {
      body.insert(prefix.size(), want - sign.size() - body.size(), '0');
    }
    out += sign + body;
    return;
  }
  Spec nozero = sp;
  nozero.zero = false;
  Pad(out, sign + body, nozero);
}

// strconv.FormatFloat(f, 'g', -1, 64) as fmt's %v prints it.
std::string ShortestG(double f, bool upper) {
  if (std::isnan(f)) return "NaN";
  if (std::isinf(f)) return f > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), f, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  // sci: [-]d[.ddd]e[+-]XX
  bool neg = !sci.empty() && sci[0] == '-';
  if (neg) sci.erase(0, 1);
  size_t e = sci.find('e');
  std::string mant = sci.substr(0, e);
  int exp = std::atoi(sci.c_str() + e + 1);
  std::string digs;
  for (char c : mant) {
    if (c != '.') digs.push_back(c);
  }
  if (f == 0) {
    digs = "0";
    exp = 0;
  }
  std::string out = neg ? "-" : "";
  if (exp < -4 || exp >= 6) {  // %e, shortest digits
    out.push_back(digs[0]);
    if (digs.size() > 1) {
      out.push_back('.');
      out.append(digs, 1, std::string::npos);
    }
    out.push_back(upper ? 'E' : 'e');
    out.push_back(exp < 0 ? '-' : '+');
    int ax = exp < 0 ? -exp : exp;
    if (ax < 10) out.push_back('0');
    out += std::to_string(ax);
    return out;
  }
  // %f with as many digits as needed.
  int dp = exp + 1;  // digits before the decimal point
  if (dp <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-dp), '0');
    out += digs;
  } else if (static_cast<size_t>(dp) >= digs.size()) {
    out += digs;
    out.append(static_cast<size_t>(dp) - digs.size(), '0');
  } else {
    out.append(digs, 0, static_cast<size_t>(dp));
    out.push_back('.');
    out.append(digs, static_cast<size_t>(dp), std::string::npos);
  }
  return out;
}

void FmtFloat(std::string& out, double f, char verb, const Spec& sp) {
  std::string num;
  if (verb == 'v' || ((verb == 'g' || verb == 'G') && !sp.has_prec)) {
    num = ShortestG(f, verb == 'G');
  } else if (std::isnan(f) || std::isinf(f)) {
    num = std::isnan(f) ? "NaN" : (f > 0 ? "+Inf" : "-Inf");
  } else {
    char fmt[16];
    int prec = sp.has_prec ? sp.prec : 6;
    char v = verb == 'F' ? 'f' : verb;
    std::snprintf(fmt, sizeof(fmt), "%%%s.*%c", sp.sharp ? "#" : "", v);
    int n = std::snprintf(nullptr, 0, fmt, prec, f);
    if (n < 0) n = 0;
    num.resize(static_cast<size_t>(n) + 1);
    std::snprintf(num.data(), num.size(), fmt, prec, f);
    num.resize(static_cast<size_t>(n));
  }
  bool neg = !num.empty() && (num[0] == '-' || num[0] == '+');
  std::string sign;
  if (neg) {
    sign = num.substr(0, 1);
    num.erase(0, 1);
    if (sign == "+" && !sp.plus) sign = sp.space ? " " : "";
  } else if (sp.plus) {
    sign = "+";
  } else if (sp.space) {
    sign = " ";
  }
  if (sp.zero && sp.has_wid && !sp.minus && std::isfinite(f)) {
    size_t want = static_cast<size_t>(sp.wid);
    if (sign.size() + num.size() < want) num.insert(0, want - sign.size() - num.size(), '0');
    out += sign + num;
    return;
  }
  Spec nozero = sp;
  nozero.zero = false;
  Pad(out, sign + num, nozero);
}

void FmtValue(std::string& out, const Value& v, char verb, const Spec& sp);

void BadVerb(std::string& out, const Value& v, char verb) {
  out += "%!";
  AppendRune(out, static_cast<unsigned char>(verb));
  out.push_back('(');
  if (v.kind == Value::Kind::kNil) {
    out += "<nil>";
  } else {
    out += GoTypeName(v);
    out.push_back('=');
    FmtValue(out, v, 'v', Spec());
  }
  out.push_back(')');
}

void FmtString(std::string& out, const Value& v, char verb, const Spec& sp) {
  std::string_view s = v.s;
  std::string truncated;
  if (sp.has_prec && (verb == 's' || verb == 'v' || verb == 'q' || verb == 'x' || verb == 'X')) {
    size_t runes = 0, i = 0;
    while (i < s.size() && runes < static_cast<size_t>(sp.prec)) {
      uint32_t r;
      size_t n = DecodeRune(s, i, r);
      i += n == 0 ? 1 : n;
      ++runes;
    }
    if (verb == 'x' || verb == 'X') i = std::min(s.size(), static_cast<size_t>(sp.prec));
    truncated = std::string(s.substr(0, i));
    s = truncated;
  }
  switch (verb) {
    case 'v':
    case 's':
      Pad(out, s, sp);
      return;
    case 'q':
      if (sp.sharp && CanBackquote(s)) {
        Pad(out, "`" + std::string(s) + "`", sp);
      } else {
        Pad(out, QuoteWith(s, '"', sp.plus), sp);
      }
      return;
    case 'x':
    case 'X': {
      const char* digits = verb == 'X' ? kHexUpper : kHex;
      std::string h;
      for (size_t i = 0; i < s.size(); ++i) {
        if (sp.space && i > 0) h.push_back(' ');
        if (sp.sharp && (sp.space || i == 0)) h += verb == 'X' ? "0X" : "0x";
        unsigned char c = static_cast<unsigned char>(s[i]);
        h.push_back(digits[c >> 4]);
        h.push_back(digits[c & 0xF]);
      }
      Pad(out, h, sp);
      return;
    }
    default:
      BadVerb(out, v, verb);
  }
}

void FmtInt(std::string& out, const Value& v, char verb, const Spec& sp) {
  switch (verb) {
    case 'v':
    case 'd':
      FmtInteger(out, v.i, 10, verb, sp);
      return;
    case 'b':
      FmtInteger(out, v.i, 2, verb, sp);
      return;
    case 'o':
    case 'O':
      FmtInteger(out, v.i, 8, verb, sp);
      return;
    case 'x':
    case 'X':
      FmtInteger(out, v.i, 16, verb, sp);
      return;
    case 'c': {
      std::string s;
      AppendRune(s, v.i < 0 || v.i > 0x10FFFF ? 0xFFFD : static_cast<uint32_t>(v.i));
      Pad(out, s, sp);
      return;
    }
    case 'q': {
      uint32_t r = v.i < 0 || v.i > 0x10FFFF || (v.i >= 0xD800 && v.i <= 0xDFFF)
                       ? 0xFFFD
                       : static_cast<uint32_t>(v.i);
      std::string s = "'";
      if (sp.sharp && r != '\'' && IsPrint(r) && !(sp.plus && r >= 0x80)) {
        AppendRune(s, r);
      } else {
        AppendEscapedRune(s, r, '\'', sp.plus);
      }
      s.push_back('\'');
      Pad(out, s, sp);
      return;
    }
    case 'U': {
      std::string s = "U+";
      std::string d = Digits(static_cast<uint64_t>(v.i), 16, true);
      if (v.i < 0) d = Digits(~static_cast<uint64_t>(v.i) + 1, 16, true), s = "-U+";
      if (d.size() < 4) d.insert(0, 4 - d.size(), '0');
      s += d;
      if (sp.sharp && v.i >= 0 && v.i <= 0x10FFFF && IsPrint(static_cast<uint32_t>(v.i))) {
        s += " '";
        AppendRune(s, static_cast<uint32_t>(v.i));
        s += "'";
      }
      Pad(out, s, sp);
      return;
    }
    default:
      BadVerb(out, v, verb);
  }
}

void FmtValue(std::string& out, const Value& v, char verb, const Spec& sp) {
  switch (v.kind) {
    case Value::Kind::kNil:
      if (verb == 'v') {
        Pad(out, "<nil>", sp);
      } else {
        BadVerb(out, v, verb);
      }
      return;
    case Value::Kind::kBool:
      if (verb == 'v' || verb == 't') {
        Pad(out, v.b ? "true" : "false", sp);
      } else {
        BadVerb(out, v, verb);
      }
      return;
    case Value::Kind::kInt:
      FmtInt(out, v, verb, sp);
      return;
    case Value::Kind::kFloat:
      switch (verb) {
        case 'v':
        case 'e':
        case 'E':
        case 'f':
        case 'F':
        case 'g':
        case 'G':
          FmtFloat(out, v.f, verb, sp);
          return;
        default:
          BadVerb(out, v, verb);
          return;
      }
    case Value::Kind::kString:
      FmtString(out, v, verb, sp);
      return;
    case Value::Kind::kList: {
      out.push_back('[');
      bool first = true;
      for (const std::string& e : *v.list) {
        if (!first) out.push_back(' ');
        first = false;
        FmtString(out, Value::String(e), verb, sp);
      }
      out.push_back(']');
      return;
    }
    case Value::Kind::kMap: {
      out += "map[";
      bool first = true;
      for (const auto& [k, e] : *v.map) {
        if (!first) out.push_back(' ');
        first = false;
        FmtString(out, Value::String(k), verb, sp);
        out.push_back(':');
        FmtString(out, Value::String(e), verb, sp);
      }
      out.push_back(']');
      return;
    }
    case Value::Kind::kRoot: {
      out.push_back('{');
      bool first = true;
      for (const std::string& name : *v.root->fields) {
        if (!first) out.push_back(' ');
        first = false;
        if (sp.plus && verb == 'v') out += name + ":";
        auto it = v.root->data->find(name);
        Value field = it == v.root->data->end() ? Value::String("") : FromTemplateValue(it->second);
        FmtValue(out, field, verb, sp);
      }
      out.push_back('}');
      return;
    }
  }
}

}  // namespace

void AppendRune(std::string& out, uint32_t r) {
  if (r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) r = 0xFFFD;
  if (r < 0x80) {
    out.push_back(static_cast<char>(r));
  } else if (r < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (r >> 6)));
    out.push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else if (r < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (r >> 12)));
    out.push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (r >> 18)));
    out.push_back(static_cast<char>(0x80 | ((r >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (r & 0x3F)));
  }
}

Value FromTemplateValue(const TemplateValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return Value::String(*s);
  if (const auto* l = std::get_if<std::vector<std::string>>(&v)) return Value::List(l);
  return Value::Map(&std::get<std::map<std::string, std::string>>(v));
}

std::string GoTypeName(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNil:
      return "<nil>";
    case Value::Kind::kBool:
      return "bool";
    case Value::Kind::kInt:
      return "int";
    case Value::Kind::kFloat:
      return "float64";
    case Value::Kind::kString:
      return "string";
    case Value::Kind::kList:
      return "[]string";
    case Value::Kind::kMap:
      return "map[string]string";
    case Value::Kind::kRoot:
      return "struct";
  }
  return "?";
}

std::string PrintValue(const Value& v) {
  if (v.kind == Value::Kind::kString) return v.s;
  std::string out;
  FmtValue(out, v, 'v', Spec());
  return out;
}

std::string Sprint(const std::vector<Value>& args) {
  std::string out;
  bool prev_string = false;
  for (size_t i = 0; i < args.size(); ++i) {
    bool is_string = args[i].kind == Value::Kind::kString;
    if (i > 0 && !is_string && !prev_string) out.push_back(' ');
    FmtValue(out, args[i], 'v', Spec());
    prev_string = is_string;
  }
  return out;
}

std::string Sprintln(const std::vector<Value>& args) {
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (i > 0) out.push_back(' ');
    FmtValue(out, args[i], 'v', Spec());
  }
  out.push_back('\n');
  return out;
}

std::string Sprintf(std::string_view format, const std::vector<Value>& args) {
  std::string out;
  size_t argn = 0;
  const size_t end = format.size();
  size_t i = 0;
  while (i < end) {
    size_t lasti = i;
    while (i < end && format[i] != '%') ++i;
    out.append(format.substr(lasti, i - lasti));
    if (i >= end) break;
    ++i;  // skip '%'
    Spec sp;
    for (; i < end; ++i) {
      char c = format[i];
      if (c == '#') {
        sp.sharp = true;
      } else if (c == '0') {
        sp.zero = !sp.minus;
      } else if (c == '+') {
        sp.plus = true;
      } else if (c == '-') {
        sp.minus = true;
        sp.zero = false;
      } else if (c == ' ') {
        sp.space = true;
      } else {
        break;
      }
    }
    // Width.
    auto parsenum = [&](int& num, bool& isnum) {
      num = 0;
      isnum = false;
      while (i < end && format[i] >= '0' && format[i] <= '9') {
        if (TooLarge(num)) {
          num = 0;
          isnum = false;
          i = end;
          return;
        }
        num = num * 10 + (format[i] - '0');
        isnum = true;
        ++i;
      }
    };
    if (i < end && format[i] == '*') {
      ++i;
      if (argn < args.size() && args[argn].kind == Value::Kind::kInt && !TooLarge(args[argn].i)) {
        sp.wid = static_cast<int>(args[argn].i);
        sp.has_wid = true;
        if (sp.wid < 0) {
          sp.minus = true;
          sp.zero = false;
          sp.wid = -sp.wid;
        }
      } else {
        out += "%!(BADWIDTH)";
      }
      ++argn;
    } else {
      parsenum(sp.wid, sp.has_wid);
    }
    // Precision.
    if (i + 1 <= end && i < end && format[i] == '.') {
      ++i;
      if (i < end && format[i] == '*') {
        ++i;
        if (argn < args.size() && args[argn].kind == Value::Kind::kInt && !TooLarge(args[argn].i)) {
          sp.prec = static_cast<int>(args[argn].i);
          sp.has_prec = true;
          if (sp.prec < 0) {
            sp.prec = 0;
            sp.has_prec = false;
          }
        } else {
          out += "%!(BADPREC)";
        }
        ++argn;
      } else {
        parsenum(sp.prec, sp.has_prec);
        if (!sp.has_prec) {
          sp.prec = 0;
          sp.has_prec = true;
        }
      }
    }
    if (i >= end) {
      out += "%!(NOVERB)";
      break;
    }
    uint32_t verb_rune;
    size_t n = DecodeRune(format, i, verb_rune);
    if (n == 0) n = 1;
    i += n;
    if (verb_rune == '%') {
      out.push_back('%');
      continue;
    }
    char verb = verb_rune < 0x80 ? static_cast<char>(verb_rune) : '?';
    if (argn >= args.size()) {
      out += "%!";
      AppendRune(out, verb_rune);
      out += "(MISSING)";
      continue;
    }
    const Value& arg = args[argn++];
    if (verb_rune >= 0x80) {
      out += "%!";
      AppendRune(out, verb_rune);
      out.push_back('(');
      out += arg.kind == Value::Kind::kNil ? "<nil>" : GoTypeName(arg) + "=" + PrintValue(arg);
      out.push_back(')');
      continue;
    }
    FmtValue(out, arg, verb, sp);
  }
  if (argn < args.size()) {
    out += "%!(EXTRA ";
    for (size_t k = argn; k < args.size(); ++k) {
      if (k > argn) out += ", ";
      if (args[k].kind == Value::Kind::kNil) {
        out += "<nil>";
      } else {
        out += GoTypeName(args[k]) + "=" + PrintValue(args[k]);
      }
    }
    out.push_back(')');
  }
  return out;
}

std::string GoQuote(std::string_view s) { return QuoteWith(s, '"', false); }

std::string QueryEscape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHexUpper[c >> 4]);
      out.push_back(kHexUpper[c & 0xF]);
    }
  }
  return out;
}

}  // namespace rules::template_internal
