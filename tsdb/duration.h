// Prometheus durations (common/model.Duration), for every module that reads or prints them:
// configuration files, flags, API parameters.
//
// Syntax (model.ParseDuration): "0", or one or more <digits><unit> terms with the units in this
// order, each at most once, no spaces, no sign, no fraction:
//
//   y  years (365d)   w  weeks (7d)   d  days   h  hours   m  minutes   s  seconds   ms
//   milliseconds
//
// e.g. "500ms", "15s", "1h30m", "2w3d", "1y". A bare number other than "0" is refused.
#ifndef METRICS_ADAPTER_TSDB_DURATION_H_
#define METRICS_ADAPTER_TSDB_DURATION_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tsdb {

// Parses s into milliseconds. Errors (InvalidArgument) quote s: `not a valid duration string:
// "15"`, `empty duration string`, or `duration out of range: "..."` when it does not fit in int64
// milliseconds.
absl::StatusOr<int64_t> ParseDurationMs(std::string_view s);

// As Prometheus prints a model.Duration: largest units first, zero terms left out ("1h30m", "1d",
// "1y2w", "1s500ms"), "0s" for zero, a leading "-" when negative.
// ParseDurationMs(FormatDurationMs(x)) == x for every x >= 0.
std::string FormatDurationMs(int64_t ms);

}  // namespace tsdb

#endif  // METRICS_ADAPTER_TSDB_DURATION_H_
