// Fast paths over the series a DB querier returns (SeriesData snapshots of the head), for readers
// that copy every sample out (the PromQL engine). They behave exactly like the generic
// SeriesData interface; for any other SeriesData implementation they fall back to it.
//
// Why: walking a snapshot through SampleIterator costs virtual calls per sample and an iterator
// allocation per chunk, and labels() can only be copied; with tens of thousands of series per
// query these dominate the time a selector takes.
#ifndef METRICS_ADAPTER_TSDB_SNAPSHOT_H_
#define METRICS_ADAPTER_TSDB_SNAPSHOT_H_

#include <cstdint>
#include <vector>

#include "tsdb/labels.h"
#include "tsdb/storage.h"

namespace tsdb {

// Appends to *out what `it = series.Iterator(); it->Seek(mint)`, then At/Next while t <= maxt
// yields, in order.
void AppendSeriesSamples(const SeriesData& series, int64_t mint, int64_t maxt,
                         std::vector<Sample>* out);

// The series' labels. A head snapshot gives its own up (its labels() are empty afterwards), so
// call this only on a series that is not read again; other implementations are copied.
Labels TakeSeriesLabels(SeriesData& series);

}  // namespace tsdb

#endif  // METRICS_ADAPTER_TSDB_SNAPSHOT_H_
