// The Kubernetes client end to end against tests/fake_apiserver/fake_apiserver.py: its generated
// kubeconfig (client certificate data over HTTPS), informers across a compaction and dropped
// watches, discovery with a custom resource, and a TokenReview. Skipped when python3 is missing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "adapter/kubeclient/config.h"
#include "adapter/kubeclient/discovery.h"
#include "adapter/kubeclient/informer.h"
#include "adapter/kubeclient/rest_client.h"
#include "tests/kubeclient/fake_api.h"
#include "tests/support/process.h"

namespace kubeclient {
namespace {

using kubetest::Eventually;
using ::testing::HasSubstr;

bool HavePython() {
  return testsupport::RunShell("(command -v python3 && command -v openssl) >/dev/null 2>&1", "/tmp")
             .exit_code == 0;
}

class FakeApiserverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!HavePython()) return;
    dir_ = new std::string(testsupport::MakeTempDir("fake-apiserver"));
    const std::string d = *dir_;
    const std::string script =
        testsupport::SourceRoot() + "/tests/fake_apiserver/fake_apiserver.py";
    process_ = new testsupport::ChildProcess(
        {"python3", script, "--cert-dir", d + "/certs", "--port-file", d + "/port",
         "--control-port-file", d + "/control", "--kubeconfig-out", d + "/kubeconfig", "--crd",
         "example.com/v1/widgets/Widget/true", "--bookmark-interval", "0.2", "--log",
         d + "/apiserver.log", "--die-with-parent"},
        d + "/stderr.log");
    bool ready = Eventually([&] { return !testsupport::ReadFileText(d + "/port").empty(); },
                            std::chrono::seconds(20));
    if (ready) control_port_ = std::stoi(testsupport::ReadFileText(d + "/control"));
  }

  static void TearDownTestSuite() {
    if (process_ != nullptr) {
      process_->Signal(SIGTERM);
      process_->Wait(std::chrono::seconds(5));
      delete process_;
      process_ = nullptr;
    }
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override {
    if (process_ == nullptr) GTEST_SKIP() << "python3 or openssl not available";
    ASSERT_GT(control_port_, 0) << testsupport::ReadFileText(*dir_ + "/stderr.log");
    auto config = LoadKubeconfig(*dir_ + "/kubeconfig");
    ASSERT_TRUE(config.ok()) << config.status();
    RestClientOptions options;
    options.qps = 0;
    auto client = RestClient::New(*config, options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }

  // A call on the fake's control API; returns the body, failing the test on a non-2xx answer.
  std::string Control(const std::string& method, const std::string& target,
                      const std::string& body = "") {
    testsupport::HttpResult r = testsupport::HttpRequestWithBody(control_port_, method, target,
                                                                 body, std::chrono::seconds(5));
    EXPECT_TRUE(r.status >= 200 && r.status < 300)
        << method << " " << target << ": " << r.status << " " << r.body;
    return r.body;
  }

  void CreatePod(const std::string& ns, const std::string& name) {
    Control("POST", "/fake/objects",
            R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")" + name +
                R"(","namespace":")" + ns + R"("}})");
  }

  void DeletePod(const std::string& ns, const std::string& name) {
    Control("DELETE", "/fake/objects?apiVersion=v1&kind=Pod&namespace=" + ns + "&name=" + name);
  }

  static std::string* dir_;
  static testsupport::ChildProcess* process_;
  static int control_port_;
  std::unique_ptr<RestClient> client_;
};

std::string* FakeApiserverTest::dir_ = nullptr;
testsupport::ChildProcess* FakeApiserverTest::process_ = nullptr;
int FakeApiserverTest::control_port_ = 0;

TEST_F(FakeApiserverTest, SharedInformerFollowsChanges) {
  CreatePod("ns-shared", "a");
  SharedInformers informers(client_.get());
  std::shared_ptr<ObjectStore> pods = informers.Store(PodsResource());
  ASSERT_TRUE(informers.WaitForSync(std::chrono::seconds(5)));
  ASSERT_NE(pods->Get("ns-shared", "a"), nullptr);
  EXPECT_EQ(pods->Get("ns-shared", "a")->kind, "Pod");
  CreatePod("ns-shared", "b");
  EXPECT_TRUE(Eventually([&] { return pods->Get("ns-shared", "b") != nullptr; }));
  DeletePod("ns-shared", "a");
  EXPECT_TRUE(Eventually([&] { return pods->Get("ns-shared", "a") == nullptr; }));
  informers.Stop();
}

TEST_F(FakeApiserverTest, RelistsAfterCompactionWhileDisconnected) {
  CreatePod("ns-compact", "a");
  CreatePod("ns-compact", "b");
  auto store = std::make_shared<MemoryStore>();
  InformerOptions options;
  options.namespace_ = "ns-compact";
  options.backoff_initial = std::chrono::milliseconds(400);
  options.random = [] { return 0.0; };
  Informer informer(client_.get(), PodsResource(), store, options);
  informer.Start();
  ASSERT_TRUE(Eventually([&] { return informer.HasSynced() && informer.stats().watches == 1; }));
  // The next watch fails, so the informer is away (backing off) while the cluster changes and
  // the history is compacted; it must come back with a relist.
  Control(
      "POST", "/fake/faults",
      R"([{"method":"GET","pathPrefix":"/api/v1/namespaces/ns-compact/pods","code":503,"count":1}])");
  Control("POST", "/fake/drop-watches");
  ASSERT_TRUE(Eventually([&] { return informer.stats().errors >= 1; }));
  DeletePod("ns-compact", "a");
  CreatePod("ns-compact", "c");
  Control("POST", "/fake/compact");
  ASSERT_TRUE(Eventually(
      [&] {
        return store->Get("ns-compact", "c") != nullptr && store->Get("ns-compact", "a") == nullptr;
      },
      std::chrono::seconds(5)));
  EXPECT_NE(store->Get("ns-compact", "b"), nullptr);
  EXPECT_GE(informer.stats().relists, 1u);
  informer.Stop();
}

TEST_F(FakeApiserverTest, DiscoveryFindsCustomResources) {
  std::vector<std::string> warnings;
  auto resources = DiscoverResources(client_.get(), &warnings);
  ASSERT_TRUE(resources.ok()) << resources.status();
  DiscoveryResourceMapper mapper(
      [&]() -> absl::StatusOr<std::vector<k8s::ResourceInfo>> { return *resources; });
  ASSERT_TRUE(mapper.Refresh().ok());
  auto widget = mapper.Find("widget", "");
  ASSERT_TRUE(widget.has_value());
  EXPECT_EQ(widget->ApiVersion(), "example.com/v1");
  EXPECT_TRUE(widget->namespaced);
  auto deployment = mapper.Find("Deployment", "");
  ASSERT_TRUE(deployment.has_value());
  EXPECT_EQ(deployment->group_resource.String(), "deployments.apps");
  auto node = mapper.Find("nodes", "");
  ASSERT_TRUE(node.has_value());
  EXPECT_FALSE(node->namespaced);
}

TEST_F(FakeApiserverTest, TokenReviewThroughTheReviewPoster) {
  auto post = client_->ReviewPoster();
  auto answer = post("/apis/authentication.k8s.io/v1/tokenreviews",
                     R"({"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview",)"
                     R"("spec":{"token":"adapter-token"}})");
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_THAT(*answer, HasSubstr(R"("authenticated":true)"));
  auto missing = client_->Get("/api/v1/namespaces/none/pods/nothing");
  EXPECT_EQ(HttpCodeOf(missing.status()), 404);
  EXPECT_EQ(ReasonOf(missing.status()), "NotFound");
}

}  // namespace
}  // namespace kubeclient
