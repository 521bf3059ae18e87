#include "adapter/kubeclient/informer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tests/kubeclient/fake_api.h"

namespace kubeclient {
namespace {

using kubetest::Eventually;
using kubetest::FakeAnswer;
using kubetest::FakeApi;
using kubetest::FakeRequest;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string PodJson(const std::string& name, const std::string& rv,
                    const std::string& label = "x") {
  return R"({"metadata":{"name":")" + name + R"(","namespace":"default","resourceVersion":")" + rv +
         R"(","labels":{"app":")" + label + R"("}}})";
}

std::string ListJson(const std::string& rv, const std::vector<std::string>& items,
                     const std::string& cont = "") {
  std::string out =
      R"({"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":")" + rv + R"(")";
  if (!cont.empty()) out += R"(,"continue":")" + cont + R"(")";
  out += R"(},"items":[)";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + items[i];
  return out + "]}";
}

std::string EventJson(const std::string& type, const std::string& object) {
  return R"({"type":")" + type + R"(","object":)" + object + "}";
}

std::string BookmarkJson(const std::string& rv) {
  return EventJson(
      "BOOKMARK",
      R"({"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":")" + rv + R"("}})");
}

std::string GoneEventJson() {
  return EventJson("ERROR",
                   R"({"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old )"
                   R"j(resource version: 10 (30)","reason":"Expired","code":410})j");
}

// Names of the objects in the store, in key order.
std::vector<std::string> Names(const ObjectStore& store) {
  std::vector<std::string> out;
  for (const ObjectPtr& o : store.List()) out.push_back(o->meta.name);
  return out;
}

class InformerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ClientConfig config;
    config.server = api_.url();
    RestClientOptions options;
    options.qps = 0;
    options.timeout = std::chrono::milliseconds(2000);
    auto client = RestClient::New(config, options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
    options_.backoff_initial = std::chrono::milliseconds(10);
    options_.backoff_max = std::chrono::milliseconds(40);
    options_.random = [] { return 0.0; };
    options_.sleep = [this](std::chrono::milliseconds d) {
      std::lock_guard<std::mutex> lock(mu_);
      sleeps_.push_back(d);
    };
    SetList(ListJson("10", {PodJson("a", "5"), PodJson("b", "6")}));
  }

  void SetList(std::string body) {
    api_.SetHandler([body](const FakeRequest& r) {
      if (r.target.rfind("/api/v1/pods", 0) == 0) return FakeAnswer{200, body};
      return FakeAnswer{404, R"({"kind":"Status","code":404})"};
    });
  }

  std::unique_ptr<Informer> NewInformer() {
    return std::make_unique<Informer>(client_.get(), PodsResource(), store_, options_);
  }

  std::vector<std::chrono::milliseconds> Sleeps() {
    std::lock_guard<std::mutex> lock(mu_);
    return sleeps_;
  }

  FakeApi api_;
  std::unique_ptr<RestClient> client_;
  std::shared_ptr<MemoryStore> store_ = std::make_shared<MemoryStore>();
  InformerOptions options_;
  std::mutex mu_;
  std::vector<std::chrono::milliseconds> sleeps_;
};

TEST_F(InformerTest, ListThenWatchAppliesEvents) {
  auto informer = NewInformer();
  informer->Start();
  ASSERT_TRUE(api_.WaitForWatches(1));
  EXPECT_TRUE(informer->HasSynced());
  EXPECT_THAT(Names(*store_), ElementsAre("a", "b"));
  EXPECT_EQ(store_->Get("default", "a")->kind, "Pod");  // filled in for list items
  std::vector<std::string> targets = api_.WatchTargets();
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_THAT(targets[0], HasSubstr("/api/v1/pods?"));
  EXPECT_THAT(targets[0], HasSubstr("resourceVersion=10"));
  EXPECT_THAT(targets[0], HasSubstr("allowWatchBookmarks=true"));
  EXPECT_THAT(targets[0], HasSubstr("timeoutSeconds=300"));  // random() == 0

  api_.Send(EventJson("ADDED", PodJson("c", "11")));
  api_.Send(EventJson("MODIFIED", PodJson("a", "12", "y")));
  api_.Send(EventJson("DELETED", PodJson("b", "13")));
  ASSERT_TRUE(Eventually([&] { return informer->LastResourceVersion() == "13"; }));
  EXPECT_THAT(Names(*store_), ElementsAre("a", "c"));
  EXPECT_EQ(store_->Get("default", "a")->meta.labels.at("app"), "y");
  InformerStats s = informer->stats();
  EXPECT_EQ(s.lists, 1u);
  EXPECT_EQ(s.watches, 1u);
  EXPECT_EQ(s.events, 3u);
  EXPECT_EQ(s.errors, 0u);
  EXPECT_EQ(s.relists, 0u);
}

TEST_F(InformerTest, ListFollowsContinueTokens) {
  api_.SetHandler([](const FakeRequest& r) {
    if (r.target.find("continue=page2") != std::string::npos) {
      return FakeAnswer{200, ListJson("20", {PodJson("b", "6")})};
    }
    return FakeAnswer{200, ListJson("19", {PodJson("a", "5")}, "page2")};
  });
  auto informer = NewInformer();
  informer->Start();
  ASSERT_TRUE(api_.WaitForWatches(1));
  EXPECT_THAT(Names(*store_), ElementsAre("a", "b"));
  EXPECT_THAT(api_.WatchTargets()[0], HasSubstr("resourceVersion=20"));
  EXPECT_THAT(api_.requests()[0].target, HasSubstr("limit=500"));
  EXPECT_EQ(informer->stats().lists, 1u);
}

TEST_F(InformerTest, BookmarkMovesResourceVersionOnly) {
  auto informer = NewInformer();
  informer->Start();
  ASSERT_TRUE(api_.WaitForWatches(1));
  std::atomic<int> changes{0};
  int id = store_->AddHandler([&](EventType, const ObjectPtr&, const ObjectPtr&) { ++changes; });
  changes = 0;  // the replay of a and b
  api_.Send(BookmarkJson("42"));
  ASSERT_TRUE(Eventually([&] { return informer->LastResourceVersion() == "42"; }));
  EXPECT_EQ(changes.load(), 0);
  EXPECT_THAT(Names(*store_), ElementsAre("a", "b"));
  // The next watch starts from the bookmark.
  api_.EndWatch();
  ASSERT_TRUE(api_.WaitForWatches(2));
  EXPECT_THAT(api_.WatchTargets()[1], HasSubstr("resourceVersion=42"));
  EXPECT_EQ(informer->stats().errors, 0u);
  store_->RemoveHandler(id);
}

TEST_F(InformerTest, ExpiredEventRelistsWithDiffs) {
  auto informer = NewInformer();
  informer->Start();
  ASSERT_TRUE(api_.WaitForWatches(1));
  std::mutex mu;
  std::vector<std::string> seen;
  int id = store_->AddHandler([&](EventType type, const ObjectPtr& old, const ObjectPtr& now) {
    std::lock_guard<std::mutex> lock(mu);
    const char* t = type == EventType::kAdded      ? "add "
                    : type == EventType::kModified ? "mod "
                                                   : "del ";
    seen.push_back(t + (now ? now->meta.name : old->meta.name));
  });
  {
    std::lock_guard<std::mutex> lock(mu);
    seen.clear();
  }
  // While the watch was down, a was deleted, b changed and c created.
  SetList(ListJson("30", {PodJson("b", "25"), PodJson("c", "26")}));
  api_.Send(GoneEventJson());
  ASSERT_TRUE(api_.WaitForWatches(2));
  EXPECT_THAT(Names(*store_), ElementsAre("b", "c"));
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_THAT(seen, ElementsAre("del a", "mod b", "add c"));
  }
  EXPECT_THAT(api_.WatchTargets()[1], HasSubstr("resourceVersion=30"));
  InformerStats s = informer->stats();
  EXPECT_EQ(s.lists, 2u);
  EXPECT_EQ(s.relists, 1u);
  EXPECT_EQ(s.errors, 0u);
  EXPECT_TRUE(Sleeps().empty());  // a relist after 410 does not back off
  store_->RemoveHandler(id);
}

TEST_F(InformerTest, HttpGoneOnWatchRelists) {
  api_.QueueWatchAnswer(FakeAnswer{
      410, R"({"kind":"Status","status":"Failure","reason":"Gone","code":410,"message":"gone"})"});
  auto informer = NewInformer();
  informer->Start();
  ASSERT_TRUE(api_.WaitForWatches(1));  // the stream after the relist
  InformerStats s = informer->stats();
  EXPECT_EQ(s.lists, 2u);
  EXPECT_EQ(s.relists, 1u);
}

TEST_F(InformerTest, DroppedConnectionResumesFromLastVersion) {
  auto informer = NewInformer();
  informer->Start();
  ASSERT_TRUE(api_.WaitForWatches(1));
  api_.Send(EventJson("ADDED", PodJson("c", "11")));
  ASSERT_TRUE(Eventually([&] { return informer->LastResourceVersion() == "11"; }));
  api_.DropWatch();
  ASSERT_TRUE(api_.WaitForWatches(2));
  EXPECT_THAT(api_.WatchTargets()[1], HasSubstr("resourceVersion=11"));
  api_.Send(EventJson("ADDED", PodJson("d", "12")));
  ASSERT_TRUE(Eventually([&] { return store_->Get("default", "d") != nullptr; }));
  InformerStats s = informer->stats();
  EXPECT_EQ(s.lists, 1u);  // no relist
  EXPECT_EQ(s.errors, 1u);
  EXPECT_THAT(Sleeps(), ElementsAre(std::chrono::milliseconds(10)));
}

TEST_F(InformerTest, CleanEndRewatchesWithoutBackoff) {
  auto informer = NewInformer();
  informer->Start();
  ASSERT_TRUE(api_.WaitForWatches(1));
  api_.Send(EventJson("ADDED", PodJson("c", "11")));
  ASSERT_TRUE(Eventually([&] { return informer->LastResourceVersion() == "11"; }));
  api_.EndWatch();
  ASSERT_TRUE(api_.WaitForWatches(2));
  EXPECT_THAT(api_.WatchTargets()[1], HasSubstr("resourceVersion=11"));
  EXPECT_TRUE(Sleeps().empty());
  EXPECT_EQ(informer->stats().errors, 0u);
}

TEST_F(InformerTest, ErrorsBackOffExponentiallyThenRelist) {
  options_.relist_after_failures = 4;
  for (int i = 0; i < 4; ++i) {
    api_.QueueWatchAnswer(FakeAnswer{500, R"({"kind":"Status","code":500,"message":"etcd down"})"});
  }
  std::vector<std::string> logs;
  std::mutex log_mu;
  options_.log = [&](std::string_view line) {
    std::lock_guard<std::mutex> lock(log_mu);
    logs.emplace_back(line);
  };
  auto informer = NewInformer();
  informer->Start();
  ASSERT_TRUE(api_.WaitForWatches(1));
  using ms = std::chrono::milliseconds;
  // 10, 20, 40, then capped at 40 for the relist.
  EXPECT_THAT(Sleeps(), ElementsAre(ms(10), ms(20), ms(40), ms(40)));
  InformerStats s = informer->stats();
  EXPECT_EQ(s.errors, 4u);
  EXPECT_EQ(s.lists, 2u);
  EXPECT_EQ(s.relists, 1u);
  informer->Stop();
  std::lock_guard<std::mutex> lock(log_mu);
  ASSERT_FALSE(logs.empty());
  EXPECT_THAT(logs[0], HasSubstr("pods: watch: GET " + api_.url() + "/api/v1/pods: 500"));
  EXPECT_THAT(logs[0], HasSubstr("etcd down"));
}

TEST_F(InformerTest, JitterStretchesTheBackoff) {
  options_.random = [] { return 0.5; };
  api_.QueueWatchAnswer(FakeAnswer{503, "{}"});
  auto informer = NewInformer();
  informer->Start();
  ASSERT_TRUE(api_.WaitForWatches(1));
  EXPECT_THAT(Sleeps(), ElementsAre(std::chrono::milliseconds(15)));
  // timeoutSeconds spreads over [300, 600).
  EXPECT_THAT(api_.WatchTargets().back(), HasSubstr("timeoutSeconds=450"));
}

TEST_F(InformerTest, FailedListBacksOffAndRetries) {
  std::atomic<int> calls{0};
  api_.SetHandler([&](const FakeRequest&) {
    if (calls++ == 0) return FakeAnswer{500, "{}"};
    return FakeAnswer{200, ListJson("10", {PodJson("a", "5")})};
  });
  auto informer = NewInformer();
  informer->Start();
  ASSERT_TRUE(api_.WaitForWatches(1));
  EXPECT_TRUE(informer->HasSynced());
  EXPECT_THAT(Sleeps(), ElementsAre(std::chrono::milliseconds(10)));
  EXPECT_EQ(informer->stats().relists, 0u);
  EXPECT_EQ(informer->stats().errors, 1u);
}

TEST_F(InformerTest, StopInterruptsABlockedWatch) {
  options_.sleep = nullptr;
  auto informer = NewInformer();
  informer->Start();
  ASSERT_TRUE(api_.WaitForWatches(1));
  auto start = std::chrono::steady_clock::now();
  informer->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
  EXPECT_EQ(informer->stats().watches, 1u);
}

TEST_F(InformerTest, NamespaceAndSelectorsGoIntoTheQuery) {
  options_.namespace_ = "kube-system";
  options_.label_selector = "app=x";
  options_.field_selector = "spec.nodeName=n1";
  api_.SetHandler([](const FakeRequest&) { return FakeAnswer{200, ListJson("10", {})}; });
  auto informer = NewInformer();
  informer->Start();
  ASSERT_TRUE(api_.WaitForWatches(1));
  std::string list = api_.requests()[0].target;
  EXPECT_THAT(list, HasSubstr("/api/v1/namespaces/kube-system/pods?"));
  EXPECT_THAT(list, HasSubstr("labelSelector=app%3Dx"));
  EXPECT_THAT(list, HasSubstr("fieldSelector=spec.nodeName%3Dn1"));
  EXPECT_THAT(api_.WatchTargets()[0], HasSubstr("labelSelector=app%3Dx"));
}

TEST(SharedInformersTest, OneInformerPerTypeAndWaitForSync) {
  FakeApi api;
  api.SetHandler([](const FakeRequest& r) {
    if (r.target.rfind("/api/v1/pods", 0) == 0) {
      return FakeAnswer{200, ListJson("10", {PodJson("a", "5")})};
    }
    if (r.target.rfind("/api/v1/nodes", 0) == 0) {
      return FakeAnswer{
          200, R"({"metadata":{"resourceVersion":"11"},"items":[{"metadata":{"name":"n1"}}]})"};
    }
    return FakeAnswer{404, "{}"};
  });
  ClientConfig config;
  config.server = api.url();
  auto client = RestClient::New(config);
  ASSERT_TRUE(client.ok()) << client.status();
  SharedInformers informers(client->get());
  std::shared_ptr<ObjectStore> pods = informers.Store(PodsResource());
  std::shared_ptr<ObjectStore> again = informers.Store(PodsResource());
  EXPECT_EQ(pods, again);
  std::shared_ptr<ObjectStore> nodes = informers.Store(NodesResource());
  EXPECT_NE(pods, nodes);
  ASSERT_TRUE(informers.WaitForSync(std::chrono::seconds(2)));
  EXPECT_THAT(Names(*pods), ElementsAre("a"));
  ASSERT_NE(nodes->Get("", "n1"), nullptr);
  EXPECT_EQ(nodes->Get("", "n1")->kind, "Node");
  ASSERT_TRUE(api.WaitForWatches(2));
  EXPECT_EQ(informers.Stats().size(), 2u);
  informers.Stop();
}

TEST(SharedInformersTest, WaitForSyncTimesOut) {
  FakeApi api;
  api.SetHandler([](const FakeRequest&) { return FakeAnswer{403, R"({"message":"no"})"}; });
  ClientConfig config;
  config.server = api.url();
  auto client = RestClient::New(config);
  ASSERT_TRUE(client.ok());
  SharedInformers informers(client->get());
  informers.Store(PodsResource());
  EXPECT_FALSE(informers.WaitForSync(std::chrono::milliseconds(100)));
  informers.Stop();
}

}  // namespace
}  // namespace kubeclient
