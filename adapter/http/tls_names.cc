#include "adapter/http/tls_names.h"

#include <openssl/ssl.h>

#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"

namespace http {

absl::Status CheckTlsCipherSuites(const std::vector<std::string>& names, TlsVersion min_version) {
  if (names.empty()) return absl::OkStatus();
  // Every suite this OpenSSL knows, as the server looks names up (server.cc).
  SSL_CTX* all = SSL_CTX_new(TLS_server_method());
  if (all == nullptr) return absl::InternalError("cannot create an OpenSSL context");
  SSL_CTX_set_cipher_list(all, "ALL:COMPLEMENTOFALL");
  STACK_OF(SSL_CIPHER)* known = SSL_CTX_get_ciphers(all);
  absl::Status status;
  for (const std::string& name : names) {
    const SSL_CIPHER* found = nullptr;
    for (int i = 0; known != nullptr && i < sk_SSL_CIPHER_num(known); ++i) {
      const SSL_CIPHER* c = sk_SSL_CIPHER_value(known, i);
      const char* standard = SSL_CIPHER_standard_name(c);
      if (name == SSL_CIPHER_get_name(c) || (standard != nullptr && name == standard)) {
        found = c;
        break;
      }
    }
    if (found == nullptr) {
      status = absl::InvalidArgumentError(absl::StrCat("unknown TLS cipher suite \"", name, "\""));
      break;
    }
    if (min_version == TlsVersion::kTls13 &&
        std::string_view(SSL_CIPHER_get_version(found)) != "TLSv1.3") {
      status = absl::InvalidArgumentError(
          absl::StrCat("TLS cipher suite \"", name,
                       "\" is for TLS 1.2 and cannot be used with a minimum version of TLS 1.3"));
      break;
    }
  }
  SSL_CTX_free(all);
  return status;
}

}  // namespace http
