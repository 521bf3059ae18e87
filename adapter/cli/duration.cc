#include "adapter/cli/duration.h"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace cli {
namespace {

struct Unit {
  std::string_view name;
  int64_t ms;
};

// Largest first: the order in which terms must appear.
constexpr Unit kUnits[] = {
    {"y", 365LL * 24 * 3600 * 1000},
    {"w", 7LL * 24 * 3600 * 1000},
    {"d", 24LL * 3600 * 1000},
    {"h", 3600LL * 1000},
    {"m", 60LL * 1000},
    {"s", 1000},
    {"ms", 1},
};
constexpr int kNumUnits = sizeof(kUnits) / sizeof(kUnits[0]);

// This Abseil's string_view is its own type, not std::string_view.
absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

absl::Status Invalid(std::string_view s, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("invalid duration \"", AV(s), "\": ", AV(why)));
}

}  // namespace

absl::StatusOr<int64_t> ParseDurationMs(std::string_view s) {
  if (s.empty()) return Invalid(s, "empty (use e.g. \"15s\", \"5m\", \"1h30m\")");
  if (s == "0") return 0;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t total = 0;
  int next_unit = 0;  // index into kUnits of the smallest unit still allowed
  size_t i = 0;
  while (i < s.size()) {
    if (!IsDigit(s[i])) {
      return Invalid(
          s, absl::StrCat("expected a number at offset ", i, ", got '", AV(s.substr(i, 1)), "'"));
    }
    int64_t n = 0;
    bool overflow = false;
    while (i < s.size() && IsDigit(s[i])) {
      int digit = s[i] - '0';
      if (n > (kMax - digit) / 10) overflow = true;
      if (!overflow) n = n * 10 + digit;
      ++i;
    }
    size_t unit_start = i;
    while (i < s.size() && !IsDigit(s[i])) ++i;
    std::string_view unit = s.substr(unit_start, i - unit_start);
    if (unit.empty()) {
      return Invalid(s, "missing unit (use one of ms, s, m, h, d, w, y, e.g. \"15s\")");
    }
    int u = 0;
    while (u < kNumUnits && kUnits[u].name != unit) ++u;
    if (u == kNumUnits) {
      return Invalid(
          s, absl::StrCat("unknown unit \"", AV(unit), "\" (use one of ms, s, m, h, d, w, y)"));
    }
    if (u < next_unit) {
      return Invalid(s, absl::StrCat("unit \"", AV(unit),
                                     "\" repeated or out of order (largest units come first)"));
    }
    next_unit = u + 1;
    if (overflow || n > kMax / kUnits[u].ms || total > kMax - n * kUnits[u].ms) {
      return Invalid(s, "too large");
    }
    total += n * kUnits[u].ms;
  }
  return total;
}

std::string FormatDurationMs(int64_t ms) {
  if (ms == 0) return "0s";
  std::string out;
  // Work in uint64 so that INT64_MIN can be negated.
  uint64_t rest = static_cast<uint64_t>(ms);
  if (ms < 0) {
    out = "-";
    rest = ~rest + 1;
  }
  for (const Unit& unit : kUnits) {
    uint64_t n = rest / static_cast<uint64_t>(unit.ms);
    if (n == 0) continue;
    absl::StrAppend(&out, n, AV(unit.name));
    rest -= n * static_cast<uint64_t>(unit.ms);
  }
  return out;
}

}  // namespace cli
