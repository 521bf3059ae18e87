#include "tsdb/storage.h"

namespace tsdb {

// Append encodes the reason in the status code; every other failure of Append (a WAL write error
// while creating a series, say) uses a code outside this mapping.
std::string_view RejectReasonName(RejectReason reason) {
  switch (reason) {
    case RejectReason::kOutOfOrder:
      return "out_of_order";
    case RejectReason::kDuplicate:
      return "duplicate";
    case RejectReason::kOutOfBounds:
      return "out_of_bounds";
    case RejectReason::kInvalidLabels:
      return "invalid_labels";
  }
  return "unknown";
}

std::optional<RejectReason> GetRejectReason(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kFailedPrecondition:
      return RejectReason::kOutOfOrder;
    case absl::StatusCode::kAlreadyExists:
      return RejectReason::kDuplicate;
    case absl::StatusCode::kOutOfRange:
      return RejectReason::kOutOfBounds;
    case absl::StatusCode::kInvalidArgument:
      return RejectReason::kInvalidLabels;
    default:
      return std::nullopt;
  }
}

}  // namespace tsdb
