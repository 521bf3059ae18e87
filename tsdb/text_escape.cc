#include "tsdb/text_escape.h"

#include "tsdb/utf8.h"

namespace tsdb {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void AppendUnicodeEscape(unsigned code, std::string* out) {
  out->append("\\u");
  out->push_back(kHex[(code >> 12) & 0xF]);
  out->push_back(kHex[(code >> 8) & 0xF]);
  out->push_back(kHex[(code >> 4) & 0xF]);
  out->push_back(kHex[code & 0xF]);
}

// ASCII that a JSON string carries as it is (Go's encoder escapes <, > and & for HTML).
bool IsPlainJsonChar(unsigned char c) {
  return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&';
}

}  // namespace

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    // Runs of plain characters (label names and most values are nothing else) in one append.
    size_t plain = i;
    while (plain < s.size() && IsPlainJsonChar(static_cast<unsigned char>(s[plain]))) ++plain;
    if (plain > i) {
      out->append(s.data() + i, plain - i);
      i = plain;
      continue;
    }
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const size_t len = Utf8SequenceLength(s, i);
      if (len == 0) {
        out->append("\\ufffd");
        ++i;
        continue;
      }
      // U+2028 and U+2029 (E2 80 A8 / E2 80 A9) break JavaScript string literals.
      if (len == 3 && c == 0xE2 && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
          (static_cast<unsigned char>(s[i + 2]) & 0xFE) == 0xA8) {
        AppendUnicodeEscape(static_cast<unsigned char>(s[i + 2]) == 0xA8 ? 0x2028 : 0x2029, out);
      } else {
        out->append(s.substr(i, len));
      }
      i += len;
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '<':
      case '>':
      case '&':
        AppendUnicodeEscape(c, out);
        break;
      default:
        if (c < 0x20) {
          AppendUnicodeEscape(c, out);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out->push_back('"');
}

std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const size_t len = Utf8SequenceLength(s, i);
      if (len == 0) {
        out.append("\\x");
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xF]);
        ++i;
      } else {
        out.append(s.substr(i, len));
        i += len;
      }
      continue;
    }
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\a':
        out.append("\\a");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\v':
        out.append("\\v");
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out.append("\\x");
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out.push_back('"');
  return out;
}

}  // namespace tsdb
