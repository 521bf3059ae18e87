#include "adapter/auth/request_header.h"

#include <string>
#include <vector>

#include <boost/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "adapter/auth/x509.h"

namespace auth {
namespace {

namespace json = boost::json;

absl::Status KeyError(std::string_view key, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(absl::string_view(key.data(), key.size()), ": ",
                                                 absl::string_view(what.data(), what.size())));
}

// A list key: a JSON array of strings inside the string value ("" = empty list), as
// kube-apiserver serializes it.
absl::StatusOr<std::vector<std::string>> ParseList(std::string_view key, std::string_view text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec) {
    return KeyError(key, absl::StrCat("not a JSON array of strings: ", ec.message()));
  }
  if (v.is_null()) return out;  // "null", as Go's json.Marshal writes a nil slice
  if (!v.is_array()) return KeyError(key, "not a JSON array of strings");
  for (const json::value& item : v.get_array()) {
    if (!item.is_string()) {
      return KeyError(key, absl::StrCat("not a JSON array of strings: element ", out.size(), " is ",
                                        json::serialize(item)));
    }
    out.emplace_back(item.get_string());
  }
  return out;
}

absl::Status CheckBundle(std::string_view key, const std::string& pem) {
  if (pem.empty()) return absl::OkStatus();
  absl::StatusOr<std::shared_ptr<const CertPool>> pool = CertPool::FromPem(pem);
  if (!pool.ok()) return KeyError(key, std::string(pool.status().message()));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<AuthenticationConfig> ParseAuthenticationConfigMap(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat("ConfigMap: invalid JSON: ", ec.message()));
  }
  if (!v.is_object()) return absl::InvalidArgumentError("ConfigMap: not a JSON object");
  AuthenticationConfig out;
  const json::value* data = v.get_object().if_contains("data");
  if (data == nullptr || data->is_null()) return out;
  if (!data->is_object()) return absl::InvalidArgumentError("ConfigMap: data is not an object");

  struct ListKey {
    const char* key;
    std::vector<std::string>* field;
  };
  RequestHeaderConfig& rh = out.request_header;
  const ListKey lists[] = {
      {"requestheader-allowed-names", &rh.allowed_names},
      {"requestheader-username-headers", &rh.username_headers},
      {"requestheader-uid-headers", &rh.uid_headers},
      {"requestheader-group-headers", &rh.group_headers},
      {"requestheader-extra-headers-prefix", &rh.extra_header_prefixes},
  };
  for (const auto& [key, value] : data->get_object()) {
    std::string_view name(key.data(), key.size());
    if (!value.is_string()) return KeyError(name, "not a string");
    std::string_view s(value.get_string().data(), value.get_string().size());
    if (name == "client-ca-file") {
      out.client_ca = std::string(s);
    } else if (name == "requestheader-client-ca-file") {
      rh.client_ca = std::string(s);
    } else {
      for (const ListKey& l : lists) {
        if (name != l.key) continue;
        absl::StatusOr<std::vector<std::string>> list = ParseList(name, s);
        if (!list.ok()) return list.status();
        *l.field = std::move(*list);
      }
    }
  }
  if (absl::Status st = CheckBundle("client-ca-file", out.client_ca); !st.ok()) return st;
  if (absl::Status st = CheckBundle("requestheader-client-ca-file", rh.client_ca); !st.ok()) {
    return st;
  }
  return out;
}

}  // namespace auth
