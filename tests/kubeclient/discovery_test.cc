#include "adapter/kubeclient/discovery.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "tests/kubeclient/fake_api.h"

namespace kubeclient {
namespace {

using kubetest::FakeAnswer;
using kubetest::FakeApi;
using kubetest::FakeRequest;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kCore[] = R"({"kind":"APIResourceList","groupVersion":"v1","resources":[
  {"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","verbs":["get","list"]},
  {"name":"pods/status","singularName":"","namespaced":true,"kind":"Pod"},
  {"name":"nodes","singularName":"node","namespaced":false,"kind":"Node"},
  {"name":"events","singularName":"","namespaced":true,"kind":"Event"}]})";

constexpr char kGroups[] = R"({"kind":"APIGroupList","groups":[
  {"name":"apps","versions":[{"groupVersion":"apps/v1","version":"v1"}],
   "preferredVersion":{"groupVersion":"apps/v1","version":"v1"}},
  {"name":"events.k8s.io","versions":[{"groupVersion":"events.k8s.io/v1","version":"v1"}]},
  {"name":"example.com","versions":[{"groupVersion":"example.com/v1beta1","version":"v1beta1"},
                                    {"groupVersion":"example.com/v1alpha1","version":"v1alpha1"}],
   "preferredVersion":{"groupVersion":"example.com/v1beta1","version":"v1beta1"}},
  {"name":"metrics.k8s.io","preferredVersion":{"groupVersion":"metrics.k8s.io/v1beta1"}}]})";

constexpr char kApps[] = R"({"groupVersion":"apps/v1","resources":[
  {"name":"deployments","singularName":"deployment","namespaced":true,"kind":"Deployment"},
  {"name":"deployments/scale","singularName":"","namespaced":true,"kind":"Scale"}]})";

constexpr char kEvents[] = R"({"groupVersion":"events.k8s.io/v1","resources":[
  {"name":"events","singularName":"event","namespaced":true,"kind":"Event"}]})";

constexpr char kCrd[] = R"({"groupVersion":"example.com/v1beta1","resources":[
  {"name":"widgets","singularName":"widget","namespaced":true,"kind":"Widget"},
  {"name":"gadgets","singularName":"gadget","namespaced":false,"kind":"Gadget"}]})";

FakeAnswer Serve(const FakeRequest& r) {
  if (r.target == "/api/v1") return {200, kCore};
  if (r.target == "/apis") return {200, kGroups};
  if (r.target == "/apis/apps/v1") return {200, kApps};
  if (r.target == "/apis/events.k8s.io/v1") return {200, kEvents};
  if (r.target == "/apis/example.com/v1beta1") return {200, kCrd};
  return {503, R"({"message":"service unavailable"})"};
}

std::unique_ptr<RestClient> Client(const FakeApi& api) {
  ClientConfig config;
  config.server = api.url();
  RestClientOptions options;
  options.qps = 0;
  auto client = RestClient::New(config, options);
  EXPECT_TRUE(client.ok());
  return std::move(*client);
}

std::vector<std::string> Strings(const std::vector<k8s::ResourceInfo>& infos) {
  std::vector<std::string> out;
  for (const auto& i : infos) {
    out.push_back(i.group_resource.String() + " " + i.version + " " + i.singular + " " + i.kind +
                  (i.namespaced ? " ns" : " cluster"));
  }
  return out;
}

TEST(DiscoveryTest, ReadsCoreAndPreferredGroupVersions) {
  FakeApi api;
  api.SetHandler(Serve);
  auto client = Client(api);
  std::vector<std::string> warnings;
  auto resources = DiscoverResources(client.get(), &warnings);
  ASSERT_TRUE(resources.ok()) << resources.status();
  EXPECT_THAT(
      Strings(*resources),
      ElementsAre("pods v1 pod Pod ns", "nodes v1 node Node cluster", "events v1 event Event ns",
                  "deployments.apps v1 deployment Deployment ns",
                  "events.events.k8s.io v1 event Event ns",
                  "widgets.example.com v1beta1 widget Widget ns",
                  "gadgets.example.com v1beta1 gadget Gadget cluster"));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("metrics.k8s.io/v1beta1"));
  EXPECT_THAT(warnings[0], HasSubstr("503"));
}

TEST(DiscoveryTest, CoreFailureIsAnError) {
  FakeApi api;
  api.SetHandler([](const FakeRequest&) { return FakeAnswer{403, R"({"message":"denied"})"}; });
  auto client = Client(api);
  auto resources = DiscoverResources(client.get());
  EXPECT_FALSE(resources.ok());
  EXPECT_THAT(resources.status().message(), HasSubstr("/api/v1: 403"));
}

TEST(DiscoveryTest, ParseErrors) {
  EXPECT_FALSE(ParseApiResourceList("[").ok());
  EXPECT_FALSE(ParseApiResourceList("{}").ok());
  EXPECT_FALSE(ParseApiResourceList(R"({"groupVersion":"v1","resources":5})").ok());
  EXPECT_FALSE(ParseApiGroupList(R"({"groups":{}})").ok());
  auto none = ParseApiGroupList("{}");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(DiscoveryMapperTest, FindsDiscoveredResourcesAndFallsBack) {
  FakeApi api;
  api.SetHandler(Serve);
  auto client = Client(api);
  DiscoveryResourceMapper mapper(client.get());
  // Before discovery: the built-in resources only.
  EXPECT_FALSE(mapper.Find("widget", "").has_value());
  ASSERT_TRUE(mapper.Find("deployment", "").has_value());
  ASSERT_TRUE(mapper.Refresh().ok());

  auto widget = mapper.Find("Widget", "");
  ASSERT_TRUE(widget.has_value());
  EXPECT_EQ(widget->group_resource.String(), "widgets.example.com");
  EXPECT_EQ(widget->ApiVersion(), "example.com/v1beta1");
  EXPECT_TRUE(mapper.Find("widgets.example.com", "").has_value());
  EXPECT_TRUE(mapper.Find("gadget", "EXAMPLE.com").has_value());
  EXPECT_FALSE(mapper.Find("widgets.example.com", "apps").has_value());
  // Core first when no group is named.
  auto events = mapper.Find("events", "");
  ASSERT_TRUE(events.has_value());
  EXPECT_EQ(events->group_resource.group, "");
  auto new_events = mapper.Find("event", "events.k8s.io");
  ASSERT_TRUE(new_events.has_value());
  EXPECT_EQ(new_events->group_resource.group, "events.k8s.io");
  auto deploy = mapper.Find("deployment.apps", "");
  ASSERT_TRUE(deploy.has_value());
  EXPECT_EQ(deploy->kind, "Deployment");
  // Not discovered (not served by this fake) but built in: the fallback answers.
  auto cronjob = mapper.Find("cronjob", "");
  ASSERT_TRUE(cronjob.has_value());
  EXPECT_EQ(cronjob->group_resource.String(), "cronjobs.batch");
  EXPECT_FALSE(mapper.Find("nothing", "").has_value());

  std::vector<k8s::ResourceInfo> all = mapper.All();
  int widgets = 0, pods = 0, cronjobs = 0;
  for (const auto& i : all) {
    widgets += i.group_resource.String() == "widgets.example.com";
    pods += i.group_resource.String() == "pods";
    cronjobs += i.group_resource.String() == "cronjobs.batch";
  }
  EXPECT_EQ(widgets, 1);
  EXPECT_EQ(pods, 1);  // not repeated by the fallback
  EXPECT_EQ(cronjobs, 1);
}

TEST(DiscoveryMapperTest, RefreshSwapsAndKeepsTheOldSetOnFailure) {
  std::atomic<int> round{0};
  DiscoveryResourceMapper mapper([&]() -> absl::StatusOr<std::vector<k8s::ResourceInfo>> {
    int r = round++;
    if (r == 1) return absl::UnavailableError("down");
    k8s::ResourceInfo info;
    info.group_resource = {"example.com", r == 0 ? "widgets" : "gizmos"};
    info.singular = r == 0 ? "widget" : "gizmo";
    info.kind = r == 0 ? "Widget" : "Gizmo";
    info.version = "v1";
    return std::vector<k8s::ResourceInfo>{info};
  });
  ASSERT_TRUE(mapper.Refresh().ok());
  EXPECT_TRUE(mapper.Find("widget", "").has_value());
  EXPECT_FALSE(mapper.Refresh().ok());
  EXPECT_TRUE(mapper.Find("widget", "").has_value());
  ASSERT_TRUE(mapper.Refresh().ok());
  EXPECT_FALSE(mapper.Find("widget", "").has_value());  // the CRD was removed
  EXPECT_TRUE(mapper.Find("gizmo", "").has_value());
}

TEST(DiscoveryMapperTest, PeriodicRefresh) {
  std::atomic<int> calls{0};
  DiscoveryResourceMapper mapper([&]() -> absl::StatusOr<std::vector<k8s::ResourceInfo>> {
    ++calls;
    return std::vector<k8s::ResourceInfo>{};
  });
  mapper.StartRefreshing(std::chrono::milliseconds(10));
  EXPECT_TRUE(kubetest::Eventually([&] { return calls.load() >= 3; }));
  mapper.Stop();
  int after = calls.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(calls.load(), after);
}

}  // namespace
}  // namespace kubeclient
