// UTF-8 validation with Go's utf8.ValidString rules, which Prometheus applies to label values and
// exposition text: no overlong forms, no surrogates, nothing above U+10FFFF.
#ifndef METRICS_ADAPTER_TSDB_UTF8_H_
#define METRICS_ADAPTER_TSDB_UTF8_H_

#include <cstddef>
#include <string_view>

namespace tsdb {

// The length (1 to 4) of the well-formed UTF-8 sequence starting at s[i], or 0 when the bytes
// there are not one. i must be < s.size().
size_t Utf8SequenceLength(std::string_view s, size_t i);

// The byte offset of the first byte that does not start a well-formed sequence, or npos.
size_t FindInvalidUtf8(std::string_view s);

inline bool IsValidUtf8(std::string_view s) { return FindInvalidUtf8(s) == std::string_view::npos; }

}  // namespace tsdb

#endif  // METRICS_ADAPTER_TSDB_UTF8_H_
