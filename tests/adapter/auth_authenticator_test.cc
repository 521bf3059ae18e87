// auth::Authenticator: request-header, x509 and TokenReview authentication, anonymous, and
// live configuration changes. Requests are built by hand with their client chain.
#include "adapter/auth/authenticator.h"

#include <atomic>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/adapter/auth_test_util.h"

namespace auth {
namespace {

using ::auth_test::Cert;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using Status = AuthenticationResult::Status;
using namespace std::chrono_literals;

http::Request MakeRequest(std::vector<std::string> chain, http::Params headers = {}) {
  http::Request r;
  r.method = "GET";
  r.target = r.path = "/apis/custom.metrics.k8s.io/v1beta1";
  r.tls = true;
  r.peer_certificates = std::move(chain);
  r.headers = std::move(headers);
  return r;
}

RequestHeaderConfig ProxyConfig(const Cert& ca) {
  RequestHeaderConfig c;
  c.client_ca = ca.cert_pem;
  c.allowed_names = {"front-proxy-client"};
  c.username_headers = {"X-Remote-User"};
  c.uid_headers = {"X-Remote-Uid"};
  c.group_headers = {"X-Remote-Group"};
  c.extra_header_prefixes = {"X-Remote-Extra-"};
  return c;
}

class AuthAuthenticatorTest : public testing::Test {
 protected:
  AuthAuthenticatorTest()
      : proxy_ca_(auth_test::MakeCa("front-proxy-ca")),
        client_ca_(auth_test::MakeCa("kubernetes")),
        proxy_(auth_test::MakeClient("front-proxy-client", proxy_ca_)) {}

  std::unique_ptr<Authenticator> Make(AuthenticatorOptions options = {}) {
    auto a = std::make_unique<Authenticator>(std::move(options));
    EXPECT_TRUE(a->SetRequestHeaderConfig(ProxyConfig(proxy_ca_)).ok());
    EXPECT_TRUE(a->SetClientCA(client_ca_.cert_pem).ok());
    return a;
  }

  Cert proxy_ca_, client_ca_, proxy_;
};

TEST_F(AuthAuthenticatorTest, RequestHeaderUser) {
  auto a = Make();
  AuthenticationResult r =
      a->Authenticate(MakeRequest({proxy_.der}, {{"x-remote-user", "alice"},
                                                 {"X-Remote-Uid", "u-1"},
                                                 {"X-Remote-Group", "dev"},
                                                 {"X-Remote-Group", "a,b"},
                                                 {"X-Remote-Group", ""},
                                                 {"X-Remote-Extra-Scopes", "view"},
                                                 {"x-remote-extra-SCOPES", "edit"},
                                                 {"X-Remote-Extra-Acme.com%2Fproject", "p1"},
                                                 {"X-Remote-Extra-bad%zz", "kept"},
                                                 {"X-Remote-Userx", "ignored"}}));
  ASSERT_EQ(r.status, Status::kAuthenticated) << r.reason;
  EXPECT_EQ(r.method, "requestheader");
  EXPECT_EQ(r.user.username, "alice");
  EXPECT_EQ(r.user.uid, "u-1");
  // Each header line one group (no comma splitting), empty ones dropped, then
  // system:authenticated.
  EXPECT_THAT(r.user.groups, ElementsAre("dev", "a,b", "system:authenticated"));
  EXPECT_THAT(r.user.extra, ElementsAre(Pair("acme.com/project", ElementsAre("p1")),
                                        Pair("bad%zz", ElementsAre("kept")),
                                        Pair("scopes", ElementsAre("view", "edit"))));
}

TEST_F(AuthAuthenticatorTest, RequestHeaderUsesTheFirstNonEmptyUsernameHeader) {
  auto a = std::make_unique<Authenticator>(AuthenticatorOptions{});
  RequestHeaderConfig c = ProxyConfig(proxy_ca_);
  c.username_headers = {"X-First", "X-Second"};
  c.allowed_names.clear();  // any CN
  ASSERT_TRUE(a->SetRequestHeaderConfig(c).ok());
  Cert other_cn = auth_test::MakeClient("someone-else", proxy_ca_);
  AuthenticationResult r =
      a->Authenticate(MakeRequest({other_cn.der}, {{"X-First", ""}, {"X-Second", "bob"}}));
  ASSERT_EQ(r.status, Status::kAuthenticated) << r.reason;
  EXPECT_EQ(r.user.username, "bob");
  EXPECT_THAT(r.user.groups, ElementsAre("system:authenticated"));
  EXPECT_THAT(r.user.extra, IsEmpty());
}

TEST_F(AuthAuthenticatorTest, RequestHeaderRefusals) {
  auto a = Make();
  // A CN not in the allowed names: 401 although the headers are there.
  Cert wrong_cn = auth_test::MakeClient("not-the-proxy", proxy_ca_);
  AuthenticationResult r =
      a->Authenticate(MakeRequest({wrong_cn.der}, {{"X-Remote-User", "alice"}}));
  EXPECT_EQ(r.status, Status::kUnauthenticated);
  EXPECT_THAT(r.reason, HasSubstr("requestheader: x509: subject with cn=not-the-proxy is not in "
                                  "the allowed list"));
  EXPECT_THAT(r.user.username, IsEmpty());

  // A certificate of another CA claiming to be the proxy.
  Cert forged = auth_test::MakeClient("front-proxy-client", auth_test::MakeCa("evil"));
  r = a->Authenticate(MakeRequest({forged.der}, {{"X-Remote-User", "system:admin"}}));
  EXPECT_EQ(r.status, Status::kUnauthenticated);
  EXPECT_THAT(r.reason, HasSubstr("requestheader: x509: unable to get local issuer certificate"));
  EXPECT_THAT(r.reason, HasSubstr("x509: x509: unable to get local issuer certificate"));

  // The proxy's certificate without a username header: not a request-header user, and the
  // proxy's certificate is not a user certificate either.
  r = a->Authenticate(MakeRequest({proxy_.der}, {{"X-Remote-Group", "dev"}}));
  EXPECT_EQ(r.status, Status::kUnauthenticated);
  EXPECT_THAT(r.reason, HasSubstr("x509: "));
}

TEST_F(AuthAuthenticatorTest, ProxyCertificateWithoutUserFallsToX509WhenTheCasAreShared) {
  // Some clusters sign the front proxy with the cluster CA: its certificate is then a user.
  auto a = Make();
  ASSERT_TRUE(a->SetClientCA(proxy_ca_.cert_pem).ok());
  AuthenticationResult r = a->Authenticate(MakeRequest({proxy_.der}));
  ASSERT_EQ(r.status, Status::kAuthenticated) << r.reason;
  EXPECT_EQ(r.method, "x509");
  EXPECT_EQ(r.user.username, "front-proxy-client");
}

TEST_F(AuthAuthenticatorTest, X509User) {
  auto a = Make();
  Cert alice = auth_test::MakeClient("alice", client_ca_, {"dev", "system:masters"});
  // Request headers mean nothing without the proxy's certificate.
  AuthenticationResult r = a->Authenticate(MakeRequest({alice.der}, {{"X-Remote-User", "root"}}));
  ASSERT_EQ(r.status, Status::kAuthenticated) << r.reason;
  EXPECT_EQ(r.method, "x509");
  EXPECT_EQ(r.user.username, "alice");
  EXPECT_THAT(r.user.groups, ElementsAre("dev", "system:masters", "system:authenticated"));

  // No CN: nobody by x509; the request-header method failed on it, so 401 (as Kubernetes)...
  Cert nameless = auth_test::MakeClient("", client_ca_, {"dev"});
  r = a->Authenticate(MakeRequest({nameless.der}));
  EXPECT_EQ(r.status, Status::kUnauthenticated);
  EXPECT_THAT(r.reason, HasSubstr("requestheader: "));
  // ... and with x509 alone, anonymous.
  Authenticator x509_only{AuthenticatorOptions{}};
  ASSERT_TRUE(x509_only.SetClientCA(client_ca_.cert_pem).ok());
  EXPECT_EQ(x509_only.Authenticate(MakeRequest({nameless.der})).status, Status::kAnonymous);
  EXPECT_EQ(x509_only.Authenticate(MakeRequest({alice.der})).user.username, "alice");

  // A server-only certificate is refused.
  Cert server_only = auth_test::MakeClient("web", client_ca_, {}, "serverAuth");
  r = a->Authenticate(MakeRequest({server_only.der}));
  EXPECT_EQ(r.status, Status::kUnauthenticated);
  EXPECT_THAT(r.reason, HasSubstr("incompatible key usage"));
}

TEST_F(AuthAuthenticatorTest, AnonymousOnlyWithoutCredentials) {
  auto a = Make();
  AuthenticationResult r = a->Authenticate(MakeRequest({}));
  ASSERT_EQ(r.status, Status::kAnonymous);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.method, "anonymous");
  EXPECT_EQ(r.user.username, "system:anonymous");
  EXPECT_THAT(r.user.groups, ElementsAre("system:unauthenticated"));

  AuthenticatorOptions options;
  options.allow_anonymous = false;
  auto strict = Make(std::move(options));
  r = strict->Authenticate(MakeRequest({}));
  EXPECT_EQ(r.status, Status::kUnauthenticated);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.reason, "no credentials");

  // Without any CA configured, certificates are ignored.
  Authenticator bare{AuthenticatorOptions{}};
  r = bare.Authenticate(MakeRequest({proxy_.der}, {{"X-Remote-User", "alice"}}));
  EXPECT_EQ(r.status, Status::kAnonymous);
}

// A fake TokenReview endpoint: tokens it knows, counting calls.
struct FakeTokenReview {
  std::atomic<int> calls{0};
  std::string last_path, last_body;
  absl::Status fail;  // when not OK, every POST fails

  absl::StatusOr<std::string> operator()(std::string_view path, std::string_view body) {
    ++calls;
    last_path = std::string(path);
    last_body = std::string(body);
    if (!fail.ok()) return fail;
    if (body.find("\"good\"") != std::string_view::npos) {
      return std::string(
          R"({"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","status":{)"
          R"("authenticated":true,"user":{"username":"system:serviceaccount:kube-system:hpa",)"
          R"("uid":"123","groups":["system:serviceaccounts","system:authenticated"],)"
          R"("extra":{"authentication.kubernetes.io/pod-name":["hpa-1"]}}}})");
    }
    if (body.find("\"broken\"") != std::string_view::npos) {
      return std::string(R"({"status":{"authenticated":false,"error":"token lookup failed"}})");
    }
    if (body.find("\"garbage\"") != std::string_view::npos) return std::string("<html>");
    if (body.find("\"stringy\"") != std::string_view::npos) {
      return std::string(R"({"status":{"authenticated":"true"}})");
    }
    if (body.find("\"empty\"") != std::string_view::npos) return std::string("{}");
    return std::string(R"({"status":{"authenticated":false}})");
  }
};

TEST_F(AuthAuthenticatorTest, BearerTokenViaTokenReviewIsCached) {
  FakeTokenReview review;
  auth_test::FakeClock clock;
  AuthenticatorOptions options;
  options.token_review = [&](std::string_view p, std::string_view b) { return review(p, b); };
  options.clock = clock.Fn();
  auto a = Make(std::move(options));

  AuthenticationResult r = a->Authenticate(MakeRequest({}, {{"Authorization", "Bearer good"}}));
  ASSERT_EQ(r.status, Status::kAuthenticated) << r.reason;
  EXPECT_EQ(r.method, "token");
  EXPECT_EQ(r.user.username, "system:serviceaccount:kube-system:hpa");
  EXPECT_EQ(r.user.uid, "123");
  // system:authenticated is there already: not added twice.
  EXPECT_THAT(r.user.groups, ElementsAre("system:serviceaccounts", "system:authenticated"));
  EXPECT_THAT(r.user.extra,
              ElementsAre(Pair("authentication.kubernetes.io/pod-name", ElementsAre("hpa-1"))));
  EXPECT_EQ(review.last_path, "/apis/authentication.k8s.io/v1/tokenreviews");
  EXPECT_EQ(review.last_body,
            R"({"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","metadata":{},)"
            R"("spec":{"token":"good"}})");
  EXPECT_EQ(review.calls, 1);

  // Cached for 10 s, whatever the scheme's case.
  clock.now += 9s;
  r = a->Authenticate(MakeRequest({}, {{"authorization", "  bearer good "}}));
  EXPECT_EQ(r.status, Status::kAuthenticated);
  EXPECT_EQ(review.calls, 1);
  clock.now += 1s;
  r = a->Authenticate(MakeRequest({}, {{"Authorization", "Bearer good"}}));
  EXPECT_EQ(r.status, Status::kAuthenticated);
  EXPECT_EQ(review.calls, 2);

  // A refused token is 401 (not anonymous), and cached too.
  r = a->Authenticate(MakeRequest({}, {{"Authorization", "Bearer bad"}}));
  EXPECT_EQ(r.status, Status::kUnauthenticated);
  EXPECT_EQ(r.reason, "invalid bearer token");
  r = a->Authenticate(MakeRequest({}, {{"Authorization", "Bearer bad"}}));
  EXPECT_EQ(r.status, Status::kUnauthenticated);
  EXPECT_EQ(review.calls, 3);
}

TEST_F(AuthAuthenticatorTest, TokenReviewErrorsAreNotCached) {
  FakeTokenReview review;
  auth_test::FakeClock clock;
  AuthenticatorOptions options;
  options.token_review = [&](std::string_view p, std::string_view b) { return review(p, b); };
  options.clock = clock.Fn();
  auto a = Make(std::move(options));

  for (int i = 0; i < 2; ++i) {
    AuthenticationResult r = a->Authenticate(MakeRequest({}, {{"Authorization", "Bearer broken"}}));
    EXPECT_EQ(r.status, Status::kUnauthenticated);
    EXPECT_EQ(r.reason, "TokenReview: token lookup failed");
  }
  EXPECT_EQ(review.calls, 2);
  AuthenticationResult r = a->Authenticate(MakeRequest({}, {{"Authorization", "Bearer garbage"}}));
  EXPECT_EQ(r.status, Status::kUnauthenticated);
  EXPECT_THAT(r.reason, HasSubstr("TokenReview: invalid JSON response"));
  for (int i = 0; i < 2; ++i) {
    r = a->Authenticate(MakeRequest({}, {{"Authorization", "Bearer stringy"}}));
    EXPECT_EQ(r.status, Status::kUnauthenticated);
    EXPECT_EQ(r.reason, "TokenReview: status.authenticated is not a boolean");
  }
  EXPECT_EQ(review.calls, 5);
  // An answer without status is a plain refusal (cached).
  for (int i = 0; i < 2; ++i) {
    r = a->Authenticate(MakeRequest({}, {{"Authorization", "Bearer empty"}}));
    EXPECT_EQ(r.status, Status::kUnauthenticated);
    EXPECT_EQ(r.reason, "invalid bearer token");
  }
  EXPECT_EQ(review.calls, 6);

  review.fail = absl::UnavailableError("connection refused");
  r = a->Authenticate(MakeRequest({}, {{"Authorization", "Bearer good"}}));
  EXPECT_EQ(r.status, Status::kUnauthenticated);
  EXPECT_EQ(r.reason, "TokenReview: connection refused");
  review.fail = absl::OkStatus();
  r = a->Authenticate(MakeRequest({}, {{"Authorization", "Bearer good"}}));
  EXPECT_EQ(r.status, Status::kAuthenticated);
  EXPECT_EQ(review.calls, 8);
}

TEST_F(AuthAuthenticatorTest, NotABearerTokenIsNoCredential) {
  FakeTokenReview review;
  AuthenticatorOptions options;
  options.token_review = [&](std::string_view p, std::string_view b) { return review(p, b); };
  auto a = Make(std::move(options));
  for (const char* header : {"Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearer  good", ""}) {
    AuthenticationResult r = a->Authenticate(MakeRequest({}, {{"Authorization", header}}));
    EXPECT_EQ(r.status, Status::kAnonymous) << header;
  }
  EXPECT_EQ(review.calls, 0);

  // Without a poster a bearer token is not looked at: anonymous.
  auto no_webhook = Make();
  EXPECT_EQ(no_webhook->Authenticate(MakeRequest({}, {{"Authorization", "Bearer good"}})).status,
            Status::kAnonymous);

  // A valid front-proxy request wins over a token (which is not even reviewed).
  AuthenticationResult r = a->Authenticate(
      MakeRequest({proxy_.der}, {{"X-Remote-User", "alice"}, {"Authorization", "Bearer good"}}));
  EXPECT_EQ(r.method, "requestheader");
  EXPECT_EQ(review.calls, 0);
  // A certificate of an unknown CA with a good token: the token authenticates.
  Cert stranger = auth_test::MakeClient("eve", auth_test::MakeCa("other"));
  r = a->Authenticate(MakeRequest({stranger.der}, {{"Authorization", "Bearer good"}}));
  EXPECT_EQ(r.status, Status::kAuthenticated);
  EXPECT_EQ(r.method, "token");
}

TEST_F(AuthAuthenticatorTest, ConfigurationChangesLive) {
  auto a = std::make_unique<Authenticator>(AuthenticatorOptions{});
  Cert alice = auth_test::MakeClient("alice", client_ca_);
  EXPECT_EQ(a->Authenticate(MakeRequest({alice.der})).status, Status::kAnonymous);

  AuthenticationConfig config;
  config.client_ca = client_ca_.cert_pem;
  config.request_header = ProxyConfig(proxy_ca_);
  ASSERT_TRUE(a->SetConfig(config).ok());
  EXPECT_EQ(a->Authenticate(MakeRequest({alice.der})).user.username, "alice");
  EXPECT_EQ(a->Authenticate(MakeRequest({proxy_.der}, {{"X-Remote-User", "bob"}})).user.username,
            "bob");

  // A bad bundle changes nothing.
  EXPECT_FALSE(a->SetClientCA("garbage").ok());
  RequestHeaderConfig bad = config.request_header;
  bad.client_ca = "garbage";
  absl::Status st = a->SetRequestHeaderConfig(bad);
  EXPECT_THAT(std::string(st.message()), HasSubstr("request-header client CA: "));
  config.client_ca = "garbage";
  EXPECT_FALSE(a->SetConfig(config).ok());
  EXPECT_EQ(a->Authenticate(MakeRequest({alice.der})).user.username, "alice");
  EXPECT_EQ(a->Authenticate(MakeRequest({proxy_.der}, {{"X-Remote-User", "bob"}})).user.username,
            "bob");

  // The CA rotates: the old client is refused.
  Cert new_ca = auth_test::MakeCa("kubernetes-2");
  ASSERT_TRUE(a->SetClientCA(new_ca.cert_pem).ok());
  EXPECT_EQ(a->Authenticate(MakeRequest({alice.der})).status, Status::kUnauthenticated);
  // The allowed names change.
  RequestHeaderConfig renamed = ProxyConfig(proxy_ca_);
  renamed.allowed_names = {"aggregator"};
  ASSERT_TRUE(a->SetRequestHeaderConfig(renamed).ok());
  EXPECT_EQ(a->Authenticate(MakeRequest({proxy_.der}, {{"X-Remote-User", "bob"}})).status,
            Status::kUnauthenticated);
  // Off again.
  ASSERT_TRUE(a->SetClientCA("").ok());
  ASSERT_TRUE(a->SetRequestHeaderConfig(RequestHeaderConfig()).ok());
  EXPECT_EQ(a->Authenticate(MakeRequest({alice.der})).status, Status::kAnonymous);
}

TEST_F(AuthAuthenticatorTest, ConcurrentAuthenticationAndReconfiguration) {
  auto a = Make();
  Cert alice = auth_test::MakeClient("alice", client_ca_);
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!stop) {
        AuthenticationResult r =
            a->Authenticate(MakeRequest({proxy_.der}, {{"X-Remote-User", "bob"}}));
        if (r.user.username != "bob") ++bad;
      }
    });
  }
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(a->SetRequestHeaderConfig(ProxyConfig(proxy_ca_)).ok());
    ASSERT_TRUE(a->SetClientCA(i % 2 ? client_ca_.cert_pem : "").ok());
  }
  stop = true;
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(bad, 0);
}

}  // namespace
}  // namespace auth
