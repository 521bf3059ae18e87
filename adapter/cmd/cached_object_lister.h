// apiserver::ObjectLister over the adapter's informer caches (kubeclient::StoreSource): the
// first request for a resource starts its shared informer and waits briefly for the first list;
// later requests read the cache only.
#ifndef METRICS_ADAPTER_ADAPTER_CMD_CACHED_OBJECT_LISTER_H_
#define METRICS_ADAPTER_ADAPTER_CMD_CACHED_OBJECT_LISTER_H_

#include <chrono>
#include <memory>

#include "adapter/apiserver/object_lister.h"

namespace kubeclient {
class StoreSource;
}

namespace adapter {

// sync_wait bounds how long a request waits for a cache that has not synced yet (the request
// then fails with Unavailable, a 503 the HPA retries).
std::shared_ptr<const apiserver::ObjectLister> NewCachedObjectLister(
    std::shared_ptr<kubeclient::StoreSource> source,
    std::chrono::milliseconds sync_wait = std::chrono::milliseconds(2000));

}  // namespace adapter

#endif  // METRICS_ADAPTER_ADAPTER_CMD_CACHED_OBJECT_LISTER_H_
