#include "adapter/kubeclient/informer.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "adapter/http/url.h"

namespace kubeclient {
namespace {

namespace json = boost::json;

std::string StringMember(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(json::string_view(key.data(), key.size()));
  if (v == nullptr || !v->is_string()) return "";
  return std::string(v->get_string());
}

std::string MetadataString(const json::object& o, std::string_view key) {
  const json::value* meta = o.if_contains("metadata");
  if (meta == nullptr || !meta->is_object()) return "";
  return StringMember(meta->get_object(), key);
}

// A watch that ends this soon without an event is treated as a failure (client-go's "very short
// watch"), so that a server closing watches at once is not hammered.
constexpr std::chrono::seconds kShortWatch{1};

}  // namespace

Informer::Informer(RestClient* client, ResourceType type, std::shared_ptr<MemoryStore> store,
                   InformerOptions options)
    : client_(client),
      type_(std::move(type)),
      store_(std::move(store)),
      options_(std::move(options)),
      rng_(std::random_device{}()) {}

Informer::~Informer() { Stop(); }

void Informer::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_ || stop_) return;
  started_ = true;
  thread_ = std::thread([this] { Run(); });
}

void Informer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    if (call_cancel_) call_cancel_->Cancel();
  }
  cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

InformerStats Informer::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

std::string Informer::LastResourceVersion() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rv_;
}

double Informer::Random() {
  if (options_.random) return std::clamp(options_.random(), 0.0, 1.0);
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
}

void Informer::Log(std::string_view what, const absl::Status& status) {
  if (!options_.log) return;
  options_.log(absl::StrCat(type_.GroupResource(), ": ",
                            absl::string_view(what.data(), what.size()), ": ", status.message()));
}

std::string Informer::Query(bool watch, const std::string& continue_token) {
  std::vector<std::pair<std::string, std::string>> params;
  if (!options_.label_selector.empty())
    params.emplace_back("labelSelector", options_.label_selector);
  if (!options_.field_selector.empty())
    params.emplace_back("fieldSelector", options_.field_selector);
  if (watch) {
    params.emplace_back("watch", "true");
    {
      std::lock_guard<std::mutex> lock(mu_);
      params.emplace_back("resourceVersion", rv_);
    }
    params.emplace_back("allowWatchBookmarks", "true");
    const double min = static_cast<double>(options_.min_watch_timeout.count());
    const double r = Random();
    long long seconds = std::max(1LL, static_cast<long long>(min + min * r));
    params.emplace_back("timeoutSeconds", absl::StrCat(seconds));
  } else {
    if (options_.page_size > 0) params.emplace_back("limit", absl::StrCat(options_.page_size));
    if (!continue_token.empty()) params.emplace_back("continue", continue_token);
  }
  return absl::StrCat(type_.CollectionPath(options_.namespace_), "?", http::EncodeQuery(params));
}

absl::Status Informer::List() {
  std::vector<ObjectPtr> objects;
  std::string continue_token;
  std::string rv;
  const std::string api_version =
      type_.group.empty() ? type_.version : absl::StrCat(type_.group, "/", type_.version);
  do {
    auto token = std::make_shared<http::CancelToken>();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return absl::CancelledError("stopped");
      call_cancel_ = token;
    }
    absl::StatusOr<std::string> body = client_->Get(Query(false, continue_token), token.get());
    {
      std::lock_guard<std::mutex> lock(mu_);
      call_cancel_.reset();
    }
    if (!body.ok()) return body.status();
    boost::system::error_code ec;
    json::value doc = json::parse(*body, ec);
    if (ec || !doc.is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat("list: the answer is not a JSON object", ec ? ": " + ec.message() : ""));
    }
    const json::object& root = doc.get_object();
    rv = MetadataString(root, "resourceVersion");
    continue_token = MetadataString(root, "continue");
    const json::value* items = root.if_contains("items");
    if (items != nullptr && !items->is_null()) {
      if (!items->is_array()) return absl::InvalidArgumentError("list: items is not a list");
      size_t i = 0;
      for (const json::value& item : items->get_array()) {
        absl::StatusOr<Object> object = ParseObject(json::serialize(item));
        if (!object.ok()) {
          // One malformed object must not keep the whole resource from syncing.
          Log(absl::StrCat("list: items[", i, "]"), object.status());
          std::lock_guard<std::mutex> lock(mu_);
          ++stats_.errors;
        } else {
          if (object->kind.empty()) object->kind = type_.kind;
          if (object->api_version.empty()) object->api_version = api_version;
          objects.push_back(std::make_shared<const Object>(std::move(*object)));
        }
        ++i;
      }
    }
  } while (!continue_token.empty() && !stopping());
  if (stopping()) return absl::CancelledError("stopped");
  store_->Replace(std::move(objects));
  std::lock_guard<std::mutex> lock(mu_);
  rv_ = rv;
  ++stats_.lists;
  return absl::OkStatus();
}

absl::Status Informer::ApplyEvent(std::string_view line, bool* gone) {
  boost::system::error_code ec;
  json::value doc = json::parse(json::string_view(line.data(), line.size()), ec);
  if (ec || !doc.is_object()) {
    return absl::InvalidArgumentError("watch: an event is not a JSON object");
  }
  const json::object& event = doc.get_object();
  const std::string type = StringMember(event, "type");
  const json::value* object = event.if_contains("object");
  if (object == nullptr || !object->is_object()) {
    return absl::InvalidArgumentError(absl::StrCat("watch: a ", type, " event has no object"));
  }
  const json::object& o = object->get_object();
  if (type == "ERROR") {
    int64_t code = 0;
    if (const json::value* c = o.if_contains("code"); c != nullptr && c->is_number()) {
      code = c->to_number<int64_t>(ec);
    }
    const std::string reason = StringMember(o, "reason");
    if (code == 410 || reason == "Expired" || reason == "Gone") {
      *gone = true;
      return absl::OkStatus();
    }
    return absl::UnavailableError(
        absl::StrCat("watch: error event ", code, " ", reason, ": ", StringMember(o, "message")));
  }
  const std::string rv = MetadataString(o, "resourceVersion");
  if (type == "ADDED" || type == "MODIFIED" || type == "DELETED") {
    absl::StatusOr<Object> parsed = ParseObject(json::serialize(*object));
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("watch: ", type, " event: ", parsed.status().message()));
    }
    if (type == "DELETED") {
      store_->Delete(parsed->Key());
    } else {
      store_->Upsert(std::make_shared<const Object>(std::move(*parsed)));
    }
  } else if (type != "BOOKMARK") {
    return absl::InvalidArgumentError(absl::StrCat("watch: unknown event type \"", type, "\""));
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!rv.empty()) rv_ = rv;
  ++stats_.events;
  return absl::OkStatus();
}

Informer::WatchEnd Informer::WatchOnce() {
  auto token = std::make_shared<http::CancelToken>();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return WatchEnd::kStopped;
    call_cancel_ = token;
    ++stats_.watches;
  }
  bool gone = false;
  absl::Status event_error;
  absl::Status status = client_->Watch(
      Query(true, ""),
      [&](std::string_view line) {
        absl::Status s = ApplyEvent(line, &gone);
        if (gone) return false;
        if (!s.ok()) {
          event_error = s;
          return false;
        }
        return true;
      },
      token.get());
  {
    std::lock_guard<std::mutex> lock(mu_);
    call_cancel_.reset();
  }
  if (stopping()) return WatchEnd::kStopped;
  if (gone || HttpCodeOf(status) == 410) return WatchEnd::kGone;
  if (!event_error.ok()) status = event_error;
  if (!status.ok()) {
    Log("watch", status);
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.errors;
    return WatchEnd::kError;
  }
  return WatchEnd::kClosed;
}

void Informer::Backoff(int failures) {
  double base = static_cast<double>(options_.backoff_initial.count()) *
                std::pow(2.0, std::min(failures - 1, 30));
  base = std::min(base, static_cast<double>(options_.backoff_max.count()));
  auto d = std::chrono::milliseconds(static_cast<int64_t>(base * (1.0 + Random())));
  if (options_.sleep) {
    options_.sleep(d);
    return;
  }
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, d, [this] { return stop_.load(); });
}

void Informer::Run() {
  bool need_list = true;
  int list_failures = 0;
  int watch_failures = 0;
  bool first_list = true;
  while (!stopping()) {
    if (need_list) {
      absl::Status s = List();
      if (stopping()) return;
      if (!s.ok()) {
        Log("list", s);
        {
          std::lock_guard<std::mutex> lock(mu_);
          ++stats_.errors;
        }
        Backoff(++list_failures);
        continue;
      }
      if (!first_list) {
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.relists;
      }
      first_list = false;
      list_failures = 0;
      need_list = false;
    }
    const auto started = std::chrono::steady_clock::now();
    const uint64_t events_before = stats().events;
    switch (WatchOnce()) {
      case WatchEnd::kStopped:
        return;
      case WatchEnd::kGone:
        need_list = true;
        watch_failures = 0;
        continue;
      case WatchEnd::kClosed:
        if (stats().events == events_before &&
            std::chrono::steady_clock::now() - started < kShortWatch) {
          Backoff(++watch_failures);
        } else {
          watch_failures = 0;
        }
        continue;
      case WatchEnd::kError:
        ++watch_failures;
        if (watch_failures >= options_.relist_after_failures) {
          need_list = true;
          watch_failures = 0;
          Backoff(options_.relist_after_failures);
        } else {
          Backoff(watch_failures);
        }
        continue;
    }
  }
}

SharedInformers::SharedInformers(RestClient* client, InformerOptions options)
    : client_(client), options_(std::move(options)) {}

SharedInformers::~SharedInformers() { Stop(); }

std::shared_ptr<ObjectStore> SharedInformers::Store(const ResourceType& type) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = informers_.find(type);
  if (it == informers_.end()) {
    InformerOptions options = options_;
    options.namespace_.clear();
    auto informer =
        std::make_unique<Informer>(client_, type, std::make_shared<MemoryStore>(), options);
    if (!stopped_) informer->Start();
    it = informers_.emplace(type, std::move(informer)).first;
  }
  return it->second->store();
}

bool SharedInformers::WaitForSync(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    bool synced = true;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [type, informer] : informers_) synced = synced && informer->HasSynced();
    }
    if (synced) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void SharedInformers::Stop() {
  std::vector<Informer*> informers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    for (auto& [type, informer] : informers_) informers.push_back(informer.get());
  }
  for (Informer* informer : informers) informer->Stop();
}

std::vector<std::pair<ResourceType, InformerStats>> SharedInformers::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<ResourceType, InformerStats>> out;
  for (const auto& [type, informer] : informers_) out.emplace_back(type, informer->stats());
  return out;
}

}  // namespace kubeclient
