// Prometheus' staleness marker (its value.StaleNaN): a NaN with a payload that no computation
// produces, appended when a series disappears from its target so that queries stop returning it
// at once instead of after the lookback delta. Compare bits, never values: NaN != NaN.
#ifndef METRICS_ADAPTER_TSDB_STALE_H_
#define METRICS_ADAPTER_TSDB_STALE_H_

#include <bit>
#include <cstdint>

namespace tsdb {

inline constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ULL;
inline double StaleNaN() { return std::bit_cast<double>(kStaleNaNBits); }
inline bool IsStaleNaN(double v) { return std::bit_cast<uint64_t>(v) == kStaleNaNBits; }

}  // namespace tsdb

#endif  // METRICS_ADAPTER_TSDB_STALE_H_
