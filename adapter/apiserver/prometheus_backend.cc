#include "adapter/apiserver/prometheus_backend.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "adapter/http/client.h"
#include "adapter/kubeclient/config.h"

namespace apiserver {
namespace {

namespace json = boost::json;

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(std::strerror(errno));
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return absl::DataLossError("read error");
  return buffer.str();
}

// Prometheus' time parameter: Unix seconds with millisecond precision ("1700000000.123").
std::string FormatTime(int64_t t_ms) {
  int64_t sec = t_ms / 1000;
  int64_t ms = t_ms % 1000;
  if (ms < 0) {
    ms += 1000;
    --sec;
  }
  return absl::StrFormat("%d.%03d", sec, ms);
}

void AppendEscaped(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out->push_back(static_cast<char>(c));
    } else {
      out->push_back('%');
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    }
  }
}

// "a=1&b=2", percent-encoded: a query string and a form body alike.
std::string EncodeForm(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out.push_back('&');
    AppendEscaped(name, &out);
    out.push_back('=');
    AppendEscaped(value, &out);
  }
  return out;
}

struct ParsedUrl {
  std::string origin;      // "http://host[:port]" as written, without user information
  std::string prefix;      // "" or "/prefix" (no trailing slash)
  std::string basic_auth;  // "user:password" or ""
};

absl::StatusOr<ParsedUrl> ParseUrl(std::string_view url) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrFormat("invalid Prometheus URL \"%s\": %s", url, why));
  };
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return bad("want http://host[:port][/prefix]");
  std::string scheme = absl::AsciiStrToLower(std::string(url.substr(0, scheme_end)));
  if (scheme != "http" && scheme != "https") return bad("the scheme must be http or https");
  std::string_view rest = url.substr(scheme_end + 3);
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return bad("a query or fragment is not allowed");
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  ParsedUrl out;
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    out.basic_auth = std::string(authority.substr(0, at));
    authority = authority.substr(at + 1);
  }
  if (authority.empty()) return bad("no host");
  const std::string origin = absl::StrCat(scheme, "://", std::string(authority));
  absl::StatusOr<http::ClientUrl> parsed = http::ParseClientUrl(origin);
  if (!parsed.ok()) return bad(std::string(parsed.status().message()));
  out.origin = origin;
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  out.prefix = std::string(path);
  return out;
}

absl::StatusCode CodeOfErrorType(std::string_view type) {
  if (type == "bad_data") return absl::StatusCode::kInvalidArgument;
  if (type == "timeout") return absl::StatusCode::kDeadlineExceeded;
  if (type == "canceled") return absl::StatusCode::kCancelled;
  if (type == "unavailable") return absl::StatusCode::kUnavailable;
  if (type == "not_found") return absl::StatusCode::kNotFound;
  if (type == "execution" || type == "internal") return absl::StatusCode::kInternal;
  return absl::StatusCode::kUnknown;
}

struct HttpAnswer {
  int status = 0;
  std::string body;
};

absl::StatusOr<double> ParseSampleValue(const json::value& v) {
  if (!v.is_string()) return absl::InvalidArgumentError("a sample value is not a string");
  const json::string& s = v.get_string();
  std::string text(s.data(), s.size());
  if (text.empty()) return absl::InvalidArgumentError("empty sample value");
  char* end = nullptr;
  double d = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) {
    return absl::InvalidArgumentError(absl::StrCat("bad sample value \"", text, "\""));
  }
  return d;
}

absl::StatusOr<int64_t> ParseSampleTime(const json::value& v) {
  double sec;
  if (v.is_double()) {
    sec = v.get_double();
  } else if (v.is_int64()) {
    sec = static_cast<double>(v.get_int64());
  } else if (v.is_uint64()) {
    sec = static_cast<double>(v.get_uint64());
  } else {
    return absl::InvalidArgumentError("a sample time is not a number");
  }
  if (!std::isfinite(sec) || std::fabs(sec) > 9e15) {
    return absl::InvalidArgumentError("sample time out of range");
  }
  return static_cast<int64_t>(std::llround(sec * 1000));
}

// [t, "v"]
absl::Status ParsePair(const json::value& v, int64_t* t, double* value) {
  if (!v.is_array() || v.get_array().size() != 2) {
    return absl::InvalidArgumentError("a sample is not a [time, value] pair");
  }
  absl::StatusOr<int64_t> ts = ParseSampleTime(v.get_array()[0]);
  if (!ts.ok()) return ts.status();
  absl::StatusOr<double> d = ParseSampleValue(v.get_array()[1]);
  if (!d.ok()) return d.status();
  *t = *ts;
  *value = *d;
  return absl::OkStatus();
}

absl::StatusOr<tsdb::Labels> ParseMetric(const json::value& v) {
  if (!v.is_object()) return absl::InvalidArgumentError("\"metric\" is not an object");
  std::vector<tsdb::Label> labels;
  for (const json::key_value_pair& kv : v.get_object()) {
    if (!kv.value().is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat("label ", std::string(kv.key()), " is not a string"));
    }
    labels.push_back(tsdb::Label{std::string(kv.key()), std::string(kv.value().get_string())});
  }
  return tsdb::Labels(std::move(labels));
}

std::vector<std::string> StringArray(const json::object& obj, std::string_view key) {
  std::vector<std::string> out;
  const json::value* v = obj.if_contains(key);
  if (v == nullptr || !v->is_array()) return out;
  for (const json::value& e : v->get_array()) {
    if (e.is_string()) out.emplace_back(e.get_string());
  }
  return out;
}

absl::StatusOr<promql::QueryResult> ParseQueryData(const json::object& envelope) {
  const json::value* data = envelope.if_contains("data");
  if (data == nullptr || !data->is_object()) {
    return absl::InvalidArgumentError("the answer has no \"data\" object");
  }
  const json::object& d = data->get_object();
  const json::value* type = d.if_contains("resultType");
  const json::value* result = d.if_contains("result");
  if (type == nullptr || !type->is_string() || result == nullptr) {
    return absl::InvalidArgumentError("the answer has no resultType or result");
  }
  promql::QueryResult out;
  out.annotations.warnings = StringArray(envelope, "warnings");
  out.annotations.infos = StringArray(envelope, "infos");
  std::string_view rt(type->get_string().data(), type->get_string().size());
  if (rt == "scalar" || rt == "string") {
    if (!result->is_array() || result->get_array().size() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("a ", std::string(rt), " result is not a pair"));
    }
    absl::StatusOr<int64_t> t = ParseSampleTime(result->get_array()[0]);
    if (!t.ok()) return t.status();
    if (rt == "string") {
      const json::value& s = result->get_array()[1];
      if (!s.is_string()) return absl::InvalidArgumentError("a string result is not a string");
      out.value = promql::String{*t, std::string(s.get_string())};
    } else {
      absl::StatusOr<double> v = ParseSampleValue(result->get_array()[1]);
      if (!v.ok()) return v.status();
      out.value = promql::Scalar{*t, *v};
    }
    return out;
  }
  if (!result->is_array()) return absl::InvalidArgumentError("result is not an array");
  if (rt == "vector") {
    promql::Vector vec;
    for (const json::value& e : result->get_array()) {
      if (!e.is_object()) return absl::InvalidArgumentError("a vector element is not an object");
      const json::object& o = e.get_object();
      const json::value* metric = o.if_contains("metric");
      const json::value* value = o.if_contains("value");
      if (value == nullptr) {
        if (o.contains("histogram")) {
          return absl::UnimplementedError("native histogram samples are not supported");
        }
        return absl::InvalidArgumentError("a vector element has no value");
      }
      promql::VectorSample s;
      if (metric != nullptr) {
        absl::StatusOr<tsdb::Labels> labels = ParseMetric(*metric);
        if (!labels.ok()) return labels.status();
        s.labels = std::move(*labels);
      }
      if (absl::Status st = ParsePair(*value, &s.t, &s.v); !st.ok()) return st;
      vec.push_back(std::move(s));
    }
    out.value = std::move(vec);
    return out;
  }
  if (rt == "matrix") {
    promql::Matrix matrix;
    for (const json::value& e : result->get_array()) {
      if (!e.is_object()) return absl::InvalidArgumentError("a matrix element is not an object");
      const json::object& o = e.get_object();
      promql::MatrixSeries series;
      if (const json::value* metric = o.if_contains("metric")) {
        absl::StatusOr<tsdb::Labels> labels = ParseMetric(*metric);
        if (!labels.ok()) return labels.status();
        series.labels = std::move(*labels);
      }
      if (const json::value* values = o.if_contains("values")) {
        if (!values->is_array()) return absl::InvalidArgumentError("\"values\" is not an array");
        for (const json::value& p : values->get_array()) {
          tsdb::Sample sample{};
          if (absl::Status st = ParsePair(p, &sample.t, &sample.v); !st.ok()) return st;
          series.samples.push_back(sample);
        }
      } else if (o.contains("histograms")) {
        return absl::UnimplementedError("native histogram samples are not supported");
      }
      matrix.push_back(std::move(series));
    }
    out.value = std::move(matrix);
    return out;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown resultType \"", std::string(rt), "\""));
}

class PrometheusBackend : public QueryBackend {
 public:
  static absl::StatusOr<std::unique_ptr<PrometheusBackend>> Create(PrometheusBackendOptions o) {
    absl::StatusOr<ParsedUrl> url = ParseUrl(o.url);
    if (!url.ok()) return url.status();
    if (o.verb != "GET" && o.verb != "POST") {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid Prometheus verb \"", o.verb, "\": want GET or POST"));
    }
    if (o.cert_file.empty() != o.key_file.empty() || o.cert_pem.empty() != o.key_pem.empty()) {
      return absl::InvalidArgumentError(
          "a client certificate needs both a certificate and a key file");
    }
    if (o.timeout_ms <= 0) return absl::InvalidArgumentError("the timeout must be positive");
    std::unique_ptr<PrometheusBackend> b(new PrometheusBackend(std::move(o), std::move(*url)));
    if (!b->options_.token_file.empty()) {
      absl::StatusOr<std::string> token = ReadFile(b->options_.token_file);
      if (!token.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "cannot read the token file ", b->options_.token_file, ": ", token.status().message()));
      }
      b->headers_.emplace_back("Authorization",
                               absl::StrCat("Bearer ", absl::StripAsciiWhitespace(*token)));
    } else if (!b->options_.bearer_token.empty() || !b->options_.rotating_token_file.empty()) {
      b->token_ = std::make_unique<kubeclient::TokenSource>(b->options_.bearer_token,
                                                            b->options_.rotating_token_file);
      if (absl::StatusOr<std::string> token = b->token_->Token(); !token.ok()) {
        return token.status();
      }
    } else if (!b->url_.basic_auth.empty()) {
      b->headers_.emplace_back("Authorization",
                               absl::StrCat("Basic ", absl::Base64Escape(b->url_.basic_auth)));
    }
    for (const auto& h : b->options_.headers) b->headers_.push_back(h);
    http::ClientOptions client_options;
    client_options.ca_file = b->options_.ca_file;
    client_options.cert_file = b->options_.cert_file;
    client_options.key_file = b->options_.key_file;
    client_options.ca_pem = b->options_.ca_pem;
    client_options.cert_pem = b->options_.cert_pem;
    client_options.key_pem = b->options_.key_pem;
    client_options.insecure_skip_verify = b->options_.insecure_skip_verify;
    client_options.timeout = std::chrono::milliseconds(b->options_.timeout_ms);
    client_options.max_response_bytes = b->options_.max_response_bytes;
    absl::StatusOr<std::unique_ptr<http::Client>> client =
        http::Client::New(std::move(client_options));
    if (!client.ok()) return client.status();
    b->client_ = std::move(*client);
    return b;
  }

  absl::StatusOr<promql::QueryResult> Query(const std::string& expr, int64_t t) const override {
    absl::StatusOr<json::value> answer =
        Call("/api/v1/query", {{"query", expr}, {"time", FormatTime(t)}}, true);
    if (!answer.ok()) return answer.status();
    absl::StatusOr<promql::QueryResult> result = ParseQueryData(answer->get_object());
    if (!result.ok()) return BadAnswer("/api/v1/query", result.status());
    return result;
  }

  absl::StatusOr<std::vector<DiscoveredMetric>> DiscoverSeries(std::string_view series_query,
                                                               int64_t since,
                                                               int64_t until) const override {
    absl::StatusOr<json::value> answer = Call("/api/v1/series",
                                              {{"match[]", std::string(series_query)},
                                               {"start", FormatTime(since)},
                                               {"end", FormatTime(until)}},
                                              true);
    if (!answer.ok()) return answer.status();
    const json::value* data = answer->get_object().if_contains("data");
    if (data == nullptr || !data->is_array()) {
      return BadAnswer("/api/v1/series", absl::InvalidArgumentError("\"data\" is not an array"));
    }
    std::map<std::string, std::set<std::string>, std::less<>> by_name;
    for (const json::value& series : data->get_array()) {
      if (!series.is_object()) {
        return BadAnswer("/api/v1/series", absl::InvalidArgumentError("a series is not an object"));
      }
      const json::object& o = series.get_object();
      const json::value* name = o.if_contains("__name__");
      if (name == nullptr || !name->is_string() || name->get_string().empty()) continue;
      std::set<std::string>& names = by_name[std::string(name->get_string())];
      for (const json::key_value_pair& kv : o) {
        if (kv.key() != "__name__") names.emplace(kv.key());
      }
    }
    std::vector<DiscoveredMetric> out;
    out.reserve(by_name.size());
    for (auto& [name, labels] : by_name) {
      out.push_back(DiscoveredMetric{name, std::vector<std::string>(labels.begin(), labels.end())});
    }
    return out;
  }

  absl::StatusOr<std::vector<std::string>> LabelValues(std::string_view label, int64_t since,
                                                       int64_t until) const override {
    std::string path = "/api/v1/label/";
    AppendEscaped(label, &path);
    path += "/values";
    absl::StatusOr<json::value> answer =
        Call(path, {{"start", FormatTime(since)}, {"end", FormatTime(until)}}, false);
    if (!answer.ok()) return answer.status();
    const json::value* data = answer->get_object().if_contains("data");
    if (data == nullptr || !data->is_array()) {
      return BadAnswer(path, absl::InvalidArgumentError("\"data\" is not an array"));
    }
    std::vector<std::string> out;
    for (const json::value& v : data->get_array()) {
      if (v.is_string()) out.emplace_back(v.get_string());
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

 private:
  PrometheusBackend(PrometheusBackendOptions options, ParsedUrl url)
      : options_(std::move(options)), url_(std::move(url)) {}

  absl::Status BadAnswer(std::string_view path, const absl::Status& why) const {
    return absl::InternalError(absl::StrCat("bad_response: ", url_.prefix, std::string(path),
                                            " from ", options_.url, ": ", why.message()));
  }

  // Sends the request (GET with the fields as query string, or a form POST when allowed and
  // asked for or needed) and decodes the JSON envelope; returns it when "status" is "success".
  absl::StatusOr<json::value> Call(const std::string& path,
                                   const std::vector<std::pair<std::string, std::string>>& fields,
                                   bool post_allowed) const {
    std::string form = EncodeForm(fields);
    std::string target = url_.prefix + path;
    bool post = post_allowed && options_.verb == "POST";
    if (!post && post_allowed && target.size() + 1 + form.size() > options_.max_get_target_bytes) {
      post = true;
    }
    if (!post && !form.empty()) target += "?" + form;
    absl::StatusOr<HttpAnswer> answer = Send(post, target, post ? form : std::string());
    if (!answer.ok()) return answer.status();
    const int code = answer->status;
    const bool decodable = (code >= 200 && code < 300) || code == 400 || code == 422 || code == 503;
    if (!decodable) {
      return absl::InternalError(absl::StrCat("bad_response: unknown response code ", code));
    }
    boost::system::error_code ec;
    json::value v = json::parse(answer->body, ec);
    if (ec || !v.is_object()) {
      absl::Status why = absl::InvalidArgumentError(
          ec ? absl::StrCat("invalid JSON: ", ec.message()) : "the answer is not a JSON object");
      if (code >= 200 && code < 300) return BadAnswer(path, why);
      return absl::InternalError(absl::StrCat("server_error: server error: ", code));
    }
    const json::object& o = v.get_object();
    const json::value* status = o.if_contains("status");
    if (status != nullptr && status->is_string() && status->get_string() == "error") {
      std::string type, message;
      if (const json::value* t = o.if_contains("errorType"); t != nullptr && t->is_string()) {
        type = std::string(t->get_string());
      }
      if (const json::value* m = o.if_contains("error"); m != nullptr && m->is_string()) {
        message = std::string(m->get_string());
      }
      return absl::Status(CodeOfErrorType(type), absl::StrCat(type, ": ", message));
    }
    if (code < 200 || code >= 300) {
      return absl::InternalError(
          absl::StrCat("bad_response: inconsistent body for response code ", code));
    }
    return v;
  }

  absl::StatusOr<HttpAnswer> Send(bool post, const std::string& target,
                                  const std::string& body) const {
    http::ClientRequest request;
    request.method = post ? "POST" : "GET";
    request.url = url_.origin + target;
    request.headers.emplace_back("Accept", "application/json");
    if (token_ != nullptr) {
      absl::StatusOr<std::string> token = token_->Token();
      if (!token.ok()) return token.status();
      request.headers.emplace_back("Authorization", absl::StrCat("Bearer ", *token));
    }
    for (const auto& h : headers_) request.headers.push_back(h);
    if (post) {
      request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
      request.body = body;
    }
    absl::StatusOr<http::ClientResponse> response = client_->Do(request);
    if (!response.ok()) return response.status();
    HttpAnswer out;
    out.status = response->status;
    out.body = std::move(response->body);
    return out;
  }

  PrometheusBackendOptions options_;
  ParsedUrl url_;
  std::vector<std::pair<std::string, std::string>> headers_;
  std::unique_ptr<kubeclient::TokenSource> token_;  // kubeconfig / service account token
  std::unique_ptr<http::Client> client_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<QueryBackend>> NewPrometheusBackend(
    PrometheusBackendOptions options) {
  absl::StatusOr<std::unique_ptr<PrometheusBackend>> b =
      PrometheusBackend::Create(std::move(options));
  if (!b.ok()) return b.status();
  return std::unique_ptr<QueryBackend>(std::move(*b));
}

}  // namespace apiserver
