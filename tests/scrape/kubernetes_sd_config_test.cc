// kubernetes_sd_configs: loading (fields, Prometheus' checks, FILE:LINE errors) and the scrape
// manager's use of a TargetProvider (subscriptions per pool, prompt re-sync on updates).
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scrape/config.h"
#include "scrape/discovery_provider.h"
#include "scrape/manager.h"
#include "tests/scrape/fake_target.h"
#include "tests/tsdb/test_util.h"
#include "tsdb/db.h"

namespace scrape {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace std::chrono_literals;
using scrape_test_support::FakeExporter;
using scrape_test_support::WaitFor;

absl::StatusOr<Config> LoadK8s(const std::string& yaml) {
  return LoadConfigString(yaml, "k8s.yml", "/etc/prom");
}

std::string K8sError(const std::string& yaml) {
  absl::StatusOr<Config> c = LoadK8s(yaml);
  EXPECT_FALSE(c.ok()) << yaml;
  return c.ok() ? "" : std::string(c.status().message());
}

TEST(KubernetesSDConfigTest, ParsesEveryField) {
  absl::StatusOr<Config> c = LoadK8s(R"y(scrape_configs:
- job_name: pods
  kubernetes_sd_configs:
  - role: endpoints
    namespaces:
      names: [a, b]
    selectors:
    - role: pod
      label: "app=web,tier notin (cache)"
      field: "spec.nodeName=n1,status.phase!=Failed"
    - role: service
      label: "!legacy"
    attach_metadata:
      node: true
  - role: node
    api_server: https://k8s.example:6443
    tls_config: {ca_file: ca.pem}
    bearer_token_file: token
  - role: pod
    kubeconfig_file: kube/config
  - role: service
    namespaces: {own_namespace: true}
  - role: endpointslice
)y");
  ASSERT_TRUE(c.ok()) << c.status();
  const std::vector<KubernetesSDConfig>& k = c->scrape_configs[0].kubernetes_sd_configs;
  ASSERT_EQ(k.size(), 5u);
  EXPECT_EQ(k[0].role, KubernetesRole::kEndpoints);
  EXPECT_EQ(k[0].line, 4);
  EXPECT_THAT(k[0].namespaces, ElementsAre("a", "b"));
  EXPECT_FALSE(k[0].own_namespace);
  EXPECT_TRUE(k[0].attach_node_metadata);
  ASSERT_EQ(k[0].selectors.size(), 2u);
  EXPECT_EQ(k[0].selectors[0].role, KubernetesRole::kPod);
  EXPECT_EQ(k[0].selectors[0].label, "app=web,tier notin (cache)");
  EXPECT_EQ(k[0].selectors[0].field, "spec.nodeName=n1,status.phase!=Failed");
  EXPECT_THAT(k[0].selectors[0].fields,
              ElementsAre(FieldRequirement{"spec.nodeName", true, "n1"},
                          FieldRequirement{"status.phase", false, "Failed"}));
  EXPECT_EQ(k[0].selectors[1].role, KubernetesRole::kService);
  EXPECT_EQ(k[0].selectors[1].label, "!legacy");
  EXPECT_TRUE(k[0].selectors[1].fields.empty());

  EXPECT_EQ(k[1].role, KubernetesRole::kNode);
  EXPECT_EQ(k[1].api_server, "https://k8s.example:6443");
  EXPECT_EQ(k[1].tls_config.ca_file, "/etc/prom/ca.pem");
  EXPECT_TRUE(k[1].has_authorization);
  EXPECT_EQ(k[1].authorization.type, "Bearer");
  EXPECT_EQ(k[1].authorization.credentials_file, "/etc/prom/token");

  EXPECT_EQ(k[2].kubeconfig_file, "/etc/prom/kube/config");
  EXPECT_TRUE(k[3].own_namespace);
  EXPECT_TRUE(k[3].namespaces.empty());
  EXPECT_EQ(k[4].role, KubernetesRole::kEndpointSlice);
  EXPECT_FALSE(k[4].attach_node_metadata);
  EXPECT_TRUE(k[4].follow_redirects);
}

TEST(KubernetesSDConfigTest, RoleNames) {
  EXPECT_EQ(KubernetesRoleName(KubernetesRole::kPod), "pod");
  EXPECT_EQ(KubernetesRoleName(KubernetesRole::kService), "service");
  EXPECT_EQ(KubernetesRoleName(KubernetesRole::kEndpoints), "endpoints");
  EXPECT_EQ(KubernetesRoleName(KubernetesRole::kEndpointSlice), "endpointslice");
  EXPECT_EQ(KubernetesRoleName(KubernetesRole::kNode), "node");
}

TEST(KubernetesSDConfigTest, StrictErrorsNameFileAndLine) {
  const std::string head = "scrape_configs:\n- job_name: j\n  kubernetes_sd_configs:\n";
  EXPECT_EQ(K8sError(head + "  - role: pods\n"),
            "k8s.yml:4: scrape config \"j\" kubernetes_sd_configs[0]: unknown Kubernetes SD role "
            "\"pods\"");
  EXPECT_EQ(K8sError(head + "  - role: pod\n    namespace: [a]\n"),
            "k8s.yml:5: scrape config \"j\" kubernetes_sd_configs[0]: unknown field \"namespace\"");
  EXPECT_EQ(K8sError(head + "  - api_server: https://a\n"),
            "k8s.yml:4: scrape config \"j\" kubernetes_sd_configs[0]: role missing (one of: pod, "
            "service, endpoints, endpointslice, node)");
  EXPECT_THAT(K8sError(head + "  - role: pod\n    namespaces: {names: [a], own: true}\n"),
              HasSubstr("k8s.yml:5: scrape config \"j\" kubernetes_sd_configs[0] namespaces: "
                        "unknown field \"own\""));
  EXPECT_THAT(K8sError(head + "  - role: pod\n    attach_metadata: {nodes: true}\n"),
              HasSubstr("k8s.yml:5: scrape config \"j\" kubernetes_sd_configs[0] "
                        "attach_metadata: unknown field \"nodes\""));
  EXPECT_THAT(K8sError(head + "  - role: pod\n    attach_metadata: {node: maybe}\n"),
              HasSubstr("node: \"maybe\" is not a boolean"));
  EXPECT_THAT(K8sError(head + "  - role: pod\n    selectors:\n    - label: a=b\n"),
              HasSubstr("k8s.yml:6: scrape config \"j\" kubernetes_sd_configs[0] selectors[0]: "
                        "role missing"));
  EXPECT_THAT(K8sError(head + "  - role: pod\n    selectors:\n    - role: pod\n      labels: a\n"),
              HasSubstr("k8s.yml:7: scrape config \"j\" kubernetes_sd_configs[0] selectors[0]: "
                        "unknown field \"labels\""));
  EXPECT_THAT(K8sError(head + "  - role: pod\n    selectors: {role: pod}\n"),
              HasSubstr("selectors must be a list"));
  EXPECT_THAT(K8sError(head + "  - 5\n"), HasSubstr("k8s.yml:4:"));
  EXPECT_THAT(K8sError("scrape_configs:\n- job_name: j\n  kubernetes_sd_configs: {role: pod}\n"),
              HasSubstr("kubernetes_sd_configs must be a list"));
}

TEST(KubernetesSDConfigTest, SelectorRolesAsPrometheusAllowsThem) {
  const std::string head = "scrape_configs:\n- job_name: j\n  kubernetes_sd_configs:\n";
  auto with = [&](const std::string& role, const std::string& selectors) {
    return LoadK8s(head + "  - role: " + role + "\n    selectors:\n" + selectors);
  };
  EXPECT_TRUE(with("pod", "    - role: pod\n    - role: node\n").ok());
  EXPECT_TRUE(
      with("endpoints", "    - role: pod\n    - role: service\n    - role: endpoints\n").ok());
  EXPECT_TRUE(
      with("endpointslice", "    - role: pod\n    - role: service\n    - role: endpointslice\n")
          .ok());
  EXPECT_TRUE(with("node", "    - role: node\n      label: kubernetes.io/os=linux\n").ok());
  EXPECT_TRUE(with("service", "    - role: service\n      field: metadata.name=a\n").ok());

  EXPECT_THAT(K8sError(head + "  - role: service\n    selectors:\n    - role: pod\n"),
              HasSubstr("k8s.yml:4: scrape config \"j\" kubernetes_sd_configs[0]: service role "
                        "supports only service selectors"));
  EXPECT_THAT(K8sError(head + "  - role: endpoints\n    selectors:\n    - role: node\n"),
              HasSubstr("endpoints role supports only pod, service, endpoints selectors"));
  EXPECT_THAT(K8sError(head + "  - role: pod\n    selectors:\n    - role: pod\n    - role: pod\n"),
              HasSubstr("duplicated selector role: pod"));
  EXPECT_THAT(K8sError(head + "  - role: pod\n    selectors:\n    - role: ingress\n"),
              HasSubstr("role \"ingress\" is not supported"));
}

TEST(KubernetesSDConfigTest, SelectorSyntax) {
  const std::string head =
      "scrape_configs:\n- job_name: j\n  kubernetes_sd_configs:\n  - role: pod\n    selectors:\n"
      "    - role: pod\n";
  for (const char* good : {"", "a", "!a", "a=b", "a==b", "a!=b", "a=", "a in (x, y)", "a notin (x)",
                           "app.kubernetes.io/name=web", "a>3", "a , b = c"}) {
    EXPECT_TRUE(LoadK8s(head + "      label: \"" + good + "\"\n").ok()) << good;
  }
  for (const char* bad :
       {"a b", "=b", "a=b c", "a in x", "a in (x", "-a=b", "a=-b", "a>x", "a/b/c=d"}) {
    EXPECT_THAT(K8sError(head + "      label: \"" + bad + "\"\n"),
                HasSubstr("k8s.yml:7: scrape config \"j\" kubernetes_sd_configs[0] selectors[0]: "
                          "label: unable to parse requirement"))
        << bad;
  }
  EXPECT_THAT(K8sError(head + "      label: " + std::string(64, 'a') + "\n"),
              HasSubstr("too long"));

  absl::StatusOr<Config> c = LoadK8s(head + "      field: 'metadata.name=a\\,b,x==1,,y!=\\\\'\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->scrape_configs[0].kubernetes_sd_configs[0].selectors[0].fields,
              ElementsAre(FieldRequirement{"metadata.name", true, "a,b"},
                          FieldRequirement{"x", true, "1"}, FieldRequirement{"y", false, "\\"}));
  EXPECT_THAT(K8sError(head + "      field: spec.nodeName\n"),
              HasSubstr("k8s.yml:7: scrape config \"j\" kubernetes_sd_configs[0] selectors[0]: "
                        "invalid field selector: 'spec.nodeName'; can't understand "
                        "'spec.nodeName'"));
  EXPECT_THAT(K8sError(head + "      field: 'a=\\x'\n"), HasSubstr("invalid escape sequence"));
}

TEST(KubernetesSDConfigTest, ConnectionChecksAsPrometheus) {
  const std::string head =
      "scrape_configs:\n- job_name: j\n  kubernetes_sd_configs:\n  - role: pod\n";
  EXPECT_THAT(K8sError(head + "    api_server: https://a\n    kubeconfig_file: k\n"),
              HasSubstr("cannot use 'kubeconfig_file' and 'api_server' simultaneously"));
  EXPECT_THAT(K8sError(head + "    kubeconfig_file: k\n    bearer_token: t\n"),
              HasSubstr("cannot use custom HTTP client configuration together with "
                        "'kubeconfig_file'"));
  EXPECT_THAT(K8sError(head + "    basic_auth: {username: u}\n"),
              HasSubstr("to use custom HTTP client configuration please provide the 'api_server' "
                        "URL explicitly"));
  EXPECT_THAT(K8sError(head + "    api_server: https://a\n    namespaces: {own_namespace: true}\n"),
              HasSubstr("cannot use 'api_server' and 'namespaces.own_namespace' simultaneously"));
  EXPECT_THAT(K8sError(head + "    kubeconfig_file: k\n    namespaces: {own_namespace: true}\n"),
              HasSubstr("cannot use 'kubeconfig_file' and 'namespaces.own_namespace' "
                        "simultaneously"));
  EXPECT_THAT(K8sError(head + "    api_server: not a url\n"), HasSubstr("is not a URL"));
  EXPECT_THAT(K8sError(head + "    api_server: https://a\n    bearer_token: a\n"
                              "    bearer_token_file: b\n"),
              HasSubstr("at most one of bearer_token & bearer_token_file must be configured"));
  EXPECT_THAT(K8sError(head + "    api_server: https://a\n    oauth2: {client_id: x}\n"),
              HasSubstr("oauth2 is not supported"));
  // Defaults written out do not count as custom settings.
  EXPECT_TRUE(LoadK8s(head + "    follow_redirects: true\n    enable_http2: true\n").ok());
  EXPECT_TRUE(LoadK8s(head + "    api_server: http://a:8080\n    follow_redirects: false\n").ok());
}

// A TargetProvider whose updates the test sends by hand.
class FakeProvider : public TargetProvider {
 public:
  class Sub : public TargetSubscription {
   public:
    Sub(FakeProvider* p, int id) : p_(p), id_(id) {}
    ~Sub() override {
      std::lock_guard lock(p_->mu_);
      p_->subs_.erase(id_);
      ++p_->unsubscribed_;
    }

   private:
    FakeProvider* p_;
    int id_;
  };

  absl::StatusOr<std::unique_ptr<TargetSubscription>> Subscribe(const KubernetesSDConfig& config,
                                                                UpdateFn on_update) override {
    std::lock_guard lock(mu_);
    if (config.role == KubernetesRole::kNode) {
      return absl::InvalidArgumentError("the fake serves no nodes");
    }
    const int id = next_++;
    subs_[id] = std::move(on_update);
    ++subscribed_;
    // The initial list comes from inside Subscribe, as the real provider sends it.
    subs_[id](initial_);
    return std::make_unique<Sub>(this, id);
  }

  // Sends groups to every live subscription.
  void Send(const std::vector<TargetGroup>& groups) {
    std::lock_guard lock(mu_);
    for (auto& [id, fn] : subs_) fn(groups);
  }

  int subscribed() {
    std::lock_guard lock(mu_);
    return subscribed_;
  }
  int unsubscribed() {
    std::lock_guard lock(mu_);
    return unsubscribed_;
  }
  size_t live() {
    std::lock_guard lock(mu_);
    return subs_.size();
  }

  std::vector<TargetGroup> initial_;

 private:
  std::mutex mu_;
  std::map<int, UpdateFn> subs_;
  int next_ = 1;
  int subscribed_ = 0;
  int unsubscribed_ = 0;
};

TargetGroup PodGroupAt(const std::string& name, const std::string& address) {
  TargetGroup g;
  g.source = "pod/default/" + name;
  g.labels = tsdb::Labels(
      {{"__meta_kubernetes_namespace", "default"}, {"__meta_kubernetes_pod_name", name}});
  g.targets.push_back(tsdb::Labels({{"__address__", address}}));
  return g;
}

class KubernetesSDManagerTest : public testing::Test {
 protected:
  void SetUp() override {
    tsdb::DBOptions options;
    options.wal_fsync_interval_ms = -1;
    auto db = tsdb::DB::Open(dir_.path() + "/db", options);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
  }
  void TearDown() override {
    if (manager_ != nullptr) manager_->Stop();
    ASSERT_TRUE(db_->Close().ok());
  }

  void Start(TargetProvider* provider) {
    ManagerOptions mo;
    mo.start_immediately = true;
    // Long on purpose: updates must not wait for the periodic file check.
    mo.file_sd_check = 60s;
    mo.target_provider = provider;
    mo.log = [this](LogSeverity s, std::string_view msg,
                    const std::vector<std::pair<std::string, std::string>>& fields) {
      std::lock_guard lock(log_mu_);
      std::string line(msg);
      for (const auto& [k, v] : fields) absl::StrAppend(&line, " ", k, "=", v);
      if (s == LogSeverity::kError) errors_.push_back(line);
    };
    manager_ = std::make_unique<Manager>(db_.get(), mo);
  }

  Config Load(const std::string& yaml) {
    absl::StatusOr<Config> c = LoadConfigString(yaml, "test.yml", dir_.path());
    EXPECT_TRUE(c.ok()) << c.status() << "\n" << yaml;
    return c.ok() ? *c : Config{};
  }

  std::vector<std::string> Errors() {
    std::lock_guard lock(log_mu_);
    return errors_;
  }

  static constexpr char kPods[] = R"(
global: {scrape_interval: 100ms, scrape_timeout: 50ms}
scrape_configs:
- job_name: pods
  kubernetes_sd_configs:
  - role: pod
  relabel_configs:
  - source_labels: [__meta_kubernetes_pod_name]
    target_label: pod
)";

  tsdb::testing::TempDir dir_;
  std::unique_ptr<tsdb::DB> db_;
  FakeProvider provider_;  // outlives the manager, which holds subscriptions until it stops
  std::unique_ptr<Manager> manager_;
  std::mutex log_mu_;
  std::vector<std::string> errors_;
};

TEST_F(KubernetesSDManagerTest, UpdatesStartAndStopLoopsPromptly) {
  FakeExporter a;
  FakeExporter b;
  a.Set({.body = "up_a 1\n"});
  b.Set({.body = "up_b 1\n"});
  provider_.initial_ = {PodGroupAt("a", a.address())};
  Start(&provider_);
  ASSERT_TRUE(manager_->ApplyConfig(Load(kPods)).ok());
  // The initial list is in place when ApplyConfig returns.
  std::vector<std::shared_ptr<ScrapeLoop>> loops = manager_->Loops("pods");
  ASSERT_EQ(loops.size(), 1u);
  const std::shared_ptr<ScrapeLoop> loop_a = loops[0];
  EXPECT_EQ(loop_a->target().public_labels.Get("pod"), "a");
  EXPECT_EQ(loops[0]->target().discovered.Get("__meta_kubernetes_namespace"), "default");
  EXPECT_EQ(provider_.subscribed(), 1);

  // A pod appears: scraped well before the 60 s file check.
  const auto sent = std::chrono::steady_clock::now();
  provider_.Send({PodGroupAt("a", a.address()), PodGroupAt("b", b.address())});
  ASSERT_TRUE(WaitFor([&] { return manager_->Loops("pods").size() == 2; }, 2000ms));
  ASSERT_TRUE(WaitFor([&] { return !b.requests().empty(); }, 2000ms));
  EXPECT_LT(std::chrono::steady_clock::now() - sent, 1000ms);
  // The loop of the pod that stayed was not restarted.
  loops = manager_->Loops("pods");
  ASSERT_EQ(loops.size(), 2u);
  EXPECT_TRUE(loops[0] == loop_a || loops[1] == loop_a);

  // A pod goes away.
  provider_.Send({PodGroupAt("b", b.address())});
  ASSERT_TRUE(WaitFor([&] { return manager_->Loops("pods").size() == 1; }, 2000ms));
  EXPECT_EQ(manager_->Loops("pods")[0]->target().public_labels.Get("pod"), "b");

  // Everything goes away.
  provider_.Send({});
  ASSERT_TRUE(WaitFor([&] { return manager_->Loops("pods").empty(); }, 2000ms));
  EXPECT_TRUE(Errors().empty());
}

TEST_F(KubernetesSDManagerTest, SubscriptionsFollowThePools) {
  Start(&provider_);
  ASSERT_TRUE(manager_->ApplyConfig(Load(kPods)).ok());
  EXPECT_EQ(provider_.subscribed(), 1);
  // Same configuration (the entry moved to another line): the subscription is kept.
  ASSERT_TRUE(manager_->ApplyConfig(Load(std::string("\n\n") + kPods)).ok());
  EXPECT_EQ(provider_.subscribed(), 1);
  EXPECT_EQ(provider_.unsubscribed(), 0);
  // Changed entry: a new subscription replaces the old one.
  std::string changed = kPods;
  changed.replace(changed.find("- role: pod"), 11, "- role: service");
  ASSERT_TRUE(manager_->ApplyConfig(Load(changed)).ok());
  EXPECT_EQ(provider_.subscribed(), 2);
  EXPECT_EQ(provider_.unsubscribed(), 1);
  EXPECT_EQ(provider_.live(), 1u);
  // The job goes: its subscription ends.
  ASSERT_TRUE(manager_->ApplyConfig(Load("scrape_configs: []\n")).ok());
  EXPECT_EQ(provider_.live(), 0u);
  // Updates for a pool that is gone are harmless.
  provider_.Send({PodGroupAt("a", "127.0.0.1:1")});
  ASSERT_TRUE(manager_->ApplyConfig(Load(kPods)).ok());
  manager_->Stop();
  EXPECT_EQ(provider_.live(), 0u);
}

TEST_F(KubernetesSDManagerTest, StaticAndKubernetesTargetsTogether) {
  FakeExporter a;
  FakeExporter s;
  a.Set({.body = "x 1\n"});
  s.Set({.body = "x 1\n"});
  Start(&provider_);
  ASSERT_TRUE(manager_
                  ->ApplyConfig(Load(absl::StrCat(R"(
global: {scrape_interval: 100ms, scrape_timeout: 50ms}
scrape_configs:
- job_name: mixed
  static_configs: [{targets: [')",
                                                  s.address(), R"(']}]
  kubernetes_sd_configs: [{role: pod}]
)")))
                  .ok());
  EXPECT_EQ(manager_->Loops("mixed").size(), 1u);
  provider_.Send({PodGroupAt("a", a.address())});
  ASSERT_TRUE(WaitFor([&] { return manager_->Loops("mixed").size() == 2; }, 2000ms));
  ASSERT_TRUE(WaitFor([&] { return !a.requests().empty() && !s.requests().empty(); }, 2000ms));
}

TEST_F(KubernetesSDManagerTest, FailedSubscriptionIsLogged) {
  Start(&provider_);
  ASSERT_TRUE(manager_
                  ->ApplyConfig(Load("scrape_configs:\n- job_name: nodes\n"
                                     "  kubernetes_sd_configs: [{role: node}]\n"))
                  .ok());
  EXPECT_TRUE(manager_->Loops("nodes").empty());
  ASSERT_EQ(Errors().size(), 1u);
  EXPECT_THAT(Errors()[0], HasSubstr("the fake serves no nodes"));
  EXPECT_THAT(Errors()[0], HasSubstr("scrape_pool=nodes"));
  EXPECT_THAT(Errors()[0], HasSubstr("line=3"));
}

TEST_F(KubernetesSDManagerTest, WithoutProviderNoTargetsAndOneError) {
  Start(nullptr);
  ASSERT_TRUE(manager_
                  ->ApplyConfig(Load("scrape_configs:\n- job_name: a\n"
                                     "  kubernetes_sd_configs: [{role: pod}, {role: node}]\n"
                                     "- job_name: b\n  kubernetes_sd_configs: [{role: pod}]\n"))
                  .ok());
  EXPECT_TRUE(manager_->Loops("a").empty());
  EXPECT_TRUE(manager_->Targets().active.empty());
  ASSERT_EQ(Errors().size(), 1u);
  EXPECT_THAT(Errors()[0], HasSubstr("kubernetes_sd_configs"));
}

}  // namespace
}  // namespace scrape
