// Canonical Quantity text and quantity parsing, following k8s.io/apimachinery/pkg/api/resource:
// the canonical form keeps every digit and picks the largest suffix that leaves an integer
// mantissa; parsing keeps the exact decimal value (no floating point) and rounds once, away
// from zero, to whole thousandths as MilliValue does.
#include "adapter/k8s/quantity.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace k8s {
namespace {

constexpr uint64_t kInt64MaxMagnitude = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
constexpr uint64_t kInt64MinMagnitude = uint64_t{1} << 63;

// |v| without overflow for INT64_MIN.
uint64_t Magnitude(int64_t v) {
  return v < 0 ? uint64_t{0} - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
}

std::string WithSign(bool negative, uint64_t magnitude, std::string_view suffix) {
  return absl::StrCat(negative ? "-" : "", magnitude,
                      absl::string_view(suffix.data(), suffix.size()));
}

absl::Status Invalid(std::string_view text, std::string_view why) {
  // The text is quoted with odd bytes escaped so the message stays printable.
  std::string quoted;
  for (char ch : text) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      static constexpr char kHex[] = "0123456789abcdef";
      quoted += "\\x";
      quoted += kHex[c >> 4];
      quoted += kHex[c & 0xf];
    } else {
      quoted += ch;
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid quantity \"", quoted, "\": ", absl::string_view(why.data(), why.size())));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// A suffix's meaning: value * 10^decimal_exponent * 2^binary_exponent.
struct Suffix {
  int64_t decimal_exponent = 0;
  int binary_exponent = 0;
};

std::optional<Suffix> InterpretSuffix(std::string_view s) {
  struct Entry {
    std::string_view name;
    Suffix suffix;
  };
  static constexpr Entry kTable[] = {
      {"", {0, 0}},    {"n", {-9, 0}},  {"u", {-6, 0}},  {"m", {-3, 0}},
      {"k", {3, 0}},   {"M", {6, 0}},   {"G", {9, 0}},   {"T", {12, 0}},
      {"P", {15, 0}},  {"E", {18, 0}},  {"Ki", {0, 10}}, {"Mi", {0, 20}},
      {"Gi", {0, 30}}, {"Ti", {0, 40}}, {"Pi", {0, 50}}, {"Ei", {0, 60}},
  };
  for (const Entry& e : kTable) {
    if (e.name == s) return e.suffix;
  }
  // Decimal exponent: "e" or "E" and a signed integer. Kubernetes truncates the exponent to
  // 32 bits; exponents outside the int32 range are rejected here instead.
  if (s.size() > 1 && (s[0] == 'e' || s[0] == 'E')) {
    std::string_view n = s.substr(1);
    bool negative = false;
    if (n[0] == '+' || n[0] == '-') {
      negative = n[0] == '-';
      n.remove_prefix(1);
    }
    if (n.empty()) return std::nullopt;
    int64_t v = 0;
    for (char c : n) {
      if (!IsDigit(c)) return std::nullopt;
      v = v * 10 + (c - '0');
      if (v > std::numeric_limits<int32_t>::max()) return std::nullopt;
    }
    return Suffix{negative ? -v : v, 0};
  }
  return std::nullopt;
}

}  // namespace

std::optional<int64_t> ToMilli(double v) {
  if (!std::isfinite(v)) return std::nullopt;
  const double milli = v * 1000.0;
  // [-2^63, 2^63) is exactly the range whose truncation fits an int64; both bounds are exact
  // doubles.
  constexpr double kLimit = 9223372036854775808.0;
  if (!(milli >= -kLimit && milli < kLimit)) return std::nullopt;
  // Truncation as the reference does it, except that a value a few ulps short of a whole milli
  // (0.9999999999999 from a rate over exact data) counts as that milli: floating-point noise
  // must not turn 1 into "999m".
  const double nearest = std::round(milli);
  if (std::fabs(milli - nearest) <= 1e-9 * std::max(1.0, std::fabs(milli)) && nearest >= -kLimit &&
      nearest < kLimit) {
    return static_cast<int64_t>(nearest);
  }
  return static_cast<int64_t>(milli);
}

std::string FormatMilliDecimal(int64_t milli) {
  if (milli == 0) return "0";
  static constexpr std::string_view kSuffixes[] = {"m", "", "k", "M", "G", "T", "P"};
  uint64_t mag = Magnitude(milli);
  size_t i = 0;
  while (mag % 1000 == 0 && i + 1 < std::size(kSuffixes)) {
    mag /= 1000;
    ++i;
  }
  return WithSign(milli < 0, mag, kSuffixes[i]);
}

std::string FormatBinary(int64_t value) {
  if (value == 0) return "0";
  // Kubernetes writes BinarySI quantities of magnitude below 1024 in DecimalSI form, so 1000 is
  // "1k" (and 1023 "1023").
  if (value > -1024 && value < 1024) return FormatMilliDecimal(value * 1000);
  static constexpr std::string_view kSuffixes[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  uint64_t mag = Magnitude(value);
  size_t i = 0;
  while (mag % 1024 == 0 && i + 1 < std::size(kSuffixes)) {
    mag /= 1024;
    ++i;
  }
  return WithSign(value < 0, mag, kSuffixes[i]);
}

absl::StatusOr<int64_t> ParseMilli(std::string_view text) {
  if (text.empty()) return Invalid(text, "empty quantity");
  size_t pos = 0;
  bool negative = false;
  if (text[0] == '+' || text[0] == '-') {
    negative = text[0] == '-';
    ++pos;
  }
  // <digits> | <digits>.<digits> | <digits>. | .<digits>
  std::vector<uint8_t> digits;  // integer and fraction digits, most significant first
  size_t integer_digits = 0;
  while (pos < text.size() && IsDigit(text[pos])) {
    digits.push_back(static_cast<uint8_t>(text[pos++] - '0'));
    ++integer_digits;
  }
  size_t fraction_digits = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    while (pos < text.size() && IsDigit(text[pos])) {
      digits.push_back(static_cast<uint8_t>(text[pos++] - '0'));
      ++fraction_digits;
    }
  }
  if (integer_digits + fraction_digits == 0) {
    return Invalid(text, "expected a number of the form <digits>[.<digits>] before the suffix");
  }
  // The suffix: letters of "eEinumkKMGTP", then an optional sign and digits (the exponent).
  const size_t suffix_start = pos;
  while (pos < text.size() &&
         std::string_view("eEinumkKMGTP").find(text[pos]) != std::string_view::npos) {
    ++pos;
  }
  if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) ++pos;
  while (pos < text.size() && IsDigit(text[pos])) ++pos;
  if (pos != text.size()) {
    return Invalid(text, absl::StrCat("unexpected character at offset ", pos,
                                      "; quantities look like <number>[<suffix>], e.g. 500m, "
                                      "1.5, 2Ki, 1e3"));
  }
  std::optional<Suffix> suffix = InterpretSuffix(text.substr(suffix_start));
  if (!suffix) {
    std::string_view s = text.substr(suffix_start);
    return Invalid(text, absl::StrCat("unknown suffix \"", absl::string_view(s.data(), s.size()),
                                      "\" (known: n u m k M G T P E Ki Mi Gi Ti Pi Ei, e<N>)"));
  }

  // value = digits * 10^exponent * 2^binary_exponent, with exponent counted for thousandths.
  int64_t exponent = suffix->decimal_exponent - static_cast<int64_t>(fraction_digits) + 3;
  // Binary suffixes: multiply the decimal digit string by 1024 per step (exact).
  for (int b = 0; b < suffix->binary_exponent; b += 10) {
    uint32_t carry = 0;
    for (size_t i = digits.size(); i-- > 0;) {
      uint32_t v = digits[i] * 1024u + carry;
      digits[i] = static_cast<uint8_t>(v % 10);
      carry = v / 10;
    }
    std::vector<uint8_t> head;
    while (carry > 0) {
      head.insert(head.begin(), static_cast<uint8_t>(carry % 10));
      carry /= 10;
    }
    digits.insert(digits.begin(), head.begin(), head.end());
  }
  // Normalise: no leading zeros, trailing zeros moved into the exponent.
  size_t first = 0;
  while (first < digits.size() && digits[first] == 0) ++first;
  if (first == digits.size()) return 0;
  size_t last = digits.size();
  while (digits[last - 1] == 0) {
    --last;
    ++exponent;
  }
  const int64_t n = static_cast<int64_t>(last - first);  // significant digits, the last non-zero

  // Integer part of digits * 10^exponent, and whether a non-zero fraction remains (then the
  // result rounds away from zero, like MilliValue).
  const int64_t integer_length = n + exponent;  // digits before the decimal point
  if (integer_length > 19) return Invalid(text, "out of range: the milli value exceeds int64");
  uint64_t magnitude = 0;
  for (int64_t i = 0; i < integer_length; ++i) {
    magnitude = magnitude * 10 + (i < n ? digits[first + static_cast<size_t>(i)] : 0);
  }
  if (exponent < 0) ++magnitude;  // the fraction ends in a non-zero digit
  if (magnitude > (negative ? kInt64MinMagnitude : kInt64MaxMagnitude)) {
    return Invalid(text, "out of range: the milli value exceeds int64");
  }
  if (negative) return static_cast<int64_t>(uint64_t{0} - magnitude);
  return static_cast<int64_t>(magnitude);
}

}  // namespace k8s
