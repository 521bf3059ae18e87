// auth::AttributesFromRequest, auth::Authorizer (SubjectAccessReview bodies, caching,
// always-allowed paths and groups) and the 401/403 replies.
#include "adapter/auth/authorizer.h"

#include <string>
#include <string_view>
#include <vector>

#include "adapter/auth/attributes.h"
#include "adapter/auth/status.h"
#include "adapter/k8s/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/adapter/auth_test_util.h"

namespace auth {
namespace {

using ::testing::HasSubstr;
using Decision = AuthorizationResult::Decision;
using namespace std::chrono_literals;

http::Request Req(std::string method, std::string path, http::Params params = {}) {
  http::Request r;
  r.method = std::move(method);
  r.path = path;
  r.target = path;
  r.params = std::move(params);
  return r;
}

UserInfo Alice() {
  UserInfo u;
  u.username = "alice";
  u.groups = {"dev", "system:authenticated"};
  return u;
}

// --- attributes ---

struct AttributesCase {
  std::string method, path;
  http::Params params;
  bool resource;
  std::string verb, group, version, ns, resource_name, subresource, name;
};

TEST(AuthAttributesTest, FromRequestPaths) {
  const AttributesCase cases[] = {
      // Custom metrics.
      {"GET",
       "/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/http_requests",
       {},
       true,
       "get",
       "custom.metrics.k8s.io",
       "v1beta1",
       "default",
       "pods",
       "http_requests",
       "*"},
      {"GET",
       "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/web-1/http_requests",
       {},
       true,
       "get",
       "custom.metrics.k8s.io",
       "v1beta2",
       "default",
       "pods",
       "http_requests",
       "web-1"},
      {"GET",
       "/apis/custom.metrics.k8s.io/v1beta1/namespaces/ns/metrics/queue_length",
       {},
       true,
       "get",
       "custom.metrics.k8s.io",
       "v1beta1",
       "ns",
       "metrics",
       "",
       "queue_length"},
      {"GET",
       "/apis/custom.metrics.k8s.io/v1beta1/nodes/n1/cpu_load",
       {},
       true,
       "get",
       "custom.metrics.k8s.io",
       "v1beta1",
       "",
       "nodes",
       "cpu_load",
       "n1"},
      {"GET",
       "/apis/custom.metrics.k8s.io/v1beta1/namespaces/ns/deployments.apps/web/rps",
       {},
       true,
       "get",
       "custom.metrics.k8s.io",
       "v1beta1",
       "ns",
       "deployments.apps",
       "rps",
       "web"},
      // External metrics: a collection, so list.
      {"GET",
       "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth",
       {{"labelSelector", "queue=jobs"}},
       true,
       "list",
       "external.metrics.k8s.io",
       "v1beta1",
       "default",
       "queue_depth",
       "",
       ""},
      // Resource metrics.
      {"GET",
       "/apis/metrics.k8s.io/v1beta1/nodes",
       {},
       true,
       "list",
       "metrics.k8s.io",
       "v1beta1",
       "",
       "nodes",
       "",
       ""},
      {"GET",
       "/apis/metrics.k8s.io/v1beta1/nodes/n1",
       {},
       true,
       "get",
       "metrics.k8s.io",
       "v1beta1",
       "",
       "nodes",
       "",
       "n1"},
      {"GET",
       "/apis/metrics.k8s.io/v1beta1/namespaces/kube-system/pods",
       {},
       true,
       "list",
       "metrics.k8s.io",
       "v1beta1",
       "kube-system",
       "pods",
       "",
       ""},
      {"GET",
       "/apis/metrics.k8s.io/v1beta1/pods",
       {{"fieldSelector", "metadata.name=web-1"}},
       true,
       "list",
       "metrics.k8s.io",
       "v1beta1",
       "",
       "pods",
       "",
       "web-1"},
      {"GET",
       "/apis/metrics.k8s.io/v1beta1/pods",
       {{"fieldSelector", "spec.nodeName=n1,metadata.name==a\\,b"}},
       true,
       "list",
       "metrics.k8s.io",
       "v1beta1",
       "",
       "pods",
       "",
       "a,b"},
      {"GET",
       "/apis/metrics.k8s.io/v1beta1/pods",
       {{"fieldSelector", "metadata.name!=x"}},
       true,
       "list",
       "metrics.k8s.io",
       "v1beta1",
       "",
       "pods",
       "",
       ""},
      {"GET",
       "/apis/metrics.k8s.io/v1beta1/pods",
       {{"watch", "true"}},
       true,
       "watch",
       "metrics.k8s.io",
       "v1beta1",
       "",
       "pods",
       "",
       ""},
      {"GET",
       "/apis/metrics.k8s.io/v1beta1/pods",
       {{"watch", "false"}},
       true,
       "list",
       "metrics.k8s.io",
       "v1beta1",
       "",
       "pods",
       "",
       ""},
      {"HEAD",
       "/apis/metrics.k8s.io/v1beta1/nodes/n1",
       {},
       true,
       "get",
       "metrics.k8s.io",
       "v1beta1",
       "",
       "nodes",
       "",
       "n1"},
      // Namespaces themselves and their subresources.
      {"GET", "/api/v1/namespaces/ns", {}, true, "get", "", "v1", "ns", "namespaces", "", "ns"},
      {"GET", "/api/v1/namespaces", {}, true, "list", "", "v1", "", "namespaces", "", ""},
      {"PUT",
       "/api/v1/namespaces/ns/finalize",
       {},
       true,
       "update",
       "",
       "v1",
       "ns",
       "namespaces",
       "finalize",
       "ns"},
      {"GET",
       "/api/v1/watch/namespaces/ns/pods",
       {},
       true,
       "watch",
       "",
       "v1",
       "ns",
       "pods",
       "",
       ""},
      // Other methods.
      {"POST",
       "/apis/apps/v1/namespaces/ns/deployments",
       {},
       true,
       "create",
       "apps",
       "v1",
       "ns",
       "deployments",
       "",
       ""},
      {"DELETE",
       "/apis/apps/v1/namespaces/ns/deployments",
       {},
       true,
       "deletecollection",
       "apps",
       "v1",
       "ns",
       "deployments",
       "",
       ""},
      {"DELETE",
       "/apis/apps/v1/namespaces/ns/deployments/web",
       {},
       true,
       "delete",
       "apps",
       "v1",
       "ns",
       "deployments",
       "",
       "web"},
      {"PATCH",
       "/apis/apps/v1/namespaces/ns/deployments/web/scale",
       {},
       true,
       "patch",
       "apps",
       "v1",
       "ns",
       "deployments",
       "scale",
       "web"},
      {"OPTIONS",
       "/apis/apps/v1/namespaces/ns/deployments/web",
       {},
       true,
       "",
       "apps",
       "v1",
       "ns",
       "deployments",
       "",
       "web"},
      // Non-resource requests: discovery, health, everything else.
      {"GET", "/apis/custom.metrics.k8s.io/v1beta1", {}, false, "get", "", "", "", "", "", ""},
      {"GET", "/apis/custom.metrics.k8s.io", {}, false, "get", "", "", "", "", "", ""},
      {"GET", "/apis", {}, false, "get", "", "", "", "", "", ""},
      {"GET", "/api/v1", {}, false, "get", "", "", "", "", "", ""},
      {"GET", "/", {}, false, "get", "", "", "", "", "", ""},
      {"GET", "/healthz", {}, false, "get", "", "", "", "", "", ""},
      {"POST", "/openapi/v2", {}, false, "post", "", "", "", "", "", ""},
      {"HEAD", "/metrics", {}, false, "head", "", "", "", "", "", ""},
  };
  for (const AttributesCase& c : cases) {
    Attributes a = AttributesFromRequest(Req(c.method, c.path, c.params), Alice());
    SCOPED_TRACE(c.method + " " + c.path);
    EXPECT_EQ(a.resource_request, c.resource);
    EXPECT_EQ(a.verb, c.verb);
    EXPECT_EQ(a.path, c.path);
    EXPECT_EQ(a.api_group, c.group);
    EXPECT_EQ(a.api_version, c.version);
    EXPECT_EQ(a.namespace_name, c.ns);
    EXPECT_EQ(a.resource, c.resource_name);
    EXPECT_EQ(a.subresource, c.subresource);
    EXPECT_EQ(a.name, c.name);
    EXPECT_EQ(a.user, Alice());
  }
}

// --- SubjectAccessReview bodies ---

TEST(AuthSubjectAccessReviewTest, GoldenBodies) {
  UserInfo u = Alice();
  u.uid = "42";
  u.extra = {{"scopes", {"view", "edit"}}, {"acme.com/project", {"p1"}}};
  EXPECT_EQ(
      SubjectAccessReviewBody(AttributesFromRequest(
          Req("GET", "/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/http_requests"),
          u)),
      R"({"kind":"SubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{},)"
      R"("spec":{"resourceAttributes":{"namespace":"default","verb":"get",)"
      R"("group":"custom.metrics.k8s.io","version":"v1beta1","resource":"pods",)"
      R"("subresource":"http_requests","name":"*"},"user":"alice",)"
      R"("groups":["dev","system:authenticated"],)"
      R"("extra":{"acme.com/project":["p1"],"scopes":["view","edit"]},"uid":"42"}})");

  EXPECT_EQ(
      SubjectAccessReviewBody(AttributesFromRequest(
          Req("GET", "/apis/custom.metrics.k8s.io/v1beta1/namespaces/ns/metrics/queue_length"),
          Alice())),
      R"({"kind":"SubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{},)"
      R"("spec":{"resourceAttributes":{"namespace":"ns","verb":"get",)"
      R"("group":"custom.metrics.k8s.io","version":"v1beta1","resource":"metrics",)"
      R"("name":"queue_length"},"user":"alice","groups":["dev","system:authenticated"]}})");

  EXPECT_EQ(SubjectAccessReviewBody(AttributesFromRequest(
                Req("GET", "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth"),
                Alice())),
            R"({"kind":"SubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{},)"
            R"("spec":{"resourceAttributes":{"namespace":"default","verb":"list",)"
            R"("group":"external.metrics.k8s.io","version":"v1beta1","resource":"queue_depth"},)"
            R"("user":"alice","groups":["dev","system:authenticated"]}})");

  EXPECT_EQ(SubjectAccessReviewBody(AttributesFromRequest(
                Req("GET", "/apis/metrics.k8s.io/v1beta1/nodes/n1"), Alice())),
            R"({"kind":"SubjectAccessReview","apiVersion":"authorization.k8s.io/v1",)"
            R"("metadata":{},"spec":{"resourceAttributes":{"verb":"get",)"
            R"("group":"metrics.k8s.io","version":"v1beta1","resource":"nodes","name":"n1"},)"
            R"("user":"alice","groups":["dev","system:authenticated"]}})");

  UserInfo anonymous;
  anonymous.username = "system:anonymous";
  anonymous.groups = {"system:unauthenticated"};
  EXPECT_EQ(SubjectAccessReviewBody(AttributesFromRequest(
                Req("GET", "/apis/custom.metrics.k8s.io/v1beta1"), anonymous)),
            R"({"kind":"SubjectAccessReview","apiVersion":"authorization.k8s.io/v1",)"
            R"("metadata":{},"spec":{"nonResourceAttributes":{"path":)"
            R"("/apis/custom.metrics.k8s.io/v1beta1","verb":"get"},"user":"system:anonymous",)"
            R"("groups":["system:unauthenticated"]}})");
}

// --- the authorizer ---

// A fake SubjectAccessReview endpoint answering a fixed JSON, counting calls.
struct FakeReview {
  int calls = 0;
  std::string answer = R"({"status":{"allowed":true}})";
  absl::Status fail;
  std::string last_path, last_body;

  ReviewPoster Poster() {
    return [this](std::string_view path, std::string_view body) -> absl::StatusOr<std::string> {
      ++calls;
      last_path = std::string(path);
      last_body = std::string(body);
      if (!fail.ok()) return fail;
      return answer;
    };
  }
};

std::unique_ptr<Authorizer> MakeAuthorizer(AuthorizerOptions options) {
  absl::StatusOr<std::unique_ptr<Authorizer>> a = Authorizer::Create(std::move(options));
  EXPECT_TRUE(a.ok()) << a.status();
  return a.ok() ? std::move(*a) : nullptr;
}

Attributes CustomMetric(UserInfo user = Alice()) {
  return AttributesFromRequest(
      Req("GET", "/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/http_requests"),
      std::move(user));
}

TEST(AuthAuthorizerTest, SubjectAccessReviewDecidesAndIsCached) {
  FakeReview review;
  auth_test::FakeClock clock;
  AuthorizerOptions options;
  options.subject_access_review = review.Poster();
  options.clock = clock.Fn();
  options.allowed_ttl = 10s;
  options.denied_ttl = 5s;
  auto a = MakeAuthorizer(std::move(options));

  AuthorizationResult r = a->Authorize(CustomMetric());
  EXPECT_EQ(r.decision, Decision::kAllow);
  EXPECT_EQ(review.calls, 1);
  EXPECT_EQ(review.last_path, "/apis/authorization.k8s.io/v1/subjectaccessreviews");
  EXPECT_EQ(review.last_body, SubjectAccessReviewBody(CustomMetric()));

  // Allowed: cached for allowed_ttl.
  review.answer = R"({"status":{"allowed":false,"reason":"no RBAC policy matched"}})";
  clock.now += 9s;
  EXPECT_EQ(a->Authorize(CustomMetric()).decision, Decision::kAllow);
  EXPECT_EQ(review.calls, 1);
  // Other attributes (another user) are another entry.
  UserInfo bob = Alice();
  bob.username = "bob";
  r = a->Authorize(CustomMetric(bob));
  EXPECT_EQ(r.decision, Decision::kForbid);
  EXPECT_EQ(r.reason, "no RBAC policy matched");
  EXPECT_EQ(review.calls, 2);
  clock.now += 1s;
  r = a->Authorize(CustomMetric());
  EXPECT_EQ(r.decision, Decision::kForbid);
  EXPECT_EQ(review.calls, 3);

  // Denied: cached for denied_ttl.
  review.answer = R"({"status":{"allowed":true}})";
  clock.now += 4s;
  EXPECT_EQ(a->Authorize(CustomMetric()).decision, Decision::kForbid);
  EXPECT_EQ(review.calls, 3);
  clock.now += 1s;
  EXPECT_EQ(a->Authorize(CustomMetric()).decision, Decision::kAllow);
  EXPECT_EQ(review.calls, 4);
}

TEST(AuthAuthorizerTest, DeniedNoOpinionAndErrors) {
  FakeReview review;
  auth_test::FakeClock clock;
  AuthorizerOptions options;
  options.subject_access_review = review.Poster();
  options.clock = clock.Fn();
  auto a = MakeAuthorizer(std::move(options));

  review.answer = R"({"status":{"allowed":false,"denied":true,"reason":"blocked",)"
                  R"("evaluationError":"ignored"}})";
  AuthorizationResult r = a->Authorize(CustomMetric());
  EXPECT_EQ(r.decision, Decision::kForbid);
  EXPECT_EQ(r.reason, "blocked");

  clock.now += 1h;
  review.answer = R"({"kind":"SubjectAccessReview","status":{"allowed":true,"denied":true}})";
  r = a->Authorize(CustomMetric());
  EXPECT_EQ(r.decision, Decision::kError);
  EXPECT_EQ(r.error, "webhook subject access review returned both allow and deny response");

  // Errors are not cached.
  clock.now += 1h;
  int calls = review.calls;
  review.fail = absl::UnavailableError("dial tcp 10.96.0.1:443: connection refused");
  for (int i = 0; i < 2; ++i) {
    r = a->Authorize(CustomMetric());
    EXPECT_EQ(r.decision, Decision::kError);
    EXPECT_EQ(r.error, "dial tcp 10.96.0.1:443: connection refused");
  }
  EXPECT_EQ(review.calls, calls + 2);
  review.fail = absl::OkStatus();
  for (const char* garbage :
       {"<html>", "[]", R"({"status":{"allowed":"yes"}})", R"({"status":"x"})"}) {
    review.answer = garbage;
    r = a->Authorize(CustomMetric());
    EXPECT_EQ(r.decision, Decision::kError) << garbage;
    EXPECT_THAT(r.error, HasSubstr("SubjectAccessReview: ")) << garbage;
  }
  // No status at all: no opinion, forbidden.
  review.answer = "{}";
  EXPECT_EQ(a->Authorize(CustomMetric()).decision, Decision::kForbid);
}

TEST(AuthAuthorizerTest, AlwaysAllowedPathsAndGroups) {
  FakeReview review;
  review.answer = R"({"status":{"allowed":false}})";
  AuthorizerOptions options;
  options.subject_access_review = review.Poster();
  options.always_allow_paths = {"/healthz", "/readyz", "/livez", "/debug/*", "/"};
  auto a = MakeAuthorizer(std::move(options));
  UserInfo anonymous;
  anonymous.username = "system:anonymous";
  anonymous.groups = {"system:unauthenticated"};
  for (const char* path : {"/healthz", "/readyz", "/livez", "/debug/pprof/heap", "/debug/", "/"}) {
    EXPECT_EQ(a->Authorize(AttributesFromRequest(Req("GET", path), anonymous)).decision,
              Decision::kAllow)
        << path;
  }
  EXPECT_EQ(review.calls, 0);
  for (const char* path : {"/healthz/ping", "/metrics", "/debug"}) {
    EXPECT_EQ(a->Authorize(AttributesFromRequest(Req("GET", path), anonymous)).decision,
              Decision::kForbid)
        << path;
  }
  EXPECT_EQ(review.calls, 3);
  EXPECT_TRUE(a->AlwaysAllowedPath("/livez"));
  EXPECT_TRUE(a->AlwaysAllowedPath("/debug/pprof/"));
  EXPECT_FALSE(a->AlwaysAllowedPath("/livez/ping"));
  EXPECT_FALSE(a->AlwaysAllowedPath("/apis"));
  // Paths apply to non-resource requests only.
  AuthorizerOptions all;
  all.always_allow_paths = {"/*"};
  auto everything = MakeAuthorizer(std::move(all));
  EXPECT_EQ(
      everything->Authorize(AttributesFromRequest(Req("GET", "/anything"), anonymous)).decision,
      Decision::kAllow);
  EXPECT_EQ(everything->Authorize(CustomMetric(anonymous)).decision, Decision::kForbid);

  // system:masters needs no review.
  UserInfo admin;
  admin.username = "system:kube-aggregator";
  admin.groups = {"system:masters", "system:authenticated"};
  review.calls = 0;
  EXPECT_EQ(a->Authorize(CustomMetric(admin)).decision, Decision::kAllow);
  EXPECT_EQ(review.calls, 0);

  // The defaults: the health paths.
  auto defaults = MakeAuthorizer(AuthorizerOptions{});
  EXPECT_EQ(defaults->Authorize(AttributesFromRequest(Req("GET", "/readyz"), anonymous)).decision,
            Decision::kAllow);
  // Without a poster everything else is forbidden.
  EXPECT_EQ(defaults->Authorize(CustomMetric()).decision, Decision::kForbid);
  EXPECT_EQ(defaults->Authorize(CustomMetric(admin)).decision, Decision::kAllow);

  AuthorizerOptions bad;
  bad.always_allow_paths = {"/a*b"};
  absl::StatusOr<std::unique_ptr<Authorizer>> r = Authorizer::Create(std::move(bad));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "always-allowed path \"/a*b\": only a trailing * is allowed");
}

// --- replies ---

TEST(AuthStatusTest, UnauthorizedBody) {
  http::Response r = UnauthorizedResponse();
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
                    R"("message":"Unauthorized","reason":"Unauthorized","code":401})"
                    "\n");
}

TEST(AuthStatusTest, ForbiddenBodies) {
  http::Response r = ForbiddenResponse(CustomMetric(), "");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body,
            R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":)"
            R"("pods.custom.metrics.k8s.io \"*\" is forbidden: User \"alice\" cannot get resource )"
            R"(\"pods/http_requests\" in API group \"custom.metrics.k8s.io\" in the namespace )"
            R"(\"default\"","reason":"Forbidden","details":{"name":"*",)"
            R"("group":"custom.metrics.k8s.io","kind":"pods"},"code":403})"
            "\n");

  Attributes nodes =
      AttributesFromRequest(Req("GET", "/apis/metrics.k8s.io/v1beta1/nodes"), Alice());
  EXPECT_EQ(ForbiddenMessage(nodes, "RBAC: clusterrole \"view\" not found"),
            "nodes.metrics.k8s.io is forbidden: User \"alice\" cannot list resource \"nodes\" in "
            "API group \"metrics.k8s.io\" at the cluster scope: RBAC: clusterrole \"view\" not "
            "found");
  Attributes core = AttributesFromRequest(Req("GET", "/api/v1/namespaces/ns/pods/p"), Alice());
  EXPECT_EQ(ForbiddenMessage(core, ""),
            "pods \"p\" is forbidden: User \"alice\" cannot get resource \"pods\" in API group "
            "\"\" in the namespace \"ns\"");

  UserInfo anonymous;
  anonymous.username = "system:anonymous";
  Attributes metrics = AttributesFromRequest(Req("GET", "/metrics"), anonymous);
  r = ForbiddenResponse(metrics, "");
  EXPECT_EQ(r.body,
            R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":)"
            R"("forbidden: User \"system:anonymous\" cannot get path \"/metrics\"",)"
            R"("reason":"Forbidden","details":{},"code":403})"
            "\n");

  // HTML-looking text is defused, as Go writes it.
  Attributes html = AttributesFromRequest(Req("GET", "/<b>&"), anonymous);
  EXPECT_THAT(ForbiddenResponse(html, "").body,
              HasSubstr(R"(cannot get path \"/\u0026lt;b\u0026gt;\u0026amp;\"")"));
  UserInfo odd;
  odd.username = "a\"b\n\xff";
  EXPECT_EQ(ForbiddenMessage(AttributesFromRequest(Req("GET", "/x"), odd), ""),
            "forbidden: User \"a\\\"b\\n\\xff\" cannot get path \"/x\"");
}

TEST(AuthStatusTest, AuthorizationErrorIsPlainText) {
  http::Request req = Req("GET", "/apis/metrics.k8s.io/v1beta1/nodes");
  req.target = "/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=a%3Db";
  http::Response r = AuthorizationErrorResponse(req, "connection refused");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(r.body,
            "Internal Server Error: \"/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=a%3Db\": "
            "connection refused\n");
}

TEST(AuthStatusTest, GenericStatus) {
  EXPECT_EQ(k8s::StatusReasonFor(400), "BadRequest");
  EXPECT_EQ(k8s::StatusReasonFor(413), "RequestEntityTooLarge");
  EXPECT_EQ(k8s::StatusReasonFor(431), "");
  http::Response r = StatusResponse(400, "BadRequest", "bad request: path: bad escape");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
                    R"("message":"bad request: path: bad escape","reason":"BadRequest","code":400})"
                    "\n");
  EXPECT_EQ(StatusResponse(431, "", "too large").body,
            R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
            R"("message":"too large","code":431})"
            "\n");
}

}  // namespace
}  // namespace auth
