// http::EnsureSelfSignedCert: generation, reuse, regeneration, errors, and that what it writes
// passes OpenSSL's own client-side verification with the certificate as the only trusted CA.
#include "adapter/http/self_signed_cert.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace http {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteAll(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
}

mode_t Mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

X509Ptr LoadCert(const std::string& path) {
  std::string pem = ReadAll(path);
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509Ptr x(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return x;
}

bool KeyMatches(X509* cert, const std::string& key_path) {
  std::string pem = ReadAll(key_path);
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  bool ok = key != nullptr && X509_check_private_key(cert, key) == 1;
  EVP_PKEY_free(key);
  return ok;
}

// "DNS:name" and "IP:addr" for every subjectAltName entry.
std::set<std::string> SubjectAltNames(X509* cert) {
  std::set<std::string> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    if (gn->type == GEN_DNS) {
      const ASN1_IA5STRING* s = gn->d.dNSName;
      out.insert("DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                      ASN1_STRING_length(s)));
    } else if (gn->type == GEN_IPADD) {
      const unsigned char* b = ASN1_STRING_get0_data(gn->d.iPAddress);
      int len = ASN1_STRING_length(gn->d.iPAddress);
      char buf[INET6_ADDRSTRLEN] = {};
      inet_ntop(len == 4 ? AF_INET : AF_INET6, b, buf, sizeof(buf));
      out.insert("IP:" + std::string(buf));
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

std::string CommonName(X509* cert) {
  char buf[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof(buf));
  return buf;
}

// OpenSSL's client-side verification of cert as a TLS server certificate for host (a DNS name
// or an IP address), trusting only cert itself.
bool VerifiesFor(X509* cert, const std::string& host) {
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, cert);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, cert, nullptr);
  X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
  if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1) {
    X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
  }
  bool ok = X509_verify_cert(ctx) == 1;
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return ok;
}

class SelfSignedCertTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = testing::TempDir() + "/self_signed_cert_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
  }
  void TearDown() override {
    chmod(root_.c_str(), 0700);
    std::filesystem::remove_all(root_);
  }
  std::string root_;
};

TEST_F(SelfSignedCertTest, GeneratesKeyAndCertificate) {
  const std::string dir = root_ + "/a/b/certificates";
  long before = static_cast<long>(std::time(nullptr));
  absl::StatusOr<CertPaths> paths =
      EnsureSelfSignedCert(dir, {"adapter.monitoring.svc", "10.1.2.3", "[fd00::1]", "localhost"});
  ASSERT_TRUE(paths.ok()) << paths.status();
  long after = static_cast<long>(std::time(nullptr));
  EXPECT_TRUE(paths->generated);
  EXPECT_EQ(paths->cert_file, dir + "/apiserver.crt");
  EXPECT_EQ(paths->key_file, dir + "/apiserver.key");
  EXPECT_EQ(Mode(root_ + "/a"), 0700u);
  EXPECT_EQ(Mode(dir), 0700u);
  EXPECT_EQ(Mode(paths->key_file), 0600u);
  EXPECT_EQ(Mode(paths->cert_file), 0644u);
  // No temporary files left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 2);

  X509Ptr cert = LoadCert(paths->cert_file);
  ASSERT_TRUE(cert);
  EXPECT_TRUE(KeyMatches(cert.get(), paths->key_file));
  EXPECT_THAT(ReadAll(paths->key_file), StartsWith("-----BEGIN PRIVATE KEY-----"));
  EVP_PKEY* pub = X509_get0_pubkey(cert.get());
  EXPECT_TRUE(EVP_PKEY_is_a(pub, "EC"));

  std::string cn = CommonName(cert.get());
  EXPECT_THAT(cn, StartsWith("adapter.monitoring.svc@"));
  long stamp = std::atol(cn.substr(cn.find('@') + 1).c_str());
  EXPECT_GE(stamp, before);
  EXPECT_LE(stamp, after);
  // Self-signed: issuer = subject.
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(cert.get()), X509_get_issuer_name(cert.get())), 0);

  EXPECT_EQ(SubjectAltNames(cert.get()),
            (std::set<std::string>{"DNS:adapter.monitoring.svc", "DNS:localhost", "IP:10.1.2.3",
                                   "IP:fd00::1", "IP:127.0.0.1", "IP:::1"}));

  // One year, starting a little in the past.
  int days = 0, secs = 0;
  ASSERT_EQ(
      ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(cert.get()), X509_get0_notAfter(cert.get())),
      1);
  EXPECT_NEAR(days + secs / 86400.0, 365.04, 0.01);
  EXPECT_LT(X509_cmp_current_time(X509_get0_notBefore(cert.get())), 0);

  EXPECT_TRUE(X509_get_extended_key_usage(cert.get()) & XKU_SSL_SERVER);
  EXPECT_EQ(X509_get_version(cert.get()), 2);
}

TEST_F(SelfSignedCertTest, AcceptedByOpenSslClientVerificationForLocalAddresses) {
  absl::StatusOr<CertPaths> paths = EnsureSelfSignedCert(root_ + "/c", {"10.9.8.7"});
  ASSERT_TRUE(paths.ok()) << paths.status();
  X509Ptr cert = LoadCert(paths->cert_file);
  ASSERT_TRUE(cert);
  EXPECT_TRUE(VerifiesFor(cert.get(), "localhost"));
  EXPECT_TRUE(VerifiesFor(cert.get(), "127.0.0.1"));
  EXPECT_TRUE(VerifiesFor(cert.get(), "::1"));
  EXPECT_TRUE(VerifiesFor(cert.get(), "10.9.8.7"));
  // The checks can fail: other names and addresses are refused.
  EXPECT_FALSE(VerifiesFor(cert.get(), "example.com"));
  EXPECT_FALSE(VerifiesFor(cert.get(), "10.9.8.8"));
}

TEST_F(SelfSignedCertTest, ReusesAMatchingPair) {
  const std::string dir = root_ + "/c";
  absl::StatusOr<CertPaths> first = EnsureSelfSignedCert(dir, {"localhost"});
  ASSERT_TRUE(first.ok()) << first.status();
  std::string cert = ReadAll(first->cert_file), key = ReadAll(first->key_file);

  // Trailing slashes, and hosts the certificate covers anyway, change nothing.
  absl::StatusOr<CertPaths> second = EnsureSelfSignedCert(dir + "/", {"127.0.0.1", "::1"});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(second->generated);
  EXPECT_EQ(second->cert_file, first->cert_file);
  EXPECT_EQ(ReadAll(second->cert_file), cert);
  EXPECT_EQ(ReadAll(second->key_file), key);
}

TEST_F(SelfSignedCertTest, RegeneratesWhenThePairIsNotUsable) {
  const std::string dir = root_ + "/c";
  absl::StatusOr<CertPaths> first = EnsureSelfSignedCert(dir, {"localhost"});
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<CertPaths> other = EnsureSelfSignedCert(root_ + "/other", {"localhost"});
  ASSERT_TRUE(other.ok()) << other.status();

  auto check_regenerated = [&](const std::vector<std::string>& hosts, const char* what) {
    std::string old_cert = ReadAll(first->cert_file);
    absl::StatusOr<CertPaths> again = EnsureSelfSignedCert(dir, hosts);
    ASSERT_TRUE(again.ok()) << what << ": " << again.status();
    EXPECT_TRUE(again->generated) << what;
    EXPECT_NE(ReadAll(again->cert_file), old_cert) << what;
    X509Ptr cert = LoadCert(again->cert_file);
    ASSERT_TRUE(cert) << what;
    EXPECT_TRUE(KeyMatches(cert.get(), again->key_file)) << what;
    EXPECT_EQ(Mode(again->key_file), 0600u) << what;
  };

  // A key that belongs to another certificate.
  WriteAll(first->key_file, ReadAll(other->key_file));
  check_regenerated({"localhost"}, "mismatched key");
  // Garbage in place of the certificate.
  WriteAll(first->cert_file, "not a certificate\n");
  check_regenerated({"localhost"}, "garbage certificate");
  // The key is missing.
  ASSERT_EQ(unlink(first->key_file.c_str()), 0);
  check_regenerated({"localhost"}, "missing key");
  // A host the certificate does not cover (e.g. a new --bind-address).
  check_regenerated({"localhost", "192.168.7.7"}, "new host");
  X509Ptr cert = LoadCert(first->cert_file);
  EXPECT_TRUE(VerifiesFor(cert.get(), "192.168.7.7"));
}

TEST_F(SelfSignedCertTest, ErrorsNameThePath) {
  // A regular file where a directory should be: fails even for root.
  const std::string file = root_ + "/file";
  WriteAll(file, "x");
  absl::StatusOr<CertPaths> r = EnsureSelfSignedCert(file + "/certs", {"localhost"});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("\"" + file + "\""));

  r = EnsureSelfSignedCert(file, {"localhost"});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr(file));

  r = EnsureSelfSignedCert("", {"localhost"});
  EXPECT_FALSE(r.ok());

  r = EnsureSelfSignedCert(root_ + "/d", {"bad host,name"});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("invalid host \"bad host,name\""));
  r = EnsureSelfSignedCert(root_ + "/d", {""});
  EXPECT_FALSE(r.ok());

  if (geteuid() != 0) {  // root ignores permission bits
    const std::string ro = root_ + "/readonly";
    ASSERT_EQ(mkdir(ro.c_str(), 0500), 0);
    r = EnsureSelfSignedCert(ro, {"localhost"});
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(std::string(r.status().message()),
                HasSubstr("cannot write \"" + ro + "/apiserver.key\""));
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("Permission denied"));

    absl::StatusOr<CertPaths> ok = EnsureSelfSignedCert(root_ + "/e", {"localhost"});
    ASSERT_TRUE(ok.ok());
    ASSERT_EQ(chmod(ok->key_file.c_str(), 0), 0);
    r = EnsureSelfSignedCert(root_ + "/e", {"localhost"});
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(std::string(r.status().message()),
                HasSubstr("cannot read \"" + ok->key_file + "\""));
  }
}

}  // namespace
}  // namespace http
