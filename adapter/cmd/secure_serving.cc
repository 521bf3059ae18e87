#include "adapter/cmd/secure_serving.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "adapter/http/self_signed_cert.h"
#include "adapter/http/tls_names.h"

namespace adapter {
namespace {

struct BindAddress {
  bool valid = false;
  bool unspecified = false;
  bool v6 = false;
  std::string text;  // without brackets
};

BindAddress ParseBindAddress(const std::string& raw) {
  BindAddress b;
  std::string s = raw;
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  b.text = s;
  if (s.empty()) {
    b.valid = b.unspecified = true;
    return b;
  }
  unsigned char buf[16] = {};
  size_t len = 0;
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) {
    len = 4;
  } else if (inet_pton(AF_INET6, s.c_str(), buf) == 1) {
    len = 16;
    b.v6 = true;
  } else {
    return b;
  }
  b.valid = true;
  b.unspecified = std::all_of(buf, buf + len, [](unsigned char c) { return c == 0; });
  return b;
}

}  // namespace

absl::Status CheckReadableFile(const char* flag, const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::InvalidArgumentError(absl::StrCat("invalid value \"", path, "\" for --", flag,
                                                   ": cannot read: ", std::strerror(errno)));
  }
  struct stat st;
  bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  close(fd);
  if (!regular) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid value \"", path, "\" for --", flag, ": not a regular file"));
  }
  return absl::OkStatus();
}

void RegisterSecureServingFlags(cli::FlagSet* flags, SecureServingOptions* o) {
  flags->String("bind-address", &o->bind_address, "0.0.0.0",
                "IP address the HTTPS Kubernetes API (--secure-port)\n"
                "listens on. 0.0.0.0, :: or empty: every interface and\n"
                "address family.");
  flags->String("cert-dir", &o->cert_dir, kDefaultCertDir,
                "Directory of the self-signed serving certificate used\n"
                "when --tls-cert-file and --tls-private-key-file are not\n"
                "given: apiserver.crt and apiserver.key there are reused,\n"
                "or generated (for localhost and the bind address).");
  flags->String("tls-cert-file", &o->tls_cert_file, "",
                "PEM file with the HTTPS serving certificate, followed by\n"
                "any intermediate CA certificates. Needs\n"
                "--tls-private-key-file; without both, a self-signed\n"
                "certificate in --cert-dir is served.");
  flags->String("tls-private-key-file", &o->tls_private_key_file, "",
                "PEM file with the private key of --tls-cert-file.");
  flags->String("tls-min-version", &o->tls_min_version, "",
                "Lowest TLS version accepted: VersionTLS12 or\n"
                "VersionTLS13. Empty: TLS 1.2.");
  flags->StringList("tls-cipher-suites", &o->tls_cipher_suites, {},
                    "Comma-separated cipher suites the server allows, by\n"
                    "IANA name (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) or\n"
                    "OpenSSL name; TLS 1.2 suites restrict TLS 1.2, TLS 1.3\n"
                    "suites (TLS_AES_128_GCM_SHA256) restrict TLS 1.3.\n"
                    "Empty: OpenSSL's default suites.");
}

absl::Status ValidateSecureServingOptions(const SecureServingOptions& o) {
  if (!ParseBindAddress(o.bind_address).valid) {
    return absl::InvalidArgumentError(absl::StrCat("invalid value \"", o.bind_address,
                                                   "\" for --bind-address: not an IP address"));
  }
  if (o.tls_cert_file.empty() != o.tls_private_key_file.empty()) {
    return absl::InvalidArgumentError(o.tls_cert_file.empty()
                                          ? "--tls-private-key-file needs --tls-cert-file"
                                          : "--tls-cert-file needs --tls-private-key-file");
  }
  if (!o.tls_cert_file.empty()) {
    if (absl::Status s = CheckReadableFile("tls-cert-file", o.tls_cert_file); !s.ok()) return s;
    if (absl::Status s = CheckReadableFile("tls-private-key-file", o.tls_private_key_file);
        !s.ok()) {
      return s;
    }
  } else if (o.cert_dir.empty()) {
    return absl::InvalidArgumentError(
        "--cert-dir must not be empty without --tls-cert-file and --tls-private-key-file");
  }
  http::TlsVersion min_version = http::TlsVersion::kTls12;
  if (!o.tls_min_version.empty()) {
    absl::StatusOr<http::TlsVersion> v = http::ParseTlsVersion(o.tls_min_version);
    if (!v.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid value \"", o.tls_min_version,
                       "\" for --tls-min-version: ", v.status().message()));
    }
    min_version = *v;
  }
  if (absl::Status s = http::CheckTlsCipherSuites(o.tls_cipher_suites, min_version); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid value for --tls-cipher-suites: ", s.message()));
  }
  return absl::OkStatus();
}

std::string SecureListenAddress(const SecureServingOptions& o, int port) {
  BindAddress b = ParseBindAddress(o.bind_address);
  if (b.unspecified) return absl::StrCat(":", port);
  if (b.v6) return absl::StrCat("[", b.text, "]:", port);
  return absl::StrCat(b.text, ":", port);
}

absl::StatusOr<http::TlsConfig> BuildTlsConfig(const SecureServingOptions& o, bool* generated) {
  if (generated != nullptr) *generated = false;
  http::TlsConfig tls;
  if (!o.tls_min_version.empty()) {
    absl::StatusOr<http::TlsVersion> v = http::ParseTlsVersion(o.tls_min_version);
    if (!v.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid value \"", o.tls_min_version,
                       "\" for --tls-min-version: ", v.status().message()));
    }
    tls.min_version = *v;
  }
  tls.cipher_suites = o.tls_cipher_suites;
  if (!o.tls_cert_file.empty() || !o.tls_private_key_file.empty()) {
    if (o.tls_cert_file.empty() || o.tls_private_key_file.empty()) {
      return absl::InvalidArgumentError(
          "--tls-cert-file and --tls-private-key-file must be given together");
    }
    tls.cert_file = o.tls_cert_file;
    tls.key_file = o.tls_private_key_file;
    return tls;
  }
  std::vector<std::string> hosts = {"localhost"};
  BindAddress b = ParseBindAddress(o.bind_address);
  if (b.valid && !b.unspecified) hosts.push_back(b.text);
  absl::StatusOr<http::CertPaths> paths = http::EnsureSelfSignedCert(o.cert_dir, hosts);
  if (!paths.ok()) {
    return absl::Status(paths.status().code(),
                        absl::StrCat("cannot set up a self-signed certificate in --cert-dir \"",
                                     o.cert_dir, "\": ", paths.status().message()));
  }
  tls.cert_file = paths->cert_file;
  tls.key_file = paths->key_file;
  if (generated != nullptr) *generated = paths->generated;
  return tls;
}

}  // namespace adapter
