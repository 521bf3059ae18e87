#include <memory>
#include <optional>
#include <set>
#include <string>

#include "adapter/k8s/resources.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace k8s {
namespace {

class K8sResourceMapperTest : public ::testing::Test {
 protected:
  // "<group>/<plural>" of what Find resolves, or "none".
  std::string Resolve(std::string_view resource, std::string_view group = "") {
    std::optional<ResourceInfo> info = mapper_->Find(resource, group);
    if (!info) return "none";
    return info->group_resource.group + "/" + info->group_resource.resource;
  }

  std::unique_ptr<ResourceMapper> mapper_ = NewBuiltinResourceMapper();
};

TEST(K8sGroupResourceTest, String) {
  EXPECT_EQ((GroupResource{"", "pods"}).String(), "pods");
  EXPECT_EQ((GroupResource{"apps", "deployments"}).String(), "deployments.apps");
  EXPECT_EQ((GroupResource{"networking.k8s.io", "ingresses"}).String(),
            "ingresses.networking.k8s.io");
  EXPECT_LT((GroupResource{"", "pods"}), (GroupResource{"apps", "deployments"}));
  EXPECT_EQ((GroupResource{"apps", "x"}), (GroupResource{"apps", "x"}));
}

TEST_F(K8sResourceMapperTest, PluralSingularAndKindInAnyCase) {
  for (std::string_view name : {"pods", "pod", "Pod", "PODS", "pOd"}) {
    EXPECT_EQ(Resolve(name), "/pods") << name;
  }
  for (std::string_view name : {"deployments", "deployment", "Deployment", "DEPLOYMENTS"}) {
    EXPECT_EQ(Resolve(name), "apps/deployments") << name;
  }
  EXPECT_EQ(Resolve("HorizontalPodAutoscaler"), "autoscaling/horizontalpodautoscalers");
  EXPECT_EQ(Resolve("endpoints"), "/endpoints");
  EXPECT_EQ(Resolve("Endpoints"), "/endpoints");
  EXPECT_EQ(Resolve("ingress"), "networking.k8s.io/ingresses");
  EXPECT_EQ(Resolve("storageclass"), "storage.k8s.io/storageclasses");
}

TEST_F(K8sResourceMapperTest, Details) {
  std::optional<ResourceInfo> pod = mapper_->Find("pod", "");
  ASSERT_TRUE(pod.has_value());
  EXPECT_EQ(pod->singular, "pod");
  EXPECT_EQ(pod->kind, "Pod");
  EXPECT_EQ(pod->version, "v1");
  EXPECT_TRUE(pod->namespaced);
  EXPECT_EQ(pod->ApiVersion(), "/v1");

  std::optional<ResourceInfo> deploy = mapper_->Find("deployments", "apps");
  ASSERT_TRUE(deploy.has_value());
  EXPECT_EQ(deploy->ApiVersion(), "apps/v1");
  EXPECT_EQ(deploy->group_resource.String(), "deployments.apps");

  std::optional<ResourceInfo> hpa = mapper_->Find("hpa-not-an-alias", "");
  EXPECT_FALSE(hpa.has_value());
  hpa = mapper_->Find("horizontalpodautoscalers", "autoscaling");
  ASSERT_TRUE(hpa.has_value());
  EXPECT_EQ(hpa->version, "v2");

  for (std::string_view cluster_scoped :
       {"nodes", "namespaces", "persistentvolumes", "storageclasses"}) {
    std::optional<ResourceInfo> info = mapper_->Find(cluster_scoped, "");
    ASSERT_TRUE(info.has_value()) << cluster_scoped;
    EXPECT_FALSE(info->namespaced) << cluster_scoped;
  }
  for (std::string_view namespaced :
       {"services", "configmaps", "jobs", "cronjobs", "poddisruptionbudgets", "endpointslices",
        "statefulsets", "daemonsets", "replicasets", "replicationcontrollers", "secrets",
        "serviceaccounts", "persistentvolumeclaims"}) {
    std::optional<ResourceInfo> info = mapper_->Find(namespaced, "");
    ASSERT_TRUE(info.has_value()) << namespaced;
    EXPECT_TRUE(info->namespaced) << namespaced;
  }
}

TEST_F(K8sResourceMapperTest, GroupsInTheName) {
  EXPECT_EQ(Resolve("deployments.apps"), "apps/deployments");
  EXPECT_EQ(Resolve("deployment.apps"), "apps/deployments");
  EXPECT_EQ(Resolve("Deployment.apps"), "apps/deployments");
  EXPECT_EQ(Resolve("ingresses.networking.k8s.io"), "networking.k8s.io/ingresses");
  EXPECT_EQ(Resolve("deployments.apps", "apps"), "apps/deployments");
  EXPECT_EQ(Resolve("deployments.apps", "batch"), "none");  // contradicting groups
  EXPECT_EQ(Resolve("deployments.batch"), "none");
  EXPECT_EQ(Resolve("pods."), "/pods");  // an empty group after the dot: any group
  EXPECT_EQ(Resolve(".apps"), "none");
  EXPECT_EQ(Resolve("events.events.k8s.io"), "events.k8s.io/events");
}

TEST_F(K8sResourceMapperTest, ExplicitGroup) {
  EXPECT_EQ(Resolve("jobs", "batch"), "batch/jobs");
  EXPECT_EQ(Resolve("jobs", "BATCH"), "batch/jobs");
  EXPECT_EQ(Resolve("jobs", "apps"), "none");
  EXPECT_EQ(Resolve("pods", "apps"), "none");
  EXPECT_EQ(Resolve("pods", "core"), "none");  // the core group is "", not "core"
}

TEST_F(K8sResourceMapperTest, AmbiguousNamesPreferCore) {
  EXPECT_EQ(Resolve("events"), "/events");
  EXPECT_EQ(Resolve("Event"), "/events");
  EXPECT_EQ(Resolve("events", "events.k8s.io"), "events.k8s.io/events");
}

TEST_F(K8sResourceMapperTest, Unknown) {
  EXPECT_EQ(Resolve(""), "none");
  EXPECT_EQ(Resolve("widgets"), "none");
  EXPECT_EQ(Resolve("po"), "none");  // short names are kubectl's, not the API's
  EXPECT_EQ(Resolve("podss"), "none");
}

TEST_F(K8sResourceMapperTest, AllListsEveryResourceOnce) {
  std::vector<ResourceInfo> all = mapper_->All();
  std::set<GroupResource> seen;
  for (const ResourceInfo& info : all) {
    EXPECT_TRUE(seen.insert(info.group_resource).second) << info.group_resource.String();
    // Every entry is reachable through all of its names in its own group.
    for (const std::string& name : {info.group_resource.resource, info.singular, info.kind}) {
      std::optional<ResourceInfo> found = mapper_->Find(name, info.group_resource.group);
      ASSERT_TRUE(found.has_value()) << name;
      EXPECT_EQ(found->group_resource, info.group_resource) << name;
    }
  }
  for (std::string_view expected : {"pods",
                                    "nodes",
                                    "namespaces",
                                    "services",
                                    "endpoints",
                                    "persistentvolumes",
                                    "persistentvolumeclaims",
                                    "configmaps",
                                    "secrets",
                                    "serviceaccounts",
                                    "replicationcontrollers",
                                    "deployments.apps",
                                    "statefulsets.apps",
                                    "daemonsets.apps",
                                    "replicasets.apps",
                                    "jobs.batch",
                                    "cronjobs.batch",
                                    "horizontalpodautoscalers.autoscaling",
                                    "ingresses.networking.k8s.io",
                                    "poddisruptionbudgets.policy",
                                    "endpointslices.discovery.k8s.io",
                                    "storageclasses.storage.k8s.io"}) {
    bool found = false;
    for (const GroupResource& gr : seen) found = found || gr.String() == expected;
    EXPECT_TRUE(found) << expected;
  }
}

}  // namespace
}  // namespace k8s
