#include "adapter/cmd/cached_object_lister.h"

#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "adapter/kubeclient/store.h"

namespace adapter {
namespace {

class CachedObjectLister : public apiserver::ObjectLister {
 public:
  CachedObjectLister(std::shared_ptr<kubeclient::StoreSource> source,
                     std::chrono::milliseconds sync_wait)
      : source_(std::move(source)), sync_wait_(sync_wait) {}

  absl::StatusOr<std::vector<apiserver::ObjectRef>> List(
      const k8s::ResourceInfo& resource, std::string_view ns,
      const k8s::LabelSelector& selector) const override {
    kubeclient::ResourceType type{resource.group_resource.group, resource.version,
                                  resource.group_resource.resource, resource.kind,
                                  resource.namespaced};
    std::shared_ptr<kubeclient::ObjectStore> store = source_->Store(type);
    if (store == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("the server could not find the requested resource ", type.GroupResource()));
    }
    // Only the first request for a resource can find its cache unsynced; waiting here briefly
    // spares the HPA a failed round.
    const auto deadline = std::chrono::steady_clock::now() + sync_wait_;
    while (!store->HasSynced()) {
      if (std::chrono::steady_clock::now() >= deadline) {
        return absl::UnavailableError(absl::StrCat("the cache of ", type.GroupResource(),
                                                   " has not synced with the API server yet"));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::vector<apiserver::ObjectRef> out;
    for (const kubeclient::ObjectPtr& object :
         store->List(resource.namespaced ? ns : std::string_view())) {
      const auto& labels = object->meta.labels;
      auto lookup = [&labels](std::string_view key) -> std::optional<std::string_view> {
        auto it = labels.find(std::string(key));
        if (it == labels.end()) return std::nullopt;
        return std::string_view(it->second);
      };
      if (selector.Matches(lookup)) out.push_back({object->meta.namespace_, object->meta.name});
    }
    return out;
  }

 private:
  std::shared_ptr<kubeclient::StoreSource> source_;
  std::chrono::milliseconds sync_wait_;
};

}  // namespace

std::shared_ptr<const apiserver::ObjectLister> NewCachedObjectLister(
    std::shared_ptr<kubeclient::StoreSource> source, std::chrono::milliseconds sync_wait) {
  return std::make_shared<CachedObjectLister>(std::move(source), sync_wait);
}

}  // namespace adapter
