#include "tsdb/storage.h"

#include <algorithm>
#include <cstdint>
#include <iterator>

#include "tsdb/snapshot.h"

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

absl::Status DeadlineError() {
  return absl::DeadlineExceededError("deadline passed while reading the selected series");
}

absl::StatusOr<std::vector<Labels>> Querier::SelectLabels(
    const std::vector<LabelMatcher>& matchers) const {
  absl::StatusOr<std::vector<std::unique_ptr<SeriesData>>> selected = Select(matchers);
  if (!selected.ok()) return selected.status();
  std::vector<Labels> out;
  out.reserve(selected->size());
  for (const std::unique_ptr<SeriesData>& s : *selected) out.push_back(s->labels());
  return out;
}

absl::Status Querier::SelectSamplesInPieces(
    const std::vector<LabelMatcher>& matchers, const SelectHints& /*hints*/,
    std::chrono::steady_clock::time_point deadline, size_t piece_series,
    absl::FunctionRef<absl::Status(std::vector<SeriesSamples>& piece)> consume) const {
  absl::StatusOr<std::vector<std::unique_ptr<SeriesData>>> selected = Select(matchers);
  if (!selected.ok()) return selected.status();
  piece_series = std::max<size_t>(piece_series, 1);
  std::vector<SeriesSamples> piece;
  for (size_t i = 0; i < selected->size(); ++i) {
    // Counted by series read, not kept: a run of series without samples is checked too.
    if (i % kSeriesPerDeadlineCheck == 0 && std::chrono::steady_clock::now() > deadline) {
      return DeadlineError();
    }
    // Each snapshot is released once decoded.
    std::unique_ptr<SeriesData> series = std::move((*selected)[i]);
    SeriesSamples s;
    AppendSeriesSamples(*series, kMinTime, kMaxTime, &s.samples);
    if (s.samples.empty()) continue;
    s.labels = TakeSeriesLabels(*series);
    piece.push_back(std::move(s));
    if (piece.size() == piece_series) {
      if (absl::Status st = consume(piece); !st.ok()) return st;
      piece.clear();
    }
  }
  if (!piece.empty()) return consume(piece);
  return absl::OkStatus();
}

}  // namespace tsdb
