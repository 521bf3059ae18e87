// libFuzzer target: arbitrary bytes as a WAL segment, and every record payload found in it (and
// the input itself, which the fuzzer cannot otherwise get past the checksums) through the record
// decoders. Checks that nothing crashes, that the reader's position stays within the input, and
// that whatever decodes re-encodes to the same entries.
//
//   clang++ -std=c++20 -fsanitize=fuzzer,address,undefined -I. tests/fuzz/wal_reader_fuzz.cc \
//     tsdb/wal/*.cc tsdb/env_posix.cc tsdb/labels.cc $(absl and snappy/zlib libs)
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "tsdb/wal/records.h"
#include "tsdb/wal/wal_reader.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

void FuzzPayload(std::string_view payload) {
  static std::vector<tsdb::RefSeries> series, series2;
  static std::vector<tsdb::RefSample> samples, samples2;
  static std::vector<tsdb::RefChunk> chunks, chunks2;
  static std::string buf;

  if (tsdb::DecodeSeries(payload, &series).ok()) {
    tsdb::EncodeSeries(series, &buf);
    Check(tsdb::DecodeSeries(buf, &series2).ok());
    Check(series == series2);
  }
  if (tsdb::DecodeSamples(payload, &samples).ok()) {
    tsdb::EncodeSamples(samples, &buf);
    Check(tsdb::DecodeSamples(buf, &samples2).ok());
    Check(samples.size() == samples2.size());
    for (size_t i = 0; i < samples.size(); ++i) {
      Check(samples[i].ref == samples2[i].ref && samples[i].t == samples2[i].t &&
            std::bit_cast<uint64_t>(samples[i].v) == std::bit_cast<uint64_t>(samples2[i].v));
    }
  }
  if (tsdb::DecodeChunks(payload, &chunks).ok()) {
    tsdb::EncodeChunks(chunks, &buf);
    Check(tsdb::DecodeChunks(buf, &chunks2).ok());
    Check(chunks == chunks2);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  tsdb::WalReader reader = tsdb::WalReader::ForBuffer(input, "fuzz");
  std::string_view record;
  uint64_t last_offset = 0;
  while (reader.Next(&record)) {
    Check(reader.offset() > last_offset && reader.offset() <= size);
    last_offset = reader.offset();
    FuzzPayload(record);
  }
  Check(reader.offset() <= size);
  Check(reader.status().ok() == (reader.offset() == size));
  Check(reader.status().ok() || reader.corrupt());
  FuzzPayload(input);
  return 0;
}
