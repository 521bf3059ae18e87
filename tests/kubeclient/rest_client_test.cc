#include "adapter/kubeclient/rest_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/kubeclient/fake_api.h"
#include "tests/support/process.h"

namespace kubeclient {
namespace {

using kubetest::FakeAnswer;
using kubetest::FakeApi;
using kubetest::FakeRequest;
using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(RateLimiterTest, BurstThenSteadyRate) {
  std::chrono::steady_clock::time_point now{};
  RateLimiter limiter(5, 10, [&] { return now; });
  for (int i = 0; i < 10; ++i) EXPECT_EQ(limiter.Reserve().count(), 0) << i;
  // The bucket is empty: the 11th waits 1/5 s, the 12th 2/5 s.
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(limiter.Reserve()), milliseconds(200));
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(limiter.Reserve()), milliseconds(400));
  // After a second, 5 tokens came back, 2 of which were already promised.
  now += std::chrono::seconds(1);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Reserve().count(), 0) << i;
  EXPECT_GT(limiter.Reserve().count(), 0);
  // A long idle period refills only up to burst.
  now += std::chrono::hours(1);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(limiter.Reserve().count(), 0) << i;
  EXPECT_GT(limiter.Reserve().count(), 0);
}

TEST(RateLimiterTest, ZeroQpsIsUnlimited) {
  RateLimiter limiter(0, 1);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(limiter.Reserve().count(), 0);
}

TEST(RateLimiterTest, WaitSleeps) {
  RateLimiter limiter(50, 1);
  auto start = std::chrono::steady_clock::now();
  limiter.Wait();
  limiter.Wait();
  limiter.Wait();
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(35));
}

TEST(HttpErrorTest, CarriesCodeReasonAndMessage) {
  absl::Status st =
      HttpError("GET https://h/api/v1/pods", 403,
                R"({"kind":"Status","status":"Failure","message":"pods is forbidden: User \"x\"",)"
                R"("reason":"Forbidden","code":403})");
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(st.message(),
            "GET https://h/api/v1/pods: 403 Forbidden: pods is forbidden: User \"x\"");
  EXPECT_EQ(HttpCodeOf(st), 403);
  EXPECT_EQ(ReasonOf(st), "Forbidden");

  absl::Status plain = HttpError("GET x", 502, "bad gateway\n");
  EXPECT_EQ(plain.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(plain.message(), "GET x: 502 Bad Gateway: bad gateway");
  EXPECT_EQ(HttpCodeOf(plain), 502);
  EXPECT_EQ(ReasonOf(plain), "");

  EXPECT_EQ(HttpError("x", 410, "{}").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(HttpError("x", 404, "{}").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(HttpCodeOf(absl::UnavailableError("no code")), 0);
}

class RestClientTest : public ::testing::Test {
 protected:
  std::unique_ptr<RestClient> NewClient(ClientConfig config = {}) {
    config.server = api_.url() + "/prefix/";
    RestClientOptions options;
    options.qps = 0;
    auto client = RestClient::New(config, options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? std::move(*client) : nullptr;
  }
  FakeApi api_;
};

TEST_F(RestClientTest, GetSendsTokenAndKeepsThePrefix) {
  api_.SetHandler([](const FakeRequest&) { return FakeAnswer{200, R"({"kind":"PodList"})"}; });
  ClientConfig config;
  config.bearer_token = "secret";
  auto client = NewClient(config);
  auto body = client->Get("/api/v1/pods?limit=5");
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body, R"({"kind":"PodList"})");
  auto requests = api_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].target, "/prefix/api/v1/pods?limit=5");
  EXPECT_EQ(requests[0].headers["authorization"], "Bearer secret");
  EXPECT_EQ(requests[0].headers["accept"], "application/json");
}

TEST_F(RestClientTest, ErrorAnswersCarryTheCode) {
  api_.SetHandler([](const FakeRequest&) {
    return FakeAnswer{
        404,
        R"({"kind":"Status","reason":"NotFound","message":"pods \"x\" not found","code":404})"};
  });
  auto client = NewClient();
  auto body = client->Get("/api/v1/namespaces/d/pods/x?y=1");
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(HttpCodeOf(body.status()), 404);
  EXPECT_EQ(ReasonOf(body.status()), "NotFound");
  EXPECT_EQ(body.status().message(), "GET " + api_.url() +
                                         "/prefix/api/v1/namespaces/d/pods/x: 404 Not Found: "
                                         "pods \"x\" not found");
}

TEST_F(RestClientTest, PostAndReviewPoster) {
  api_.SetHandler([](const FakeRequest& r) {
    return FakeAnswer{201, R"({"echo":)" + r.body + "}"};
  });
  auto client = NewClient();
  auto poster = client->ReviewPoster();
  auto body = poster("/apis/authentication.k8s.io/v1/tokenreviews", R"({"spec":{}})");
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body, R"({"echo":{"spec":{}}})");
  auto requests = api_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].headers["content-type"], "application/json");
  EXPECT_EQ(requests[0].target, "/prefix/apis/authentication.k8s.io/v1/tokenreviews");
}

TEST_F(RestClientTest, ReviewsBypassTheClientRateLimit) {
  api_.SetHandler([](const FakeRequest&) { return FakeAnswer{201, "{}"}; });
  ClientConfig config;
  config.server = api_.url();
  RestClientOptions options;
  options.qps = 0.5;
  options.burst = 1;
  auto client = RestClient::New(config, options);
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)->Get("/api").ok());  // the only token for 2 s
  auto poster = (*client)->ReviewPoster();
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(poster("/apis/x", "{}").ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));
}

TEST_F(RestClientTest, WatchSplitsLines) {
  auto client = NewClient();
  std::vector<std::string> lines;
  std::thread feeder([&] {
    ASSERT_TRUE(api_.WaitForWatches(1));
    api_.Send(R"({"type":"ADDED"})");
    api_.Send(R"({"type":"MODIFIED"})");
    api_.EndWatch();
  });
  absl::Status st = client->Watch("/api/v1/pods?watch=true", [&](std::string_view line) {
    lines.emplace_back(line);
    return true;
  });
  feeder.join();
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_THAT(lines, ElementsAre(R"({"type":"ADDED"})", R"({"type":"MODIFIED"})"));
}

TEST_F(RestClientTest, WatchErrorAnswerAndCancel) {
  api_.QueueWatchAnswer(FakeAnswer{410, R"({"reason":"Expired","code":410,"message":"too old"})"});
  auto client = NewClient();
  absl::Status gone =
      client->Watch("/api/v1/pods?watch=true", [](std::string_view) { return true; });
  EXPECT_EQ(HttpCodeOf(gone), 410);
  EXPECT_EQ(ReasonOf(gone), "Expired");

  http::CancelToken cancel;
  std::thread canceller([&] {
    ASSERT_TRUE(api_.WaitForWatches(1));
    cancel.Cancel();
  });
  auto start = std::chrono::steady_clock::now();
  absl::Status st = client->Watch(
      "/api/v1/pods?watch=true", [](std::string_view) { return true; }, &cancel);
  canceller.join();
  EXPECT_EQ(st.code(), absl::StatusCode::kCancelled) << st;
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1500));
}

TEST_F(RestClientTest, RotatedTokenFileIsSent) {
  std::string dir = testsupport::MakeTempDir("rest-token");
  std::string path = dir + "/token";
  testsupport::WriteFileText(path, "first\n");
  api_.SetHandler([](const FakeRequest&) { return FakeAnswer{200, "{}"}; });
  ClientConfig config;
  config.token_file = path;
  auto client = NewClient(config);
  ASSERT_TRUE(client->Get("/a").ok());
  testsupport::WriteFileText(path, "second-token\n");  // a different size
  ASSERT_TRUE(client->Get("/b").ok());
  auto requests = api_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].headers["authorization"], "Bearer first");
  EXPECT_EQ(requests[1].headers["authorization"], "Bearer second-token");
}

TEST(RestClientNewTest, BadServerAndTls) {
  ClientConfig config;
  config.server = "ftp://x";
  EXPECT_THAT(RestClient::New(config).status().message(), HasSubstr("http or https"));
  config.server = "https://x";
  config.ca_pem = "not a certificate";
  EXPECT_THAT(RestClient::New(config).status().message(), HasSubstr("CA data"));
  config.ca_pem.clear();
  config.cert_pem = "x";
  EXPECT_THAT(RestClient::New(config).status().message(), HasSubstr("needs a key"));
}

TEST(RestClientNewTest, ConnectionRefusedNamesTheUrl) {
  int port = testsupport::FreePort();
  ClientConfig config;
  config.server = "http://127.0.0.1:" + std::to_string(port);
  auto client = RestClient::New(config);
  ASSERT_TRUE(client.ok());
  auto body = (*client)->Get("/api/v1/pods?limit=1");
  EXPECT_EQ(body.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(body.status().message(),
              HasSubstr("GET http://127.0.0.1:" + std::to_string(port) + "/api/v1/pods: "));
  EXPECT_EQ(HttpCodeOf(body.status()), 0);
}

}  // namespace
}  // namespace kubeclient
