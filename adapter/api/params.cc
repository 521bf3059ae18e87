#include "adapter/api/params.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "adapter/api/json.h"
#include "adapter/cli/duration.h"

namespace api {
namespace {

constexpr std::string_view kMinTimeText = "-292273086-05-16T16:47:06Z";
constexpr std::string_view kMaxTimeText = "292277025-08-18T07:12:54.999999999Z";

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (x != b[i]) return false;
  }
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Reads exactly n digits at s[*i].
bool ReadDigits(std::string_view s, size_t* i, int n, int* out) {
  if (*i + static_cast<size_t>(n) > s.size()) return false;
  int v = 0;
  for (int k = 0; k < n; ++k) {
    const char c = s[*i + static_cast<size_t>(k)];
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *i += static_cast<size_t>(n);
  *out = v;
  return true;
}

// RFC 3339 as Go's time.Parse(time.RFC3339Nano, s) accepts it: a four-digit year.
bool ParseRfc3339Ms(std::string_view s, int64_t* ms) {
  size_t i = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!ReadDigits(s, &i, 4, &year) || i >= s.size() || s[i++] != '-') return false;
  if (!ReadDigits(s, &i, 2, &month) || i >= s.size() || s[i++] != '-') return false;
  if (!ReadDigits(s, &i, 2, &day) || i >= s.size() || s[i++] != 'T') return false;
  if (!ReadDigits(s, &i, 2, &hour) || i >= s.size() || s[i++] != ':') return false;
  if (!ReadDigits(s, &i, 2, &minute) || i >= s.size() || s[i++] != ':') return false;
  if (!ReadDigits(s, &i, 2, &second)) return false;
  int64_t nanos = 0;
  if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
    ++i;
    int digits = 0;
    while (i < s.size() && IsDigit(s[i])) {
      if (digits < 9) nanos = nanos * 10 + (s[i] - '0');
      ++digits;
      ++i;
    }
    if (digits == 0) return false;
    for (int k = digits; k < 9; ++k) nanos *= 10;
  }
  int64_t offset_s = 0;
  if (i >= s.size()) return false;
  if (s[i] == 'Z') {
    ++i;
  } else if (s[i] == '+' || s[i] == '-') {
    const int sign = s[i] == '-' ? -1 : 1;
    ++i;
    int oh, om;
    if (!ReadDigits(s, &i, 2, &oh) || i >= s.size() || s[i++] != ':') return false;
    if (!ReadDigits(s, &i, 2, &om)) return false;
    if (oh > 23 || om > 59) return false;
    offset_s = sign * (int64_t{oh} * 3600 + int64_t{om} * 60);
  } else {
    return false;
  }
  if (i != s.size()) return false;
  if (month < 1 || month > 12 || day < 1 ||
      static_cast<unsigned>(day) > DaysInMonth(year, static_cast<unsigned>(month)) || hour > 23 ||
      minute > 59 || second > 59) {
    return false;
  }
  const int64_t days =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const int64_t secs =
      days * 86400 + int64_t{hour} * 3600 + int64_t{minute} * 60 + second - offset_s;
  *ms = secs * 1000 + nanos / 1000000;
  return true;
}

absl::Status CannotParseTime(std::string_view s) {
  return absl::InvalidArgumentError(
      absl::StrCat("cannot parse ", GoQuote(s), " to a valid timestamp"));
}

absl::Status CannotParseDuration(std::string_view s) {
  return absl::InvalidArgumentError(
      absl::StrCat("cannot parse ", GoQuote(s), " to a valid duration"));
}

}  // namespace

bool ParseGoFloat(std::string_view s, double* out) {
  if (s.empty()) return false;
  bool negative = false;
  std::string_view rest = s;
  if (rest[0] == '+' || rest[0] == '-') {
    negative = rest[0] == '-';
    rest.remove_prefix(1);
  }
  if (rest.empty()) return false;
  if (EqualsIgnoreCase(rest, "inf") || EqualsIgnoreCase(rest, "infinity")) {
    *out = negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
    return true;
  }
  if (EqualsIgnoreCase(rest, "nan")) {
    *out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  std::chars_format format = std::chars_format::general;
  if (rest.size() > 2 && rest[0] == '0' && (rest[1] == 'x' || rest[1] == 'X')) {
    // Go requires the binary exponent of a hexadecimal float.
    rest.remove_prefix(2);
    if (rest.empty() || rest[0] == '+' || rest[0] == '-') return false;
    if (rest.find_first_of("pP") == std::string_view::npos) return false;
    for (char c : rest) {
      const bool ok = IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '.' ||
                      c == 'p' || c == 'P' || c == '+' || c == '-';
      if (!ok) return false;
    }
    format = std::chars_format::hex;
  } else {
    // digits [. digits] [e [sign] digits], at least one mantissa digit.
    size_t i = 0;
    size_t mantissa_digits = 0;
    while (i < rest.size() && IsDigit(rest[i])) ++i, ++mantissa_digits;
    if (i < rest.size() && rest[i] == '.') {
      ++i;
      while (i < rest.size() && IsDigit(rest[i])) ++i, ++mantissa_digits;
    }
    if (mantissa_digits == 0) return false;
    if (i < rest.size() && (rest[i] == 'e' || rest[i] == 'E')) {
      ++i;
      if (i < rest.size() && (rest[i] == '+' || rest[i] == '-')) ++i;
      size_t exponent_digits = 0;
      while (i < rest.size() && IsDigit(rest[i])) ++i, ++exponent_digits;
      if (exponent_digits == 0) return false;
    }
    if (i != rest.size()) return false;
  }
  double v = 0;
  std::from_chars_result r = std::from_chars(rest.data(), rest.data() + rest.size(), v, format);
  if (r.ptr != rest.data() + rest.size()) return false;
  if (r.ec == std::errc::result_out_of_range) {
    // Overflow fails as in Go; underflow is zero.
    std::string copy(s);
    if (format == std::chars_format::hex)
      copy = std::string(negative ? "-0x" : "0x") + std::string(rest);
    errno = 0;
    const double approx = std::strtod(copy.c_str(), nullptr);
    if (std::isinf(approx) || std::fabs(approx) > 1) return false;
    v = 0;
  } else if (r.ec != std::errc()) {
    return false;
  }
  *out = negative ? -v : v;
  return true;
}

absl::StatusOr<int64_t> ParseApiTime(std::string_view s) {
  double f = 0;
  if (ParseGoFloat(s, &f)) {
    if (!std::isfinite(f)) return CannotParseTime(s);
    double whole = 0;
    const double frac = std::modf(f, &whole);
    // int64 milliseconds reach about +-9.2e15 seconds.
    if (std::fabs(whole) >= 9.2e15) return CannotParseTime(s);
    return static_cast<int64_t>(whole) * 1000 + static_cast<int64_t>(std::round(frac * 1000));
  }
  int64_t ms = 0;
  if (ParseRfc3339Ms(s, &ms)) return ms;
  if (s == kMinTimeText) return kApiMinTimeMs;
  if (s == kMaxTimeText) return kApiMaxTimeMs;
  return CannotParseTime(s);
}

absl::StatusOr<int64_t> ParseApiDurationNs(std::string_view s) {
  double f = 0;
  if (ParseGoFloat(s, &f)) {
    if (std::isnan(f)) return CannotParseDuration(s);
    const double ns = f * 1e9;
    if (ns >= 9223372036854775807.0 || ns < -9223372036854775807.0) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot parse ", GoQuote(s), " to a valid duration. It overflows int64"));
    }
    return static_cast<int64_t>(ns);  // truncates toward zero, as Go's conversion
  }
  absl::StatusOr<int64_t> ms = cli::ParseDurationMs(s);
  if (!ms.ok() || *ms > std::numeric_limits<int64_t>::max() / 1000000) {
    return CannotParseDuration(s);
  }
  return *ms * 1000000;
}

absl::StatusOr<int64_t> ParseApiLimit(std::string_view s) {
  if (s.empty()) return 0;
  std::string_view digits = s;
  bool negative = false;
  if (digits[0] == '+' || digits[0] == '-') {
    negative = digits[0] == '-';
    digits.remove_prefix(1);
  }
  const auto syntax = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("strconv.Atoi: parsing ", GoQuote(s), ": invalid syntax"));
  };
  if (digits.empty()) return syntax();
  uint64_t v = 0;
  bool overflow = false;
  for (char c : digits) {
    if (!IsDigit(c)) return syntax();
    if (v > (std::numeric_limits<uint64_t>::max() - static_cast<uint64_t>(c - '0')) / 10) {
      overflow = true;
    } else {
      v = v * 10 + static_cast<uint64_t>(c - '0');
    }
  }
  const uint64_t bound = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  if (overflow || v > bound) {
    return absl::InvalidArgumentError(
        absl::StrCat("strconv.Atoi: parsing ", GoQuote(s), ": value out of range"));
  }
  if (negative && v != 0) return absl::InvalidArgumentError("limit must be non-negative");
  return static_cast<int64_t>(v);
}

std::string FormatUnixNanoRfc3339(int64_t unix_ns) {
  int64_t secs = unix_ns / 1000000000;
  int64_t nanos = unix_ns % 1000000000;
  if (nanos < 0) {
    nanos += 1000000000;
    --secs;
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  int64_t year;
  unsigned month, day;
  CivilFromDays(days, &year, &month, &day);
  char buf[64];
  int n = std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02d:%02d:%02d",
                        static_cast<long long>(year), month, day, static_cast<int>(rem / 3600),
                        static_cast<int>(rem / 60 % 60), static_cast<int>(rem % 60));
  std::string out(buf, static_cast<size_t>(n));
  if (nanos != 0) {
    std::snprintf(buf, sizeof(buf), ".%09lld", static_cast<long long>(nanos));
    std::string frac(buf);
    while (frac.back() == '0') frac.pop_back();
    out += frac;
  }
  out += 'Z';
  return out;
}

}  // namespace api
