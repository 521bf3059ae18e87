// Replay: loads the records of a WAL or checkpoint into the head. Reading, checksumming and
// decoding run on a second thread while the calling thread applies the decoded records in order,
// so on two cores replay is bound by the slower half rather than by their sum. Internal to tsdb/.
#ifndef METRICS_ADAPTER_TSDB_REPLAY_H_
#define METRICS_ADAPTER_TSDB_REPLAY_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "tsdb/head.h"
#include "tsdb/wal/wal_reader.h"

namespace tsdb {

// Where a record came from, for error messages: "segment 3 offset 5678".
struct RecordPosition {
  int segment = 0;
  uint64_t offset = 0;
  std::string ToString() const;
};

// Applies every record reader yields to head, in order. chunk records are accepted only when
// allow_chunks (checkpoints). A record that passes its checksum but does not decode (or refers to
// an unknown series) is handed to on_bad_record, whose non-OK return stops the replay with that
// status. Returns the reader's own final status (OK, or why it stopped) otherwise; the caller
// inspects reader->corrupt() etc. afterwards. on_segment, when set, is called with the segment of
// the first record applied from each segment.
absl::Status ReplayRecords(
    WalReader* reader, Head* head, bool allow_chunks,
    const std::function<absl::Status(const absl::Status&, const RecordPosition&)>& on_bad_record,
    const std::function<void(int segment)>& on_segment = nullptr);

}  // namespace tsdb

#endif  // METRICS_ADAPTER_TSDB_REPLAY_H_
