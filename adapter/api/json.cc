#include "adapter/api/json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

namespace api {
namespace {

// Every writer below formats into a caller's stack buffer, which the Append functions copy into
// the output once: responses of a large range query hold millions of these, and appending them a
// character at a time was most of the cost of encoding one.
constexpr size_t kMaxTimestampChars = 24;  // -9223372036854775.808
constexpr size_t kMaxValueChars = 48;      // 0.000001 and 17 digits, 21 digits and 16 decimals

// Writes the shortest round-trip digits of a finite, non-zero |v| laid out without an exponent,
// as Go's 'f' format with precision -1 does: the shortest digit string, zero-padded, with the
// decimal point where the exponent puts it. (std::to_chars' fixed format would print the exact
// binary value of large integers instead, e.g. 123456789012345677877 for 1.2345678901234568e20.)
// Only for 1e-6 <= |v| < 1e21, which bounds the length by kMaxValueChars.
char* WriteFixedShortest(double v, char* p) {
  char sci[32];
  const std::to_chars_result r =
      std::to_chars(sci, sci + sizeof(sci), v, std::chars_format::scientific);
  // sci is [-]d[.ddd]e(+|-)XX
  const char* s = sci;
  if (*s == '-') {
    *p++ = '-';
    ++s;
  }
  char digits[24];
  int n = 0;
  for (; *s != 'e'; ++s) {
    if (*s != '.') digits[n++] = *s;
  }
  ++s;  // past 'e'
  if (*s == '+') ++s;
  int exponent = 0;
  std::from_chars(s, r.ptr, exponent);
  // The value is 0.d1d2d3... * 10^(exponent + 1).
  const int point = exponent + 1;
  if (point <= 0) {
    *p++ = '0';
    *p++ = '.';
    p = std::fill_n(p, -point, '0');
    p = std::copy_n(digits, n, p);
  } else if (point >= n) {
    p = std::copy_n(digits, n, p);
    p = std::fill_n(p, point - n, '0');
  } else {
    p = std::copy_n(digits, point, p);
    *p++ = '.';
    p = std::copy_n(digits + point, n - point, p);
  }
  return p;
}

char* WriteLiteral(std::string_view text, char* p) {
  return std::copy(text.begin(), text.end(), p);
}

// Prometheus' text for a sample value (Go's strconv.FormatFloat(v, 'f', -1, 64) in the usual
// range, exponent form outside it, NaN and +-Inf spelled as Prometheus does).
char* WriteValueText(double v, char* p) {
  if (std::isnan(v)) return WriteLiteral("NaN", p);
  if (std::isinf(v)) return WriteLiteral(v > 0 ? "+Inf" : "-Inf", p);
  if (v == 0) return WriteLiteral(std::signbit(v) ? "-0" : "0", p);
  const double abs = std::fabs(v);
  if (abs < 1e-6 || abs >= 1e21) {
    return std::to_chars(p, p + kMaxValueChars, v, std::chars_format::scientific).ptr;
  }
  return WriteFixedShortest(v, p);
}

// Seconds with the milliseconds as up to three decimals, as Prometheus writes timestamps.
char* WriteTimestamp(int64_t ms, char* p) {
  // Unsigned arithmetic: -INT64_MIN does not fit in int64.
  uint64_t abs = static_cast<uint64_t>(ms);
  if (ms < 0) {
    *p++ = '-';
    abs = ~abs + 1;
  }
  p = std::to_chars(p, p + kMaxTimestampChars, abs / 1000).ptr;
  const unsigned fraction = static_cast<unsigned>(abs % 1000);
  if (fraction != 0) {
    *p++ = '.';
    *p++ = static_cast<char>('0' + fraction / 100);
    *p++ = static_cast<char>('0' + fraction / 10 % 10);
    *p++ = static_cast<char>('0' + fraction % 10);
  }
  return p;
}

void AppendValueText(double v, std::string* out) {
  char buf[kMaxValueChars];
  out->append(buf, WriteValueText(v, buf));
}

}  // namespace

void AppendTimestamp(int64_t ms, std::string* out) {
  char buf[kMaxTimestampChars + 1];
  out->append(buf, WriteTimestamp(ms, buf));
}

std::string FormatSampleValue(double v) {
  std::string out;
  AppendValueText(v, &out);
  return out;
}

void AppendSampleValue(double v, std::string* out) {
  out->push_back('"');
  AppendValueText(v, out);
  out->push_back('"');
}

void AppendSamplePair(int64_t ms, double v, std::string* out) {
  char buf[kMaxTimestampChars + kMaxValueChars + 5];
  char* p = buf;
  *p++ = '[';
  p = WriteTimestamp(ms, p);
  *p++ = ',';
  *p++ = '"';
  p = WriteValueText(v, p);
  *p++ = '"';
  *p++ = ']';
  out->append(buf, p);
}

void AppendStringPair(int64_t ms, std::string_view text, std::string* out) {
  out->push_back('[');
  AppendTimestamp(ms, out);
  out->push_back(',');
  AppendJsonString(text, out);
  out->push_back(']');
}

void AppendLabelsObject(const tsdb::Labels& labels, std::string* out) {
  out->push_back('{');
  bool first = true;
  for (const tsdb::Label& l : labels) {
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(l.name, out);
    out->push_back(':');
    AppendJsonString(l.value, out);
  }
  out->push_back('}');
}

}  // namespace api
