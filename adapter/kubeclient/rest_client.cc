#include "adapter/kubeclient/rest_client.h"

#include <algorithm>
#include <boost/json.hpp>
#include <thread>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace kubeclient {
namespace {

namespace json = boost::json;

constexpr char kCodePayload[] = "metrics-adapter/kubeclient.http_code";
constexpr char kReasonPayload[] = "metrics-adapter/kubeclient.reason";

absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

absl::StatusCode CodeForHttp(int code) {
  switch (code) {
    case 400:
    case 422:
      return absl::StatusCode::kInvalidArgument;
    case 401:
      return absl::StatusCode::kUnauthenticated;
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
      return absl::StatusCode::kNotFound;
    case 409:
      return absl::StatusCode::kAlreadyExists;
    case 410:
      return absl::StatusCode::kFailedPrecondition;
    case 429:
      return absl::StatusCode::kResourceExhausted;
    case 504:
      return absl::StatusCode::kDeadlineExceeded;
    default:
      return code >= 500 ? absl::StatusCode::kUnavailable : absl::StatusCode::kUnknown;
  }
}

const char* ReasonPhrase(int code) {
  switch (code) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

}  // namespace

absl::Status HttpError(std::string_view what, int code, std::string_view body) {
  std::string message;
  std::string reason;
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(body.data(), body.size()), ec);
  if (!ec && v.is_object()) {
    const json::object& o = v.get_object();
    if (const json::value* m = o.if_contains("message"); m != nullptr && m->is_string()) {
      message = std::string(m->get_string());
    }
    if (const json::value* r = o.if_contains("reason"); r != nullptr && r->is_string()) {
      reason = std::string(r->get_string());
    }
  }
  if (message.empty()) {
    message = std::string(body.substr(0, 512));
    while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) {
      message.pop_back();
    }
  }
  std::string text = absl::StrCat(AV(what), ": ", code);
  if (const char* phrase = ReasonPhrase(code); *phrase != '\0') absl::StrAppend(&text, " ", phrase);
  if (!message.empty()) absl::StrAppend(&text, ": ", message);
  absl::Status status(CodeForHttp(code), text);
  status.SetPayload(kCodePayload, absl::Cord(absl::StrCat(code)));
  if (!reason.empty()) status.SetPayload(kReasonPayload, absl::Cord(reason));
  return status;
}

int HttpCodeOf(const absl::Status& status) {
  auto payload = status.GetPayload(kCodePayload);
  if (!payload.has_value()) return 0;
  int code = 0;
  if (!absl::SimpleAtoi(std::string(*payload), &code)) return 0;
  return code;
}

std::string ReasonOf(const absl::Status& status) {
  auto payload = status.GetPayload(kReasonPayload);
  return payload.has_value() ? std::string(*payload) : std::string();
}

RateLimiter::RateLimiter(double qps, int burst, Clock clock)
    : qps_(qps),
      burst_(std::max(1, burst)),
      clock_(clock ? std::move(clock) : [] { return std::chrono::steady_clock::now(); }),
      tokens_(burst_),
      last_(clock_()) {}

std::chrono::nanoseconds RateLimiter::Reserve() {
  if (qps_ <= 0) return std::chrono::nanoseconds(0);
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = clock_();
  if (now > last_) {
    double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * qps_);
    last_ = now;
  }
  tokens_ -= 1;
  if (tokens_ >= 0) return std::chrono::nanoseconds(0);
  return std::chrono::nanoseconds(static_cast<int64_t>(-tokens_ / qps_ * 1e9));
}

void RateLimiter::Wait() {
  std::chrono::nanoseconds wait = Reserve();
  if (wait.count() > 0) std::this_thread::sleep_for(wait);
}

absl::StatusOr<std::unique_ptr<RestClient>> RestClient::New(ClientConfig config,
                                                            RestClientOptions options) {
  absl::StatusOr<http::ClientUrl> url = http::ParseClientUrl(config.server);
  if (!url.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Kubernetes API server: ", url.status().message()));
  }
  http::ClientOptions http_options;
  http_options.ca_pem = config.ca_pem;
  http_options.cert_pem = config.cert_pem;
  http_options.key_pem = config.key_pem;
  http_options.insecure_skip_verify = config.insecure;
  http_options.server_name = config.tls_server_name;
  http_options.timeout = options.timeout;
  http_options.idle_timeout = options.watch_idle_timeout;
  http_options.user_agent = options.user_agent;
  absl::StatusOr<std::unique_ptr<http::Client>> http = http::Client::New(std::move(http_options));
  if (!http.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Kubernetes API client: ", http.status().message()));
  }
  std::string base = config.server;
  if (size_t q = base.find_first_of("?#"); q != std::string::npos) base.resize(q);
  while (!base.empty() && base.back() == '/') base.pop_back();
  return std::unique_ptr<RestClient>(
      new RestClient(std::move(config), std::move(options), std::move(*http), std::move(base)));
}

RestClient::RestClient(ClientConfig config, RestClientOptions options,
                       std::unique_ptr<http::Client> http, std::string base)
    : config_(std::move(config)),
      options_(std::move(options)),
      http_(std::move(http)),
      base_(std::move(base)),
      token_(config_.bearer_token, config_.token_file),
      limiter_(options_.qps, options_.burst),
      review_limiter_(200, 400) {}

RestClient::~RestClient() = default;

absl::StatusOr<http::ClientRequest> RestClient::NewRequest(std::string method,
                                                           std::string_view path) {
  http::ClientRequest request;
  request.method = std::move(method);
  request.url = base_;
  if (path.empty() || path[0] != '/') request.url.push_back('/');
  request.url.append(path);
  request.headers.emplace_back("Accept", "application/json");
  absl::StatusOr<std::string> token = token_.Token();
  if (!token.ok()) return token.status();
  if (!token->empty()) request.headers.emplace_back("Authorization", "Bearer " + *token);
  return request;
}

absl::StatusOr<std::string> RestClient::Get(std::string_view path, http::CancelToken* cancel) {
  absl::StatusOr<http::ClientRequest> request = NewRequest("GET", path);
  if (!request.ok()) return request.status();
  limiter_.Wait();
  absl::StatusOr<http::ClientResponse> response = http_->Do(*request, cancel);
  if (!response.ok()) return response.status();
  if (response->status < 200 || response->status >= 300) {
    return HttpError(absl::StrCat("GET ", request->url.substr(0, request->url.find('?'))),
                     response->status, response->body);
  }
  return std::move(response->body);
}

absl::StatusOr<std::string> RestClient::Post(std::string_view path, std::string_view body) {
  return DoPost(path, body, &limiter_, std::chrono::milliseconds(0));
}

absl::StatusOr<std::string> RestClient::DoPost(std::string_view path, std::string_view body,
                                               RateLimiter* limiter,
                                               std::chrono::milliseconds timeout) {
  absl::StatusOr<http::ClientRequest> request = NewRequest("POST", path);
  if (!request.ok()) return request.status();
  request->headers.emplace_back("Content-Type", "application/json");
  request->body = std::string(body);
  request->timeout = timeout;
  limiter->Wait();
  absl::StatusOr<http::ClientResponse> response = http_->Do(*request);
  if (!response.ok()) return response.status();
  if (response->status < 200 || response->status >= 300) {
    return HttpError(absl::StrCat("POST ", request->url.substr(0, request->url.find('?'))),
                     response->status, response->body);
  }
  return std::move(response->body);
}

absl::Status RestClient::Watch(std::string_view path,
                               const std::function<bool(std::string_view)>& on_line,
                               http::CancelToken* cancel) {
  absl::StatusOr<http::ClientRequest> request = NewRequest("GET", path);
  if (!request.ok()) return request.status();
  limiter_.Wait();
  std::string pending;
  bool stopped = false;
  auto on_data = [&](std::string_view chunk) {
    pending.append(chunk);
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string_view line(pending.data() + start, nl - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty()) continue;
      if (!on_line(line)) {
        stopped = true;
        return false;
      }
    }
    pending.erase(0, start);
    return true;
  };
  absl::StatusOr<http::ClientResponse> response = http_->Stream(*request, on_data, cancel);
  if (!response.ok()) return response.status();
  if (response->status < 200 || response->status >= 300) {
    return HttpError(absl::StrCat("GET ", request->url.substr(0, request->url.find('?'))),
                     response->status, response->body);
  }
  if (!stopped && !pending.empty()) on_line(pending);  // a last event without its newline
  return absl::OkStatus();
}

std::function<absl::StatusOr<std::string>(std::string_view, std::string_view)>
RestClient::ReviewPoster(std::chrono::milliseconds timeout) {
  return [this, timeout](std::string_view path, std::string_view body) {
    return DoPost(path, body, &review_limiter_, timeout);
  };
}

}  // namespace kubeclient
