#include "adapter/http/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/kubeclient/fake_api.h"

namespace http {
namespace {

using kubetest::FakeAnswer;
using kubetest::FakeApi;
using kubetest::FakeRequest;
using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ClientUrlTest, Parses) {
  auto u = ParseClientUrl("https://user:pw@Example.com:6443/api/v1/pods?limit=5#frag");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_TRUE(u->https);
  EXPECT_EQ(u->host, "Example.com");
  EXPECT_EQ(u->port, 6443);
  EXPECT_EQ(u->authority, "Example.com:6443");
  EXPECT_EQ(u->userinfo, "user:pw");
  EXPECT_EQ(u->target, "/api/v1/pods?limit=5");
  EXPECT_EQ(u->ForErrors(), "https://Example.com:6443/api/v1/pods");

  auto v6 = ParseClientUrl("http://[::1]:8080");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 8080);
  EXPECT_EQ(v6->target, "/");

  auto q = ParseClientUrl("https://h?x=1");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->port, 443);
  EXPECT_EQ(q->target, "/?x=1");

  EXPECT_THAT(ParseClientUrl("ftp://h").status().message(), HasSubstr("http or https"));
  EXPECT_THAT(ParseClientUrl("h:80").status().message(), HasSubstr("want"));
  EXPECT_THAT(ParseClientUrl("http://:80/").status().message(), HasSubstr("no host"));
  EXPECT_THAT(ParseClientUrl("http://h:99999/").status().message(), HasSubstr("invalid port"));
  EXPECT_THAT(ParseClientUrl("http://h:8x/").status().message(), HasSubstr("invalid port"));
  EXPECT_THAT(ParseClientUrl("http://::1/").status().message(), HasSubstr("brackets"));
  EXPECT_FALSE(ParseClientUrl("http://[::1/").ok());
}

std::unique_ptr<Client> NewClient(ClientOptions options = {}) {
  auto client = Client::New(std::move(options));
  EXPECT_TRUE(client.ok()) << client.status();
  return std::move(*client);
}

TEST(HttpClientTest, DoReturnsStatusHeadersAndBody) {
  FakeApi api;
  api.SetHandler([](const FakeRequest& r) {
    return FakeAnswer{r.method == "PUT" ? 404 : 200,
                      r.method + " " + r.body + " " + r.headers.at("x-a")};
  });
  ClientOptions options;
  options.headers = {{"X-A", "from-options"}};
  auto client = NewClient(options);
  ClientRequest request;
  request.method = "POST";
  request.url = api.url() + "/x?y=1";
  request.body = "payload";
  auto response = client->Do(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "POST payload from-options");
  EXPECT_EQ(response->Header("content-type"), "application/json");
  auto requests = api.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].target, "/x?y=1");
  EXPECT_EQ(requests[0].headers["user-agent"], "metrics-adapter");
  EXPECT_EQ(requests[0].headers["host"], "127.0.0.1:" + api.url().substr(api.url().rfind(':') + 1));

  request.method = "PUT";
  auto not_found = client->Do(request);
  ASSERT_TRUE(not_found.ok());
  EXPECT_EQ(not_found->status, 404);
}

TEST(HttpClientTest, TimeoutAndSizeLimit) {
  FakeApi api;
  api.SetHandler([](const FakeRequest& r) {
    if (r.target.rfind("/slow", 0) == 0) std::this_thread::sleep_for(milliseconds(400));
    return FakeAnswer{200, std::string(2000, 'x')};
  });
  ClientOptions options;
  options.max_response_bytes = 1000;
  auto client = NewClient(options);
  ClientRequest request;
  request.url = api.url() + "/slow?q=1";
  request.timeout = milliseconds(100);
  auto start = std::chrono::steady_clock::now();
  auto slow = client->Do(request);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(350));
  EXPECT_EQ(slow.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(slow.status().message(), "GET " + api.url() + "/slow: timeout after 100ms");

  request.url = api.url() + "/big";
  request.timeout = milliseconds(0);
  auto big = client->Do(request);
  EXPECT_EQ(big.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(big.status().message(), HasSubstr("exceeds 1000 bytes"));
}

TEST(HttpClientTest, StreamDeliversPiecesAndStops) {
  FakeApi api;
  auto client = NewClient();
  ClientRequest request;
  request.url = api.url() + "/w?watch=true";
  std::string received;
  std::thread feeder([&] {
    ASSERT_TRUE(api.WaitForWatches(1));
    api.Send("one");
    api.Send("two");
    api.Send("three");
  });
  auto response = client->Stream(request, [&](std::string_view piece) {
    received.append(piece);
    return received.find("two\n") == std::string::npos;
  });
  feeder.join();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_THAT(received, HasSubstr("one\ntwo\n"));
}

TEST(HttpClientTest, StreamIdleTimeoutAndDrop) {
  FakeApi api;
  ClientOptions options;
  options.idle_timeout = milliseconds(100);
  auto client = NewClient(options);
  ClientRequest request;
  request.url = api.url() + "/w?watch=true";
  auto idle = client->Stream(request, [](std::string_view) { return true; });
  EXPECT_EQ(idle.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(idle.status().message(), HasSubstr("no data for 100ms"));

  options.idle_timeout = milliseconds(0);
  auto client2 = NewClient(options);
  std::thread dropper([&] {
    ASSERT_TRUE(api.WaitForWatches(2));
    api.Send("x");
    api.DropWatch();
  });
  auto dropped = client2->Stream(request, [](std::string_view) { return true; });
  dropper.join();
  EXPECT_EQ(dropped.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(dropped.status().message(), HasSubstr("closed before the end"));
}

TEST(HttpClientTest, CancelInterruptsAndCancelledTokenFailsAtOnce) {
  FakeApi api;
  auto client = NewClient();
  ClientRequest request;
  request.url = api.url() + "/w?watch=true";
  CancelToken cancel;
  std::thread canceller([&] {
    ASSERT_TRUE(api.WaitForWatches(1));
    std::this_thread::sleep_for(milliseconds(20));
    cancel.Cancel();
  });
  auto start = std::chrono::steady_clock::now();
  auto r = client->Stream(
      request, [](std::string_view) { return true; }, &cancel);
  canceller.join();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));
  auto again = client->Do(request, &cancel);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(api.watch_count(), 1);
}

TEST(HttpClientTest, NonSuccessStreamBodyIsReturned) {
  FakeApi api;
  api.QueueWatchAnswer(FakeAnswer{500, "broken"});
  auto client = NewClient();
  ClientRequest request;
  request.url = api.url() + "/w?watch=true";
  int calls = 0;
  auto r = client->Stream(request, [&](std::string_view) {
    ++calls;
    return true;
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body, "broken");
  EXPECT_EQ(calls, 0);
}

TEST(HttpClientTest, BadTlsMaterialIsNamed) {
  ClientOptions options;
  options.ca_file = "/nonexistent/ca.pem";
  EXPECT_THAT(Client::New(options).status().message(), HasSubstr("/nonexistent/ca.pem"));
  options = {};
  options.cert_pem = "junk";
  options.key_pem = "junk";
  EXPECT_THAT(Client::New(options).status().message(), HasSubstr("client certificate data"));
}

}  // namespace
}  // namespace http
