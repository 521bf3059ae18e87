// URL pieces of HTTP requests: percent-decoding and application/x-www-form-urlencoded query
// strings, with the rules of Go's net/url (which Prometheus' API follows).
#ifndef METRICS_ADAPTER_ADAPTER_HTTP_URL_H_
#define METRICS_ADAPTER_ADAPTER_HTTP_URL_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace http {

// Decodes %XX escapes (and '+' as a space when plus_is_space, as in query strings). A '%' not
// followed by two hex digits is an error naming its offset.
absl::StatusOr<std::string> PercentDecode(std::string_view s, bool plus_is_space);

// Splits "a=1&b=x%20y&a=2&flag" into {{"a","1"},{"b","x y"},{"a","2"},{"flag",""}}; empty
// pieces are skipped. A bad escape is an error naming the parameter.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view query);

// Escapes s for use as a query-string name or value: unreserved characters (A-Z a-z 0-9 - _ . ~)
// stay, a space becomes '+', everything else %XX.
std::string QueryEscape(std::string_view s);

// Builds "a=1&b=x+y" from pairs.
std::string EncodeQuery(const std::vector<std::pair<std::string, std::string>>& params);

}  // namespace http

#endif  // METRICS_ADAPTER_ADAPTER_HTTP_URL_H_
