// The remote backend against a fake Prometheus (the project's own HTTP server answering canned
// JSON): request shapes (paths, parameters, verbs, headers), every result type, errors, TLS.
#include "adapter/apiserver/prometheus_backend.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "adapter/cli/flags.h"
#include "adapter/cmd/serve_options.h"
#include "adapter/http/self_signed_cert.h"
#include "adapter/http/server.h"
#include "tests/support/process.h"

namespace {

using apiserver::DiscoveredMetric;
using apiserver::NewPrometheusBackend;
using apiserver::PrometheusBackendOptions;
using apiserver::QueryBackend;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A fake Prometheus: records every request and answers with the canned (status, body) of the
// request's path (after the prefix), or 404.
class FakePrometheus {
 public:
  explicit FakePrometheus(const http::TlsConfig* tls = nullptr) {
    server_ = std::make_unique<http::Server>(http::ServerOptions{}, [this](const http::Request& r) {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(r);
      auto it = answers_.find(r.path);
      if (it == answers_.end()) return http::Response::Text("404 page not found\n", 404);
      return http::Response::Json(it->second.second, it->second.first);
    });
    absl::StatusOr<int> port = server_->Listen("127.0.0.1:0", tls);
    EXPECT_TRUE(port.ok()) << port.status();
    port_ = port.ok() ? *port : 0;
    EXPECT_TRUE(server_->Start().ok());
  }
  ~FakePrometheus() { server_->Stop(std::chrono::milliseconds(100)); }

  void Answer(const std::string& path, std::string body, int status = 200) {
    std::lock_guard<std::mutex> lock(mu_);
    answers_[path] = {status, std::move(body)};
  }
  std::vector<http::Request> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  http::Request last() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_.empty() ? http::Request{} : requests_.back();
  }
  int port() const { return port_; }
  std::string url(const std::string& scheme = "http", const std::string& prefix = "") const {
    return scheme + "://127.0.0.1:" + std::to_string(port_) + prefix;
  }

 private:
  std::unique_ptr<http::Server> server_;
  int port_ = 0;
  std::mutex mu_;
  std::map<std::string, std::pair<int, std::string>> answers_;
  std::vector<http::Request> requests_;
};

std::unique_ptr<QueryBackend> MustCreate(PrometheusBackendOptions options) {
  absl::StatusOr<std::unique_ptr<QueryBackend>> b = NewPrometheusBackend(std::move(options));
  EXPECT_TRUE(b.ok()) << b.status();
  return b.ok() ? std::move(*b) : nullptr;
}

std::unique_ptr<QueryBackend> MustCreate(const std::string& url) {
  PrometheusBackendOptions options;
  options.url = url;
  options.timeout_ms = 1500;
  return MustCreate(std::move(options));
}

TEST(PrometheusBackendTest, QueryVectorSendsQueryAndTime) {
  FakePrometheus prom;
  prom.Answer("/api/v1/query", R"({"status":"success","data":{"resultType":"vector","result":[
      {"metric":{"__name__":"up","pod":"a","namespace":"default"},"value":[1700000000.5,"1"]},
      {"metric":{"pod":"b"},"value":[1700000000.5,"NaN"]},
      {"metric":{"pod":"c"},"value":[1700000000.5,"+Inf"]},
      {"metric":{"pod":"d"},"value":[1700000000.5,"-Inf"]},
      {"metric":{"pod":"e"},"value":[1700000000.5,"2.5e-3"]}]},
      "warnings":["careful"]})");
  auto backend = MustCreate(prom.url());
  absl::StatusOr<promql::QueryResult> r =
      backend->Query("sum(rate(x[1m])) by (pod)", 1700000000500);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->type(), promql::ValueType::kVector);
  const promql::Vector& v = std::get<promql::Vector>(r->value);
  ASSERT_EQ(v.size(), 5u);
  EXPECT_EQ(v[0].labels.Get("__name__"), "up");
  EXPECT_EQ(v[0].labels.Get("pod"), "a");
  EXPECT_EQ(v[0].labels.Get("namespace"), "default");
  EXPECT_EQ(v[0].t, 1700000000500);
  EXPECT_EQ(v[0].v, 1.0);
  EXPECT_TRUE(std::isnan(v[1].v));
  EXPECT_TRUE(std::isinf(v[2].v) && v[2].v > 0);
  EXPECT_TRUE(std::isinf(v[3].v) && v[3].v < 0);
  EXPECT_DOUBLE_EQ(v[4].v, 0.0025);
  EXPECT_THAT(r->annotations.warnings, ElementsAre("careful"));

  http::Request req = prom.last();
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.path, "/api/v1/query");
  EXPECT_EQ(req.Get("query"), "sum(rate(x[1m])) by (pod)");
  EXPECT_EQ(req.Get("time"), "1700000000.500");
}

TEST(PrometheusBackendTest, QueryScalarStringMatrix) {
  FakePrometheus prom;
  auto backend = MustCreate(prom.url());
  prom.Answer("/api/v1/query",
              R"({"status":"success","data":{"resultType":"scalar","result":[12.25,"42"]}})");
  absl::StatusOr<promql::QueryResult> r = backend->Query("42", 0);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->type(), promql::ValueType::kScalar);
  EXPECT_EQ(std::get<promql::Scalar>(r->value).t, 12250);
  EXPECT_EQ(std::get<promql::Scalar>(r->value).v, 42.0);
  EXPECT_EQ(prom.last().Get("time"), "0.000");

  prom.Answer("/api/v1/query",
              R"({"status":"success","data":{"resultType":"string","result":[3,"hello"]}})");
  r = backend->Query("\"hello\"", 3000);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->type(), promql::ValueType::kString);
  EXPECT_EQ(std::get<promql::String>(r->value).v, "hello");
  EXPECT_EQ(std::get<promql::String>(r->value).t, 3000);

  prom.Answer("/api/v1/query", R"({"status":"success","data":{"resultType":"matrix","result":[
      {"metric":{"__name__":"x","a":"1"},"values":[[1,"1"],[2,"2.5"],[3,"NaN"]]},
      {"metric":{"__name__":"x","a":"2"},"values":[]}]}})");
  r = backend->Query("x[5s]", 3000);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->type(), promql::ValueType::kMatrix);
  const promql::Matrix& m = std::get<promql::Matrix>(r->value);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].labels.Get("a"), "1");
  ASSERT_EQ(m[0].samples.size(), 3u);
  EXPECT_EQ(m[0].samples[1].t, 2000);
  EXPECT_EQ(m[0].samples[1].v, 2.5);
  EXPECT_TRUE(std::isnan(m[0].samples[2].v));
  EXPECT_TRUE(m[1].samples.empty());
}

TEST(PrometheusBackendTest, ErrorsFromTheServer) {
  FakePrometheus prom;
  auto backend = MustCreate(prom.url());
  prom.Answer("/api/v1/query",
              R"({"status":"error","errorType":"bad_data","error":"1:5: parse error: oops"})", 400);
  absl::StatusOr<promql::QueryResult> r = backend->Query("sum(", 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "bad_data: 1:5: parse error: oops");

  prom.Answer("/api/v1/query",
              R"({"status":"error","errorType":"timeout","error":"query timed out"})", 503);
  r = backend->Query("x", 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(r.status().message(), "timeout: query timed out");

  prom.Answer("/api/v1/query", "oops", 502);
  r = backend->Query("x", 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "bad_response: unknown response code 502");

  prom.Answer("/api/v1/query", "{not json", 200);
  r = backend->Query("x", 0);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("bad_response"));
  EXPECT_THAT(r.status().message(), HasSubstr("invalid JSON"));

  prom.Answer("/api/v1/query",
              R"({"status":"success","data":{"resultType":"vector","result":[
                  {"metric":{},"value":[1,"abc"]}]}})");
  r = backend->Query("x", 0);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("bad sample value \"abc\""));

  prom.Answer("/api/v1/query", R"({"status":"success","data":{"resultType":"weird","result":[]}})");
  r = backend->Query("x", 0);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("unknown resultType \"weird\""));

  // Nothing answers on /api/v1/series: 404 is not a decodable status.
  absl::StatusOr<std::vector<DiscoveredMetric>> d = backend->DiscoverSeries("{a=\"b\"}", 0, 1);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(), "bad_response: unknown response code 404");
}

TEST(PrometheusBackendTest, ConnectionRefusedNamesTheUrl) {
  int port;
  {
    FakePrometheus prom;
    port = prom.port();
  }
  auto backend = MustCreate("http://127.0.0.1:" + std::to_string(port));
  absl::StatusOr<promql::QueryResult> r = backend->Query("x", 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(),
              HasSubstr("GET http://127.0.0.1:" + std::to_string(port) + "/api/v1/query: "));
}

TEST(PrometheusBackendTest, TimeoutBoundsTheWholeCall) {
  http::Server slow(http::ServerOptions{}, [](const http::Request&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    return http::Response::Json(R"({"status":"success","data":[]})");
  });
  absl::StatusOr<int> port = slow.Listen("127.0.0.1:0");
  ASSERT_TRUE(port.ok()) << port.status();
  ASSERT_TRUE(slow.Start().ok());
  PrometheusBackendOptions options;
  options.url = "http://127.0.0.1:" + std::to_string(*port);
  options.timeout_ms = 150;
  auto backend = MustCreate(options);
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::vector<std::string>> v = backend->LabelValues("job", 0, 1);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(v.status().message(), HasSubstr("/api/v1/label/job/values: timeout after 150ms"));
  EXPECT_LT(took, std::chrono::milliseconds(500));
}

TEST(PrometheusBackendTest, LongQueriesAndVerbPostGoAsForms) {
  FakePrometheus prom;
  prom.Answer("/api/v1/query",
              R"({"status":"success","data":{"resultType":"vector","result":[]}})");
  auto backend = MustCreate(prom.url());
  const std::string long_query = "up{pod=~\"" + std::string(9000, 'a') + "\"}";
  absl::StatusOr<promql::QueryResult> r = backend->Query(long_query, 1000);
  ASSERT_TRUE(r.ok()) << r.status();
  http::Request req = prom.last();
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/api/v1/query");
  EXPECT_THAT(req.Header("Content-Type"), HasSubstr("application/x-www-form-urlencoded"));
  EXPECT_EQ(req.Get("query"), long_query);
  EXPECT_EQ(req.Get("time"), "1.000");

  ASSERT_TRUE(backend->Query("up", 1000).ok());
  EXPECT_EQ(prom.last().method, "GET");

  PrometheusBackendOptions options;
  options.url = prom.url();
  options.verb = "POST";
  auto post_backend = MustCreate(options);
  ASSERT_TRUE(post_backend->Query("up + 1", 2000).ok());
  EXPECT_EQ(prom.last().method, "POST");
  EXPECT_EQ(prom.last().Get("query"), "up + 1");
}

TEST(PrometheusBackendTest, DiscoverSeriesSummarisesPerMetric) {
  FakePrometheus prom;
  prom.Answer("/prefix/api/v1/series", R"({"status":"success","data":[
      {"__name__":"http_requests_total","pod":"a","namespace":"ns","code":"200"},
      {"__name__":"http_requests_total","pod":"b","namespace":"ns","path":"/x"},
      {"__name__":"cpu_seconds_total","pod":"a","namespace":"ns"},
      {"job":"nameless"}]})");
  auto backend = MustCreate(prom.url("http", "/prefix/"));
  absl::StatusOr<std::vector<DiscoveredMetric>> d =
      backend->DiscoverSeries("{namespace!=\"\",pod!=\"\"}", 60'000, 120'500);
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->size(), 2u);
  EXPECT_EQ((*d)[0].name, "cpu_seconds_total");
  EXPECT_THAT((*d)[0].label_names, ElementsAre("namespace", "pod"));
  EXPECT_EQ((*d)[1].name, "http_requests_total");
  EXPECT_THAT((*d)[1].label_names, ElementsAre("code", "namespace", "path", "pod"));
  http::Request req = prom.last();
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.path, "/prefix/api/v1/series");
  EXPECT_THAT(req.GetAll("match[]"), ElementsAre("{namespace!=\"\",pod!=\"\"}"));
  EXPECT_EQ(req.Get("start"), "60.000");
  EXPECT_EQ(req.Get("end"), "120.500");
}

TEST(PrometheusBackendTest, LabelValues) {
  FakePrometheus prom;
  prom.Answer("/api/v1/label/namespace/values",
              R"({"status":"success","data":["kube-system","default","default"]})");
  auto backend = MustCreate(prom.url());
  absl::StatusOr<std::vector<std::string>> v = backend->LabelValues("namespace", 1000, 2000);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_THAT(*v, ElementsAre("default", "kube-system"));
  EXPECT_EQ(prom.last().Get("start"), "1.000");
  EXPECT_EQ(prom.last().Get("end"), "2.000");
}

TEST(PrometheusBackendTest, SendsTokenAndHeaders) {
  FakePrometheus prom;
  prom.Answer("/api/v1/query",
              R"({"status":"success","data":{"resultType":"vector","result":[]}})");
  const std::string dir = testing::TempDir() + "/prombackend_token";
  std::filesystem::create_directories(dir);
  { std::ofstream(dir + "/token") << "  s3cret\n"; }
  PrometheusBackendOptions options;
  options.url = prom.url();
  options.token_file = dir + "/token";
  options.headers = {{"X-Scope-OrgID", "tenant-1"}, {"X-Extra", "a=b"}};
  auto backend = MustCreate(options);
  // Read once: changing the file does not change what is sent.
  { std::ofstream(dir + "/token") << "other"; }
  ASSERT_TRUE(backend->Query("up", 0).ok());
  http::Request req = prom.last();
  EXPECT_EQ(req.Header("Authorization"), "Bearer s3cret");
  EXPECT_EQ(req.Header("X-Scope-OrgID"), "tenant-1");
  EXPECT_EQ(req.Header("X-Extra"), "a=b");
  EXPECT_EQ(req.Header("Host"), "127.0.0.1:" + std::to_string(prom.port()));
}

TEST(PrometheusBackendTest, KubeconfigCredentialsRotateWithTheTokenFile) {
  // A service account's token (--prometheus-auth-incluster): re-read as the kubelet rotates it.
  FakePrometheus prom;
  prom.Answer("/api/v1/query",
              R"({"status":"success","data":{"resultType":"vector","result":[]}})");
  const std::string dir = testing::TempDir() + "/prombackend_sa";
  std::filesystem::create_directories(dir);
  { std::ofstream(dir + "/token") << "first\n"; }
  PrometheusBackendOptions options;
  options.url = prom.url();
  options.rotating_token_file = dir + "/token";
  auto backend = MustCreate(options);
  ASSERT_TRUE(backend->Query("up", 0).ok());
  EXPECT_EQ(prom.last().Header("Authorization"), "Bearer first");
  // A rotated token is a new file with another size and modification time.
  std::filesystem::remove(dir + "/token");
  { std::ofstream(dir + "/token") << "second-token\n"; }
  std::filesystem::last_write_time(
      dir + "/token", std::filesystem::last_write_time(dir + "/token") + std::chrono::seconds(5));
  ASSERT_TRUE(backend->Query("up", 0).ok());
  EXPECT_EQ(prom.last().Header("Authorization"), "Bearer second-token");

  // A kubeconfig user's token as given.
  PrometheusBackendOptions with_token;
  with_token.url = prom.url();
  with_token.bearer_token = "kubeconfig-token";
  ASSERT_TRUE(MustCreate(with_token)->Query("up", 0).ok());
  EXPECT_EQ(prom.last().Header("Authorization"), "Bearer kubeconfig-token");

  // A missing token file is an error at creation, naming it.
  with_token.bearer_token.clear();
  with_token.rotating_token_file = dir + "/missing";
  EXPECT_THAT(NewPrometheusBackend(with_token).status().message(), HasSubstr("missing"));
}

TEST(PrometheusBackendTest, BadOptionsFailAtCreation) {
  PrometheusBackendOptions options;
  options.url = "ftp://x";
  EXPECT_THAT(NewPrometheusBackend(options).status().message(), HasSubstr("http or https"));
  options.url = "http://";
  EXPECT_FALSE(NewPrometheusBackend(options).ok());
  options.url = "http://127.0.0.1:9090";
  options.verb = "PUT";
  EXPECT_THAT(NewPrometheusBackend(options).status().message(), HasSubstr("PUT"));
  options.verb = "GET";
  options.token_file = "/nonexistent/token";
  EXPECT_THAT(NewPrometheusBackend(options).status().message(), HasSubstr("/nonexistent/token"));
  options.token_file.clear();
  options.url = "https://127.0.0.1:9090";
  options.ca_file = "/nonexistent/ca.pem";
  EXPECT_THAT(NewPrometheusBackend(options).status().message(), HasSubstr("/nonexistent/ca.pem"));
}

TEST(PrometheusBackendTest, Https) {
  const std::string dir = testing::TempDir() + "/prombackend_tls";
  absl::StatusOr<http::CertPaths> cert = http::EnsureSelfSignedCert(dir, {"127.0.0.1"});
  ASSERT_TRUE(cert.ok()) << cert.status();
  http::TlsConfig tls;
  tls.cert_file = cert->cert_file;
  tls.key_file = cert->key_file;
  FakePrometheus prom(&tls);
  prom.Answer("/api/v1/query",
              R"({"status":"success","data":{"resultType":"scalar","result":[1,"7"]}})");

  PrometheusBackendOptions options;
  options.url = prom.url("https");
  options.timeout_ms = 1500;
  options.ca_file = cert->cert_file;
  auto trusted = MustCreate(options);
  absl::StatusOr<promql::QueryResult> r = trusted->Query("7", 1000);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(std::get<promql::Scalar>(r->value).v, 7.0);
  EXPECT_TRUE(prom.last().tls);

  // The CA as PEM data (a kubeconfig's certificate-authority-data) works the same.
  PrometheusBackendOptions from_pem = options;
  from_pem.ca_file.clear();
  from_pem.ca_pem = testsupport::ReadFileText(cert->cert_file);
  ASSERT_FALSE(from_pem.ca_pem.empty());
  EXPECT_TRUE(MustCreate(from_pem)->Query("7", 1000).ok());

  // Without the CA the self-signed certificate is refused, unless verification is skipped.
  options.ca_file.clear();
  auto untrusted = MustCreate(options);
  EXPECT_FALSE(untrusted->Query("7", 1000).ok());
  options.insecure_skip_verify = true;
  auto insecure = MustCreate(options);
  EXPECT_TRUE(insecure->Query("7", 1000).ok());
}

absl::Status ParsePrometheusFlags(std::vector<std::string> args, adapter::ServeOptions* o) {
  cli::FlagSet flags("metrics-adapter serve");
  adapter::RegisterServeFlags(&flags, o);
  absl::StatusOr<std::vector<std::string>> rest = flags.Parse(args);
  if (!rest.ok()) return rest.status();
  return adapter::ValidateServeOptions(o);
}

TEST(PrometheusBackendFlagsTest, DefaultsAndValues) {
  adapter::ServeOptions o;
  ASSERT_TRUE(ParsePrometheusFlags({}, &o).ok());
  EXPECT_EQ(o.prometheus_url, "");
  EXPECT_EQ(o.prometheus_verb, "GET");
  EXPECT_EQ(o.metrics_relist_interval_ms, 10 * 60 * 1000);

  adapter::ServeOptions r;
  absl::Status st = ParsePrometheusFlags(
      {"--prometheus-url=https://prom:9090/p/", "--prometheus-ca-file=/ca.pem",
       "--prometheus-client-tls-cert-file=/c.pem", "--prometheus-client-tls-key-file=/k.pem",
       "--prometheus-token-file=/t", "--prometheus-header", "X-Scope-OrgID=t1",
       "--prometheus-header=X-A=b=c", "--prometheus-verb=POST"},
      &r);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(r.prometheus_url, "https://prom:9090/p/");
  EXPECT_EQ(r.prometheus_verb, "POST");
  EXPECT_EQ(r.prometheus_token_file, "/t");
  using Field = std::pair<std::string, std::string>;
  EXPECT_THAT(r.prometheus_header_fields,
              ElementsAre(Field("X-Scope-OrgID", "t1"), Field("X-A", "b=c")));
}

TEST(PrometheusBackendFlagsTest, Errors) {
  auto error = [](std::vector<std::string> args) {
    adapter::ServeOptions o;
    return std::string(ParsePrometheusFlags(std::move(args), &o).message());
  };
  EXPECT_THAT(error({"--prometheus-url=prom:9090"}), HasSubstr("--prometheus-url"));
  EXPECT_THAT(error({"--prometheus-url=http://p", "--prometheus-verb=PUT"}),
              HasSubstr("--prometheus-verb"));
  EXPECT_THAT(error({"--prometheus-url=http://p", "--prometheus-header=novalue"}),
              HasSubstr("--prometheus-header"));
  EXPECT_THAT(error({"--prometheus-url=http://p", "--prometheus-header=a b=c"}),
              HasSubstr("want name=value"));
  EXPECT_THAT(error({"--prometheus-url=http://p", "--prometheus-client-tls-cert-file=/c"}),
              HasSubstr("go together"));
  EXPECT_EQ(error({"--prometheus-token-file=/t"}),
            "--prometheus-token-file needs --prometheus-url");
  EXPECT_EQ(error({"--prometheus-header=a=b"}), "--prometheus-header needs --prometheus-url");
  EXPECT_EQ(error({"--prometheus-auth-incluster"}),
            "--prometheus-auth-incluster needs --prometheus-url");
  EXPECT_EQ(error({"--prometheus-auth-config=/k"}),
            "--prometheus-auth-config needs --prometheus-url");
  EXPECT_THAT(error({"--prometheus-url=http://p", "--prometheus-auth-incluster",
                     "--prometheus-auth-config=/k"}),
              HasSubstr("mutually exclusive"));
}

}  // namespace
