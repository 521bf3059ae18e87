// The deploy manifests (manifests/) and the cluster examples (examples/k8s/) as a whole: every
// document parses and is a well-formed object, the objects reference each other consistently
// (APIServices -> Service -> Deployment ports, ServiceAccount, ConfigMaps and their keys,
// kustomization -> files, HPAs -> Deployment and Service), every flag the Deployment passes is
// one `metrics-adapter serve --help` lists, and the ConfigMaps' files pass `check-config` of the
// real binary (MA_BINARY).
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"

namespace {

namespace fs = std::filesystem;
using ::testing::UnorderedElementsAre;
using testsupport::ShellQuote;

// One YAML document of a file.
struct Doc {
  std::string file;  // relative to the source root, e.g. "manifests/rbac.yaml"
  int index = 0;     // position in the file
  YAML::Node node;

  std::string Where() const { return file + " document " + std::to_string(index); }
  std::string Kind() const { return Str(node["kind"]); }
  std::string Name() const { return Metadata("name"); }
  std::string Namespace() const { return Metadata("namespace"); }
  std::string Metadata(const char* key) const {
    const YAML::Node metadata = node["metadata"];
    return metadata && metadata.IsMap() ? Str(metadata[key]) : std::string();
  }

  static std::string Str(const YAML::Node& n) {
    return n && n.IsScalar() ? n.as<std::string>() : std::string();
  }
};

std::string S(const YAML::Node& n) { return Doc::Str(n); }

// The .yaml/.yml files directly in dir (relative to the source root), sorted.
std::vector<std::string> YamlFiles(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(testsupport::SourceRoot() + "/" + dir, ec)) {
    const std::string ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml")) {
      files.push_back(dir + "/" + e.path().filename().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Every non-empty document of every YAML file in dir; a parse error is a test failure.
std::vector<Doc> LoadDir(const std::string& dir) {
  std::vector<Doc> docs;
  for (const std::string& file : YamlFiles(dir)) {
    try {
      int index = 0;
      for (const YAML::Node& n : YAML::LoadAllFromFile(testsupport::SourceRoot() + "/" + file)) {
        if (!n.IsNull()) docs.push_back(Doc{file, index, n});
        ++index;
      }
    } catch (const YAML::Exception& e) {
      ADD_FAILURE() << file << ": " << e.what();
    }
  }
  return docs;
}

std::vector<Doc> Find(const std::vector<Doc>& docs, const std::string& kind) {
  std::vector<Doc> out;
  for (const Doc& d : docs) {
    if (d.Kind() == kind) out.push_back(d);
  }
  return out;
}

// The single object of kind and name; a failure when there is none or several.
Doc FindOne(const std::vector<Doc>& docs, const std::string& kind, const std::string& name) {
  std::vector<Doc> found;
  for (const Doc& d : Find(docs, kind)) {
    if (d.Name() == name) found.push_back(d);
  }
  EXPECT_EQ(found.size(), 1u) << kind << " " << name;
  return found.empty() ? Doc{} : found.front();
}

// The flags listed by `--help` output: lines "  -h, --help ..." and "      --name type ...";
// the descriptions' continuation lines (indented further) are not flag lines.
std::set<std::string> HelpFlags(const std::string& help) {
  std::set<std::string> flags;
  std::istringstream in(help);
  std::string line;
  while (std::getline(in, line)) {
    size_t i = line.find_first_not_of(' ');
    if (i == std::string::npos || i == 0 || i > 6) continue;
    if (line.compare(i, 1, "-") == 0 && line.compare(i, 2, "--") != 0) {
      i = line.find("--", i);  // "-h, --help"
      if (i == std::string::npos) continue;
    }
    if (line.compare(i, 2, "--") != 0) continue;
    size_t end = line.find_first_of(" =", i);
    flags.insert(line.substr(i + 2, end == std::string::npos ? std::string::npos : end - i - 2));
  }
  return flags;
}

class ManifestsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    manifests_ = LoadDir("manifests");
    examples_ = LoadDir("examples/k8s");
    ASSERT_FALSE(manifests_.empty());
    ASSERT_FALSE(examples_.empty());
    deployment_ = FindOne(manifests_, "Deployment", "metrics-adapter");
    ASSERT_TRUE(deployment_.node) << "no Deployment metrics-adapter in manifests/";
    const YAML::Node containers = deployment_.node["spec"]["template"]["spec"]["containers"];
    ASSERT_TRUE(containers.IsSequence());
    ASSERT_EQ(containers.size(), 1u);
    container_ = containers[0];
  }

  // The Deployment's --name=value arguments as a map (a flag given twice fails the test).
  std::map<std::string, std::string> Args() const {
    std::map<std::string, std::string> args;
    for (const YAML::Node& a : container_["args"]) {
      const std::string arg = a.as<std::string>();
      const size_t eq = arg.find('=');
      EXPECT_TRUE(arg.rfind("--", 0) == 0 && eq != std::string::npos)
          << "argument " << arg << " is not --name=value";
      if (eq == std::string::npos) continue;
      EXPECT_TRUE(args.emplace(arg.substr(2, eq - 2), arg.substr(eq + 1)).second)
          << "flag given twice: " << arg;
    }
    return args;
  }

  // The containerPort of the adapter's container named name (0 when absent).
  int ContainerPort(const std::string& name) const {
    for (const YAML::Node& p : container_["ports"]) {
      if (S(p["name"]) == name) return p["containerPort"].as<int>();
    }
    return 0;
  }

  // For a file path the container reads, the ConfigMap mounted at its directory and the key
  // (the file name) it must hold.
  void ExpectConfigMapFile(const std::string& path, std::string* configmap_data) const {
    const size_t slash = path.rfind('/');
    ASSERT_NE(slash, std::string::npos) << path;
    const std::string dir = path.substr(0, slash);
    const std::string key = path.substr(slash + 1);
    std::string volume;
    for (const YAML::Node& m : container_["volumeMounts"]) {
      if (S(m["mountPath"]) == dir) volume = S(m["name"]);
    }
    ASSERT_FALSE(volume.empty()) << "nothing is mounted at " << dir;
    std::string configmap;
    for (const YAML::Node& v : deployment_.node["spec"]["template"]["spec"]["volumes"]) {
      if (S(v["name"]) == volume) configmap = S(v["configMap"]["name"]);
    }
    ASSERT_FALSE(configmap.empty()) << "volume " << volume << " is not a ConfigMap";
    const Doc cm = FindOne(manifests_, "ConfigMap", configmap);
    ASSERT_TRUE(cm.node);
    EXPECT_EQ(cm.Namespace(), deployment_.Namespace());
    ASSERT_TRUE(cm.node["data"][key]) << "ConfigMap " << configmap << " has no key " << key;
    *configmap_data = cm.node["data"][key].as<std::string>();
  }

  std::vector<Doc> manifests_;
  std::vector<Doc> examples_;
  Doc deployment_;
  YAML::Node container_;
};

TEST_F(ManifestsTest, EveryDocumentIsAnObject) {
  std::set<std::string> kinds;
  for (const std::vector<Doc>* docs : {&manifests_, &examples_}) {
    for (const Doc& d : *docs) {
      ASSERT_TRUE(d.node.IsMap()) << d.Where();
      EXPECT_FALSE(S(d.node["apiVersion"]).empty()) << d.Where() << ": no apiVersion";
      EXPECT_FALSE(d.Kind().empty()) << d.Where() << ": no kind";
      kinds.insert(d.Kind());
      // A Kustomization is the one document without a name.
      if (d.Kind() != "Kustomization") {
        EXPECT_FALSE(d.Name().empty()) << d.Where() << ": no metadata.name";
      }
    }
  }
  for (const char* kind : {"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding",
                           "RoleBinding", "Deployment", "PodDisruptionBudget", "Service",
                           "APIService", "ConfigMap", "Kustomization", "HorizontalPodAutoscaler"}) {
    EXPECT_TRUE(kinds.count(kind)) << "no " << kind;
  }
}

TEST_F(ManifestsTest, NamespacedObjectsAreInTheAdapterNamespace) {
  const Doc ns = FindOne(manifests_, "Namespace", "metrics-adapter");
  ASSERT_TRUE(ns.node);
  const std::set<std::string> cluster_scoped = {"Namespace", "ClusterRole", "ClusterRoleBinding",
                                                "APIService", "Kustomization"};
  for (const Doc& d : manifests_) {
    if (cluster_scoped.count(d.Kind())) {
      EXPECT_EQ(d.Namespace(), "") << d.Where();
    } else if (d.Kind() == "RoleBinding") {
      EXPECT_EQ(d.Namespace(), "kube-system") << d.Where();
    } else {
      EXPECT_EQ(d.Namespace(), "metrics-adapter") << d.Where();
    }
  }
}

TEST_F(ManifestsTest, ApiServicesAreNamedByVersionAndGroupAndPointToTheService) {
  const Doc service = FindOne(manifests_, "Service", "metrics-adapter");
  ASSERT_TRUE(service.node);
  std::map<std::string, const Doc*> by_name;
  std::vector<Doc> apiservices = Find(manifests_, "APIService");
  for (const Doc& d : apiservices) {
    by_name[d.Name()] = &d;
    const YAML::Node spec = d.node["spec"];
    EXPECT_EQ(d.Name(), S(spec["version"]) + "." + S(spec["group"])) << d.Where();
    EXPECT_EQ(S(spec["service"]["name"]), service.Name()) << d.Where();
    EXPECT_EQ(S(spec["service"]["namespace"]), service.Namespace()) << d.Where();
    EXPECT_EQ(spec["groupPriorityMinimum"].as<int>(), 100) << d.Where();
    EXPECT_TRUE(spec["insecureSkipTLSVerify"].as<bool>()) << d.Where();
    // The Service port the APIService uses (default 443) leads to the HTTPS container port.
    const int port = spec["service"]["port"] ? spec["service"]["port"].as<int>() : 443;
    std::string target;
    for (const YAML::Node& p : service.node["spec"]["ports"]) {
      if (p["port"].as<int>() == port) target = S(p["targetPort"]);
    }
    EXPECT_EQ(target, "https") << d.Where() << ": service port " << port;
  }
  std::vector<std::string> names;
  for (const auto& [name, doc] : by_name) names.push_back(name);
  EXPECT_THAT(names,
              UnorderedElementsAre("v1beta1.custom.metrics.k8s.io", "v1beta2.custom.metrics.k8s.io",
                                   "v1beta1.external.metrics.k8s.io", "v1beta1.metrics.k8s.io"));
  auto priority = [&](const std::string& name) {
    return by_name.count(name) ? by_name[name]->node["spec"]["versionPriority"].as<int>() : -1;
  };
  EXPECT_EQ(priority("v1beta1.custom.metrics.k8s.io"), 100);
  EXPECT_EQ(priority("v1beta2.custom.metrics.k8s.io"), 200);
  // metrics.k8s.io replaces metrics-server: it lives in its own file.
  ASSERT_TRUE(by_name.count("v1beta1.metrics.k8s.io"));
  EXPECT_EQ(by_name["v1beta1.metrics.k8s.io"]->file, "manifests/apiservice-resource-metrics.yaml");

  // 443 -> 6443 and the plain port for /metrics.
  std::map<std::string, std::pair<int, std::string>> ports;
  for (const YAML::Node& p : service.node["spec"]["ports"]) {
    ports[S(p["name"])] = {p["port"].as<int>(), S(p["targetPort"])};
  }
  EXPECT_EQ(ports["https"], std::make_pair(443, std::string("https")));
  EXPECT_EQ(ports["http"], std::make_pair(8080, std::string("http")));
  EXPECT_EQ(ContainerPort("https"), 6443);
  EXPECT_EQ(ContainerPort("http"), 8080);
  // The Service selects the Deployment's pods.
  for (const auto& sel : service.node["spec"]["selector"]) {
    EXPECT_EQ(S(deployment_.node["spec"]["template"]["metadata"]["labels"][S(sel.first)]),
              S(sel.second))
        << "Service selector " << S(sel.first);
  }
}

TEST_F(ManifestsTest, DeploymentPassesOnlyFlagsServeHas) {
  const std::string binary = testsupport::BinaryPath();
  if (binary.empty()) GTEST_SKIP() << "MA_BINARY is not set";
  const std::string dir = testsupport::MakeTempDir("ma-manifests");
  ASSERT_FALSE(dir.empty());
  testsupport::RunResult help = testsupport::RunShell(ShellQuote(binary) + " serve --help", dir);
  fs::remove_all(dir);
  ASSERT_EQ(help.exit_code, 0) << help.err;
  const std::set<std::string> flags = HelpFlags(help.out);
  // The parser itself must see the flags, or every argument would be refused below.
  ASSERT_TRUE(flags.count("secure-port") && flags.count("help")) << help.out;
  EXPECT_FALSE(flags.count("not-a-flag"));

  // The image's entrypoint is `metrics-adapter serve`: only args, no command.
  EXPECT_FALSE(container_["command"]) << "the container overrides the image's entrypoint";
  const std::map<std::string, std::string> args = Args();
  ASSERT_FALSE(args.empty());
  for (const auto& [name, value] : args) {
    EXPECT_TRUE(flags.count(name)) << "--" << name << " is not a flag of metrics-adapter serve";
  }
  for (const char* required : {"config", "scrape-config", "secure-port", "cert-dir", "storage-path",
                               "http-listen-address"}) {
    EXPECT_TRUE(args.count(required)) << "--" << required << " is not passed";
  }
}

TEST_F(ManifestsTest, DeploymentRunsNonRootOnAReadOnlyRoot) {
  const YAML::Node pod = deployment_.node["spec"]["template"]["spec"];
  EXPECT_EQ(deployment_.node["spec"]["replicas"].as<int>(), 2);
  EXPECT_TRUE(pod["securityContext"]["runAsNonRoot"].as<bool>());
  EXPECT_GT(pod["securityContext"]["runAsUser"].as<int>(), 0);
  EXPECT_TRUE(container_["securityContext"]["readOnlyRootFilesystem"].as<bool>());
  EXPECT_FALSE(container_["securityContext"]["allowPrivilegeEscalation"].as<bool>());
  for (const char* r : {"requests", "limits"}) {
    EXPECT_TRUE(container_["resources"][r]["cpu"] && container_["resources"][r]["memory"]) << r;
  }
  // The ServiceAccount exists.
  const std::string sa = S(pod["serviceAccountName"]);
  EXPECT_TRUE(FindOne(manifests_, "ServiceAccount", sa).node) << sa;

  // Every directory the adapter writes is a writable emptyDir: /tmp, the cert dir, the storage.
  std::map<std::string, std::string> volume_kind;
  for (const YAML::Node& v : pod["volumes"]) {
    volume_kind[S(v["name"])] = v["emptyDir"] ? "emptyDir" : v["configMap"] ? "configMap" : "?";
  }
  std::map<std::string, std::string> mounts;  // path -> kind
  for (const YAML::Node& m : container_["volumeMounts"]) {
    ASSERT_TRUE(volume_kind.count(S(m["name"]))) << "mount of unknown volume " << S(m["name"]);
    mounts[S(m["mountPath"])] = volume_kind[S(m["name"])];
  }
  const std::map<std::string, std::string> args = Args();
  for (const std::string& path :
       {std::string("/tmp"), args.count("cert-dir") ? args.at("cert-dir") : std::string(),
        args.count("storage-path") ? args.at("storage-path") : std::string()}) {
    EXPECT_EQ(mounts[path], "emptyDir") << path << " is not a writable emptyDir";
  }

  // The PodDisruptionBudget covers these pods.
  const std::vector<Doc> pdbs = Find(manifests_, "PodDisruptionBudget");
  ASSERT_EQ(pdbs.size(), 1u);
  for (const auto& l : pdbs[0].node["spec"]["selector"]["matchLabels"]) {
    EXPECT_EQ(S(deployment_.node["spec"]["template"]["metadata"]["labels"][S(l.first)]),
              S(l.second));
  }
  EXPECT_EQ(pdbs[0].node["spec"]["minAvailable"].as<int>(), 1);
}

TEST_F(ManifestsTest, ProbesAreHttpsOnLivezAndReadyz) {
  const std::map<std::string, std::string> args = Args();
  ASSERT_TRUE(args.count("secure-port"));
  const int secure_port = std::stoi(args.at("secure-port"));
  for (const auto& [probe, path] : {std::pair<std::string, std::string>{"livenessProbe", "/livez"},
                                    {"readinessProbe", "/readyz"}}) {
    const YAML::Node get = container_[probe]["httpGet"];
    ASSERT_TRUE(get) << probe;
    EXPECT_EQ(S(get["path"]), path) << probe;
    EXPECT_EQ(S(get["scheme"]), "HTTPS") << probe;
    // The port by name or number, resolved to the container port the server listens on.
    const std::string port = S(get["port"]);
    const int number = std::all_of(port.begin(), port.end(), ::isdigit) && !port.empty()
                           ? std::stoi(port)
                           : ContainerPort(port);
    EXPECT_EQ(number, secure_port) << probe << " port " << port;
  }
}

TEST_F(ManifestsTest, ConfigMapFilesPassCheckConfig) {
  const std::string binary = testsupport::BinaryPath();
  if (binary.empty()) GTEST_SKIP() << "MA_BINARY is not set";
  const std::map<std::string, std::string> args = Args();
  ASSERT_TRUE(args.count("config") && args.count("scrape-config"));
  std::string rules;
  std::string scrape;
  ASSERT_NO_FATAL_FAILURE(ExpectConfigMapFile(args.at("config"), &rules));
  ASSERT_NO_FATAL_FAILURE(ExpectConfigMapFile(args.at("scrape-config"), &scrape));

  const std::string dir = testsupport::MakeTempDir("ma-manifests");
  ASSERT_FALSE(dir.empty());
  testsupport::WriteFileText(dir + "/config.yaml", rules);
  // The kubelet job reads the service account's token and CA, which a pod has mounted: stand
  // in for them.
  const std::string service_account = "/var/run/secrets/kubernetes.io/serviceaccount/";
  fs::create_directories(dir + "/sa");
  testsupport::WriteFileText(dir + "/sa/token", "token");
  testsupport::RunShell("cd " + ShellQuote(dir) +
                            " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
                            "-nodes -keyout sa/ca.key -out sa/ca.crt -days 1 -subj /CN=ca",
                        dir);
  ASSERT_NE(scrape.find(service_account), std::string::npos);
  for (size_t at = scrape.find(service_account); at != std::string::npos;
       at = scrape.find(service_account, at)) {
    scrape.replace(at, service_account.size(), dir + "/sa/");
  }
  testsupport::WriteFileText(dir + "/prometheus.yml", scrape);
  const std::string cd = "cd " + ShellQuote(dir) + " && " + ShellQuote(binary);
  testsupport::RunResult r = testsupport::RunShell(cd + " check-config --config config.yaml", dir);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  // All three sections are there: the counter and gauge rules, the external rule, resourceRules.
  EXPECT_EQ(r.out, "config.yaml: OK: 2 rules, 1 externalRules, resourceRules\n") << r.err;
  r = testsupport::RunShell(cd + " check-config --scrape-config prometheus.yml", dir);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  // Service endpoints, annotated pods and the kubelets, all by kubernetes_sd_configs.
  EXPECT_EQ(r.out, "prometheus.yml: OK: 3 scrape configs\n") << r.err;
  // And the check can fail: a misspelt key is refused.
  testsupport::WriteFileText(dir + "/bad.yaml", rules + "resourceRule: {}\n");
  r = testsupport::RunShell(cd + " check-config --config bad.yaml", dir);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  fs::remove_all(dir);
}

TEST_F(ManifestsTest, RbacBindsTheServiceAccountWithLeastPrivilege) {
  const Doc sa = FindOne(manifests_, "ServiceAccount", "metrics-adapter");
  ASSERT_TRUE(sa.node);
  // roleRef name -> the subjects bound to it.
  std::map<std::string, std::vector<std::string>> bound;
  for (const char* kind : {"ClusterRoleBinding", "RoleBinding"}) {
    for (const Doc& d : Find(manifests_, kind)) {
      const std::string role = S(d.node["roleRef"]["name"]);
      for (const YAML::Node& s : d.node["subjects"]) {
        bound[role].push_back(S(s["kind"]) + ":" + S(s["namespace"]) + "/" + S(s["name"]));
      }
      // A binding to a ClusterRole of ours names one that exists.
      if (S(d.node["roleRef"]["kind"]) == "ClusterRole" && role.rfind("system:", 0) != 0) {
        EXPECT_TRUE(FindOne(manifests_, "ClusterRole", role).node) << d.Where();
      }
    }
  }
  const std::string me = "ServiceAccount:" + sa.Namespace() + "/" + sa.Name();
  EXPECT_THAT(bound["metrics-adapter"], UnorderedElementsAre(me));
  EXPECT_THAT(bound["system:auth-delegator"], UnorderedElementsAre(me));
  EXPECT_THAT(bound["extension-apiserver-authentication-reader"], UnorderedElementsAre(me));
  EXPECT_THAT(bound["metrics-adapter:custom-metrics-reader"],
              UnorderedElementsAre("ServiceAccount:kube-system/horizontal-pod-autoscaler"));
  const Doc reader = FindOne(manifests_, "RoleBinding", "metrics-adapter-auth-reader");
  EXPECT_EQ(reader.Namespace(), "kube-system");

  // The adapter's own role only reads.
  const Doc role = FindOne(manifests_, "ClusterRole", "metrics-adapter");
  std::set<std::string> resources;
  for (const YAML::Node& rule : role.node["rules"]) {
    for (const YAML::Node& v : rule["verbs"]) {
      EXPECT_THAT(v.as<std::string>(), ::testing::AnyOf("get", "list", "watch"));
    }
    for (const YAML::Node& r : rule["resources"]) resources.insert(r.as<std::string>());
  }
  for (const char* r : {"pods", "nodes", "namespaces", "services", "endpoints", "endpointslices"}) {
    EXPECT_TRUE(resources.count(r)) << r;
  }
  EXPECT_FALSE(resources.count("*"));
  EXPECT_TRUE(FindOne(manifests_, "ClusterRole", "system:aggregated-metrics-reader").node);
}

TEST_F(ManifestsTest, KustomizationListsTheDeploySet) {
  const std::vector<Doc> k = Find(manifests_, "Kustomization");
  ASSERT_EQ(k.size(), 1u);
  EXPECT_EQ(k[0].file, "manifests/kustomization.yaml");
  std::set<std::string> listed;
  for (const YAML::Node& r : k[0].node["resources"]) {
    const std::string file = r.as<std::string>();
    EXPECT_TRUE(fs::is_regular_file(testsupport::SourceRoot() + "/manifests/" + file)) << file;
    EXPECT_TRUE(listed.insert(file).second) << file << " listed twice";
  }
  // Everything else in manifests/ is listed, except the optional resource metrics APIService.
  for (const std::string& path : YamlFiles("manifests")) {
    const std::string file = path.substr(std::string("manifests/").size());
    if (file == "kustomization.yaml") continue;
    EXPECT_EQ(listed.count(file), file == "apiservice-resource-metrics.yaml" ? 0u : 1u) << file;
  }
}

TEST_F(ManifestsTest, ExamplesScaleTheSampleApp) {
  const Doc app = FindOne(examples_, "Deployment", "sample-app");
  ASSERT_TRUE(app.node);
  const YAML::Node pod = app.node["spec"]["template"];
  EXPECT_EQ(S(pod["metadata"]["labels"]["app"]), "sample-app");
  EXPECT_EQ(S(app.node["spec"]["selector"]["matchLabels"]["app"]), "sample-app");

  // The script comes from a ConfigMap that is a copy of examples/sample_app.py.
  std::string configmap;
  for (const YAML::Node& v : pod["spec"]["volumes"]) {
    if (v["configMap"]) configmap = S(v["configMap"]["name"]);
  }
  const Doc script = FindOne(examples_, "ConfigMap", configmap);
  ASSERT_TRUE(script.node);
  ASSERT_TRUE(script.node["data"]["sample_app.py"]);
  EXPECT_EQ(script.node["data"]["sample_app.py"].as<std::string>(),
            testsupport::ReadFileText(testsupport::SourceRoot() + "/examples/sample_app.py"))
      << "examples/k8s/sample-app.yaml's copy of sample_app.py is out of date";

  // The Service selects the app and carries the annotations the scrape ConfigMap's endpoints
  // job keeps, with the container's port.
  const Doc service = FindOne(examples_, "Service", "sample-app");
  ASSERT_TRUE(service.node);
  EXPECT_EQ(S(service.node["spec"]["selector"]["app"]), "sample-app");
  EXPECT_EQ(S(service.node["metadata"]["annotations"]["prometheus.io/scrape"]), "true");
  EXPECT_EQ(S(service.node["metadata"]["annotations"]["prometheus.io/port"]),
            S(pod["spec"]["containers"][0]["ports"][0]["containerPort"]));
  std::string scrape;
  ASSERT_NO_FATAL_FAILURE(ExpectConfigMapFile(Args()["scrape-config"], &scrape));
  EXPECT_THAT(scrape, ::testing::HasSubstr("role: endpoints"));
  EXPECT_THAT(scrape,
              ::testing::HasSubstr("__meta_kubernetes_service_annotation_prometheus_io_scrape"));
  EXPECT_THAT(scrape, ::testing::HasSubstr("target_label: service"));

  // Three HPAs on the app: Pods, Object (on the Service) and External metrics.
  std::map<std::string, YAML::Node> by_type;
  for (const Doc& hpa : Find(examples_, "HorizontalPodAutoscaler")) {
    EXPECT_EQ(S(hpa.node["apiVersion"]), "autoscaling/v2") << hpa.Where();
    EXPECT_EQ(S(hpa.node["spec"]["scaleTargetRef"]["kind"]), "Deployment") << hpa.Where();
    EXPECT_EQ(S(hpa.node["spec"]["scaleTargetRef"]["name"]), app.Name()) << hpa.Where();
    EXPECT_EQ(hpa.Namespace(), app.Namespace()) << hpa.Where();
    for (const YAML::Node& m : hpa.node["spec"]["metrics"]) by_type[S(m["type"])] = m;
  }
  ASSERT_EQ(by_type.size(), 3u);
  const YAML::Node pods = by_type["Pods"]["pods"];
  EXPECT_EQ(S(pods["metric"]["name"]), "http_requests");
  EXPECT_EQ(S(pods["target"]["type"]), "AverageValue");
  EXPECT_EQ(S(pods["target"]["averageValue"]), "500m");
  const YAML::Node object = by_type["Object"]["object"];
  EXPECT_EQ(S(object["target"]["type"]), "Value");
  EXPECT_TRUE(
      FindOne(examples_, S(object["describedObject"]["kind"]), S(object["describedObject"]["name"]))
          .node);
  const YAML::Node external = by_type["External"]["external"];
  EXPECT_EQ(S(external["metric"]["name"]), "queue_depth");
  EXPECT_EQ(S(external["metric"]["selector"]["matchLabels"]["queue"]), "jobs");
}

TEST(ManifestsHelpFlagsTest, ReadsFlagNamesFromHelp) {
  EXPECT_EQ(HelpFlags("Flags:\n  -h, --help   Show.\n      --secure-port int   Port of\n"
                      "                          --other.\n      --config string\nnot --a-flag\n"),
            (std::set<std::string>{"help", "secure-port", "config"}));
}

}  // namespace
