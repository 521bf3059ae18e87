// Who made a request, as Kubernetes' user.Info describes it: what authentication found and what
// authorization (a SubjectAccessReview) is asked about.
#ifndef METRICS_ADAPTER_ADAPTER_AUTH_USER_INFO_H_
#define METRICS_ADAPTER_ADAPTER_AUTH_USER_INFO_H_

#include <map>
#include <string>
#include <vector>

namespace auth {

// Well-known names of k8s.io/apiserver/pkg/authentication/user.
inline constexpr char kAnonymousUser[] = "system:anonymous";
inline constexpr char kAllAuthenticatedGroup[] = "system:authenticated";
inline constexpr char kAllUnauthenticatedGroup[] = "system:unauthenticated";
inline constexpr char kPrivilegedGroup[] = "system:masters";

struct UserInfo {
  std::string username;
  std::string uid;
  std::vector<std::string> groups;
  // Keys as the authenticator found them (request-header extras are lowercased and
  // percent-decoded); values in the order received.
  std::map<std::string, std::vector<std::string>> extra;

  friend bool operator==(const UserInfo&, const UserInfo&) = default;
};

}  // namespace auth

#endif  // METRICS_ADAPTER_ADAPTER_AUTH_USER_INFO_H_
