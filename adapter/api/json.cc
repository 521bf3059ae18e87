#include "adapter/api/json.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace api {
namespace {

// Appends the shortest round-trip digits of a finite, non-zero |v| laid out without an exponent,
// as Go's 'f' format with precision -1 does: the shortest digit string, zero-padded, with the
// decimal point where the exponent puts it. (std::to_chars' fixed format would print the exact
// binary value of large integers instead, e.g. 123456789012345677877 for 1.2345678901234568e20.)
void AppendFixedShortest(double v, std::string* out) {
  char buf[64];
  std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(r.ptr - buf));
  // sci is [-]d[.ddd]e(+|-)XX
  size_t pos = 0;
  if (sci[0] == '-') {
    out->push_back('-');
    pos = 1;
  }
  const size_t e = sci.find('e');
  std::string digits;
  for (size_t k = pos; k < e; ++k) {
    if (sci[k] != '.') digits.push_back(sci[k]);
  }
  const int exponent = std::atoi(std::string(sci.substr(e + 1)).c_str());
  // The value is 0.d1d2d3... * 10^(exponent + 1).
  const int point = exponent + 1;
  const int n = static_cast<int>(digits.size());
  if (point <= 0) {
    out->append("0.");
    out->append(static_cast<size_t>(-point), '0');
    out->append(digits);
  } else if (point >= n) {
    out->append(digits);
    out->append(static_cast<size_t>(point - n), '0');
  } else {
    out->append(digits, 0, static_cast<size_t>(point));
    out->push_back('.');
    out->append(digits, static_cast<size_t>(point), std::string::npos);
  }
}

void AppendValueText(double v, std::string* out) {
  if (std::isnan(v)) {
    out->append("NaN");
    return;
  }
  if (std::isinf(v)) {
    out->append(v > 0 ? "+Inf" : "-Inf");
    return;
  }
  if (v == 0) {
    out->append(std::signbit(v) ? "-0" : "0");
    return;
  }
  const double abs = std::fabs(v);
  if (abs < 1e-6 || abs >= 1e21) {
    char buf[64];
    std::to_chars_result r =
        std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
    out->append(buf, static_cast<size_t>(r.ptr - buf));
    return;
  }
  AppendFixedShortest(v, out);
}

}  // namespace

void AppendTimestamp(int64_t ms, std::string* out) {
  // Unsigned arithmetic: -INT64_MIN does not fit in int64.
  uint64_t abs = static_cast<uint64_t>(ms);
  if (ms < 0) {
    out->push_back('-');
    abs = ~abs + 1;
  }
  char buf[32];
  std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf), abs / 1000);
  out->append(buf, static_cast<size_t>(r.ptr - buf));
  const unsigned fraction = static_cast<unsigned>(abs % 1000);
  if (fraction != 0) {
    out->push_back('.');
    out->push_back(static_cast<char>('0' + fraction / 100));
    out->push_back(static_cast<char>('0' + fraction / 10 % 10));
    out->push_back(static_cast<char>('0' + fraction % 10));
  }
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
  out->push_back('[');
  AppendTimestamp(ms, out);
  out->push_back(',');
  AppendSampleValue(v, out);
  out->push_back(']');
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
