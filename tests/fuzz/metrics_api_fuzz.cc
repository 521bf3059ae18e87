// libFuzzer target: any request under /apis must get a JSON answer (a document or a metav1.Status)
// with one of the status codes the API uses, never a crash; Explain must answer it the same way.
//
// Input format, one item per line:
//   line 1    the request path, optionally preceded by a method ("POST /apis/...") and followed
//             by "?name=value&..." (split at '&' and the first '=', not percent-decoded)
//   line 2..  query parameters as name=value (a line without '=' is a name with an empty value)
// The API runs once (static) over a small storage in a temporary directory with series of every
// kind the rules of tests/adapter/metrics_api_rules.h serve, including awkward label values and
// NaN samples.
#include <stdlib.h>
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "adapter/apiserver/backend.h"
#include "adapter/apiserver/metrics_api.h"
#include "adapter/http/server.h"
#include "adapter/k8s/resources.h"
#include "adapter/rules/config.h"
#include "adapter/rules/registry.h"
#include "boost/json.hpp"  // libboost_json comes with ma_adapter
#include "tests/adapter/metrics_api_rules.h"
#include "tsdb/db.h"
#include "tsdb/labels.h"
#include "tsdb/storage.h"

namespace {

constexpr int64_t kNow = 1'700'000'000'000;

constexpr const char* kRules = testsupport::kMetricsApiRules;

void Die(const char* what) {
  std::fprintf(stderr, "metrics_api_fuzz setup: %s\n", what);
  std::abort();
}

struct Fixture {
  std::string dir;
  std::unique_ptr<tsdb::DB> db;
  std::unique_ptr<apiserver::MetricsApi> api;
};

void AddSeries(tsdb::DB* db, tsdb::Labels labels, double start, double per_second) {
  std::unique_ptr<tsdb::Appender> app = db->NewAppender();
  for (int64_t t = kNow - 600'000; t <= kNow; t += 15'000) {
    if (!app->Append(0, labels, t, start + per_second * (t - kNow + 600'000) / 1000.0).ok()) {
      Die("append");
    }
  }
  if (!app->Commit().ok()) Die("commit");
}

std::string* g_dir = nullptr;

// The storage stays open until exit; its files go with the directory then.
void RemoveDir() {
  std::error_code ec;
  std::filesystem::remove_all(*g_dir, ec);
}

Fixture* Build() {
  auto* f = new Fixture;
  char tmpl[] = "/tmp/metrics-api-fuzz-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) Die("mkdtemp");
  f->dir = tmpl;
  g_dir = &f->dir;
  std::atexit(RemoveDir);
  tsdb::DBOptions options;
  options.retention_ms = int64_t{100} * 24 * 3600 * 1000;
  auto db = tsdb::DB::Open(f->dir, options);
  if (!db.ok()) Die("DB::Open");
  f->db = std::move(*db);
  tsdb::DB* d = f->db.get();
  AddSeries(
      d,
      {{"__name__", "http_requests_total"}, {"namespace", "ns1"}, {"pod", "p1"}, {"method", "get"}},
      0, 1);
  AddSeries(
      d,
      {{"__name__", "http_requests_total"}, {"namespace", "ns1"}, {"pod", "p2"}, {"method", "get"}},
      0, 0.5);
  AddSeries(d,
            {{"__name__", "http_requests_total"},
             {"namespace", "ns2"},
             {"pod", "p3"},
             {"method", "post"}},
            0, 2);
  // Label values that need escaping in JSON and in PromQL string literals.
  AddSeries(d,
            {{"__name__", "http_requests_total"},
             {"namespace", "ns\"q"},
             {"pod", "p\\4\n\x01\xc3\xa9"},
             {"method", "get"}},
            0, 3);
  AddSeries(
      d, {{"__name__", "http_errors_total"}, {"namespace", "ns1"}, {"pod", "p1"}, {"code", "500"}},
      0, 1e300);
  AddSeries(d, {{"__name__", "gauge_bad"}, {"namespace", "ns1"}, {"pod", "p1"}}, NAN, 0);
  AddSeries(d, {{"__name__", "gauge_bad"}, {"namespace", "ns1"}, {"pod", "p2"}}, 3, 0);
  AddSeries(d, {{"__name__", "gauge_inf"}, {"namespace", "ns1"}, {"pod", "p1"}}, INFINITY, 0);
  AddSeries(d, {{"__name__", "gauge_replicas"}, {"namespace", "ns1"}, {"deployment", "web"}}, 4, 0);
  AddSeries(d, {{"__name__", "gauge_tiny"}, {"namespace", "ns1"}, {"deployment", "web"}}, 1e-300,
            0);
  AddSeries(d, {{"__name__", "gauge_neg"}, {"namespace", "ns1"}, {"service", "svc"}}, -12345.678,
            0);
  AddSeries(d, {{"__name__", "node_temp"}, {"node", "n1"}}, 41.5, 0);
  AddSeries(d, {{"__name__", "queue_depth"}, {"queue", "a"}, {"namespace", "ns9"}}, 7, 0);
  AddSeries(d, {{"__name__", "queue_depth"}, {"queue", "b"}}, 5, 0);
  AddSeries(d,
            {{"__name__", "cpu_seconds_total"},
             {"namespace", "ns1"},
             {"pod", "p1"},
             {"container", "app"},
             {"node", "n1"}},
            0, 0.25);
  AddSeries(d,
            {{"__name__", "cpu_seconds_total"},
             {"namespace", "ns1"},
             {"pod", "p1"},
             {"container", "side"},
             {"node", "n1"}},
            0, 0.01);
  AddSeries(d,
            {{"__name__", "memory_bytes"},
             {"namespace", "ns1"},
             {"pod", "p1"},
             {"container", "app"},
             {"node", "n1"}},
            3538944, 0);
  AddSeries(d,
            {{"__name__", "memory_bytes"},
             {"namespace", "ns1"},
             {"pod", "p1"},
             {"container", "side"},
             {"node", "n1"}},
            NAN, 0);
  AddSeries(d,
            {{"__name__", "cpu_seconds_total"},
             {"namespace", "ns1"},
             {"pod", "p2"},
             {"container", "app"},
             {"node", "n1"}},
            0, 0.5);

  std::shared_ptr<const k8s::ResourceMapper> mapper = k8s::NewBuiltinResourceMapper();
  apiserver::MetricsApiOptions api_options;
  api_options.backend = apiserver::NewEmbeddedBackend([d] { return d; }, {});
  api_options.mapper = mapper;
  api_options.now_ms = [] { return kNow; };
  f->api = std::make_unique<apiserver::MetricsApi>(std::move(api_options));
  auto config = rules::ParseConfig(kRules, "rules.yaml", *mapper);
  if (!config.ok()) Die("ParseConfig");
  auto compiled = rules::RuleSet::Create(std::move(*config), mapper);
  if (!compiled.ok()) Die("RuleSet::Create");
  f->api->SetRules(std::make_shared<const rules::RuleSet>(std::move(*compiled)));
  if (f->api->CustomMetricNames().empty()) Die("discovery found nothing");
  return f;
}

void AddParam(std::string_view item, http::Params* params) {
  const size_t eq = item.find('=');
  if (eq == std::string_view::npos) {
    params->emplace_back(std::string(item), "");
  } else {
    params->emplace_back(std::string(item.substr(0, eq)), std::string(item.substr(eq + 1)));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture* fixture = Build();
  std::string_view input(reinterpret_cast<const char*>(data), size);

  http::Request request;
  request.method = "GET";
  request.tls = true;
  request.remote_address = "127.0.0.1:1";
  size_t eol = input.find('\n');
  std::string_view first = input.substr(0, eol);
  std::string_view rest =
      eol == std::string_view::npos ? std::string_view() : input.substr(eol + 1);
  const size_t space = first.find(' ');
  if (space != std::string_view::npos && space > 0 && first[0] != '/') {
    request.method = std::string(first.substr(0, space));
    first.remove_prefix(space + 1);
  }
  request.target = std::string(first);
  const size_t q = first.find('?');
  request.path = std::string(first.substr(0, q));
  if (q != std::string_view::npos) {
    std::string_view query = first.substr(q + 1);
    while (!query.empty()) {
      const size_t amp = query.find('&');
      AddParam(query.substr(0, amp), &request.params);
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
  }
  while (!rest.empty()) {
    eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    if (!line.empty()) AddParam(line, &request.params);
    if (eol == std::string_view::npos) break;
    rest.remove_prefix(eol + 1);
  }
  // The router sends only /apis and /apis/... here.
  if (request.path != "/apis" && request.path.rfind("/apis/", 0) != 0) {
    request.path.insert(0, "/apis/");
  }

  http::Response response = fixture->api->Handle(request);
  // Explain serves the same request the same way (the clock is fixed), recording what it did.
  apiserver::Explanation explanation;
  http::Response explained = fixture->api->Explain(request, &explanation);
  if (explained.status != response.status || explained.body != response.body) {
    std::fprintf(stderr, "Explain answered %d, Handle %d:\n%s\n%s\n", explained.status,
                 response.status, explained.body.c_str(), response.body.c_str());
    std::abort();
  }
  switch (response.status) {
    case 200:
    case 400:
    case 404:
    case 405:
    case 500:
    case 503:
      break;
    default:
      std::fprintf(stderr, "unexpected status %d for %s\n", response.status, request.path.c_str());
      std::abort();
  }
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(response.body, ec);
  if (ec) {
    std::fprintf(stderr, "status %d: body is not JSON (%s): %s\n", response.status,
                 ec.message().c_str(), response.body.c_str());
    std::abort();
  }
  if (!doc.is_object()) {
    std::fprintf(stderr, "status %d: body is not a JSON object: %s\n", response.status,
                 response.body.c_str());
    std::abort();
  }
  // Errors are metav1.Status objects carrying the same code.
  if (response.status != 200) {
    const boost::json::object& o = doc.as_object();
    const boost::json::value* kind = o.if_contains("kind");
    const boost::json::value* code = o.if_contains("code");
    if (kind == nullptr || !kind->is_string() || kind->as_string() != "Status" || code == nullptr ||
        !code->is_int64() || code->as_int64() != response.status) {
      std::fprintf(stderr, "status %d: not a matching Status object: %s\n", response.status,
                   response.body.c_str());
      std::abort();
    }
  }
  return 0;
}
