// The JSON encoding of the Prometheus HTTP API, byte for byte as Prometheus writes it.
//
// Clients parse these documents with ordinary JSON parsers, but tools that compare responses
// (and people reading them) notice every difference, so the encoding follows Prometheus exactly:
//
//   timestamps  float seconds as a bare JSON number with millisecond precision: whole seconds
//               without a fraction ("1435781451"), otherwise exactly three decimals
//               ("1435781451.781", "1.500", "-0.250")
//   values      JSON strings: "NaN", "+Inf", "-Inf", or the shortest decimal that reads back as
//               the same double (Go's strconv.FormatFloat(v, 'f', -1, 64)), switching to
//               exponent form ('e', e.g. "1e-07", "1.5e+21") below 1e-6 and from 1e21 up
//   strings     escaped as Prometheus' JSON library does: \" \\ \n \r \t, other control
//               characters as \u00XX, '<' '>' '&' as \u003c \u003e \u0026, U+2028/U+2029 as
//               \u2028/\u2029, and each byte of invalid UTF-8 as \ufffd
//
// A general JSON library cannot produce this (it writes doubles its own way, cannot emit a
// pre-formatted number token and escapes differently), so this is a small appender over
// std::string instead, which also keeps large matrices cheap to encode.
#ifndef METRICS_ADAPTER_ADAPTER_API_JSON_H_
#define METRICS_ADAPTER_ADAPTER_API_JSON_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "tsdb/labels.h"
#include "tsdb/text_escape.h"

namespace api {

// JSON strings and %q quoting, as everywhere in the program (tsdb/text_escape.h).
using tsdb::AppendJsonString;
using tsdb::GoQuote;

// Appends a millisecond timestamp as a JSON number of seconds.
void AppendTimestamp(int64_t ms, std::string* out);

// The text of a sample value, without quotes.
std::string FormatSampleValue(double v);
// Appends a sample value as a JSON string.
void AppendSampleValue(double v, std::string* out);

// Appends [<timestamp>,"<value>"].
void AppendSamplePair(int64_t ms, double v, std::string* out);
// Appends [<timestamp>,"<text>"] (a PromQL string result).
void AppendStringPair(int64_t ms, std::string_view text, std::string* out);

// Appends labels as a JSON object, in label order: {"__name__":"up","job":"a"}.
void AppendLabelsObject(const tsdb::Labels& labels, std::string* out);

}  // namespace api

#endif  // METRICS_ADAPTER_ADAPTER_API_JSON_H_
