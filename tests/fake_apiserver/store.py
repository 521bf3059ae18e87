"""Resource registry and versioned object store with watch support, modelled on kube-apiserver + etcd.

Contracts:
  * Every write (put/delete) bumps one global resourceVersion counter, as etcd's revision does;
    the stored object carries it in metadata.resourceVersion (a decimal string).
  * Every write is appended to a history log. A watch from resourceVersion N replays the events with
    RV > N, then streams live ones. After compact() the history is forgotten and a watch from any
    RV older than the compaction point gets an "Expired" (410) error instead.
  * A watch with a label/field selector sees an update that makes an object stop matching as
    DELETED (carrying the previous object content with the new RV) and one that makes it start
    matching as ADDED, like the watch cache of kube-apiserver.
  * Stored objects are never mutated after being stored (writes replace them), so readers may
    serialise them without holding the lock.
"""

import base64
import copy
import datetime
import hashlib
import queue
import threading
import uuid

STANDARD_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
OBJECT_FIELDS = ("metadata.name", "metadata.namespace")


class Resource:
    """One served resource type (group/version/plural) and its discovery attributes."""

    def __init__(self, group, version, plural, kind, namespaced, short_names=(), verbs=None,
                 field_labels=(), subresources=(), storable=True, builtin=True, categories=()):
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.namespaced = namespaced
        self.short_names = list(short_names)
        self.verbs = list(verbs if verbs is not None else STANDARD_VERBS)
        self.field_labels = set(OBJECT_FIELDS) | set(field_labels)
        self.subresources = dict(subresources)  # name -> (kind, group, version, verbs)
        self.storable = storable  # False for create-only review APIs
        self.builtin = builtin  # typed built-in (list items omit apiVersion/kind) vs custom resource
        self.categories = list(categories)

    @property
    def api_version(self):
        """'v1' for the core group, else 'group/version'."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self):
        """Store key and watch-count key: 'pods', 'deployments.apps'."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def discovery(self):
        """The APIResource entries (the resource, then its subresources) for an APIResourceList."""
        digest = hashlib.sha256(f"{self.api_version}/{self.kind}".encode()).digest()
        entry = {"name": self.plural, "singularName": self.kind.lower(), "namespaced": self.namespaced,
                 "kind": self.kind, "verbs": self.verbs}
        if self.short_names:
            entry["shortNames"] = self.short_names
        if self.categories:
            entry["categories"] = self.categories
        if self.storable:
            entry["storageVersionHash"] = base64.b64encode(digest[:8]).decode()
        out = [entry]
        for name, (kind, group, version, verbs) in sorted(self.subresources.items()):
            sub = {"name": f"{self.plural}/{name}", "singularName": "", "namespaced": self.namespaced,
                   "kind": kind, "verbs": verbs}
            if group is not None:
                sub["group"], sub["version"] = group, version
            out.append(sub)
        return out


_SCALE = ("scale", ("Scale", "autoscaling", "v1", ["get", "patch", "update"]))


def _status_sub(kind):
    return ("status", (kind, None, None, ["get", "patch", "update"]))


def builtin_resources():
    """The resource types kube-apiserver serves that the fake supports."""
    pod_fields = ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
                  "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName")
    return [
        Resource("", "v1", "pods", "Pod", True, ["po"], field_labels=pod_fields,
                 subresources=[_status_sub("Pod")], categories=["all"]),
        Resource("", "v1", "nodes", "Node", False, ["no"], field_labels=["spec.unschedulable"],
                 subresources=[_status_sub("Node")],
                 verbs=["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]),
        Resource("", "v1", "namespaces", "Namespace", False, ["ns"], field_labels=["status.phase"],
                 subresources=[_status_sub("Namespace")],
                 verbs=["create", "delete", "get", "list", "patch", "update", "watch"]),
        Resource("", "v1", "services", "Service", True, ["svc"], field_labels=["spec.clusterIP", "spec.type"],
                 subresources=[_status_sub("Service")], categories=["all"],
                 verbs=["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]),
        Resource("", "v1", "endpoints", "Endpoints", True, ["ep"]),
        Resource("", "v1", "configmaps", "ConfigMap", True, ["cm"]),
        Resource("apps", "v1", "deployments", "Deployment", True, ["deploy"], categories=["all"],
                 subresources=[_status_sub("Deployment"), _SCALE]),
        Resource("apps", "v1", "replicasets", "ReplicaSet", True, ["rs"], categories=["all"],
                 subresources=[_status_sub("ReplicaSet"), _SCALE]),
        Resource("apps", "v1", "statefulsets", "StatefulSet", True, ["sts"], categories=["all"],
                 subresources=[_status_sub("StatefulSet"), _SCALE]),
        Resource("apps", "v1", "daemonsets", "DaemonSet", True, ["ds"], categories=["all"],
                 subresources=[_status_sub("DaemonSet")]),
        Resource("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True),
        Resource("authentication.k8s.io", "v1", "tokenreviews", "TokenReview", False, verbs=["create"],
                 storable=False),
        Resource("authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview", False,
                 verbs=["create"], storable=False),
        Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False,
                 ["crd", "crds"], subresources=[_status_sub("CustomResourceDefinition")]),
    ]


class Registry:
    """The set of served resources, looked up by (group, version, plural) or (apiVersion, kind).

    Thread-safe for the fake's use: mutations replace whole dicts under a lock.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._resources = []
        for res in builtin_resources():
            self.add(res)

    def add(self, res):
        """Registers res (replacing a resource with the same group/version/plural)."""
        with self._lock:
            self._resources = [r for r in self._resources
                               if (r.group, r.version, r.plural) != (res.group, res.version, res.plural)]
            self._resources.append(res)

    def remove_group_resource(self, group, plural):
        """Unregisters every version of group/plural (a deleted CRD)."""
        with self._lock:
            self._resources = [r for r in self._resources if (r.group, r.plural) != (group, plural)]

    def all(self):
        return list(self._resources)

    def lookup(self, group, version, plural):
        """The Resource for group/version/plural, or None."""
        for r in self._resources:
            if (r.group, r.version, r.plural) == (group, version, plural):
                return r
        return None

    def by_kind(self, api_version, kind):
        """The Resource whose objects have this apiVersion and kind, or None."""
        for r in self._resources:
            if r.api_version == api_version and r.kind == kind:
                return r
        return None

    def groups(self):
        """Ordered {group: [versions]} with the core group as ''; preferred version first."""
        out = {}
        for r in self._resources:
            versions = out.setdefault(r.group, [])
            if r.version not in versions:
                versions.append(r.version)
        return out

    def in_group_version(self, group, version):
        return [r for r in self._resources if r.group == group and r.version == version]

    def register_crd(self, crd):
        """Registers the served versions of a CustomResourceDefinition object; returns the Resources."""
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        group, plural, kind = spec.get("group"), names.get("plural"), names.get("kind")
        if not group or not plural or not kind:
            raise ValueError("CustomResourceDefinition needs spec.group, spec.names.plural and spec.names.kind")
        namespaced = spec.get("scope", "Namespaced") == "Namespaced"
        added = []
        for v in spec.get("versions") or []:
            if v.get("served", True) and v.get("name"):
                subs = [_status_sub(kind)] if (v.get("subresources") or {}).get("status") is not None else []
                res = Resource(group, v["name"], plural, kind, namespaced, names.get("shortNames") or [],
                               subresources=subs, builtin=False, categories=names.get("categories") or [])
                self.add(res)
                added.append(res)
        return added


def crd_object(group, version, plural, kind, namespaced):
    """A minimal CustomResourceDefinition object equivalent to the --crd flag."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {"group": group, "scope": "Namespaced" if namespaced else "Cluster",
                 "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": kind + "List"},
                 "versions": [{"name": version, "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": {"type": "object",
                                                              "x-kubernetes-preserve-unknown-fields": True}}}]},
    }


class Expired(Exception):
    """A watch or continue token from before the compaction point (HTTP 410 Gone / reason Expired)."""

    def __init__(self, requested, oldest):
        super().__init__(f"too old resource version: {requested} ({oldest})")


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def with_rv(obj, rv):
    """A copy of obj whose metadata.resourceVersion is rv (metadata copied, the rest shared)."""
    out = dict(obj)
    out["metadata"] = dict(obj.get("metadata") or {})
    out["metadata"]["resourceVersion"] = str(rv)
    return out


class Watcher:
    """One open watch: filters store events for its resource/namespace/selectors into a queue.

    Queue items: ("event", {"type":..., "object":...}), ("drop", None) to close abruptly.
    offer() is only called with the store lock held, so queue order is RV order.
    """

    def __init__(self, res, namespace, label_selector, field_selector):
        self.res = res
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.queue = queue.Queue()
        self.allow_bookmarks = False

    def matches(self, obj):
        """True when obj is in this watch's namespace and passes both selectors."""
        if obj is None:
            return False
        meta = obj.get("metadata") or {}
        if self.namespace and meta.get("namespace") != self.namespace:
            return False
        return self.label_selector.matches(meta.get("labels")) and self.field_selector.matches(obj)

    def convert(self, ev_type, obj, prev):
        """The event this watcher sees for a store event, or None (kube-apiserver cacher rules)."""
        if ev_type == "DELETED":
            return ("DELETED", obj) if self.matches(prev) else None
        cur_ok, prev_ok = self.matches(obj), self.matches(prev)
        if cur_ok and prev_ok:
            return ("MODIFIED", obj)
        if cur_ok:
            return ("ADDED", obj)
        if prev_ok:
            return ("DELETED", with_rv(prev, obj["metadata"]["resourceVersion"]))
        return None

    def offer(self, ev_type, obj, prev):
        event = self.convert(ev_type, obj, prev)
        if event:
            self.queue.put(("event", {"type": event[0], "object": event[1]}))

    def bookmark(self, rv, annotations=None):
        """Queues a BOOKMARK at rv: an object of the watched kind carrying only its resourceVersion."""
        meta = {"resourceVersion": str(rv), "creationTimestamp": None}
        if annotations:
            meta["annotations"] = annotations
        obj = {"kind": self.res.kind, "apiVersion": self.res.api_version, "metadata": meta}
        self.queue.put(("event", {"type": "BOOKMARK", "object": obj}))

    def drop(self):
        self.queue.put(("drop", None))


class Store:
    """Objects by resource key and (namespace, name), a global RV counter, history and watchers."""

    def __init__(self, registry):
        self.registry = registry
        self.lock = threading.RLock()
        self.rv = 0
        self.compacted_rv = 0
        self._objects = {}  # res.key -> {(ns, name): obj}
        self._history = []  # (rv, res.key, type, obj, prev)
        self._watchers = set()

    # ---- writes -------------------------------------------------------------------------------

    def put(self, obj):
        """Creates or replaces obj (apiVersion/kind must be registered); returns (type, stored).

        Fills metadata.uid/creationTimestamp (kept from the existing object on replace), the
        namespace ("default" when a namespaced object has none) and a new resourceVersion.
        Registers served versions when obj is a CustomResourceDefinition. Raises ValueError.
        """
        if not isinstance(obj, dict):
            raise ValueError("object must be a JSON object")
        res = self.registry.by_kind(obj.get("apiVersion"), obj.get("kind"))
        if res is None or not res.storable:
            raise ValueError(f"no resource for apiVersion={obj.get('apiVersion')!r} kind={obj.get('kind')!r}")
        meta = dict(obj.get("metadata") or {})
        if not meta.get("name"):
            raise ValueError("metadata.name is required")
        if res.namespaced:
            meta["namespace"] = meta.get("namespace") or "default"
        else:
            meta.pop("namespace", None)
        if res.kind == "CustomResourceDefinition":
            self.registry.register_crd(obj)
        with self.lock:
            bucket = self._objects.setdefault(res.key, {})
            key = (meta.get("namespace", ""), meta["name"])
            prev = bucket.get(key)
            prev_meta = (prev or {}).get("metadata") or {}
            meta["uid"] = meta.get("uid") or prev_meta.get("uid") or str(uuid.uuid4())
            meta["creationTimestamp"] = (meta.get("creationTimestamp") or prev_meta.get("creationTimestamp")
                                         or now_rfc3339())
            self.rv += 1
            meta["resourceVersion"] = str(self.rv)
            stored = copy.deepcopy(obj)
            stored["metadata"] = meta
            bucket[key] = stored
            ev_type = "MODIFIED" if prev else "ADDED"
            self._record(res, ev_type, stored, prev)
            return ev_type, stored

    def delete(self, res, namespace, name):
        """Deletes an object; returns the DELETED object (with the deletion RV) or None if absent."""
        with self.lock:
            bucket = self._objects.get(res.key, {})
            prev = bucket.pop((namespace or "", name), None)
            if prev is None:
                return None
            self.rv += 1
            gone = with_rv(prev, self.rv)
            self._record(res, "DELETED", gone, prev)
        if res.kind == "CustomResourceDefinition":
            spec = prev.get("spec") or {}
            self.registry.remove_group_resource(spec.get("group"), (spec.get("names") or {}).get("plural"))
        return gone

    def _record(self, res, ev_type, obj, prev):
        """Appends to history and fans the event out to watchers (lock held)."""
        self._history.append((self.rv, res.key, ev_type, obj, prev))
        for w in self._watchers:
            if w.res.key == res.key:
                w.offer(ev_type, obj, prev)

    def compact(self):
        """Forgets history: watches and continue tokens from an RV below the current one get 410."""
        with self.lock:
            self._history = []
            self.compacted_rv = self.rv
            return self.rv

    # ---- reads --------------------------------------------------------------------------------

    def get(self, res, namespace, name):
        with self.lock:
            return self._objects.get(res.key, {}).get((namespace or "", name))

    def list(self, res, namespace=None):
        """(current RV, objects of res sorted by namespace/name, optionally in one namespace)."""
        with self.lock:
            items = [o for (ns, _), o in sorted(self._objects.get(res.key, {}).items())
                     if not namespace or ns == namespace]
            return self.rv, items

    def list_at(self, res, namespace, rv):
        """(rv, objects of res as they were at rv), rebuilt by undoing later history events.

        Raises Expired when rv is older than the compaction point. An rv newer than the current
        one answers the current state (callers reject "too large" versions themselves).
        """
        with self.lock:
            self._check_not_compacted(rv)
            state = dict(self._objects.get(res.key, {}))
            for ev_rv, key, ev_type, obj, prev in reversed(self._history):
                if ev_rv <= rv:
                    break
                if key != res.key:
                    continue
                meta = obj.get("metadata") or {}
                k = (meta.get("namespace", ""), meta.get("name"))
                if ev_type == "ADDED":
                    state.pop(k, None)
                else:
                    state[k] = prev
            items = [o for (ns, _), o in sorted(state.items()) if not namespace or ns == namespace]
            return min(rv, self.rv), items

    # ---- watches ------------------------------------------------------------------------------

    def open_watch(self, watcher, resource_version, send_initial_events=None):
        """Registers watcher and queues its first events.

        resource_version "" or "0": ADDED for every current match, then live events (RV "0" and
        unset both behave like kube-apiserver's watch cache here). A number N: replays history
        events with RV > N; raises Expired when N is older than the compaction point.
        send_initial_events=True adds the initial ADDED events and a BOOKMARK annotated
        k8s.io/initial-events-end (the streaming-list protocol). Returns the RV the watch starts at.
        """
        with self.lock:
            if resource_version in ("", "0") or send_initial_events:
                if resource_version not in ("", "0"):
                    self._check_not_compacted(int(resource_version))
                for obj in self.list(watcher.res, watcher.namespace)[1]:
                    if watcher.matches(obj):
                        watcher.queue.put(("event", {"type": "ADDED", "object": obj}))
                if send_initial_events:
                    watcher.bookmark(self.rv, {"k8s.io/initial-events-end": "true"})
            else:
                since = int(resource_version)
                self._check_not_compacted(since)
                for rv, key, ev_type, obj, prev in self._history:
                    if rv > since and key == watcher.res.key:
                        watcher.offer(ev_type, obj, prev)
            self._watchers.add(watcher)
            return self.rv

    def _check_not_compacted(self, rv):
        if rv < self.compacted_rv:
            raise Expired(rv, self.compacted_rv)

    def close_watch(self, watcher):
        with self.lock:
            self._watchers.discard(watcher)

    def bookmark(self, watcher):
        """Queues a bookmark at the current RV on one watcher (after any event already queued)."""
        with self.lock:
            watcher.bookmark(self.rv)

    def bookmark_all(self):
        """Queues a bookmark on every open watch that allows bookmarks; returns how many."""
        with self.lock:
            targets = [w for w in self._watchers if w.allow_bookmarks]
            for w in targets:
                w.bookmark(self.rv)
            return len(targets)

    def drop_watches(self):
        """Makes every open watch close its connection abruptly; returns how many."""
        with self.lock:
            watchers = list(self._watchers)
            self._watchers.clear()
        for w in watchers:
            w.drop()
        return len(watchers)

    def watch_counts(self):
        """{resource key: number of open watches}."""
        with self.lock:
            counts = {}
            for w in self._watchers:
                counts[w.res.key] = counts.get(w.res.key, 0) + 1
            return counts
