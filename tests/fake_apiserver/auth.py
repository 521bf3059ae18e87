"""Users, bearer tokens (TokenReview) and the SubjectAccessReview policy of the fake API server.

Policy file: a JSON list of rules; a request is allowed when any rule matches (and no "deny" rule
matches first). Rule fields, each optional ("*" or absent = any):
  user, group                  subject: rule applies when the user name equals `user` or the user
                               is in `group` (both absent = everybody)
  verb                         get, list, watch, create, ...
  group_api (alias apiGroup)   API group of the resource ("" = core)
  resource                     "pods" or "pods/subresource"; "*" any
  subresource, name, namespace
  nonResourcePath              rule is for non-resource requests ("/healthz", prefix match with a
                               trailing "*"); rules without it only match resource requests
  deny: true                   a matching deny rule answers denied=true (checked before allows)
Users in group system:masters are always allowed.
"""

import threading

ADAPTER_TOKEN = "adapter-token"
ADAPTER_USER = {
    "username": "system:serviceaccount:custom-metrics:metrics-adapter",
    "uid": "6a1f0cbb-3d43-4c1e-9a58-0c9b0a7e3f01",
    "groups": ["system:serviceaccounts", "system:serviceaccounts:custom-metrics"],
}
DEFAULT_AUDIENCES = ["https://kubernetes.default.svc.cluster.local"]


def parse_token_flag(text):
    """'TOKEN=user[:g1,g2]' -> (token, user dict). Raises ValueError."""
    token, sep, rest = text.partition("=")
    if not sep or not token or not rest:
        raise ValueError(f"--token wants TOKEN=user[:group1,group2], got {text!r}")
    return token, user_from_spec(rest)


def user_from_spec(spec):
    """A user dict from 'user[:g1,g2]' or from {"user"|"username", "groups", "uid", "extra"}."""
    if isinstance(spec, str):
        name, _, groups = spec.partition(":")
        return {"username": name, "groups": [g for g in groups.split(",") if g]}
    if not isinstance(spec, dict):
        raise ValueError("a token's user is 'user[:g1,g2]' or an object")
    user = {"username": spec.get("username") or spec.get("user") or "", "groups": list(spec.get("groups") or [])}
    if not user["username"]:
        raise ValueError("a token's user needs a username")
    for k in ("uid", "extra"):
        if spec.get(k):
            user[k] = spec[k]
    return user


class Tokens:
    """Known bearer tokens -> user info; 'adapter-token' is always known."""

    def __init__(self):
        self._lock = threading.Lock()
        self._tokens = {ADAPTER_TOKEN: dict(ADAPTER_USER)}

    def add(self, token, user):
        with self._lock:
            self._tokens[token] = user

    def lookup(self, token):
        """The user dict for token (groups include system:authenticated), or None."""
        with self._lock:
            user = self._tokens.get(token)
        if user is None:
            return None
        user = dict(user)
        user["groups"] = list(user.get("groups") or []) + ["system:authenticated"]
        return user

    def review(self, body):
        """The TokenReview answering a TokenReview request body (authentication.k8s.io/v1)."""
        spec = (body or {}).get("spec") or {}
        user = self.lookup(spec.get("token") or "")
        status = {"user": {}}
        if user is None:
            status["error"] = "invalid bearer token"
        else:
            status["authenticated"] = True
            status["user"] = user
            status["audiences"] = spec.get("audiences") or DEFAULT_AUDIENCES
        return {"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1",
                "metadata": {"creationTimestamp": None}, "spec": spec, "status": status}


def _match(rule_value, actual):
    return rule_value is None or rule_value == "*" or rule_value == actual


def _subject_matches(rule, user, groups):
    if rule.get("user") is None and rule.get("group") is None:
        return True
    return (rule.get("user") is not None and _match(rule["user"], user)) or \
        (rule.get("group") is not None and (rule["group"] == "*" or rule["group"] in groups))


def _resource_matches(rule, attrs):
    if "nonResourcePath" in rule:
        return False
    resource, sub = attrs.get("resource", ""), attrs.get("subresource", "")
    rule_res = rule.get("resource")
    if rule_res not in (None, "*"):
        if "/" in rule_res:
            r, _, s = rule_res.partition("/")
            if r != resource or (s != "*" and s != sub):
                return False
        elif rule_res != resource:
            return False
    group = rule.get("group_api", rule.get("apiGroup"))
    return (_match(group, attrs.get("group", "")) and _match(rule.get("verb"), attrs.get("verb", ""))
            and _match(rule.get("subresource"), sub) and _match(rule.get("name"), attrs.get("name", ""))
            and _match(rule.get("namespace"), attrs.get("namespace", "")))


def _non_resource_matches(rule, attrs):
    path = rule.get("nonResourcePath")
    if path is None:
        return False
    actual = attrs.get("path", "")
    path_ok = path == "*" or path == actual or (path.endswith("*") and actual.startswith(path[:-1]))
    return path_ok and _match(rule.get("verb"), attrs.get("verb", ""))


class Policy:
    """The rule list evaluated for SubjectAccessReviews (and, optionally, the fake's own API)."""

    def __init__(self, rules=None):
        self._lock = threading.Lock()
        self.replace(rules or [])

    def replace(self, rules):
        """Replaces the rules; raises ValueError unless rules is a list of objects."""
        if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
            raise ValueError("policy must be a JSON list of rule objects")
        with self._lock:
            self._rules = list(rules)

    def evaluate(self, user, groups, resource_attrs=None, non_resource_attrs=None):
        """(allowed, denied, reason) for a subject and one of the two attribute sets."""
        if "system:masters" in groups:
            return True, False, "user is in group system:masters"
        with self._lock:
            rules = list(self._rules)
        for deny_pass in (True, False):
            for i, rule in enumerate(rules):
                if bool(rule.get("deny")) != deny_pass or not _subject_matches(rule, user, groups):
                    continue
                hit = (_resource_matches(rule, resource_attrs) if resource_attrs is not None
                       else _non_resource_matches(rule, non_resource_attrs or {}))
                if hit:
                    word = "denied" if deny_pass else "allowed"
                    return (not deny_pass), deny_pass, f"{word} by fake policy rule #{i}"
        return False, False, ""

    def review(self, body):
        """The SubjectAccessReview answering a request body (authorization.k8s.io/v1).

        Raises ValueError (answered 422 Invalid, as kube-apiserver's validation does) when the spec
        has no user/groups or not exactly one of resourceAttributes/nonResourceAttributes.
        """
        spec = (body or {}).get("spec") or {}
        ra, nra = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
        if (ra is None) == (nra is None):
            raise ValueError("spec.resourceAttributes: Invalid value: exactly one of nonResourceAttributes or "
                             "resourceAttributes must be specified")
        if not spec.get("user") and not spec.get("groups"):
            raise ValueError("spec.user: Invalid value: \"\": at least one of user or group must be specified")
        allowed, denied, reason = self.evaluate(spec.get("user", ""), spec.get("groups") or [], ra, nra)
        status = {"allowed": allowed}
        if denied:
            status["denied"] = True
        if reason:
            status["reason"] = reason
        return {"kind": "SubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
                "metadata": {"creationTimestamp": None}, "spec": spec, "status": status}
