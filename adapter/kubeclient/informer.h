// Informers: keep a MemoryStore equal to the API server's view of one resource, as client-go's
// Reflector does: LIST (paged), then WATCH from the list's resourceVersion, applying every event;
// relist when the server says the resourceVersion is too old (410 Gone / Expired).
//
// The loop of one informer, on its own thread:
//   1. LIST <collection>?limit=500[&continue=...] -> store.Replace(items), RV = list RV.
//   2. WATCH <collection>?watch=true&resourceVersion=RV&allowWatchBookmarks=true
//            &timeoutSeconds=T (T random in [min_watch_timeout, 2*min_watch_timeout), as
//            client-go spreads its watches over 5-10 minutes)
//        ADDED/MODIFIED -> store.Upsert, DELETED -> store.Delete, BOOKMARK -> RV only;
//        every event moves RV to the object's resourceVersion.
//        ERROR with code 410 (or an HTTP 410 answer) -> relist (1.) at once.
//   3. Watch ended by the server (timeoutSeconds reached, connection closed) -> 2. from RV.
//   4. Errors (network, 5xx, unparsable events): wait a backoff (initial, doubled after every
//      consecutive failure up to max, with up to +100% jitter), then 2.; after
//      relist_after_failures consecutive watch failures, 1. instead. A failed LIST backs off
//      the same way and is retried.
#ifndef METRICS_ADAPTER_ADAPTER_KUBECLIENT_INFORMER_H_
#define METRICS_ADAPTER_ADAPTER_KUBECLIENT_INFORMER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "adapter/http/client.h"
#include "adapter/kubeclient/rest_client.h"
#include "adapter/kubeclient/store.h"

namespace kubeclient {

struct InformerOptions {
  std::string namespace_;  // "" = all namespaces
  std::string label_selector;
  std::string field_selector;
  // Page size of a LIST (limit=); 0 = no paging.
  int page_size = 500;
  // Watches ask the server to end them after a random time in [min, 2*min).
  std::chrono::seconds min_watch_timeout{300};
  std::chrono::milliseconds backoff_initial{800};
  std::chrono::milliseconds backoff_max{30000};
  // Consecutive failed watches after which the informer relists instead of watching again.
  int relist_after_failures = 5;
  // Test seams. sleep waits d unless stop fires (it must return promptly once stop() is true);
  // null = a wait that Stop() interrupts. random returns a number in [0, 1) (jitter and watch
  // timeouts); null = a seeded Mersenne Twister.
  std::function<void(std::chrono::milliseconds d)> sleep;
  std::function<double()> random;
  // Receives a note about every failure ("pods: watch: GET https://...: ..."); null = dropped.
  std::function<void(std::string_view)> log;
};

struct InformerStats {
  uint64_t lists = 0;    // LIST requests that succeeded (pages of one list count once)
  uint64_t watches = 0;  // watches started
  uint64_t relists = 0;  // lists after the first (410 Gone, or failing watches)
  uint64_t events = 0;   // watch events applied (bookmarks included)
  uint64_t errors = 0;   // failed lists and watches, bad events
};

class Informer {
 public:
  // client must outlive the informer.
  Informer(RestClient* client, ResourceType type, std::shared_ptr<MemoryStore> store,
           InformerOptions options = {});
  // Calls Stop().
  ~Informer();

  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Starts the loop on a new thread. Only the first call does anything.
  void Start();
  // Ends the loop: interrupts a list, a watch or a backoff at once and joins the thread.
  // Idempotent.
  void Stop();

  // The first LIST has been stored.
  bool HasSynced() const { return store_->HasSynced(); }
  InformerStats stats() const;
  // The resourceVersion the next watch starts from.
  std::string LastResourceVersion() const;
  const ResourceType& type() const { return type_; }
  const std::shared_ptr<MemoryStore>& store() const { return store_; }

 private:
  enum class WatchEnd { kClosed, kGone, kError, kStopped };

  void Run();
  absl::Status List();
  WatchEnd WatchOnce();
  // Applies one watch event line; returns kGone for a 410 ERROR event, kError for others.
  absl::Status ApplyEvent(std::string_view line, bool* gone);
  std::string Query(bool watch, const std::string& continue_token);
  void Backoff(int failures);
  bool stopping() const { return stop_.load(); }
  void Log(std::string_view what, const absl::Status& status);
  double Random();

  RestClient* const client_;
  const ResourceType type_;
  const std::shared_ptr<MemoryStore> store_;
  const InformerOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> stop_{false};
  bool started_ = false;
  std::thread thread_;
  std::shared_ptr<http::CancelToken> call_cancel_;  // the list or watch in progress, under mu_
  std::string rv_;                                  // under mu_
  InformerStats stats_;                             // under mu_
  std::mt19937_64 rng_;                             // loop thread only
};

// A StoreSource of informers over every namespace: the first Store(type) creates and starts the
// informer of type; later calls share its store. Thread-safe.
class SharedInformers : public StoreSource {
 public:
  // client must outlive this. options apply to every informer (their namespace and selectors
  // should stay empty).
  explicit SharedInformers(RestClient* client, InformerOptions options = {});
  ~SharedInformers() override;

  std::shared_ptr<ObjectStore> Store(const ResourceType& type) override;

  // Waits until every informer created so far has synced; false on timeout.
  bool WaitForSync(std::chrono::milliseconds timeout);
  // Stops every informer; their stores keep their last content. Store() after Stop() still
  // answers with a store (empty, never synced, for a new type).
  void Stop();

  std::vector<std::pair<ResourceType, InformerStats>> Stats() const;

 private:
  RestClient* const client_;
  const InformerOptions options_;
  mutable std::mutex mu_;
  bool stopped_ = false;
  std::map<ResourceType, std::unique_ptr<Informer>> informers_;
};

}  // namespace kubeclient

#endif  // METRICS_ADAPTER_ADAPTER_KUBECLIENT_INFORMER_H_
