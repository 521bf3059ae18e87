// Cached Kubernetes objects: what an informer keeps of one resource (list, then watch) and what
// its readers see. Readers (wildcard resolution, Kubernetes service discovery, the watched
// authentication ConfigMap) never talk to the API server themselves; they read a store and may
// subscribe to its changes.
//
// Objects are immutable once stored (shared_ptr<const Object>): a change replaces the pointer,
// so a reader holding an object keeps a consistent snapshot without locks. Each object carries
// its metadata decoded (what every reader needs: name, namespace, labels, annotations, owners)
// and its whole JSON text, which typed decoders (objects.h) read when they need more.
#ifndef METRICS_ADAPTER_ADAPTER_KUBECLIENT_STORE_H_
#define METRICS_ADAPTER_ADAPTER_KUBECLIENT_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace kubeclient {

// A resource of the Kubernetes API as a REST client addresses it.
struct ResourceType {
  std::string group;     // "" for the core group, "apps", "discovery.k8s.io"
  std::string version;   // "v1"
  std::string resource;  // plural, lower case: "pods"
  std::string kind;      // "Pod"
  bool namespaced = true;

  // "/api/v1" or "/apis/<group>/<version>".
  std::string ApiPrefix() const;
  // The collection path across namespaces ("/api/v1/pods"), or in namespace ns when ns is not
  // empty ("/api/v1/namespaces/ns/pods"); ns is ignored for cluster-scoped resources.
  std::string CollectionPath(std::string_view ns = "") const;
  // "pods" or "deployments.apps".
  std::string GroupResource() const;

  auto operator<=>(const ResourceType&) const = default;
};

// The well-known resources the adapter watches.
ResourceType PodsResource();
ResourceType NodesResource();
ResourceType NamespacesResource();
ResourceType ServicesResource();
ResourceType EndpointsResource();
ResourceType EndpointSlicesResource();
ResourceType ConfigMapsResource();

struct OwnerReference {
  std::string api_version;
  std::string kind;
  std::string name;
  std::string uid;
  bool controller = false;
};

struct ObjectMeta {
  std::string name;
  std::string namespace_;  // empty for cluster-scoped objects
  std::string uid;
  std::string resource_version;
  std::string creation_timestamp;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::vector<OwnerReference> owner_references;
};

struct Object {
  ObjectMeta meta;
  std::string kind;         // may be empty in list items
  std::string api_version;  // may be empty in list items
  std::string json;         // the object as received

  // "namespace/name", or "name" for cluster-scoped objects: the store's key.
  std::string Key() const;
};

using ObjectPtr = std::shared_ptr<const Object>;

// Decodes one object (a JSON object with "metadata"). Errors say what is wrong and where
// ("metadata.labels: expected an object").
absl::StatusOr<Object> ParseObject(std::string json);

enum class EventType { kAdded, kModified, kDeleted };

// Called after a change: for kAdded old is null, for kDeleted now is null.
using ObjectHandler =
    std::function<void(EventType type, const ObjectPtr& old_object, const ObjectPtr& new_object)>;

// The read side of a cache of one resource. Thread-safe.
class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // Whether the first complete list has been stored.
  virtual bool HasSynced() const = 0;
  // Every object, or those of namespace ns when ns is not empty; ordered by key.
  virtual std::vector<ObjectPtr> List(std::string_view ns = "") const = 0;
  // One object by namespace and name (ns empty for cluster-scoped), or null.
  virtual ObjectPtr Get(std::string_view ns, std::string_view name) const = 0;

  // Registers a handler and replays the current objects to it as kAdded. Handlers are called
  // in change order, on the thread that applied the change, without the store's lock held, and
  // one at a time per store; a handler must not add or remove handlers of the same store.
  // Returns an id for RemoveHandler.
  virtual int AddHandler(ObjectHandler handler) = 0;
  // After it returns the handler is not called again (a call in progress finishes first).
  virtual void RemoveHandler(int id) = 0;
};

// An ObjectStore whose content is set by its owner: the informer (list and watch results), and
// tests. Replace() and the single-object calls notify handlers with the differences. There is
// one writer per store (its informer), so changes are notified in the order they were made.
class MemoryStore : public ObjectStore {
 public:
  MemoryStore();
  ~MemoryStore() override;

  // Sets the complete content (after a LIST, or a relist after 410 Gone): objects not in
  // objects are deleted, new ones added, changed ones (different resource_version or json)
  // modified. Marks the store synced.
  void Replace(std::vector<ObjectPtr> objects);
  // Adds or replaces one object (kAdded or kModified).
  void Upsert(ObjectPtr object);
  // Removes the object with that key, if present (kDeleted).
  void Delete(const std::string& key);

  bool HasSynced() const override;
  std::vector<ObjectPtr> List(std::string_view ns = "") const override;
  ObjectPtr Get(std::string_view ns, std::string_view name) const override;
  int AddHandler(ObjectHandler handler) override;
  void RemoveHandler(int id) override;

 private:
  struct Change {
    EventType type;
    ObjectPtr old_object;
    ObjectPtr new_object;
  };
  void Notify(const std::vector<Change>& changes);

  mutable std::mutex mu_;
  std::map<std::string, ObjectPtr, std::less<>> objects_;  // by Key()
  bool synced_ = false;
  std::mutex notify_mu_;  // one notification batch at a time, in order
  std::map<int, std::shared_ptr<ObjectHandler>> handlers_;
  int next_handler_id_ = 1;
};

// Hands out the shared cache of a resource across all namespaces, creating (and starting) its
// informer on first use, so every reader of pods shares one list and one watch.
class StoreSource {
 public:
  virtual ~StoreSource() = default;
  virtual std::shared_ptr<ObjectStore> Store(const ResourceType& type) = 0;
};

}  // namespace kubeclient

#endif  // METRICS_ADAPTER_ADAPTER_KUBECLIENT_STORE_H_
