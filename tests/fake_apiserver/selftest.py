#!/usr/bin/env python3
"""Self-test of the fake kube-apiserver: starts it as a subprocess and talks to it over HTTPS.

Run: python3 tests/fake_apiserver/selftest.py   (stdlib only; also checks kubectl when installed)
"""

import atexit
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))

FIXTURES = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod"}},
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "default",
                                                     "labels": {"app": "web", "tier": "front"}},
     "spec": {"nodeName": "node-1"}, "status": {"phase": "Running"}},
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-2", "namespace": "default",
                                                     "labels": {"app": "web"}},
     "spec": {"nodeName": "node-2"}, "status": {"phase": "Pending"}},
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "db-1", "namespace": "prod",
                                                     "labels": {"app": "db", "tier": "back"}},
     "spec": {"nodeName": "node-1"}, "status": {"phase": "Running"}},
    {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1", "labels": {"zone": "a"}}},
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
     "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}}},
    {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1", "namespace": "default"}},
]

POLICY = [
    {"user": "system:serviceaccount:kube-system:horizontal-pod-autoscaler", "verb": "get",
     "group_api": "custom.metrics.k8s.io", "resource": "*", "namespace": "*"},
    {"group": "devs", "verb": "*", "group_api": "custom.metrics.k8s.io", "resource": "pods/*",
     "namespace": "default"},
    {"group": "system:authenticated", "nonResourcePath": "/apis*", "verb": "get"},
]


class FakeServer:
    """The fake API server in a subprocess, with helpers to call its API and control ports."""

    def __init__(self, workdir, extra_args=()):
        self.dir = workdir
        self.certs = shared_cert_dir()
        self.kubeconfig = os.path.join(workdir, "kubeconfig")
        fixtures, policy = os.path.join(workdir, "fixtures.json"), os.path.join(workdir, "policy.json")
        with open(fixtures, "w") as f:
            json.dump(FIXTURES, f)
        with open(policy, "w") as f:
            json.dump(POLICY, f)
        port_file, control_file = os.path.join(workdir, "port"), os.path.join(workdir, "control-port")
        for stale in (port_file, control_file):
            if os.path.exists(stale):
                os.remove(stale)
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "fake_apiserver.py"), "--cert-dir", self.certs,
             "--port", "0", "--port-file", port_file, "--control-port-file", control_file,
             "--fixtures", fixtures, "--policy", policy, "--kubeconfig-out", self.kubeconfig,
             "--crd", "example.com/v1/widgets/Widget/true", "--token", "jane-token=jane:devs,qa",
             "--bookmark-interval", "0.2", "--log", os.path.join(workdir, "server.log"), *extra_args])
        deadline = time.time() + 10
        while not os.path.exists(port_file):
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("fake apiserver did not start")
            time.sleep(0.02)
        with open(port_file) as f:
            self.port = int(f.read())
        with open(control_file) as f:
            self.control_port = int(f.read())
        self.open_connections = []

    def close_watches(self):
        while self.open_connections:
            self.open_connections.pop().close()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def ssl_context(self, client_cert="admin"):
        ctx = ssl.create_default_context(cafile=os.path.join(self.certs, "ca.crt"))
        if client_cert:
            ctx.load_cert_chain(os.path.join(self.certs, client_cert + ".crt"),
                                os.path.join(self.certs, client_cert + ".key"))
        return ctx

    def call(self, method, path, body=None, client_cert="admin", token=None, headers=None):
        """(status, decoded JSON or text) of one API request."""
        req = urllib.request.Request(f"https://127.0.0.1:{self.port}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers=dict(headers or {}))
        if token:
            req.add_header("Authorization", "Bearer " + token)
        if body is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, context=self.ssl_context(client_cert), timeout=10) as resp:
                return resp.status, _decode(resp.read())
        except urllib.error.HTTPError as e:
            with e:
                return e.code, _decode(e.read())

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def control(self, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.control_port, timeout=10)
        conn.request(method, path, body=json.dumps(body) if body is not None else None)
        resp = conn.getresponse()
        out = json.loads(resp.read())
        conn.close()
        return resp.status, out

    def watch(self, path):
        """An open watch response; read events with next_event()."""
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ssl_context(), timeout=10)
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.conn_ = conn
        self.open_connections.append(conn)
        return resp


_CERT_DIR = []


def shared_cert_dir():
    """One PKI for the whole run (made by the server's first start), removed at exit."""
    if not _CERT_DIR:
        _CERT_DIR.append(tempfile.mkdtemp(prefix="fake-apiserver-certs-"))
        atexit.register(shutil.rmtree, _CERT_DIR[0], True)
    return _CERT_DIR[0]


def _decode(data):
    try:
        return json.loads(data)
    except ValueError:
        return data.decode()


def next_event(resp, skip_bookmarks=True):
    """The next watch event (dict), or None at a clean end of stream."""
    while True:
        line = resp.readline()
        if not line:
            return None
        event = json.loads(line)
        if not (skip_bookmarks and event["type"] == "BOOKMARK"):
            return event


def pod(name, ns="default", labels=None, **extra):
    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels or {}}}
    obj.update(extra)
    return obj


class FakeApiserverTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fake-apiserver-")
        cls.fake = FakeServer(cls.tmp)

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def tearDown(self):
        self.fake.close_watches()

    # ---- discovery ---------------------------------------------------------------------------

    def test_discovery(self):
        f = self.fake
        code, version = f.get("/version")
        self.assertEqual((code, version["major"]), (200, "1"))
        self.assertEqual(f.get("/api")[1]["versions"], ["v1"])
        core = f.get("/api/v1")[1]
        self.assertEqual((core["kind"], core["groupVersion"]), ("APIResourceList", "v1"))
        by_name = {r["name"]: r for r in core["resources"]}
        self.assertEqual(by_name["pods"]["kind"], "Pod")
        self.assertTrue(by_name["pods"]["namespaced"])
        self.assertFalse(by_name["nodes"]["namespaced"])
        self.assertIn("watch", by_name["pods"]["verbs"])
        self.assertEqual(by_name["pods"]["shortNames"], ["po"])
        self.assertIn("pods/status", by_name)
        for name in ("nodes", "namespaces", "services", "endpoints", "configmaps"):
            self.assertIn(name, by_name)
        groups = {g["name"]: g for g in f.get("/apis")[1]["groups"]}
        for g in ("apps", "discovery.k8s.io", "authentication.k8s.io", "authorization.k8s.io", "example.com"):
            self.assertIn(g, groups)
        self.assertEqual(groups["example.com"]["preferredVersion"]["groupVersion"], "example.com/v1")
        self.assertEqual(f.get("/apis/apps")[1]["kind"], "APIGroup")
        widgets = f.get("/apis/example.com/v1")[1]["resources"]
        self.assertEqual([(r["name"], r["kind"], r["namespaced"]) for r in widgets], [("widgets", "Widget", True)])
        self.assertEqual(f.get("/apis/nope.io/v1")[0], 404)

    # ---- authentication ----------------------------------------------------------------------

    def test_unauthenticated_is_401(self):
        code, body = self.fake.get("/api/v1/pods", client_cert=None)
        self.assertEqual(code, 401)
        self.assertEqual((body["kind"], body["reason"], body["code"]), ("Status", "Unauthorized", 401))
        self.assertEqual(self.fake.get("/api/v1/pods", client_cert=None, token="wrong")[0], 401)
        self.assertEqual(self.fake.get("/api/v1/pods", client_cert=None, token="adapter-token")[0], 200)
        self.assertEqual(self.fake.get("/healthz", client_cert=None)[0], 200)

    def test_request_log_names_the_user(self):
        f = self.fake
        f.get("/api/v1/nodes?labelSelector=zone%3Da", client_cert="user-client")
        f.get("/api/v1/nodes", client_cert=None, token="jane-token")
        entries = [e for e in f.control("GET", "/fake/requests")[1] if e["path"] == "/api/v1/nodes"]
        self.assertEqual(entries[-2]["user"], "jane")
        self.assertIn("devs", entries[-2]["groups"])
        self.assertEqual(entries[-2]["params"], {"labelSelector": "zone=a"})
        self.assertEqual(entries[-1]["groups"], ["devs", "qa", "system:authenticated"])

    # ---- reads -------------------------------------------------------------------------------

    def test_list_get_and_errors(self):
        f = self.fake
        code, lst = f.get("/api/v1/pods")
        self.assertEqual((code, lst["kind"], lst["apiVersion"]), (200, "PodList", "v1"))
        self.assertTrue(lst["metadata"]["resourceVersion"].isdigit())
        names = [p["metadata"]["name"] for p in lst["items"]]
        self.assertLessEqual({"web-1", "web-2", "db-1"}, set(names))
        self.assertNotIn("kind", lst["items"][0])  # typed lists omit item kinds, as kube-apiserver
        self.assertEqual({p["metadata"]["name"] for p in f.get("/api/v1/namespaces/prod/pods")[1]["items"]}, {"db-1"})
        code, one = f.get("/api/v1/namespaces/default/pods/web-1")
        self.assertEqual((code, one["kind"], one["metadata"]["namespace"]), (200, "Pod", "default"))
        for key in ("uid", "creationTimestamp", "resourceVersion"):
            self.assertTrue(one["metadata"][key])
        code, missing = f.get("/api/v1/namespaces/default/pods/nope")
        self.assertEqual((code, missing["reason"], missing["details"]["name"]), (404, "NotFound", "nope"))
        self.assertEqual(f.get("/api/v1/nodes/node-1")[1]["kind"], "Node")
        self.assertEqual(f.get("/api/v1/namespaces/prod")[1]["kind"], "Namespace")
        self.assertEqual(f.get("/apis/apps/v1/namespaces/default/deployments")[1]["items"][0]["metadata"]["name"],
                         "web")
        widgets = f.get("/apis/example.com/v1/widgets")[1]
        self.assertEqual((widgets["kind"], widgets["items"][0]["kind"]), ("WidgetList", "Widget"))
        code, scale = f.get("/apis/apps/v1/namespaces/default/deployments/web/scale")
        self.assertEqual((scale["kind"], scale["spec"]["replicas"], scale["status"]["selector"]),
                         ("Scale", 2, "app=web"))
        self.assertEqual(f.get("/api/v1/foos")[0], 404)
        self.assertEqual(f.call("PATCH", "/api/v1/namespaces/default/pods/web-1", body={})[1]["reason"],
                         "MethodNotAllowed")

    def test_label_and_field_selectors(self):
        f = self.fake

        def names(query):
            code, lst = f.get("/api/v1/pods?" + urllib.parse.urlencode(query))
            self.assertEqual(code, 200, lst)
            return sorted(p["metadata"]["name"] for p in lst["items"] if p["metadata"]["name"] in
                          ("web-1", "web-2", "db-1"))

        self.assertEqual(names({"labelSelector": "app=web"}), ["web-1", "web-2"])
        self.assertEqual(names({"labelSelector": "app==db"}), ["db-1"])
        self.assertEqual(names({"labelSelector": "app!=web"}), ["db-1"])
        self.assertEqual(names({"labelSelector": "tier in (front, back)"}), ["db-1", "web-1"])
        self.assertEqual(names({"labelSelector": "tier notin (front)"}), ["db-1", "web-2"])
        self.assertEqual(names({"labelSelector": "tier"}), ["db-1", "web-1"])
        self.assertEqual(names({"labelSelector": "!tier"}), ["web-2"])
        self.assertEqual(names({"labelSelector": "app=web,!tier"}), ["web-2"])
        self.assertEqual(names({"fieldSelector": "metadata.name=web-2"}), ["web-2"])
        self.assertEqual(names({"fieldSelector": "metadata.namespace=prod"}), ["db-1"])
        self.assertEqual(names({"fieldSelector": "spec.nodeName=node-1,status.phase!=Pending"}), ["db-1", "web-1"])
        for bad in ({"labelSelector": "app in web"}, {"labelSelector": "=x"}, {"fieldSelector": "spec.bogus=1"}):
            code, status = f.get("/api/v1/pods?" + urllib.parse.urlencode(bad))
            self.assertEqual((code, status["reason"]), (400, "BadRequest"), bad)

    def test_limit_and_continue_give_a_consistent_snapshot(self):
        f = self.fake
        for i in range(5):
            f.control("POST", "/fake/objects", pod(f"page-{i}", ns="paging"))
        first = f.get("/api/v1/namespaces/paging/pods?limit=2")[1]
        self.assertEqual(len(first["items"]), 2)
        self.assertEqual(first["metadata"]["remainingItemCount"], 3)
        f.control("POST", "/fake/objects", pod("page-9", ns="paging"))  # not in the snapshot
        seen = [p["metadata"]["name"] for p in first["items"]]
        token = first["metadata"]["continue"]
        while token:
            page = f.get("/api/v1/namespaces/paging/pods?limit=2&continue=" + urllib.parse.quote(token))[1]
            self.assertEqual(page["metadata"]["resourceVersion"], first["metadata"]["resourceVersion"])
            seen += [p["metadata"]["name"] for p in page["items"]]
            token = page["metadata"].get("continue")
        self.assertEqual(seen, [f"page-{i}" for i in range(5)])

    def test_auth_configmap_is_published(self):
        code, cm = self.fake.get("/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication")
        self.assertEqual(code, 200)
        with open(os.path.join(self.fake.certs, "front-proxy-ca.crt")) as fh:
            self.assertEqual(cm["data"]["requestheader-client-ca-file"], fh.read())
        self.assertIn("BEGIN CERTIFICATE", cm["data"]["client-ca-file"])
        self.assertEqual(json.loads(cm["data"]["requestheader-allowed-names"]), ["front-proxy-client"])
        self.assertEqual(json.loads(cm["data"]["requestheader-username-headers"]), ["X-Remote-User"])
        self.assertEqual(json.loads(cm["data"]["requestheader-group-headers"]), ["X-Remote-Group"])
        self.assertEqual(json.loads(cm["data"]["requestheader-extra-headers-prefix"]), ["X-Remote-Extra-"])

    # ---- watch -------------------------------------------------------------------------------

    def test_watch_replays_and_streams(self):
        f = self.fake
        rv = f.get("/api/v1/namespaces/w1/pods")[1]["metadata"]["resourceVersion"]
        f.control("POST", "/fake/objects", pod("a", ns="w1", labels={"x": "1"}))
        w = f.watch(f"/api/v1/namespaces/w1/pods?watch=1&resourceVersion={rv}&timeoutSeconds=5")
        self.assertEqual(w.getheader("Transfer-Encoding"), "chunked")
        added = next_event(w)
        self.assertEqual((added["type"], added["object"]["metadata"]["name"]), ("ADDED", "a"))
        self.assertGreater(int(added["object"]["metadata"]["resourceVersion"]), int(rv))
        f.control("POST", "/fake/objects", pod("a", ns="w1", labels={"x": "2"}))
        modified = next_event(w)
        self.assertEqual((modified["type"], modified["object"]["metadata"]["labels"]), ("MODIFIED", {"x": "2"}))
        self.assertEqual(modified["object"]["metadata"]["uid"], added["object"]["metadata"]["uid"])
        f.control("DELETE", "/fake/objects?apiVersion=v1&kind=Pod&namespace=w1&name=a")
        deleted = next_event(w)
        self.assertEqual(deleted["type"], "DELETED")
        self.assertGreater(int(deleted["object"]["metadata"]["resourceVersion"]),
                           int(modified["object"]["metadata"]["resourceVersion"]))
        w.conn_.close()

    def test_watch_without_rv_starts_with_current_state(self):
        w = self.fake.watch("/api/v1/namespaces/default/pods?watch=true&labelSelector=app%3Dweb&timeoutSeconds=5")
        names = {next_event(w)["object"]["metadata"]["name"] for _ in range(2)}
        self.assertEqual(names, {"web-1", "web-2"})
        w.conn_.close()

    def test_selector_watch_sees_leaving_objects_as_deleted(self):
        f = self.fake
        f.control("POST", "/fake/objects", pod("s", ns="w2", labels={"role": "in"}))
        w = f.watch("/api/v1/namespaces/w2/pods?watch=1&labelSelector=role%3Din&timeoutSeconds=5")
        self.assertEqual(next_event(w)["type"], "ADDED")
        f.control("POST", "/fake/objects", pod("s", ns="w2", labels={"role": "out"}))
        gone = next_event(w)
        self.assertEqual(gone["type"], "DELETED")
        self.assertEqual(gone["object"]["metadata"]["labels"], {"role": "in"})  # previous content
        f.control("POST", "/fake/objects", pod("s", ns="w2", labels={"role": "in"}))
        self.assertEqual(next_event(w)["type"], "ADDED")
        w.conn_.close()

    def test_watch_timeout_ends_cleanly(self):
        start = time.time()
        w = self.fake.watch("/api/v1/namespaces/empty/pods?watch=1&resourceVersion=0&timeoutSeconds=1")
        self.assertIsNone(next_event(w))
        self.assertLess(time.time() - start, 3)

    def test_bookmarks(self):
        f = self.fake
        w = f.watch("/api/v1/nodes?watch=1&resourceVersion=0&allowWatchBookmarks=true&timeoutSeconds=5")
        node = next_event(w)
        self.assertEqual((node["type"], node["object"]["metadata"]["name"]), ("ADDED", "node-1"))
        bookmark = next_event(w, skip_bookmarks=False)
        self.assertEqual((bookmark["type"], bookmark["object"]["kind"]), ("BOOKMARK", "Node"))
        self.assertEqual(set(bookmark["object"]["metadata"]), {"resourceVersion", "creationTimestamp"})
        self.assertGreaterEqual(int(bookmark["object"]["metadata"]["resourceVersion"]),
                                int(node["object"]["metadata"]["resourceVersion"]))
        f.control("POST", "/fake/objects", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "bm"}})
        added = next_event(w)
        later = next_event(w, skip_bookmarks=False)
        self.assertEqual(later["type"], "BOOKMARK")
        self.assertGreaterEqual(int(later["object"]["metadata"]["resourceVersion"]),
                                int(added["object"]["metadata"]["resourceVersion"]))
        w.conn_.close()
        quiet = f.watch("/api/v1/nodes?watch=1&resourceVersion=0&timeoutSeconds=1")  # no allowWatchBookmarks
        events = []
        while (ev := next_event(quiet, skip_bookmarks=False)) is not None:
            events.append(ev["type"])
        self.assertNotIn("BOOKMARK", events)

    def test_compaction_gives_410_and_drop_closes_abruptly(self):
        f = self.fake
        old_rv = f.get("/api/v1/configmaps")[1]["metadata"]["resourceVersion"]
        f.control("POST", "/fake/objects", {"apiVersion": "v1", "kind": "ConfigMap",
                                            "metadata": {"name": "c", "namespace": "default"}})
        code, compacted = f.control("POST", "/fake/compact")
        self.assertEqual(code, 200)
        w = f.watch(f"/api/v1/configmaps?watch=1&resourceVersion={old_rv}")
        self.assertEqual(w.status, 200)
        err = next_event(w)
        self.assertEqual(err["type"], "ERROR")
        self.assertEqual((err["object"]["code"], err["object"]["reason"]), (410, "Expired"))
        self.assertTrue(err["object"]["message"].startswith(f"too old resource version: {old_rv} ("))
        self.assertEqual(w.read(), b"")  # ended cleanly after the error
        ok = f.watch(f"/api/v1/configmaps?watch=1&resourceVersion={compacted['compactedResourceVersion']}")
        deadline = time.time() + 5
        while f.control("GET", "/fake/watches")[1].get("configmaps", 0) < 1 and time.time() < deadline:
            time.sleep(0.02)
        self.assertEqual(f.control("GET", "/fake/watches")[1].get("configmaps"), 1)
        self.assertGreaterEqual(f.control("POST", "/fake/drop-watches")[1]["dropped"], 1)
        with self.assertRaises((http.client.IncompleteRead, ssl.SSLError, ConnectionError)):
            ok.read()  # no terminating chunk: the stream was cut, not ended
        self.assertEqual(f.control("GET", "/fake/watches")[1].get("configmaps"), None)

    def test_closed_watch_is_unregistered(self):
        f = self.fake
        w = f.watch("/api/v1/namespaces/gone/endpoints?watch=1&timeoutSeconds=30")
        deadline = time.time() + 5
        while f.control("GET", "/fake/watches")[1].get("endpoints", 0) < 1 and time.time() < deadline:
            time.sleep(0.02)
        w.conn_.close()
        while f.control("GET", "/fake/watches")[1].get("endpoints", 0) > 0 and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(f.control("GET", "/fake/watches")[1].get("endpoints"), None)

    def test_single_object_watch(self):
        f = self.fake
        path = ("/api/v1/namespaces/kube-system/configmaps?watch=1&timeoutSeconds=5&fieldSelector="
                "metadata.name%3Dextension-apiserver-authentication")
        w = f.watch(path)
        first = next_event(w)
        self.assertEqual((first["type"], first["object"]["metadata"]["name"]),
                         ("ADDED", "extension-apiserver-authentication"))
        f.control("POST", "/fake/objects", {"apiVersion": "v1", "kind": "ConfigMap",
                                            "metadata": {"name": "other", "namespace": "kube-system"}})
        changed = dict(first["object"], data=dict(first["object"]["data"], **{"requestheader-allowed-names": "[]"}))
        f.control("POST", "/fake/objects", changed)
        second = next_event(w)  # the unrelated ConfigMap is filtered out
        self.assertEqual((second["type"], second["object"]["data"]["requestheader-allowed-names"]), ("MODIFIED", "[]"))
        f.control("POST", "/fake/objects", first["object"])
        w.conn_.close()

    def test_metadata_only_and_table_forms(self):
        f = self.fake
        accept = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
        lst = f.get("/api/v1/namespaces/default/pods", headers={"Accept": accept})[1]
        self.assertEqual(lst["kind"], "PartialObjectMetadataList")
        self.assertNotIn("spec", lst["items"][0])
        table = f.get("/api/v1/pods", headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})[1]
        self.assertEqual(table["kind"], "Table")
        self.assertEqual(table["columnDefinitions"][0]["name"], "Name")
        code, _ = f.get("/api/v1/pods", headers={"Accept": "application/vnd.kubernetes.protobuf"})
        self.assertEqual(code, 406)

    def test_fault_injection(self):
        f = self.fake
        f.control("POST", "/fake/faults", [{"method": "GET", "pathPrefix": "/api/v1/services", "code": 503,
                                            "count": 2}])
        self.assertEqual(f.get("/api/v1/services")[0], 503)
        code, status = f.get("/api/v1/services")
        self.assertEqual((code, status["reason"]), (503, "ServiceUnavailable"))
        self.assertEqual(f.get("/api/v1/services")[0], 200)

    def test_certificates(self):
        certs = self.fake.certs

        def verify(ca, cert):
            return subprocess.run(["openssl", "verify", "-CAfile", os.path.join(certs, ca),
                                   os.path.join(certs, cert)], capture_output=True).returncode == 0

        self.assertTrue(verify("ca.crt", "server.crt"))
        self.assertTrue(verify("ca.crt", "admin.crt"))
        self.assertTrue(verify("ca.crt", "user-client.crt"))
        self.assertTrue(verify("front-proxy-ca.crt", "front-proxy-client.crt"))
        self.assertTrue(verify("front-proxy-ca.crt", "front-proxy-other.crt"))
        self.assertFalse(verify("front-proxy-ca.crt", "rogue-client.crt"))
        self.assertTrue(verify("rogue-ca.crt", "rogue-client.crt"))
        # The API port only accepts client certificates of the cluster CA.
        ctx = self.fake.ssl_context("rogue-client")
        with socket.create_connection(("127.0.0.1", self.fake.port), timeout=5) as raw:
            with self.assertRaises((ssl.SSLError, ConnectionError)):
                with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                    tls.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
                    tls.recv(100)

    # ---- reviews -----------------------------------------------------------------------------

    def test_token_review(self):
        f = self.fake
        review = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                  "spec": {"token": "jane-token", "audiences": ["api"]}}
        code, out = f.call("POST", "/apis/authentication.k8s.io/v1/tokenreviews", body=review)
        self.assertEqual(code, 201)
        self.assertTrue(out["status"]["authenticated"])
        self.assertEqual(out["status"]["user"]["username"], "jane")
        self.assertEqual(out["status"]["user"]["groups"], ["devs", "qa", "system:authenticated"])
        self.assertEqual(out["status"]["audiences"], ["api"])
        review["spec"]["token"] = "adapter-token"
        user = f.call("POST", "/apis/authentication.k8s.io/v1/tokenreviews", body=review)[1]["status"]["user"]
        self.assertEqual(user["username"], "system:serviceaccount:custom-metrics:metrics-adapter")
        review["spec"]["token"] = "nope"
        status = f.call("POST", "/apis/authentication.k8s.io/v1/tokenreviews", body=review)[1]["status"]
        self.assertFalse(status.get("authenticated", False))
        self.assertIn("error", status)
        f.control("POST", "/fake/tokens", {"new-token": {"username": "bob", "groups": ["g"], "extra": {"k": ["v"]}}})
        review["spec"]["token"] = "new-token"
        user = f.call("POST", "/apis/authentication.k8s.io/v1/tokenreviews", body=review)[1]["status"]["user"]
        self.assertEqual((user["username"], user["extra"]), ("bob", {"k": ["v"]}))

    def sar(self, user, groups, attrs, non_resource=False):
        key = "nonResourceAttributes" if non_resource else "resourceAttributes"
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                "spec": {"user": user, "groups": groups, key: attrs}}
        code, out = self.fake.call("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", body=body)
        self.assertEqual(code, 201, out)
        return out["status"]

    def test_subject_access_review(self):
        hpa = "system:serviceaccount:kube-system:horizontal-pod-autoscaler"
        attrs = {"namespace": "default", "verb": "get", "group": "custom.metrics.k8s.io", "version": "v1beta2",
                 "resource": "pods", "subresource": "http_requests", "name": "*"}
        self.assertTrue(self.sar(hpa, ["system:authenticated"], attrs)["allowed"])
        self.assertFalse(self.sar(hpa, [], dict(attrs, verb="list"))["allowed"])
        self.assertTrue(self.sar("jane", ["devs"], dict(attrs, verb="list"))["allowed"])
        self.assertFalse(self.sar("jane", ["devs"], dict(attrs, namespace="prod"))["allowed"])
        self.assertFalse(self.sar("jane", ["devs"], dict(attrs, resource="services"))["allowed"])
        self.assertTrue(self.sar("root", ["system:masters"], dict(attrs, resource="services"))["allowed"])
        self.assertTrue(self.sar("x", ["system:authenticated"], {"path": "/apis/custom.metrics.k8s.io",
                                                                  "verb": "get"}, non_resource=True)["allowed"])
        self.assertFalse(self.sar("x", ["system:authenticated"], {"path": "/metrics", "verb": "get"},
                                  non_resource=True)["allowed"])
        logged = [e for e in self.fake.control("GET", "/fake/requests")[1] if e["path"].endswith("accessreviews")]
        self.assertEqual(logged[-1]["body"]["spec"]["nonResourceAttributes"]["path"], "/metrics")
        self.assertEqual(logged[-1]["response"]["allowed"], False)
        code, bad = self.fake.call("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                                   body={"spec": {"user": "x"}})
        self.assertEqual((code, bad["reason"]), (422, "Invalid"))

    def test_policy_replacement(self):
        attrs = {"namespace": "ns", "verb": "get", "group": "external.metrics.k8s.io", "resource": "queue_depth"}
        self.assertFalse(self.sar("temp", [], attrs)["allowed"])
        self.fake.control("POST", "/fake/policy", POLICY + [{"user": "temp", "group_api": "external.metrics.k8s.io"}])
        try:
            self.assertTrue(self.sar("temp", [], attrs)["allowed"])
        finally:
            self.fake.control("POST", "/fake/policy", POLICY)
        self.assertFalse(self.sar("temp", [], attrs)["allowed"])

    # ---- kubectl -----------------------------------------------------------------------------

    @unittest.skipUnless(shutil.which("kubectl"), "kubectl not installed")
    def test_kubectl_talks_to_it(self):
        env = dict(os.environ, KUBECONFIG=self.fake.kubeconfig, HOME=self.tmp)

        def kubectl(*args):
            return subprocess.run(["kubectl", *args], env=env, capture_output=True, text=True, timeout=20)

        pods = kubectl("get", "pods", "-A")
        self.assertEqual(pods.returncode, 0, pods.stderr)
        self.assertIn("web-1", pods.stdout)
        self.assertIn("db-1", pods.stdout)
        raw = kubectl("get", "--raw", "/apis")
        self.assertEqual(raw.returncode, 0, raw.stderr)
        self.assertEqual(json.loads(raw.stdout)["kind"], "APIGroupList")
        token = kubectl("--context", "token", "get", "widgets", "-o", "name")
        self.assertEqual((token.returncode, token.stdout.strip()), (0, "widget.example.com/w1"), token.stderr)


class EnforcedPolicyTest(unittest.TestCase):
    """--enforce-policy: the fake authorizes its own API with the SubjectAccessReview policy."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fake-apiserver-")
        cls.fake = FakeServer(cls.tmp, ["--enforce-policy"])
        cls.fake.control("POST", "/fake/policy", [{"user": "metrics-adapter", "verb": "list", "resource": "pods"}])

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_forbidden_is_403(self):
        self.assertEqual(self.fake.get("/api/v1/pods")[0], 200)
        code, status = self.fake.get("/api/v1/namespaces/default/pods/web-1")
        self.assertEqual((code, status["reason"]), (403, "Forbidden"))
        self.assertIn('User "metrics-adapter" cannot get resource "pods"', status["message"])
        self.assertEqual(self.fake.get("/api/v1/nodes")[0], 403)


if __name__ == "__main__":
    unittest.main()
