// Kubernetes resource.Quantity strings in canonical form, as metric values are reported.
//
// The custom and external metrics APIs carry values as milli-quantities (an int64 count of
// thousandths) in DecimalSI form; clients read them back with MilliValue(). Canonical DecimalSI
// picks the largest SI suffix (m, "", k, M, G, T, P, E) that keeps the number an integer:
//   0.016 -> "16m", 10.5 -> "10500m", 10 -> "10", 1500000 -> "1500k", 2e9 -> "2G", 0 -> "0".
// Memory in the resource metrics API is BinarySI: "3456Ki", "1Gi", "1023" (suffixes Ki Mi Gi Ti
// Pi Ei while the byte count divides by 1024).
#ifndef METRICS_ADAPTER_ADAPTER_K8S_QUANTITY_H_
#define METRICS_ADAPTER_ADAPTER_K8S_QUANTITY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace k8s {

// The milli-quantity of v: v*1000 truncated toward zero, as prometheus-adapter computes it,
// except that values within floating-point noise (1e-9 relative) of a whole milli give that
// milli (a rate of exactly 1 computed as 0.9999999999999 is "1", not "999m").
// nullopt for NaN, infinities and values whose milli count does not fit in an int64 (the
// reference would print garbage such as "-9223372036854775808m"; callers leave such objects
// out).
std::optional<int64_t> ToMilli(double v);

// Canonical DecimalSI text of a milli-quantity: FormatMilliDecimal(16) == "16m".
std::string FormatMilliDecimal(int64_t milli);

// Canonical BinarySI text of a whole number of bytes (negative values keep their sign). As in
// Kubernetes, magnitudes below 1024 are written in DecimalSI form: 1023 -> "1023", but
// 1000 -> "1k".
std::string FormatBinary(int64_t value);

// Parses a Quantity string ("500m", "1.5", "2Ki", "1e3") into its milli value, rounding up
// (away from zero: "0.1m" -> 1, "-0.1m" -> -1) as Kubernetes' MilliValue does. Accepts the
// suffixes n u m k M G T P E Ki Mi Gi Ti Pi Ei and exponents e<N>/E<N>. Errors name the text;
// a milli value outside int64 is an error (Kubernetes would overflow silently), and so is a
// number without digits ("m", "+", "."), which Kubernetes reads as 0.
absl::StatusOr<int64_t> ParseMilli(std::string_view text);

}  // namespace k8s

#endif  // METRICS_ADAPTER_ADAPTER_K8S_QUANTITY_H_
