#include "adapter/http/openssl_errors.h"

#include <openssl/err.h>

#include <vector>

#include "absl/strings/str_join.h"

namespace http {

std::string OpenSslErrors() {
  std::vector<std::string> errors;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    errors.emplace_back(buf);
  }
  return errors.empty() ? "unknown OpenSSL error" : absl::StrJoin(errors, "; ");
}

}  // namespace http
