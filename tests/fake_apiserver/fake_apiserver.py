#!/usr/bin/env python3
"""A fake kube-apiserver for integration tests (Python 3 standard library only).

It serves, over HTTPS with client-certificate or bearer-token authentication, the parts of the
Kubernetes API an aggregated API server uses: discovery, GET/LIST/WATCH of core, apps,
discovery.k8s.io and custom resources (with label/field selectors, resourceVersion semantics,
bookmarks and 410 Expired after compaction), TokenReview and SubjectAccessReview, and the
kube-system/extension-apiserver-authentication ConfigMap built from the test PKI. A second,
plain-HTTP loopback port ("control API", /fake/...) lets tests change objects, compact history,
drop watches, inspect received requests and change the authorization policy.

See README.md for the command line, the control API and the differences from kube-apiserver.
"""

import argparse
import base64
import json
import os
import queue
import select
import signal
import socket
import ssl
import socketserver
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import auth  # noqa: E402
import k8s_selectors  # noqa: E402
import store as storemod  # noqa: E402

CERT_FILES = ("ca.crt", "server.crt", "server.key", "admin.crt", "admin.key", "front-proxy-ca.crt")
HEALTH_PATHS = ("/healthz", "/livez", "/readyz")
AUTH_CONFIGMAP = ("kube-system", "extension-apiserver-authentication")
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
VERSION_INFO = {
    "major": "1", "minor": "31", "gitVersion": "v1.31.0-fake", "gitCommit": "0" * 40,
    "gitTreeState": "clean", "buildDate": "2024-08-13T00:00:00Z", "goVersion": "go1.22.5",
    "compiler": "gc", "platform": "linux/amd64",
}


# ---- small helpers ----------------------------------------------------------------------------

def status_object(code, reason, message, details=None):
    """A metav1.Status failure object as kube-apiserver sends with non-2xx answers and ERROR events."""
    out = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code}
    if details is not None:
        out["details"] = details
    return out


class ApiError(Exception):
    """An error answered as a Status object with the given HTTP code and reason."""

    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.status = status_object(code, reason, message, details)


def not_found(res, name):
    details = {"name": name, "kind": res.plural}
    if res.group:
        details["group"] = res.group
    return ApiError(404, "NotFound", f'{res.key} "{name}" not found', details)


def path_not_found():
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def method_not_allowed():
    return ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {})


def write_atomically(path, text):
    """Writes text to path via a temporary file and rename, so readers never see a partial file."""
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def read_text(path):
    with open(path) as f:
        return f.read()


def b64_file(path):
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


def group_discovery(group, versions):
    """An APIGroup object for /apis and /apis/<group>."""
    gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": gvs, "preferredVersion": gvs[0]}


# ---- the request log --------------------------------------------------------------------------

class RequestLog:
    """Requests received on the API port, for tests to assert on (GET /fake/requests)."""

    def __init__(self, log_file):
        self._lock = threading.Lock()
        self._entries = []
        self._seq = 0
        self._log_file = log_file

    def add(self, entry):
        """Appends entry (a dict, completed later with "code") and returns it."""
        with self._lock:
            self._seq += 1
            entry["seq"] = self._seq
            self._entries.append(entry)
            if len(self._entries) > 100000:
                del self._entries[:10000]
        return entry

    def entries(self, since=0):
        with self._lock:
            return [dict(e) for e in self._entries if e["seq"] > since]

    def clear(self):
        with self._lock:
            self._entries = []

    def line(self, text):
        """Writes one line to the log file (or stderr)."""
        stamp = time.strftime("%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}"
        out = self._log_file or sys.stderr
        with self._lock:
            out.write(f"{stamp} {text}\n")
            out.flush()


# ---- faults -----------------------------------------------------------------------------------

class Faults:
    """Injected failures: the next `count` API requests matching method/pathPrefix get `code`."""

    def __init__(self):
        self._lock = threading.Lock()
        self._faults = []

    def replace(self, faults):
        if not isinstance(faults, list):
            raise ValueError("faults must be a JSON list")
        with self._lock:
            self._faults = [dict(f, count=int(f.get("count", 1))) for f in faults]

    def take(self, method, path):
        """The Status code to fail this request with, or None."""
        with self._lock:
            for f in self._faults:
                if f["count"] <= 0:
                    continue
                if f.get("method", method) == method and path.startswith(f.get("pathPrefix", "/")):
                    f["count"] -= 1
                    return int(f.get("code", 500))
        return None

    def list(self):
        with self._lock:
            return [dict(f) for f in self._faults]


# ---- the application state --------------------------------------------------------------------

class App:
    """Everything the two HTTP servers share."""

    def __init__(self, args):
        self.args = args
        self.registry = storemod.Registry()
        self.store = storemod.Store(self.registry)
        self.tokens = auth.Tokens()
        self.policy = auth.Policy()
        self.faults = Faults()
        self.log = RequestLog(open(args.log, "a") if args.log else None)
        self.port = 0
        self.stopping = threading.Event()

    def load(self):
        """Fills the store: default namespaces, the authentication ConfigMap, CRDs, fixtures."""
        for text in self.args.token:
            token, user = auth.parse_token_flag(text)
            self.tokens.add(token, user)
        if self.args.policy:
            self.policy.replace(json.loads(read_text(self.args.policy)))
        if not self.args.no_default_namespaces:
            for ns in DEFAULT_NAMESPACES:
                self.store.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns},
                                "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
        if not self.args.no_auth_configmap:
            self.store.put(self.auth_configmap())
        for spec in self.args.crd:
            self.store.put(parse_crd_flag(spec))
        if self.args.fixtures:
            for obj in objects_of(json.loads(read_text(self.args.fixtures))):
                self.store.put(obj)

    def auth_configmap(self):
        """kube-system/extension-apiserver-authentication as kube-apiserver publishes it."""
        d = self.args.cert_dir
        data = {
            "client-ca-file": read_text(os.path.join(d, "ca.crt")),
            "requestheader-client-ca-file": read_text(os.path.join(d, "front-proxy-ca.crt")),
            "requestheader-allowed-names": '["front-proxy-client"]',
            "requestheader-username-headers": '["X-Remote-User"]',
            "requestheader-group-headers": '["X-Remote-Group"]',
            "requestheader-extra-headers-prefix": '["X-Remote-Extra-"]',
        }
        return {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": AUTH_CONFIGMAP[1], "namespace": AUTH_CONFIGMAP[0]}, "data": data}

    def kubeconfig(self):
        """A kubeconfig (YAML) with context "admin" (client cert, current) and "token" (bearer)."""
        d = self.args.cert_dir
        return "\n".join([
            "apiVersion: v1",
            "kind: Config",
            "clusters:",
            "- name: fake",
            "  cluster:",
            f"    server: https://127.0.0.1:{self.port}",
            f"    certificate-authority-data: {b64_file(os.path.join(d, 'ca.crt'))}",
            "users:",
            "- name: admin",
            "  user:",
            f"    client-certificate-data: {b64_file(os.path.join(d, 'admin.crt'))}",
            f"    client-key-data: {b64_file(os.path.join(d, 'admin.key'))}",
            "- name: token",
            "  user:",
            f"    token: {auth.ADAPTER_TOKEN}",
            "contexts:",
            "- name: admin",
            "  context:",
            "    cluster: fake",
            "    user: admin",
            "- name: token",
            "  context:",
            "    cluster: fake",
            "    user: token",
            "current-context: admin",
            "",
        ])


def objects_of(doc):
    """The objects in a fixtures document: a JSON list, a v1 List ({"items": [...]}) or one object."""
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict) and isinstance(doc.get("items"), list) and doc.get("kind", "").endswith("List"):
        return doc["items"]
    if isinstance(doc, dict):
        return [doc]
    raise ValueError("expected a JSON object, list of objects or List")


def parse_crd_flag(text):
    """'group/version/plural/Kind/namespaced' -> a CustomResourceDefinition object."""
    parts = text.split("/")
    if len(parts) != 5 or parts[4] not in ("true", "false"):
        raise ValueError(f"--crd wants group/version/plural/Kind/true|false, got {text!r}")
    return storemod.crd_object(parts[0], parts[1], parts[2], parts[3], parts[4] == "true")


# ---- request parsing --------------------------------------------------------------------------

class ResourceRequest:
    """A request path resolved to a resource: res, namespace ("" = all/cluster), name, subresource."""

    def __init__(self, res, namespace, name, subresource, watch_path):
        self.res = res
        self.namespace = namespace
        self.name = name
        self.subresource = subresource
        self.watch_path = watch_path  # the deprecated /watch/ path prefix was used


def resolve_resource(registry, group, version, segs):
    """Maps the path segments after /api/v1 or /apis/g/v to a ResourceRequest, or raises 404."""
    if not registry.in_group_version(group, version):
        raise path_not_found()
    watch_path = bool(segs) and segs[0] == "watch"
    if watch_path:
        segs = segs[1:]
    namespace = ""
    if len(segs) >= 3 and segs[0] == "namespaces":
        candidate = registry.lookup(group, version, segs[2])
        if candidate is not None and candidate.namespaced:
            namespace, segs = segs[1], segs[2:]
    if not segs or len(segs) > 3:
        raise path_not_found()
    res = registry.lookup(group, version, segs[0])
    if res is None:
        raise path_not_found()
    name = segs[1] if len(segs) > 1 else ""
    sub = segs[2] if len(segs) > 2 else ""
    if sub and sub not in res.subresources:
        raise path_not_found()
    return ResourceRequest(res, namespace, name, sub, watch_path)


def parse_accept(header):
    """The response form requested by Accept: 'json', 'table', 'partial' or None (unacceptable)."""
    if not header:
        return "json"
    for part in header.split(","):
        fields = [f.strip() for f in part.split(";")]
        media, params = fields[0].lower(), dict(f.split("=", 1) for f in fields[1:] if "=" in f)
        if media not in ("application/json", "*/*", "application/*"):
            continue
        as_kind = params.get("as")
        if as_kind is None:
            return "json"
        if as_kind == "Table" and params.get("g") == "meta.k8s.io" and params.get("v") in ("v1", "v1beta1"):
            return "table"
        if as_kind in ("PartialObjectMetadata", "PartialObjectMetadataList") and params.get("g") == "meta.k8s.io":
            return "partial"
    return None


def partial_metadata(obj):
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata", {})}


def table_of(objs, rv, include_object):
    """A meta.k8s.io/v1 Table with the default columns (Name, Created At) of kube-apiserver."""
    columns = [
        {"name": "Name", "type": "string", "format": "name", "priority": 0,
         "description": "Name must be unique within a namespace."},
        {"name": "Created At", "type": "date", "format": "", "priority": 0,
         "description": "CreationTimestamp is a timestamp representing the server time when this object was created."},
    ]
    rows = []
    for obj in objs:
        meta = obj.get("metadata", {})
        row = {"cells": [meta.get("name"), meta.get("creationTimestamp")]}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = partial_metadata(obj)
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": str(rv)},
            "columnDefinitions": columns, "rows": rows}


def request_attributes(method, rr, query):
    """SubjectAccessReview-style resourceAttributes for an API request."""
    is_watch = query.get("watch") in ("1", "true") or rr.watch_path
    if method == "GET":
        verb = "watch" if is_watch else ("get" if rr.name else "list")
    else:
        verb = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method, method.lower())
    return {"namespace": rr.namespace, "verb": verb, "group": rr.res.group, "version": rr.res.version,
            "resource": rr.res.plural, "subresource": rr.subresource, "name": rr.name}


def forbidden(user, attrs):
    """The 403 Status kube-apiserver's RBAC authorizer produces for attrs."""
    res = attrs["resource"] + (f"/{attrs['subresource']}" if attrs["subresource"] else "")
    scope = f'in the namespace "{attrs["namespace"]}"' if attrs["namespace"] else "at the cluster scope"
    target = f'{res} "{attrs["name"]}"' if attrs["name"] else res
    msg = (f'{target} is forbidden: User "{user}" cannot {attrs["verb"]} resource "{res}" '
           f'in API group "{attrs["group"]}" {scope}')
    details = {"kind": attrs["resource"]}
    if attrs["name"]:
        details["name"] = attrs["name"]
    if attrs["group"]:
        details["group"] = attrs["group"]
    return ApiError(403, "Forbidden", msg, details)


def encode_continue(rv, last_key):
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": "/".join(last_key) + "\x00"})
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_continue(token):
    """(rv, start key string) from a continue token; raises ApiError 400 when malformed."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(data["rv"]), str(data["start"])
    except (ValueError, KeyError, TypeError):
        raise ApiError(400, "BadRequest", f'continue key is not valid: "{token}"')


# ---- the API server ---------------------------------------------------------------------------

class LoopbackServer(ThreadingHTTPServer):
    """ThreadingHTTPServer without the reverse DNS lookup HTTPServer.server_bind does."""

    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self):
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class TlsHttpServer(LoopbackServer):
    """A threading HTTP/1.1 server doing the TLS handshake in the connection's own thread."""

    def __init__(self, address, handler, tls_context, app):
        self.tls_context = tls_context
        self.app = app
        super().__init__(address, handler)

    def finish_request(self, request, client_address):
        request.settimeout(10)
        try:
            conn = self.tls_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            self.app.log.line(f"TLS handshake from {client_address[0]}:{client_address[1]} failed: {e}")
            return
        try:
            conn.settimeout(None)
            self.RequestHandlerClass(conn, client_address, self)
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass


def make_tls_context(cert_dir):
    """Server context: serving cert, optional client certs verified against ca.crt, ALPN http/1.1."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(cert_dir, "server.crt"), os.path.join(cert_dir, "server.key"))
    ctx.load_verify_locations(os.path.join(cert_dir, "ca.crt"))
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


class ApiHandler(BaseHTTPRequestHandler):
    """One connection on the API port; dispatches each request to the matching handler method."""

    protocol_version = "HTTP/1.1"
    server_version = "fake-kube-apiserver"
    sys_version = ""
    timeout = 300  # idle keep-alive connections are closed after this many seconds

    @property
    def app(self):
        return self.server.app

    def log_message(self, fmt, *args):
        pass  # requests are logged by dispatch()

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    # ---- plumbing -----------------------------------------------------------------------------

    def read_body(self):
        """The request body (Content-Length or chunked), b"" when there is none."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send_json(self, code, obj, extra_headers=None):
        data = json.dumps(obj, separators=(",", ":")).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Audit-Id", self.audit_id)
        self.send_header("Cache-Control", "no-cache, private")
        for k, v in (extra_headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.entry["code"] = code

    def send_text(self, code, text):
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.entry["code"] = code

    def send_status(self, err):
        self.send_json(err.status["code"], err.status)

    def authenticate(self):
        """The user dict for this request: x509 client cert (CN/O) first, then bearer token; or None."""
        try:
            cert = self.connection.getpeercert()
        except (ValueError, AttributeError):
            cert = None
        if cert:
            names = [kv for rdn in cert.get("subject", ()) for kv in rdn]
            cn = [v for k, v in names if k == "commonName"]
            orgs = [v for k, v in names if k == "organizationName"]
            if cn:
                return {"username": cn[0], "groups": orgs + ["system:authenticated"]}
        header = self.headers.get("Authorization") or ""
        if header[:7].lower() == "bearer ":
            return self.app.tokens.lookup(header[7:].strip())
        return None

    def dispatch(self, method):
        """Logs, authenticates, (optionally) authorizes and routes one request."""
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        self.audit_id = f"fake-{time.monotonic_ns()}"
        self.entry = self.app.log.add({"method": method, "path": url.path, "query": url.query, "params": query,
                                       "time": time.time(), "user": None, "groups": [], "code": None})
        try:
            body = self.read_body()
            user = self.authenticate()
            if user:
                self.entry["user"], self.entry["groups"] = user["username"], user["groups"]
            self.route(method, url.path, query, body, user)
        except ApiError as e:
            self.send_status(e)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout):
            self.close_connection = True
        except Exception as e:  # a bug in the fake: answer 500 and keep serving
            self.app.log.line(f"internal error on {method} {self.path}: {e!r}")
            self.send_status(ApiError(500, "InternalError", f"Internal error occurred: {e!r}"))
        self.app.log.line(f"{method} {self.path} {self.entry.get('code')} user={self.entry.get('user')}")

    # ---- routing ------------------------------------------------------------------------------

    def route(self, method, path, query, body, user):
        """Routes a request; raises ApiError for failures."""
        if path in HEALTH_PATHS:
            return self.send_text(200, "ok")
        if user is None:
            raise ApiError(401, "Unauthorized", "Unauthorized")
        code = self.app.faults.take(method, path)
        if code is not None:
            raise ApiError(code, {500: "InternalError", 503: "ServiceUnavailable", 429: "TooManyRequests",
                                  504: "Timeout"}.get(code, "InternalError"), f"injected fault {code}")
        segs = [s for s in path.split("/") if s]
        if path == "/version":
            return self.send_json(200, VERSION_INFO)
        if segs[:1] == ["api"]:
            return self.route_core(method, segs[1:], query, body, user)
        if segs[:1] == ["apis"]:
            return self.route_groups(method, segs[1:], query, body, user)
        raise path_not_found()

    def route_core(self, method, segs, query, body, user):
        if not segs:
            return self.get_only(method, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{self.app.port}"}]})
        if len(segs) == 1:
            return self.get_only(method, self.resource_list("", segs[0]))
        rr = resolve_resource(self.app.registry, "", segs[0], segs[1:])
        return self.serve_resource(method, rr, query, body, user)

    def route_groups(self, method, segs, query, body, user):
        groups = self.app.registry.groups()
        if not segs:
            listed = [group_discovery(g, vs) for g, vs in groups.items() if g]
            return self.get_only(method, {"kind": "APIGroupList", "apiVersion": "v1", "groups": listed})
        if segs[0] not in groups or not segs[0]:
            raise path_not_found()
        if len(segs) == 1:
            doc = dict(group_discovery(segs[0], groups[segs[0]]), kind="APIGroup", apiVersion="v1")
            return self.get_only(method, doc)
        if len(segs) == 2:
            return self.get_only(method, self.resource_list(segs[0], segs[1]))
        rr = resolve_resource(self.app.registry, segs[0], segs[1], segs[2:])
        return self.serve_resource(method, rr, query, body, user)

    def get_only(self, method, doc):
        if method != "GET":
            raise method_not_allowed()
        self.send_json(200, doc)

    def resource_list(self, group, version):
        """The APIResourceList for /api/v1 or /apis/<group>/<version>; 404 when not served."""
        resources = self.app.registry.in_group_version(group, version)
        if not resources:
            raise path_not_found()
        gv = f"{group}/{version}" if group else version
        entries = [e for r in sorted(resources, key=lambda r: r.plural) for e in r.discovery()]
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": entries}

    def serve_resource(self, method, rr, query, body, user):
        """GET/LIST/WATCH, the review POSTs, and simple create/replace/delete."""
        if self.app.args.enforce_policy:
            attrs = request_attributes(method, rr, query)
            allowed, _, _ = self.app.policy.evaluate(user["username"], user["groups"], attrs)
            if not allowed:
                raise forbidden(user["username"], attrs)
        if not rr.res.storable:
            if method != "POST" or rr.name:
                raise method_not_allowed()
            return self.serve_review(rr, body)
        if method == "GET":
            if query.get("watch") in ("1", "true") or rr.watch_path:
                return self.serve_watch(rr, query)
            return self.serve_get(rr, query) if rr.name else self.serve_list(rr, query)
        if rr.subresource:
            raise method_not_allowed()
        if method in ("POST", "PUT"):
            return self.serve_write(method, rr, body)
        if method == "DELETE" and rr.name:
            gone = self.app.store.delete(rr.res, rr.namespace, rr.name)
            if gone is None:
                raise not_found(rr.res, rr.name)
            return self.send_json(200, gone)
        raise method_not_allowed()

    # ---- reviews ------------------------------------------------------------------------------

    def serve_review(self, rr, body):
        """TokenReview / SubjectAccessReview: answers 201 Created with the status filled in."""
        try:
            doc = json.loads(body or b"{}")
        except ValueError as e:
            raise ApiError(400, "BadRequest", f"the body of the request was in an unknown format: {e}")
        self.entry["body"] = doc
        try:
            out = self.app.tokens.review(doc) if rr.res.kind == "TokenReview" else self.app.policy.review(doc)
        except ValueError as e:
            raise ApiError(422, "Invalid", f'{rr.res.kind}.{rr.res.group} "" is invalid: {e}',
                           {"group": rr.res.group, "kind": rr.res.kind})
        self.entry["response"] = out["status"]
        self.send_json(201, out)

    # ---- reads --------------------------------------------------------------------------------

    def response_form(self):
        form = parse_accept(self.headers.get("Accept"))
        if form is None:
            raise ApiError(406, "NotAcceptable", "only the following media types are accepted: application/json")
        return form

    def shaped_object(self, rr, obj, form, query):
        """obj as the client asked for it (plain, Table or PartialObjectMetadata)."""
        if form == "table":
            return table_of([obj], obj["metadata"]["resourceVersion"], query.get("includeObject", "Metadata"))
        if form == "partial":
            return partial_metadata(obj)
        return obj

    def serve_get(self, rr, query):
        form = self.response_form()
        obj = self.app.store.get(rr.res, rr.namespace, rr.name)
        if obj is None or (rr.res.namespaced and not rr.namespace):
            raise not_found(rr.res, rr.name)
        if rr.subresource == "scale":
            obj = scale_of(obj)
        self.send_json(200, self.shaped_object(rr, obj, form, query))

    def selectors(self, rr, query):
        """(LabelSelector, FieldSelector) from the query; 400 BadRequest when malformed."""
        fields = query.get("fieldSelector", "")
        if rr.name:
            pin = "metadata.name=" + rr.name.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")
            fields = f"{fields},{pin}" if fields else pin
        try:
            return (k8s_selectors.LabelSelector(query.get("labelSelector", "")),
                    k8s_selectors.FieldSelector(fields, rr.res.field_labels, rr.res.key))
        except k8s_selectors.SelectorError as e:
            raise ApiError(400, "BadRequest", str(e))

    def parse_rv(self, query, key="resourceVersion"):
        """The resourceVersion parameter: "" (unset), "0", or a decimal string; 400 otherwise."""
        rv = query.get(key, "")
        if rv and not rv.isdigit():
            raise ApiError(400, "BadRequest", f'invalid resource version "{rv}"')
        return rv

    def serve_list(self, rr, query):
        """LIST with selectors, resourceVersion/resourceVersionMatch and limit/continue."""
        form = self.response_form()
        labels, fields = self.selectors(rr, query)
        rv, start = self.parse_rv(query), ""
        store = self.app.store
        try:
            if query.get("continue"):
                token_rv, start = decode_continue(query["continue"])
                list_rv, items = store.list_at(rr.res, rr.namespace, token_rv)
            elif rv and query.get("resourceVersionMatch") == "Exact":
                list_rv, items = store.list_at(rr.res, rr.namespace, int(rv))
            else:
                list_rv, items = store.list(rr.res, rr.namespace)
                if rv and int(rv) > list_rv:
                    raise ApiError(504, "Timeout", f"Too large resource version: {rv}, current: {list_rv}",
                                   {"causes": [{"reason": "ResourceVersionTooLarge",
                                                "message": "Too large resource version"}], "retryAfterSeconds": 1})
        except storemod.Expired as e:
            raise ApiError(410, "Expired", f"The provided continue parameter is too old to display a consistent "
                                           f"list result ({e})")
        items = [o for o in items if labels.matches(o["metadata"].get("labels")) and fields.matches(o)]
        if start:
            items = [o for o in items if object_key(o) + "\x00" > start]
        meta = {"resourceVersion": str(list_rv)}
        limit = int(query.get("limit") or 0) if (query.get("limit") or "0").isdigit() else 0
        if limit and len(items) > limit:
            meta["continue"] = encode_continue(list_rv, object_key_parts(items[limit - 1]))
            meta["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        self.send_json(200, self.shaped_list(rr, items, meta, form, query))

    def shaped_list(self, rr, items, meta, form, query):
        """A <Kind>List (items without apiVersion/kind for built-in types), Table or metadata list."""
        if form == "table":
            table = table_of(items, meta["resourceVersion"], query.get("includeObject", "Metadata"))
            table["metadata"] = meta
            return table
        if form == "partial":
            return {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
                    "items": [partial_metadata(o) for o in items]}
        if rr.res.builtin:
            items = [{k: v for k, v in o.items() if k not in ("apiVersion", "kind")} for o in items]
        return {"kind": rr.res.kind + "List", "apiVersion": rr.res.api_version, "metadata": meta, "items": items}

    # ---- watch --------------------------------------------------------------------------------

    def serve_watch(self, rr, query):
        """A chunked stream of watch events until timeoutSeconds, a drop, or the client leaving."""
        form = self.response_form()
        labels, fields = self.selectors(rr, query)
        rv = self.parse_rv(query)
        timeout = self.app.args.watch_timeout
        if query.get("timeoutSeconds", "").isdigit():
            timeout = int(query["timeoutSeconds"])
        watcher = storemod.Watcher(rr.res, rr.namespace, labels, fields)
        watcher.allow_bookmarks = query.get("allowWatchBookmarks") in ("1", "true")
        self.entry["watch"] = True
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Audit-Id", self.audit_id)
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.entry["code"] = 200
        try:
            self.app.store.open_watch(watcher, rv, query.get("sendInitialEvents") == "true")
        except storemod.Expired as e:
            self.write_chunk({"type": "ERROR", "object": status_object(410, "Expired", str(e))})
            return self.end_chunks()
        try:
            self.pump_watch(watcher, timeout, form)
        finally:
            self.app.store.close_watch(watcher)

    def pump_watch(self, watcher, timeout, form):
        """Writes queued events; bookmarks every --bookmark-interval seconds when allowed."""
        interval = self.app.args.bookmark_interval
        deadline = time.monotonic() + timeout
        next_bookmark = time.monotonic() + interval
        while not self.app.stopping.is_set():
            now = time.monotonic()
            if now >= deadline:
                return self.end_chunks()
            if watcher.allow_bookmarks and now >= next_bookmark:
                self.app.store.bookmark(watcher)
                next_bookmark = now + interval
            wait = min(deadline - now, 0.25)
            if watcher.allow_bookmarks:
                wait = min(wait, max(0.0, next_bookmark - now))
            try:
                kind, event = watcher.queue.get(timeout=wait)
            except queue.Empty:
                if self.client_gone():
                    self.close_connection = True
                    return
                continue
            if kind == "drop":
                return self.abort_connection()
            if form == "partial" and event["type"] != "ERROR":
                event = {"type": event["type"], "object": partial_metadata(event["object"])}
            self.write_chunk(event)

    def write_chunk(self, event):
        data = json.dumps(event, separators=(",", ":")).encode() + b"\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def end_chunks(self):
        self.wfile.write(b"0\r\n\r\n")

    def abort_connection(self):
        """Closes the TCP connection without ending the chunked body or the TLS session."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def client_gone(self):
        """True when the client closed its side (readable socket with nothing to read)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            self.connection.settimeout(0.05)
            try:
                data = self.connection.recv(1)
                if data:
                    self.close_connection = True  # a pipelined request: give up keep-alive
                return not data
            finally:
                self.connection.settimeout(self.timeout)
        except (ssl.SSLWantReadError, socket.timeout):
            return False
        except (OSError, ValueError):
            return True

    # ---- writes -------------------------------------------------------------------------------

    def serve_write(self, method, rr, body):
        """POST (create; 409 if it exists) and PUT (replace; 404 if missing) of whole objects."""
        try:
            obj = json.loads(body or b"{}")
        except ValueError as e:
            raise ApiError(400, "BadRequest", f"the body of the request was in an unknown format: {e}")
        if not isinstance(obj, dict):
            raise ApiError(400, "BadRequest", "the body of the request must be an object")
        obj.setdefault("apiVersion", rr.res.api_version)
        obj.setdefault("kind", rr.res.kind)
        meta = obj.setdefault("metadata", {})
        if rr.namespace:
            meta["namespace"] = rr.namespace
        name = rr.name or meta.get("name", "")
        existing = self.app.store.get(rr.res, rr.namespace, name) if name else None
        if method == "POST" and (rr.name or existing is not None):
            if rr.name:
                raise method_not_allowed()
            raise ApiError(409, "AlreadyExists", f'{rr.res.key} "{name}" already exists',
                           {"name": name, "kind": rr.res.plural})
        if method == "PUT":
            if existing is None:
                raise not_found(rr.res, name)
            meta["name"] = name
        try:
            _, stored = self.app.store.put(obj)
        except ValueError as e:
            raise ApiError(422, "Invalid", f'{rr.res.kind} "{name}" is invalid: {e}')
        self.send_json(201 if method == "POST" else 200, stored)


def object_key_parts(obj):
    meta = obj.get("metadata", {})
    return (meta.get("namespace", ""), meta.get("name", ""))


def object_key(obj):
    return "/".join(object_key_parts(obj))


def scale_of(obj):
    """The autoscaling/v1 Scale subresource of a workload object."""
    meta, spec, status = obj.get("metadata", {}), obj.get("spec") or {}, obj.get("status") or {}
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                         if k in meta},
            "spec": {"replicas": spec.get("replicas", 1)},
            "status": {"replicas": status.get("replicas", 0),
                       "selector": ",".join(f"{k}={v}" for k, v in sorted(selector.items()))}}


# ---- the control API --------------------------------------------------------------------------

class ControlHandler(BaseHTTPRequestHandler):
    """Plain-HTTP loopback endpoints for tests (see README.md, "Control API")."""

    protocol_version = "HTTP/1.1"
    server_version = "fake-kube-apiserver-control"
    timeout = 60

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def reply(self, code, obj):
        data = json.dumps(obj, indent=1).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def dispatch(self, method):
        app = self.server.app
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        handler = CONTROL_ROUTES.get((method, url.path))
        if handler is None:
            return self.reply(404, {"error": f"no control endpoint {method} {url.path}"})
        try:
            body = json.loads(raw) if raw.strip() else None
            code, out = handler(app, query, body)
        except (ValueError, KeyError, TypeError) as e:
            code, out = 400, {"error": str(e)}
        app.log.line(f"control {method} {self.path} {code}")
        self.reply(code, out)


def control_put_objects(app, query, body):
    """POST /fake/objects: create or replace one object, a list, or a List; returns the results."""
    results = []
    for obj in objects_of(body):
        ev_type, stored = app.store.put(obj)
        results.append({"type": ev_type, "object": stored})
    return 200, results[0] if isinstance(body, dict) and "items" not in body else results


def control_resource(app, query):
    res = app.registry.by_kind(query["apiVersion"], query["kind"])
    if res is None:
        raise ValueError(f"no resource for apiVersion={query['apiVersion']!r} kind={query['kind']!r}")
    return res


def control_delete_object(app, query, body):
    """DELETE /fake/objects?apiVersion=&kind=&namespace=&name=: 200 with the object, 404 if absent."""
    res = control_resource(app, query)
    gone = app.store.delete(res, query.get("namespace", "") if res.namespaced else "", query["name"])
    return (200, gone) if gone else (404, {"error": "not found"})


def control_get_objects(app, query, body):
    """GET /fake/objects?apiVersion=&kind=[&namespace=]: the stored objects."""
    res = control_resource(app, query)
    rv, items = app.store.list(res, query.get("namespace", ""))
    return 200, {"resourceVersion": str(rv), "items": items}


def control_policy(app, query, body):
    app.policy.replace(body)
    return 200, {"rules": len(body)}


def control_tokens(app, query, body):
    """POST /fake/tokens: {"token": "user:g1,g2" | {"username", "groups", "uid", "extra"}}."""
    if not isinstance(body, dict):
        raise ValueError("tokens must be a JSON object {token: user}")
    for token, spec in body.items():
        app.tokens.add(token, auth.user_from_spec(spec))
    return 200, {"tokens": len(body)}


def control_faults(app, query, body):
    app.faults.replace(body or [])
    return 200, {"faults": app.faults.list()}


CONTROL_ROUTES = {
    ("POST", "/fake/objects"): control_put_objects,
    ("DELETE", "/fake/objects"): control_delete_object,
    ("GET", "/fake/objects"): control_get_objects,
    ("POST", "/fake/compact"): lambda app, q, b: (200, {"compactedResourceVersion": str(app.store.compact())}),
    ("POST", "/fake/drop-watches"): lambda app, q, b: (200, {"dropped": app.store.drop_watches()}),
    ("POST", "/fake/bookmark"): lambda app, q, b: (200, {"bookmarked": app.store.bookmark_all()}),
    ("GET", "/fake/requests"): lambda app, q, b: (200, app.log.entries(int(q.get("since") or 0))),
    ("DELETE", "/fake/requests"): lambda app, q, b: (200, app.log.clear() or {}),
    ("POST", "/fake/policy"): control_policy,
    ("POST", "/fake/tokens"): control_tokens,
    ("POST", "/fake/faults"): control_faults,
    ("GET", "/fake/watches"): lambda app, q, b: (200, app.store.watch_counts()),
    ("GET", "/fake/state"): lambda app, q, b: (200, {"resourceVersion": str(app.store.rv),
                                                     "compactedResourceVersion": str(app.store.compacted_rv)}),
}


class ControlServer(LoopbackServer):
    def __init__(self, address, app):
        self.app = app
        super().__init__(address, ControlHandler)


# ---- main -------------------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(description="Fake kube-apiserver for tests.")
    p.add_argument("--cert-dir", required=True, help="PKI from make_certs.sh (created when files are missing)")
    p.add_argument("--port", type=int, default=0, help="HTTPS port on 127.0.0.1 (0: pick a free one)")
    p.add_argument("--port-file", help="write the bound HTTPS port here when ready (atomically)")
    p.add_argument("--control-port", type=int, default=0, help="control API port (0: pick a free one)")
    p.add_argument("--control-port-file", help="write the bound control port here (before --port-file)")
    p.add_argument("--fixtures", help="JSON list (or List) of initial objects")
    p.add_argument("--kubeconfig-out", help="write a kubeconfig for this server here")
    p.add_argument("--token", action="append", default=[], help="TOKEN=user[:group1,group2], repeatable")
    p.add_argument("--policy", help="JSON file with SubjectAccessReview policy rules")
    p.add_argument("--crd", action="append", default=[], help="group/version/plural/Kind/namespaced, repeatable")
    p.add_argument("--log", help="append a line per request here (default stderr)")
    p.add_argument("--bookmark-interval", type=float, default=1.0, help="seconds between watch bookmarks")
    p.add_argument("--watch-timeout", type=int, default=300, help="watch duration without timeoutSeconds")
    p.add_argument("--enforce-policy", action="store_true", help="authorize API requests with the policy too")
    p.add_argument("--no-auth-configmap", action="store_true",
                   help="do not publish kube-system/extension-apiserver-authentication")
    p.add_argument("--no-default-namespaces", action="store_true",
                   help="do not create default, kube-system, kube-public, kube-node-lease")
    p.add_argument("--die-with-parent", action="store_true", help="exit when the parent process exits (Linux)")
    return p.parse_args(argv)


def ensure_certs(cert_dir):
    """Runs make_certs.sh when a needed file is missing; exits with its status on failure."""
    if all(os.path.exists(os.path.join(cert_dir, f)) for f in CERT_FILES):
        return
    subprocess.run([os.path.join(HERE, "make_certs.sh"), cert_dir], check=True)


def die_with_parent():
    """Asks Linux to send SIGTERM when the parent exits (prctl PR_SET_PDEATHSIG)."""
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


def serve_in_thread(server):
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    t.start()
    return t


def main(argv):
    args = parse_args(argv)
    for stale in (args.port_file, args.control_port_file):
        if stale and os.path.exists(stale):
            os.remove(stale)  # readers wait for the file: never let them see a previous run's port
    if args.die_with_parent:
        die_with_parent()
    ensure_certs(args.cert_dir)
    app = App(args)
    try:
        app.load()
    except (ValueError, OSError) as e:
        print(f"fake_apiserver: loading state: {e}", file=sys.stderr)
        return 2
    api = TlsHttpServer(("127.0.0.1", args.port), ApiHandler, make_tls_context(args.cert_dir), app)
    control = ControlServer(("127.0.0.1", args.control_port), app)
    app.port = api.server_address[1]
    serve_in_thread(api)
    serve_in_thread(control)
    if args.kubeconfig_out:
        write_atomically(args.kubeconfig_out, app.kubeconfig())
    if args.control_port_file:
        write_atomically(args.control_port_file, f"{control.server_address[1]}\n")
    if args.port_file:
        write_atomically(args.port_file, f"{app.port}\n")
    app.log.line(f"fake kube-apiserver on https://127.0.0.1:{app.port}, control http://127.0.0.1:"
                 f"{control.server_address[1]}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(0.1):
        pass
    app.stopping.set()
    app.log.line("stopping")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
