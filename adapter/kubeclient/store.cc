#include "adapter/kubeclient/store.h"

#include <boost/json.hpp>
#include <utility>

#include "absl/strings/str_cat.h"

namespace kubeclient {

std::string ResourceType::ApiPrefix() const {
  if (group.empty()) return "/api/" + version;
  return absl::StrCat("/apis/", group, "/", version);
}

std::string ResourceType::CollectionPath(std::string_view ns) const {
  if (namespaced && !ns.empty()) {
    return absl::StrCat(ApiPrefix(), "/namespaces/", absl::string_view(ns.data(), ns.size()), "/",
                        resource);
  }
  return absl::StrCat(ApiPrefix(), "/", resource);
}

std::string ResourceType::GroupResource() const {
  if (group.empty()) return resource;
  return absl::StrCat(resource, ".", group);
}

ResourceType PodsResource() { return {"", "v1", "pods", "Pod", true}; }
ResourceType NodesResource() { return {"", "v1", "nodes", "Node", false}; }
ResourceType NamespacesResource() { return {"", "v1", "namespaces", "Namespace", false}; }
ResourceType ServicesResource() { return {"", "v1", "services", "Service", true}; }
ResourceType EndpointsResource() { return {"", "v1", "endpoints", "Endpoints", true}; }
ResourceType EndpointSlicesResource() {
  return {"discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", true};
}
ResourceType ConfigMapsResource() { return {"", "v1", "configmaps", "ConfigMap", true}; }

std::string Object::Key() const {
  if (meta.namespace_.empty()) return meta.name;
  return absl::StrCat(meta.namespace_, "/", meta.name);
}

namespace {

namespace json = boost::json;

absl::Status FieldError(std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(absl::string_view(field.data(), field.size()),
                                                 ": ",
                                                 absl::string_view(what.data(), what.size())));
}

// Reads an optional string member; absent and null leave *out empty.
absl::Status GetString(const json::object& obj, std::string_view key, std::string_view where,
                       std::string* out) {
  const json::value* v = obj.if_contains(json::string_view(key.data(), key.size()));
  if (v == nullptr || v->is_null()) return absl::OkStatus();
  if (!v->is_string()) return FieldError(where, "expected a string");
  *out = std::string(v->get_string());
  return absl::OkStatus();
}

absl::Status GetStringMap(const json::object& obj, std::string_view key, std::string_view where,
                          std::map<std::string, std::string>* out) {
  const json::value* v = obj.if_contains(json::string_view(key.data(), key.size()));
  if (v == nullptr || v->is_null()) return absl::OkStatus();
  if (!v->is_object()) return FieldError(where, "expected an object");
  for (const auto& [name, value] : v->get_object()) {
    if (!value.is_string()) {
      return FieldError(absl::StrCat(absl::string_view(where.data(), where.size()), ".",
                                     absl::string_view(name.data(), name.size())),
                        "expected a string");
    }
    (*out)[std::string(name)] = std::string(value.get_string());
  }
  return absl::OkStatus();
}

absl::Status ParseOwners(const json::object& meta, std::vector<OwnerReference>* out) {
  const json::value* v = meta.if_contains("ownerReferences");
  if (v == nullptr || v->is_null()) return absl::OkStatus();
  if (!v->is_array()) return FieldError("metadata.ownerReferences", "expected a list");
  size_t i = 0;
  for (const json::value& item : v->get_array()) {
    std::string where = absl::StrCat("metadata.ownerReferences[", i++, "]");
    if (!item.is_object()) return FieldError(where, "expected an object");
    const json::object& o = item.get_object();
    OwnerReference ref;
    for (auto [key, field] :
         {std::pair{"apiVersion", &ref.api_version}, std::pair{"kind", &ref.kind},
          std::pair{"name", &ref.name}, std::pair{"uid", &ref.uid}}) {
      if (absl::Status s = GetString(o, key, absl::StrCat(where, ".", key), field); !s.ok()) {
        return s;
      }
    }
    if (const json::value* c = o.if_contains("controller"); c != nullptr && c->is_bool()) {
      ref.controller = c->get_bool();
    }
    out->push_back(std::move(ref));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Object> ParseObject(std::string text) {
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("object: invalid JSON: ", ec.message()));
  if (!doc.is_object()) return FieldError("object", "expected a JSON object");
  const json::object& root = doc.get_object();
  Object object;
  if (absl::Status s = GetString(root, "kind", "kind", &object.kind); !s.ok()) return s;
  if (absl::Status s = GetString(root, "apiVersion", "apiVersion", &object.api_version); !s.ok()) {
    return s;
  }
  const json::value* meta_value = root.if_contains("metadata");
  if (meta_value == nullptr || !meta_value->is_object()) {
    return FieldError("metadata", "missing or not an object");
  }
  const json::object& meta = meta_value->get_object();
  ObjectMeta& m = object.meta;
  for (auto [key, field] :
       {std::pair{"name", &m.name}, std::pair{"namespace", &m.namespace_}, std::pair{"uid", &m.uid},
        std::pair{"resourceVersion", &m.resource_version},
        std::pair{"creationTimestamp", &m.creation_timestamp}}) {
    if (absl::Status s = GetString(meta, key, absl::StrCat("metadata.", key), field); !s.ok()) {
      return s;
    }
  }
  if (m.name.empty()) return FieldError("metadata.name", "missing");
  if (absl::Status s = GetStringMap(meta, "labels", "metadata.labels", &m.labels); !s.ok()) {
    return s;
  }
  if (absl::Status s = GetStringMap(meta, "annotations", "metadata.annotations", &m.annotations);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ParseOwners(meta, &m.owner_references); !s.ok()) return s;
  object.json = std::move(text);
  return object;
}

MemoryStore::MemoryStore() = default;
MemoryStore::~MemoryStore() = default;

void MemoryStore::Replace(std::vector<ObjectPtr> objects) {
  std::vector<Change> changes;
  {
    std::map<std::string, ObjectPtr, std::less<>> next;
    for (ObjectPtr& o : objects) {
      std::string key = o->Key();
      next[std::move(key)] = std::move(o);
    }
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [key, old] : objects_) {
      if (next.find(key) == next.end()) changes.push_back({EventType::kDeleted, old, nullptr});
    }
    for (const auto& [key, now] : next) {
      auto it = objects_.find(key);
      if (it == objects_.end()) {
        changes.push_back({EventType::kAdded, nullptr, now});
      } else if (it->second->meta.resource_version != now->meta.resource_version ||
                 it->second->json != now->json) {
        changes.push_back({EventType::kModified, it->second, now});
      } else {
        // Unchanged: keep the pointer readers may already hold.
        next[key] = it->second;
      }
    }
    objects_ = std::move(next);
    synced_ = true;
  }
  Notify(changes);
}

void MemoryStore::Upsert(ObjectPtr object) {
  Change change;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ObjectPtr& slot = objects_[object->Key()];
    change = {slot ? EventType::kModified : EventType::kAdded, slot, object};
    slot = std::move(object);
  }
  Notify({change});
}

void MemoryStore::Delete(const std::string& key) {
  Change change;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = objects_.find(key);
    if (it == objects_.end()) return;
    change = {EventType::kDeleted, it->second, nullptr};
    objects_.erase(it);
  }
  Notify({change});
}

bool MemoryStore::HasSynced() const {
  std::lock_guard<std::mutex> lock(mu_);
  return synced_;
}

std::vector<ObjectPtr> MemoryStore::List(std::string_view ns) const {
  std::vector<ObjectPtr> out;
  std::lock_guard<std::mutex> lock(mu_);
  if (ns.empty()) {
    out.reserve(objects_.size());
    for (const auto& [key, o] : objects_) out.push_back(o);
    return out;
  }
  // Keys of namespaced objects start with "ns/", so the namespace is one contiguous range.
  std::string prefix = std::string(ns) + "/";
  for (auto it = objects_.lower_bound(prefix);
       it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    out.push_back(it->second);
  }
  return out;
}

ObjectPtr MemoryStore::Get(std::string_view ns, std::string_view name) const {
  std::string key = ns.empty() ? std::string(name)
                               : absl::StrCat(absl::string_view(ns.data(), ns.size()), "/",
                                              absl::string_view(name.data(), name.size()));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(key);
  return it == objects_.end() ? nullptr : it->second;
}

int MemoryStore::AddHandler(ObjectHandler handler) {
  auto shared = std::make_shared<ObjectHandler>(std::move(handler));
  std::lock_guard<std::mutex> notify_lock(notify_mu_);
  int id;
  std::vector<ObjectPtr> current;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = next_handler_id_++;
    handlers_[id] = shared;
    for (const auto& [key, o] : objects_) current.push_back(o);
  }
  for (const ObjectPtr& o : current) (*shared)(EventType::kAdded, nullptr, o);
  return id;
}

void MemoryStore::RemoveHandler(int id) {
  std::lock_guard<std::mutex> notify_lock(notify_mu_);
  std::lock_guard<std::mutex> lock(mu_);
  handlers_.erase(id);
}

void MemoryStore::Notify(const std::vector<Change>& changes) {
  if (changes.empty()) return;
  std::lock_guard<std::mutex> notify_lock(notify_mu_);
  std::vector<std::shared_ptr<ObjectHandler>> handlers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, h] : handlers_) handlers.push_back(h);
  }
  for (const Change& c : changes) {
    for (const auto& h : handlers) (*h)(c.type, c.old_object, c.new_object);
  }
}

}  // namespace kubeclient
