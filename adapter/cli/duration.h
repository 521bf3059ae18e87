// Prometheus durations, as used by every duration-valued flag and API parameter.
//
// Syntax (Prometheus' model.ParseDuration): one or more <integer><unit> terms, largest unit first,
// each unit at most once, no spaces and no sign:
//
//   ms  milliseconds      h  hours    w  weeks (7d)
//   s   seconds           d  days     y  years (365d)
//   m   minutes
//
// e.g. "500ms", "15s", "1h30m", "2w3d", "1y". A bare number is refused (is "15" seconds or
// minutes?) except "0", which Prometheus also accepts and which means zero whatever the unit.
#ifndef METRICS_ADAPTER_ADAPTER_CLI_DURATION_H_
#define METRICS_ADAPTER_ADAPTER_CLI_DURATION_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace cli {

// Parses s into milliseconds. Errors (InvalidArgument) quote s and say what is wrong: an empty
// string, a missing or unknown unit, units out of order or repeated, or a value that does not
// fit in int64 milliseconds.
absl::StatusOr<int64_t> ParseDurationMs(std::string_view s);

// The canonical spelling of ms, as Prometheus prints durations: largest units first, zero terms
// left out ("1h30m", "1d", "1y2w", "1s500ms"), "0s" for zero, a leading "-" when negative.
// ParseDurationMs(FormatDurationMs(x)) == x for every x >= 0.
std::string FormatDurationMs(int64_t ms);

}  // namespace cli

#endif  // METRICS_ADAPTER_ADAPTER_CLI_DURATION_H_
