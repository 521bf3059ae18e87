// libFuzzer target: whatever a Kubernetes API server (or something pretending to be one) sends
// must be decoded or refused with an error, never crash: objects of list and watch answers
// (kubeclient::ParseObject) and their typed decoders for service discovery, the authentication
// ConfigMap, and the discovery documents. The input is one JSON document, given to every
// decoder in turn.
#include <cstddef>
#include <cstdint>
#include <string>

#include "adapter/auth/request_header.h"
#include "adapter/discovery/objects.h"
#include "adapter/kubeclient/discovery.h"
#include "adapter/kubeclient/store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<kubeclient::Object> object = kubeclient::ParseObject(text);
  if (object.ok()) {
    (void)discovery::DecodePod(*object);
    (void)discovery::DecodeService(*object);
    (void)discovery::DecodeEndpoints(*object);
    (void)discovery::DecodeEndpointSlice(*object);
    (void)discovery::DecodeNode(*object);
  }
  (void)auth::ParseAuthenticationConfigMap(text);
  (void)kubeclient::ParseApiResourceList(text);
  (void)kubeclient::ParseApiGroupList(text);
  return 0;
}
