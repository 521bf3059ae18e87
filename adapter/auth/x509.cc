#include "adapter/auth/x509.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "adapter/http/openssl_errors.h"

namespace auth {
namespace {

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

std::string Utf8(const ASN1_STRING* data) {
  std::string out;
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len >= 0) {
    out.assign(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
    OPENSSL_free(utf8);
  }
  return out;
}

CertSubject SubjectOf(X509* cert) {
  CertSubject out;
  const X509_NAME* name = X509_get_subject_name(cert);
  for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, i);
    int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry));
    if (nid == NID_commonName) {
      out.common_name = Utf8(X509_NAME_ENTRY_get_data(entry));
    } else if (nid == NID_organizationName) {
      out.organizations.push_back(Utf8(X509_NAME_ENTRY_get_data(entry)));
    }
  }
  return out;
}

absl::StatusOr<X509Ptr> FromDer(std::string_view der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (cert == nullptr || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    ERR_clear_error();
    return absl::InvalidArgumentError("not a DER-encoded certificate");
  }
  return cert;
}

// Whether cert may take part in a client-authentication chain: no ExtendedKeyUsage extension,
// or one that lists clientAuth or anyExtendedKeyUsage.
bool AllowsClientAuth(X509* cert) {
  uint32_t xku = X509_get_extended_key_usage(cert);  // UINT32_MAX without the extension
  if (xku == UINT32_MAX) return true;
  return (xku & (XKU_SSL_CLIENT | XKU_ANYEKU)) != 0;
}

}  // namespace

struct CertPool::Rep {
  X509_STORE* store = nullptr;
  size_t count = 0;
  ~Rep() { X509_STORE_free(store); }
};

CertPool::CertPool(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
CertPool::~CertPool() = default;

size_t CertPool::size() const { return rep_->count; }

absl::StatusOr<std::shared_ptr<const CertPool>> CertPool::FromPem(std::string_view pem) {
  auto rep = std::make_unique<Rep>();
  rep->store = X509_STORE_new();
  if (rep->store == nullptr) return absl::InternalError("X509_STORE_new: " + http::OpenSslErrors());
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return absl::InternalError("BIO_new_mem_buf: " + http::OpenSslErrors());
  ERR_clear_error();
  absl::Status status;
  for (;;) {
    X509Ptr cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
    if (cert == nullptr) {
      unsigned long e = ERR_peek_last_error();
      if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
        ERR_clear_error();  // the end of the bundle
      } else {
        status = absl::InvalidArgumentError(absl::StrCat(
            "PEM certificate ", rep->count + 1, " does not parse: ", http::OpenSslErrors()));
      }
      break;
    }
    if (X509_STORE_add_cert(rep->store, cert.get()) != 1) {
      // The same certificate twice in a bundle is harmless.
      unsigned long e = ERR_peek_last_error();
      if (ERR_GET_REASON(e) != X509_R_CERT_ALREADY_IN_HASH_TABLE) {
        status = absl::InvalidArgumentError(
            absl::StrCat("PEM certificate ", rep->count + 1, ": ", http::OpenSslErrors()));
        break;
      }
      ERR_clear_error();
    }
    ++rep->count;
  }
  BIO_free(bio);
  if (!status.ok()) return status;
  if (rep->count == 0) {
    return absl::InvalidArgumentError("no PEM certificate found in the CA bundle");
  }
  return std::shared_ptr<const CertPool>(new CertPool(std::move(rep)));
}

absl::StatusOr<CertSubject> CertPool::VerifyClientChain(
    const std::vector<std::string>& der_chain) const {
  if (der_chain.empty()) return absl::InvalidArgumentError("no client certificate");
  std::vector<X509Ptr> certs;
  for (size_t i = 0; i < der_chain.size(); ++i) {
    absl::StatusOr<X509Ptr> cert = FromDer(der_chain[i]);
    if (!cert.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("client certificate ", i, ": ", cert.status().message()));
    }
    certs.push_back(std::move(*cert));
  }
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  for (size_t i = 1; i < certs.size(); ++i) sk_X509_push(untrusted, certs[i].get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  absl::Status status;
  if (ctx == nullptr || X509_STORE_CTX_init(ctx, rep_->store, certs[0].get(), untrusted) != 1) {
    status = absl::InternalError("X509_STORE_CTX_init: " + http::OpenSslErrors());
  } else {
    X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_PARTIAL_CHAIN);
    if (X509_verify_cert(ctx) != 1) {
      int err = X509_STORE_CTX_get_error(ctx);
      status =
          absl::PermissionDeniedError(absl::StrCat("x509: ", X509_verify_cert_error_string(err)));
    } else {
      STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx);
      for (int i = 0; i < sk_X509_num(chain); ++i) {
        if (!AllowsClientAuth(sk_X509_value(chain, i))) {
          status = absl::PermissionDeniedError(
              i == 0 ? "x509: certificate specifies an incompatible key usage"
                     : absl::StrCat("x509: certificate ", i,
                                    " of the chain specifies an incompatible key usage"));
          break;
        }
      }
    }
  }
  X509_STORE_CTX_free(ctx);
  sk_X509_free(untrusted);  // the certificates belong to certs
  ERR_clear_error();
  if (!status.ok()) return status;
  return SubjectOf(certs[0].get());
}

absl::StatusOr<CertSubject> ParseSubject(std::string_view der) {
  absl::StatusOr<X509Ptr> cert = FromDer(der);
  if (!cert.ok()) return cert.status();
  return SubjectOf(cert->get());
}

}  // namespace auth
