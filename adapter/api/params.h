// Parameter parsing of the Prometheus HTTP API: timestamps, durations and limits, accepting what
// Prometheus accepts and failing with the messages Prometheus gives (without the
// `invalid parameter "name": ` prefix, which the handlers add).
#ifndef METRICS_ADAPTER_ADAPTER_API_PARAMS_H_
#define METRICS_ADAPTER_ADAPTER_API_PARAMS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace api {

// What an absent start/end of /api/v1/series, /labels and /label/<name>/values means: Prometheus'
// MinTime and MaxTime (about 292 million years either side of 1970) in milliseconds. Not the
// int64 extremes, so that arithmetic on them cannot overflow.
inline constexpr int64_t kApiMinTimeMs = -9223309901257974000;
inline constexpr int64_t kApiMaxTimeMs = 9223309901257974999;

// A timestamp in milliseconds from
//   - Unix seconds as a float ("1435781451", "1435781451.781", "1.4e9", "-3.5"), rounded to the
//     nearest millisecond;
//   - RFC 3339 with optional fraction and a "Z" or "+hh:mm"/"-hh:mm" offset
//     ("2015-07-01T20:10:51.781Z", "2015-07-01T22:10:51+02:00"), truncated to milliseconds;
//   - the RFC 3339 spellings of kApiMinTimeMs and kApiMaxTimeMs that Prometheus' own clients send
//     ("-292273086-05-16T16:47:06Z", "292277025-08-18T07:12:54.999999999Z").
// Error (InvalidArgument): cannot parse "x" to a valid timestamp. Unlike Prometheus, NaN, Inf
// and floats beyond the int64 millisecond range are refused rather than wrapped around.
absl::StatusOr<int64_t> ParseApiTime(std::string_view s);

// A duration in nanoseconds from float seconds ("15", "0.5", "1e3") or a Prometheus duration
// ("15s", "1m30s", "1h"). Errors (InvalidArgument):
//   cannot parse "x" to a valid duration
//   cannot parse "1e300" to a valid duration. It overflows int64
// Zero and negative durations parse; callers decide whether they are allowed.
absl::StatusOr<int64_t> ParseApiDurationNs(std::string_view s);

// The limit parameter: "" is 0 (no limit). Errors (InvalidArgument) as Go's strconv.Atoi words
// them (strconv.Atoi: parsing "x": invalid syntax / value out of range) and
// "limit must be non-negative".
absl::StatusOr<int64_t> ParseApiLimit(std::string_view s);

// Go's strconv.ParseFloat syntax: an optional sign, then decimal digits with an optional point
// and exponent, a hexadecimal float ("0x1.8p3"), "inf"/"infinity" or "nan" (any case). No
// surrounding spaces. Values beyond the double range fail; values below it become 0.
bool ParseGoFloat(std::string_view s, double* out);

// A Unix time in nanoseconds as Go marshals a UTC time.Time to JSON (RFC 3339 with the fraction's
// trailing zeros dropped): "2024-01-02T03:04:05.12Z", "2024-01-02T03:04:05Z".
std::string FormatUnixNanoRfc3339(int64_t unix_ns);

}  // namespace api

#endif  // METRICS_ADAPTER_ADAPTER_API_PARAMS_H_
