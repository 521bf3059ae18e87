#include "tsdb/duration.h"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tsdb {
namespace {

struct Unit {
  std::string_view name;
  int64_t ms;
  bool exact_only;  // printed only when it divides the whole duration (Prometheus: y, w)
};

// Largest first: the order in which terms must appear and are printed.
constexpr Unit kUnits[] = {
    {"y", int64_t{365} * 24 * 3600 * 1000, true},
    {"w", int64_t{7} * 24 * 3600 * 1000, true},
    {"d", int64_t{24} * 3600 * 1000, false},
    {"h", int64_t{3600} * 1000, false},
    {"m", int64_t{60} * 1000, false},
    {"s", 1000, false},
    {"ms", 1, false},
};

// Prometheus durations are Go time.Durations underneath: int64 nanoseconds.
constexpr int64_t kMaxMs = std::numeric_limits<int64_t>::max() / 1000000;

absl::Status Invalid(std::string_view s) {
  return absl::InvalidArgumentError(absl::StrFormat("not a valid duration string: \"%s\"", s));
}

}  // namespace

absl::StatusOr<int64_t> ParseDurationMs(std::string_view s) {
  if (s == "0") return 0;
  if (s.empty()) return absl::InvalidArgumentError("empty duration string");
  size_t pos = 0;
  size_t next_unit = 0;  // index into kUnits of the smallest unit still allowed
  int64_t total = 0;
  bool overflow = false;
  while (pos < s.size()) {
    const size_t digits_start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    if (pos == digits_start) return Invalid(s);
    const std::string_view digits = s.substr(digits_start, pos - digits_start);
    const size_t unit_start = pos;
    while (pos < s.size() && (s[pos] < '0' || s[pos] > '9')) ++pos;
    const std::string_view unit = s.substr(unit_start, pos - unit_start);
    size_t u = next_unit;
    while (u < std::size(kUnits) && kUnits[u].name != unit) ++u;
    if (u == std::size(kUnits)) return Invalid(s);
    next_unit = u + 1;
    // The value of the term, saturating: any term beyond kMaxMs is out of range anyway.
    int64_t n = 0;
    for (char c : digits) {
      if (n > kMaxMs) break;
      n = n * 10 + (c - '0');
    }
    if (n > kMaxMs / kUnits[u].ms) {
      overflow = true;
      continue;
    }
    total += n * kUnits[u].ms;
    if (total > kMaxMs) overflow = true;
  }
  if (overflow) {
    return absl::InvalidArgumentError(absl::StrFormat("duration out of range: \"%s\"", s));
  }
  return total;
}

std::string FormatDurationMs(int64_t ms) {
  if (ms == 0) return "0s";
  std::string out;
  uint64_t rest;
  if (ms < 0) {
    out = "-";
    rest = static_cast<uint64_t>(-(ms + 1)) + 1;
  } else {
    rest = static_cast<uint64_t>(ms);
  }
  for (const Unit& unit : kUnits) {
    const uint64_t m = static_cast<uint64_t>(unit.ms);
    if (unit.exact_only && rest % m != 0) continue;
    const uint64_t v = rest / m;
    if (v > 0) {
      absl::StrAppend(&out, v, absl::string_view(unit.name.data(), unit.name.size()));
      rest -= v * m;
    }
  }
  return out;
}

}  // namespace tsdb
