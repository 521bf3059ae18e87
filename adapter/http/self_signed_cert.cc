#include "adapter/http/self_signed_cert.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "adapter/http/openssl_errors.h"

namespace http {
namespace {

template <auto Free>
struct Deleter {
  template <class T>
  void operator()(T* p) const {
    Free(p);
  }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free>>;
using NamePtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;

constexpr long kHour = 3600;
constexpr long kValidity = long{365} * 24 * kHour;

// One subjectAltName entry.
struct Host {
  std::string text;  // as shown in the CN: brackets removed
  bool is_ip = false;
  std::string ip;  // 4 or 16 bytes in network order when is_ip
};

absl::StatusOr<Host> ParseHost(std::string_view raw) {
  Host h;
  std::string_view s = raw;
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  h.text = std::string(s);
  unsigned char buf[16];
  if (inet_pton(AF_INET, h.text.c_str(), buf) == 1) {
    h.is_ip = true;
    h.ip.assign(reinterpret_cast<char*>(buf), 4);
    return h;
  }
  if (inet_pton(AF_INET6, h.text.c_str(), buf) == 1) {
    h.is_ip = true;
    h.ip.assign(reinterpret_cast<char*>(buf), 16);
    return h;
  }
  bool valid = !h.text.empty() && h.text.size() <= 253;
  for (char c : h.text) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '.' && c != '_' && c != '*') valid = false;
  }
  if (!valid) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid host \"", std::string(raw), "\" for the self-signed certificate: neither an IP ",
        "address nor a DNS name"));
  }
  return h;
}

// The requested hosts plus localhost, 127.0.0.1 and ::1, without duplicates, in order.
absl::StatusOr<std::vector<Host>> AllHosts(const std::vector<std::string>& hosts) {
  std::vector<Host> out;
  std::vector<std::string> all = hosts;
  for (const char* h : {"localhost", "127.0.0.1", "::1"}) all.emplace_back(h);
  for (const std::string& raw : all) {
    absl::StatusOr<Host> h = ParseHost(raw);
    if (!h.ok()) return h.status();
    bool dup = false;
    for (const Host& o : out) {
      if (o.is_ip == h->is_ip &&
          (o.is_ip ? o.ip == h->ip : absl::EqualsIgnoreCase(o.text, h->text)))
        dup = true;
    }
    if (!dup) out.push_back(std::move(*h));
  }
  return out;
}

// Reads path into *content. A missing file is not an error: *exists becomes false.
absl::Status ReadIfExists(const std::string& path, std::string* content, bool* exists) {
  *exists = false;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    // ENOTDIR: a component of the directory is a file; creating the directory will say so.
    if (errno == ENOENT || errno == ENOTDIR) return absl::OkStatus();
    return absl::PermissionDeniedError(
        absl::StrCat("cannot read \"", path, "\": ", std::strerror(errno)));
  }
  content->clear();
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return absl::PermissionDeniedError(
          absl::StrCat("cannot read \"", path, "\": ", std::strerror(err)));
    }
    if (n == 0) break;
    content->append(buf, static_cast<size_t>(n));
    if (content->size() > (1 << 20)) break;  // no PEM pair is this large; parsing will fail
  }
  close(fd);
  *exists = true;
  return absl::OkStatus();
}

// Whether cert_pem and key_pem make a pair that is valid now and covers every host.
bool UsablePair(const std::string& cert_pem, const std::string& key_pem,
                const std::vector<Host>& hosts) {
  BioPtr cert_bio(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
  BioPtr key_bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  if (!cert_bio || !key_bio) return false;
  X509Ptr cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  PkeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  bool ok = cert && key && X509_check_private_key(cert.get(), key.get()) == 1 &&
            X509_cmp_current_time(X509_get0_notAfter(cert.get())) > 0;
  for (const Host& h : hosts) {
    if (!ok) break;
    if (h.is_ip) {
      ok = X509_check_ip(cert.get(), reinterpret_cast<const unsigned char*>(h.ip.data()),
                         h.ip.size(), 0) == 1;
    } else {
      ok = X509_check_host(cert.get(), h.text.data(), h.text.size(),
                           X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, nullptr) == 1;
    }
  }
  ERR_clear_error();
  return ok;
}

std::string BioContents(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

absl::Status AddConfExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return absl::InternalError(
        absl::StrCat("add certificate extension ", OBJ_nid2sn(nid), ": ", OpenSslErrors()));
  }
  return absl::OkStatus();
}

absl::Status AddSubjectAltNames(X509* cert, const std::vector<Host>& hosts) {
  NamePtr names(sk_GENERAL_NAME_new_null());
  if (!names) return absl::InternalError("allocate subjectAltName: " + OpenSslErrors());
  for (const Host& h : hosts) {
    GENERAL_NAME* gn = GENERAL_NAME_new();
    ASN1_STRING* value = ASN1_STRING_type_new(h.is_ip ? V_ASN1_OCTET_STRING : V_ASN1_IA5STRING);
    const std::string& bytes = h.is_ip ? h.ip : h.text;
    if (gn == nullptr || value == nullptr ||
        ASN1_STRING_set(value, bytes.data(), static_cast<int>(bytes.size())) != 1) {
      GENERAL_NAME_free(gn);
      ASN1_STRING_free(value);
      return absl::InternalError("build subjectAltName: " + OpenSslErrors());
    }
    GENERAL_NAME_set0_value(gn, h.is_ip ? GEN_IPADD : GEN_DNS, value);
    if (sk_GENERAL_NAME_push(names.get(), gn) == 0) {
      GENERAL_NAME_free(gn);
      return absl::InternalError("build subjectAltName: " + OpenSslErrors());
    }
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return absl::InternalError("add subjectAltName: " + OpenSslErrors());
  }
  return absl::OkStatus();
}

struct Pem {
  std::string cert;
  std::string key;
};

absl::StatusOr<Pem> Generate(const std::vector<Host>& hosts) {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return absl::InternalError("generate ECDSA P-256 key: " + OpenSslErrors());
  X509Ptr cert(X509_new());
  if (!cert) return absl::InternalError("allocate certificate: " + OpenSslErrors());
  X509* x = cert.get();

  // A random positive 127-bit serial number, as RFC 5280 asks (at most 20 octets, unique).
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof(serial_bytes)) != 1) {
    return absl::InternalError("random serial number: " + OpenSslErrors());
  }
  serial_bytes[0] &= 0x7f;
  serial_bytes[0] |= 0x01;  // never zero
  BnPtr serial(BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr));
  if (!serial || BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(x)) == nullptr) {
    return absl::InternalError("set serial number: " + OpenSslErrors());
  }

  std::string cn =
      absl::StrCat(hosts.front().text, "@", static_cast<long long>(std::time(nullptr)));
  X509_NAME* name = X509_get_subject_name(x);
  if (X509_set_version(x, 2) != 1 || X509_gmtime_adj(X509_getm_notBefore(x), -kHour) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(x), kValidity) == nullptr ||
      X509_set_pubkey(x, key.get()) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0) != 1 ||
      X509_set_issuer_name(x, name) != 1) {
    return absl::InternalError("fill certificate: " + OpenSslErrors());
  }

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  for (auto [nid, value] :
       {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
        std::pair{NID_key_usage, "critical,digitalSignature,keyCertSign"},
        std::pair{NID_ext_key_usage, "serverAuth"}, std::pair{NID_subject_key_identifier, "hash"},
        std::pair{NID_authority_key_identifier, "keyid:always"}}) {
    if (absl::Status s = AddConfExtension(x, &ctx, nid, value); !s.ok()) return s;
  }
  if (absl::Status s = AddSubjectAltNames(x, hosts); !s.ok()) return s;
  if (X509_sign(x, key.get(), EVP_sha256()) == 0) {
    return absl::InternalError("sign certificate: " + OpenSslErrors());
  }

  BioPtr cert_bio(BIO_new(BIO_s_mem()));
  BioPtr key_bio(BIO_new(BIO_s_mem()));
  if (!cert_bio || !key_bio || PEM_write_bio_X509(cert_bio.get(), x) != 1 ||
      PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1) {
    return absl::InternalError("encode certificate and key as PEM: " + OpenSslErrors());
  }
  return Pem{BioContents(cert_bio.get()), BioContents(key_bio.get())};
}

// mkdir -p with mode for every directory it creates.
absl::Status MakeDirs(const std::string& dir, mode_t mode) {
  if (dir.empty()) return absl::InvalidArgumentError("the certificate directory is empty");
  for (size_t pos = 1;; ++pos) {
    pos = dir.find('/', pos);
    std::string prefix = dir.substr(0, pos);
    if (!prefix.empty() && prefix.back() != '/') {
      if (mkdir(prefix.c_str(), mode) != 0 && errno != EEXIST) {
        return absl::PermissionDeniedError(absl::StrCat("cannot create certificate directory \"",
                                                        prefix, "\": ", std::strerror(errno)));
      }
      struct stat st;
      if (stat(prefix.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        return absl::FailedPreconditionError(absl::StrCat("cannot create certificate directory \"",
                                                          dir, "\": \"", prefix,
                                                          "\" exists and is not a directory"));
      }
    }
    if (pos == std::string::npos) break;
  }
  return absl::OkStatus();
}

// Writes content to path through a synced temporary file in the same directory and a rename.
absl::Status WriteAtomically(const std::string& path, const std::string& content, mode_t mode) {
  std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  auto fail = [&](const char* what) {
    int err = errno;
    unlink(tmp.c_str());
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write \"", path, "\": ", what, ": ", std::strerror(err)));
  };
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write \"", path, "\": create \"", tmp, "\": ", std::strerror(errno)));
  }
  // O_CREAT's mode is filtered by the umask and ignored for an existing file: set it exactly.
  if (fchmod(fd, mode) != 0) {
    close(fd);
    return fail("chmod");
  }
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      close(fd);
      return fail("write");
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) {
    close(fd);
    return fail("fsync");
  }
  if (close(fd) != 0) return fail("close");
  if (rename(tmp.c_str(), path.c_str()) != 0) return fail("rename");
  return absl::OkStatus();
}

void SyncDir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  fsync(fd);  // best effort: the files themselves are complete either way
  close(fd);
}

}  // namespace

absl::StatusOr<CertPaths> EnsureSelfSignedCert(const std::string& cert_dir,
                                               const std::vector<std::string>& hosts) {
  if (cert_dir.empty()) return absl::InvalidArgumentError("the certificate directory is empty");
  absl::StatusOr<std::vector<Host>> all = AllHosts(hosts);
  if (!all.ok()) return all.status();

  std::string dir = cert_dir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  CertPaths paths;
  paths.cert_file = absl::StrCat(dir, "/", kSelfSignedCertName);
  paths.key_file = absl::StrCat(dir, "/", kSelfSignedKeyName);

  std::string cert_pem, key_pem;
  bool cert_exists = false, key_exists = false;
  if (absl::Status s = ReadIfExists(paths.cert_file, &cert_pem, &cert_exists); !s.ok()) return s;
  if (absl::Status s = ReadIfExists(paths.key_file, &key_pem, &key_exists); !s.ok()) return s;
  if (cert_exists && key_exists && UsablePair(cert_pem, key_pem, *all)) return paths;

  if (absl::Status s = MakeDirs(dir, 0700); !s.ok()) return s;
  absl::StatusOr<Pem> pem = Generate(*all);
  if (!pem.ok()) {
    return absl::Status(pem.status().code(),
                        absl::StrCat("self-signed certificate for \"", paths.cert_file,
                                     "\": ", pem.status().message()));
  }
  // A crash between the two renames leaves a mismatched pair, which the next call replaces.
  if (absl::Status s = WriteAtomically(paths.key_file, pem->key, 0600); !s.ok()) return s;
  if (absl::Status s = WriteAtomically(paths.cert_file, pem->cert, 0644); !s.ok()) return s;
  SyncDir(dir);
  paths.generated = true;
  return paths;
}

}  // namespace http
