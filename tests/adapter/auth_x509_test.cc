// auth::CertPool: PEM bundles and client-certificate chain verification.
#include "adapter/auth/x509.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/adapter/auth_test_util.h"

namespace auth {
namespace {

using ::auth_test::Cert;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::shared_ptr<const CertPool> Pool(const std::string& pem) {
  absl::StatusOr<std::shared_ptr<const CertPool>> pool = CertPool::FromPem(pem);
  EXPECT_TRUE(pool.ok()) << pool.status();
  return pool.value_or(nullptr);
}

TEST(AuthCertPoolTest, ParsesBundles) {
  Cert a = auth_test::MakeCa("a");
  Cert b = auth_test::MakeCa("b");
  EXPECT_EQ(Pool(a.cert_pem)->size(), 1u);
  // Other PEM blocks (a key) are skipped; the same certificate twice is harmless.
  EXPECT_EQ(Pool(a.cert_pem + b.key_pem + b.cert_pem + a.cert_pem)->size(), 3u);

  for (const std::string& bad : {std::string(""), std::string("hello\n"), a.key_pem}) {
    absl::StatusOr<std::shared_ptr<const CertPool>> pool = CertPool::FromPem(bad);
    ASSERT_FALSE(pool.ok());
    EXPECT_EQ(pool.status().message(), "no PEM certificate found in the CA bundle");
  }
  // A damaged second block is named.
  std::string damaged = b.cert_pem;
  damaged[damaged.size() / 2] = '!';
  absl::StatusOr<std::shared_ptr<const CertPool>> pool = CertPool::FromPem(a.cert_pem + damaged);
  ASSERT_FALSE(pool.ok());
  EXPECT_THAT(std::string(pool.status().message()), HasSubstr("PEM certificate 2 does not parse"));
}

TEST(AuthCertPoolTest, VerifiesClientChainsAndReturnsTheSubject) {
  Cert ca = auth_test::MakeCa("ca");
  std::shared_ptr<const CertPool> pool = Pool(ca.cert_pem);
  Cert alice = auth_test::MakeClient("alice", ca, {"dev", "ops"});
  absl::StatusOr<CertSubject> subject = pool->VerifyClientChain({alice.der});
  ASSERT_TRUE(subject.ok()) << subject.status();
  EXPECT_EQ(subject->common_name, "alice");
  EXPECT_THAT(subject->organizations, ElementsAre("dev", "ops"));

  // No ExtendedKeyUsage at all: any usage.
  Cert bob = auth_test::MakeClient("bob", ca, {}, "");
  EXPECT_TRUE(pool->VerifyClientChain({bob.der}).ok());
  // Client and server auth: fine.
  Cert both = auth_test::MakeClient("both", ca, {}, "serverAuth,clientAuth");
  EXPECT_TRUE(pool->VerifyClientChain({both.der}).ok());
  // Server auth only: refused.
  Cert server = auth_test::MakeClient("server", ca, {}, "serverAuth");
  absl::StatusOr<CertSubject> refused = pool->VerifyClientChain({server.der});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(), "x509: certificate specifies an incompatible key usage");
}

TEST(AuthCertPoolTest, RefusesOtherCasExpiredAndGarbage) {
  Cert ca = auth_test::MakeCa("ca");
  std::shared_ptr<const CertPool> pool = Pool(ca.cert_pem);

  Cert stranger = auth_test::MakeClient("eve", auth_test::MakeCa("other"));
  absl::StatusOr<CertSubject> r = pool->VerifyClientChain({stranger.der});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "x509: unable to get local issuer certificate");

  auth_test::CertSpec spec;
  spec.cn = "late";
  spec.not_before_seconds = -7200;
  spec.not_after_seconds = -60;
  r = pool->VerifyClientChain({auth_test::MakeCert(spec, &ca).der});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "x509: certificate has expired");

  spec.not_before_seconds = 3600;
  spec.not_after_seconds = 7200;
  r = pool->VerifyClientChain({auth_test::MakeCert(spec, &ca).der});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "x509: certificate is not yet valid");

  r = pool->VerifyClientChain({});
  ASSERT_FALSE(r.ok());
  r = pool->VerifyClientChain({"not DER"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "client certificate 0: not a DER-encoded certificate");
  Cert ok = auth_test::MakeClient("ok", ca);
  r = pool->VerifyClientChain({ok.der + "trailing"});
  ASSERT_FALSE(r.ok());
}

TEST(AuthCertPoolTest, IntermediatesComeFromTheClient) {
  Cert root = auth_test::MakeCa("root");
  auth_test::CertSpec ispec;
  ispec.cn = "intermediate";
  ispec.is_ca = true;
  Cert intermediate = auth_test::MakeCert(ispec, &root);
  Cert leaf = auth_test::MakeClient("front-proxy-client", intermediate);

  std::shared_ptr<const CertPool> pool = Pool(root.cert_pem);
  EXPECT_TRUE(pool->VerifyClientChain({leaf.der, intermediate.der}).ok());
  EXPECT_FALSE(pool->VerifyClientChain({leaf.der}).ok());
  // The client's extra certificates are not trust anchors.
  EXPECT_FALSE(Pool(auth_test::MakeCa("x").cert_pem)
                   ->VerifyClientChain({leaf.der, intermediate.der, root.der})
                   .ok());
  // An intermediate in the pool is an anchor by itself, as in Go.
  EXPECT_TRUE(Pool(intermediate.cert_pem)->VerifyClientChain({leaf.der}).ok());

  // An intermediate restricted to server auth cannot issue client certificates.
  ispec.extended_key_usage = "serverAuth";
  Cert server_only = auth_test::MakeCert(ispec, &root);
  Cert leaf2 = auth_test::MakeClient("c", server_only);
  absl::StatusOr<CertSubject> r = pool->VerifyClientChain({leaf2.der, server_only.der});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("incompatible key usage"));
}

TEST(AuthCertPoolTest, SubjectTakesTheLastCommonName) {
  Cert a = auth_test::MakeClient("", auth_test::MakeCa("ca"), {"only-org"});
  absl::StatusOr<CertSubject> s = ParseSubject(a.der);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->common_name, "");
  EXPECT_THAT(s->organizations, ElementsAre("only-org"));
  EXPECT_FALSE(ParseSubject("xyz").ok());
}

}  // namespace
}  // namespace auth
