// OpenSSL reports failures on a per-thread error queue; every caller that turns one into a
// message does it the same way.
#ifndef METRICS_ADAPTER_ADAPTER_HTTP_OPENSSL_ERRORS_H_
#define METRICS_ADAPTER_ADAPTER_HTTP_OPENSSL_ERRORS_H_

#include <string>

namespace http {

// Drains the calling thread's OpenSSL error queue into one line ("error:...; error:..."), or
// "unknown OpenSSL error" when it is empty.
std::string OpenSslErrors();

}  // namespace http

#endif  // METRICS_ADAPTER_ADAPTER_HTTP_OPENSSL_ERRORS_H_
