// auth::ParseAuthenticationConfigMap: kube-system/extension-apiserver-authentication.
#include "adapter/auth/request_header.h"

#include <string>

#include <boost/json.hpp>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/adapter/auth_test_util.h"

namespace auth {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A ConfigMap object as the API server returns it, with data.
std::string ConfigMap(const boost::json::object& data) {
  boost::json::object cm{
      {"apiVersion", "v1"},
      {"kind", "ConfigMap"},
      {"metadata", {{"name", "extension-apiserver-authentication"}, {"namespace", "kube-system"}}},
      {"data", data}};
  return boost::json::serialize(cm);
}

TEST(AuthConfigMapTest, ParsesEveryKey) {
  auth_test::Cert client_ca = auth_test::MakeCa("kubernetes");
  auth_test::Cert proxy_ca = auth_test::MakeCa("front-proxy-ca");
  absl::StatusOr<AuthenticationConfig> c = ParseAuthenticationConfigMap(ConfigMap({
      {"client-ca-file", client_ca.cert_pem},
      {"requestheader-client-ca-file", proxy_ca.cert_pem},
      {"requestheader-allowed-names", "[\"front-proxy-client\"]"},
      {"requestheader-username-headers", "[\"X-Remote-User\"]"},
      {"requestheader-uid-headers", "[\"X-Remote-Uid\"]"},
      {"requestheader-group-headers", "[\"X-Remote-Group\"]"},
      {"requestheader-extra-headers-prefix", "[\"X-Remote-Extra-\"]"},
      {"something-newer", "ignored"},
  }));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->client_ca, client_ca.cert_pem);
  EXPECT_EQ(c->request_header.client_ca, proxy_ca.cert_pem);
  EXPECT_THAT(c->request_header.allowed_names, ElementsAre("front-proxy-client"));
  EXPECT_THAT(c->request_header.username_headers, ElementsAre("X-Remote-User"));
  EXPECT_THAT(c->request_header.uid_headers, ElementsAre("X-Remote-Uid"));
  EXPECT_THAT(c->request_header.group_headers, ElementsAre("X-Remote-Group"));
  EXPECT_THAT(c->request_header.extra_header_prefixes, ElementsAre("X-Remote-Extra-"));
}

TEST(AuthConfigMapTest, MissingKeysAreEmpty) {
  absl::StatusOr<AuthenticationConfig> c = ParseAuthenticationConfigMap(ConfigMap({
      {"requestheader-allowed-names", "[]"},
      {"requestheader-group-headers", ""},
      {"requestheader-username-headers", "null"},
  }));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(*c, AuthenticationConfig());
  c = ParseAuthenticationConfigMap(R"({"kind":"ConfigMap","metadata":{}})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(*c, AuthenticationConfig());
  EXPECT_THAT(c->request_header.username_headers, IsEmpty());
}

TEST(AuthConfigMapTest, ErrorsNameTheKey) {
  struct Case {
    boost::json::object data;
    std::string message;
  };
  const Case cases[] = {
      {{{"requestheader-allowed-names", "front-proxy-client"}},
       "requestheader-allowed-names: not a JSON array of strings: "},
      {{{"requestheader-group-headers", "{\"a\":1}"}},
       "requestheader-group-headers: not a JSON array of strings"},
      {{{"requestheader-username-headers", "[\"X-Remote-User\", 7]"}},
       "requestheader-username-headers: not a JSON array of strings: element 1 is 7"},
      {{{"requestheader-extra-headers-prefix", "[\"a\""}},
       "requestheader-extra-headers-prefix: not a JSON array of strings: "},
      {{{"client-ca-file", "not a certificate"}},
       "client-ca-file: no PEM certificate found in the CA bundle"},
      {{{"requestheader-client-ca-file",
         "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}},
       "requestheader-client-ca-file: PEM certificate 1 does not parse"},
      {{{"client-ca-file", 5}}, "client-ca-file: not a string"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<AuthenticationConfig> r = ParseAuthenticationConfigMap(ConfigMap(c.data));
    ASSERT_FALSE(r.ok()) << c.message;
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(c.message));
    EXPECT_EQ(std::string(r.status().message()).rfind(c.message.substr(0, 10), 0), 0u)
        << r.status();
  }
  EXPECT_THAT(std::string(ParseAuthenticationConfigMap("{").status().message()),
              HasSubstr("ConfigMap: invalid JSON"));
  EXPECT_EQ(ParseAuthenticationConfigMap("[]").status().message(), "ConfigMap: not a JSON object");
  EXPECT_EQ(ParseAuthenticationConfigMap(R"({"data":[]})").status().message(),
            "ConfigMap: data is not an object");
}

}  // namespace
}  // namespace auth
