// Text as Go's standard library writes it, for the outputs clients compare byte for byte:
// JSON strings as encoding/json writes them (what Prometheus' HTTP API and Kubernetes' API
// servers send) and quoted strings as strconv.Quote (%q) writes them (in error messages).
// Used by every JSON writer of the program, so that one escaping rule holds everywhere.
#ifndef METRICS_ADAPTER_TSDB_TEXT_ESCAPE_H_
#define METRICS_ADAPTER_TSDB_TEXT_ESCAPE_H_

#include <string>
#include <string_view>

namespace tsdb {

// Appends s as a JSON string literal (with the quotes), escaped as Go's encoding/json does:
// \" \\ \n \r \t, other control characters as \u00XX, '<' '>' '&' as \u003c \u003e \u0026,
// U+2028/U+2029 as \u2028/\u2029, and each byte of invalid UTF-8 as \ufffd.
void AppendJsonString(std::string_view s, std::string* out);

// Go's strconv.Quote as far as messages need it: s in double quotes with \" \\ \a \b \f \n \r
// \t \v, other control bytes and invalid UTF-8 bytes as \xNN, valid UTF-8 kept as it is.
std::string GoQuote(std::string_view s);

}  // namespace tsdb

#endif  // METRICS_ADAPTER_TSDB_TEXT_ESCAPE_H_
