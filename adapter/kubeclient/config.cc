#include "adapter/kubeclient/config.h"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace kubeclient {
namespace {

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("cannot read ", path, ": read error"));
  return buffer.str();
}

std::string Dir(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string Resolve(const std::string& dir, const std::string& file) {
  if (file.empty() || file[0] == '/') return file;
  return dir + "/" + file;
}

// A kubeconfig reader: every error names the file and the key.
class KubeconfigReader {
 public:
  explicit KubeconfigReader(std::string path) : path_(std::move(path)), dir_(Dir(path_)) {}

  absl::StatusOr<ClientConfig> Load(std::string_view context_name) {
    absl::StatusOr<std::string> text = ReadWholeFile(path_);
    if (!text.ok()) return Error("", text.status().message());
    YAML::Node root;
    try {
      root = YAML::Load(*text);
    } catch (const YAML::Exception& e) {
      return Error("", absl::StrCat("invalid YAML: ", e.what()));
    }
    if (!root.IsMap()) return Error("", "not a YAML mapping");
    try {
      return LoadRoot(root, context_name);
    } catch (const YAML::Exception& e) {
      return Error("", absl::StrCat("invalid YAML: ", e.what()));
    }
  }

 private:
  absl::Status Error(std::string_view key, absl::string_view why) const {
    if (key.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("kubeconfig ", path_, ": ", why));
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "kubeconfig ", path_, ": ", absl::string_view(key.data(), key.size()), ": ", why));
  }

  // Finds the entry called name in a list of {name, <field>: {...}}.
  absl::StatusOr<YAML::Node> Named(const YAML::Node& root, const std::string& list,
                                   const std::string& field, const std::string& name) const {
    YAML::Node items = root[list];
    if (!items || items.IsNull()) {
      return Error(list, absl::StrFormat("no %s named \"%s\"", field, name));
    }
    if (!items.IsSequence()) return Error(list, "expected a list");
    for (const YAML::Node& item : items) {
      if (!item.IsMap()) return Error(list, "an entry is not a mapping");
      YAML::Node n = item["name"];
      if (n && n.IsScalar() && n.as<std::string>() == name) {
        YAML::Node body = item[field];
        if (!body || body.IsNull()) return YAML::Node(YAML::NodeType::Map);
        if (!body.IsMap()) {
          return Error(absl::StrCat(list, "[", name, "].", field), "expected a mapping");
        }
        return body;
      }
    }
    return Error(list, absl::StrFormat("no %s named \"%s\"", field, name));
  }

  absl::StatusOr<std::string> Scalar(const YAML::Node& map, const std::string& key,
                                     const std::string& where) const {
    YAML::Node v = map[key];
    if (!v || v.IsNull()) return std::string();
    if (!v.IsScalar()) return Error(absl::StrCat(where, ".", key), "expected a string");
    return v.as<std::string>();
  }

  // The content of <key>-data (base64) or of the file <key> (resolved against the kubeconfig's
  // directory); "" when neither is set.
  absl::StatusOr<std::string> FileOrData(const YAML::Node& map, const std::string& key,
                                         const std::string& where) const {
    absl::StatusOr<std::string> data = Scalar(map, key + "-data", where);
    if (!data.ok()) return data.status();
    if (!data->empty()) {
      std::string decoded;
      if (!absl::Base64Unescape(*data, &decoded)) {
        return Error(absl::StrCat(where, ".", key, "-data"), "invalid base64");
      }
      return decoded;
    }
    absl::StatusOr<std::string> file = Scalar(map, key, where);
    if (!file.ok()) return file.status();
    if (file->empty()) return std::string();
    absl::StatusOr<std::string> content = ReadWholeFile(Resolve(dir_, *file));
    if (!content.ok()) return Error(absl::StrCat(where, ".", key), content.status().message());
    return content;
  }

  absl::StatusOr<ClientConfig> LoadRoot(const YAML::Node& root, std::string_view context_name) {
    std::string context(context_name);
    if (context.empty()) {
      absl::StatusOr<std::string> current = Scalar(root, "current-context", "");
      if (!current.ok()) return Error("current-context", "expected a string");
      if (current->empty()) return Error("current-context", "not set and no context was named");
      context = *current;
    }
    absl::StatusOr<YAML::Node> ctx = Named(root, "contexts", "context", context);
    if (!ctx.ok()) return ctx.status();
    const std::string ctx_where = absl::StrCat("contexts[", context, "].context");
    absl::StatusOr<std::string> cluster_name = Scalar(*ctx, "cluster", ctx_where);
    if (!cluster_name.ok()) return cluster_name.status();
    if (cluster_name->empty()) return Error(absl::StrCat(ctx_where, ".cluster"), "missing");
    absl::StatusOr<std::string> user_name = Scalar(*ctx, "user", ctx_where);
    if (!user_name.ok()) return user_name.status();
    absl::StatusOr<std::string> ns = Scalar(*ctx, "namespace", ctx_where);
    if (!ns.ok()) return ns.status();

    ClientConfig config;
    config.namespace_ = *ns;
    absl::StatusOr<YAML::Node> cluster = Named(root, "clusters", "cluster", *cluster_name);
    if (!cluster.ok()) return cluster.status();
    const std::string cl_where = absl::StrCat("clusters[", *cluster_name, "].cluster");
    absl::StatusOr<std::string> server = Scalar(*cluster, "server", cl_where);
    if (!server.ok()) return server.status();
    if (server->empty()) return Error(absl::StrCat(cl_where, ".server"), "missing");
    config.server = *server;
    absl::StatusOr<std::string> ca = FileOrData(*cluster, "certificate-authority", cl_where);
    if (!ca.ok()) return ca.status();
    config.ca_pem = *ca;
    absl::StatusOr<std::string> sni = Scalar(*cluster, "tls-server-name", cl_where);
    if (!sni.ok()) return sni.status();
    config.tls_server_name = *sni;
    if (YAML::Node insecure = (*cluster)["insecure-skip-tls-verify"];
        insecure && !insecure.IsNull()) {
      bool value = false;
      if (!insecure.IsScalar() || !YAML::convert<bool>::decode(insecure, value)) {
        return Error(absl::StrCat(cl_where, ".insecure-skip-tls-verify"), "expected true or false");
      }
      config.insecure = value;
    }

    if (user_name->empty()) return config;  // anonymous
    absl::StatusOr<YAML::Node> user = Named(root, "users", "user", *user_name);
    if (!user.ok()) return user.status();
    const std::string us_where = absl::StrCat("users[", *user_name, "].user");
    for (const char* plugin : {"exec", "auth-provider"}) {
      if (YAML::Node n = (*user)[plugin]; n && !n.IsNull()) {
        return Error(absl::StrCat(us_where, ".", plugin), "credential plugins are not supported");
      }
    }
    absl::StatusOr<std::string> cert = FileOrData(*user, "client-certificate", us_where);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = FileOrData(*user, "client-key", us_where);
    if (!key.ok()) return key.status();
    if (cert->empty() != key->empty()) {
      return Error(us_where, "client-certificate and client-key go together");
    }
    config.cert_pem = *cert;
    config.key_pem = *key;
    absl::StatusOr<std::string> token = Scalar(*user, "token", us_where);
    if (!token.ok()) return token.status();
    config.bearer_token = *token;
    absl::StatusOr<std::string> token_file = Scalar(*user, "tokenFile", us_where);
    if (!token_file.ok()) return token_file.status();
    if (!token_file->empty()) {
      config.token_file = Resolve(dir_, *token_file);
      absl::StatusOr<std::string> content = ReadWholeFile(config.token_file);
      if (!content.ok()) {
        return Error(absl::StrCat(us_where, ".tokenFile"), content.status().message());
      }
      config.bearer_token = std::string(absl::StripAsciiWhitespace(*content));
    }
    return config;
  }

  const std::string path_;
  const std::string dir_;
};

}  // namespace

absl::StatusOr<ClientConfig> LoadKubeconfig(const std::string& path, std::string_view context) {
  return KubeconfigReader(path).Load(context);
}

absl::StatusOr<ClientConfig> InClusterConfig(const std::string& dir) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || port == nullptr || *host == '\0' || *port == '\0') {
    return absl::FailedPreconditionError(
        "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be "
        "set");
  }
  ClientConfig config;
  std::string h = host;
  if (h.find(':') != std::string::npos) h = absl::StrCat("[", h, "]");
  config.server = absl::StrCat("https://", h, ":", port);
  config.token_file = dir + "/token";
  absl::StatusOr<std::string> token = ReadWholeFile(config.token_file);
  if (!token.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("in-cluster configuration: ", token.status().message()));
  }
  config.bearer_token = std::string(absl::StripAsciiWhitespace(*token));
  absl::StatusOr<std::string> ca = ReadWholeFile(dir + "/ca.crt");
  if (!ca.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("in-cluster configuration: ", ca.status().message()));
  }
  config.ca_pem = *ca;
  if (absl::StatusOr<std::string> ns = ReadWholeFile(dir + "/namespace"); ns.ok()) {
    config.namespace_ = std::string(absl::StripAsciiWhitespace(*ns));
  }
  return config;
}

absl::StatusOr<ClientConfig> LoadClientConfig(const std::string& kubeconfig_path) {
  if (!kubeconfig_path.empty()) return LoadKubeconfig(kubeconfig_path);
  return InClusterConfig();
}

TokenSource::TokenSource(std::string token, std::string token_file,
                         std::chrono::milliseconds refresh_interval, Clock clock)
    : token_(std::move(token)),
      file_(std::move(token_file)),
      refresh_interval_(refresh_interval),
      clock_(clock ? std::move(clock) : [] { return std::chrono::steady_clock::now(); }) {}

absl::StatusOr<std::string> TokenSource::Token() {
  std::lock_guard<std::mutex> lock(mu_);
  if (file_.empty()) return token_;
  const auto now = clock_();
  struct stat st {};
  bool changed = true;
  if (::stat(file_.c_str(), &st) == 0) {
    changed = st.st_mtim.tv_sec != mtime_.tv_sec || st.st_mtim.tv_nsec != mtime_.tv_nsec ||
              static_cast<long long>(st.st_size) != size_;
  }
  if (loaded_ && !changed && now - read_at_ < refresh_interval_) return token_;
  absl::StatusOr<std::string> content = ReadWholeFile(file_);
  if (!content.ok()) {
    if (loaded_) return token_;  // keep the last good token
    return absl::UnauthenticatedError(
        absl::StrCat("cannot read the token file: ", content.status().message()));
  }
  token_ = std::string(absl::StripAsciiWhitespace(*content));
  loaded_ = true;
  read_at_ = now;
  mtime_ = st.st_mtim;
  size_ = static_cast<long long>(st.st_size);
  return token_;
}

}  // namespace kubeclient
