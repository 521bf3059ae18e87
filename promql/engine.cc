#include "promql/engine.h"

#include <algorithm>
#include <chrono>
#include <exception>

#include "absl/strings/str_cat.h"
#include "promql/eval/evaluator.h"
#include "promql/parser/ast.h"
#include "promql/parser/parser.h"

namespace promql {

namespace {

using eval::EvalError;
using eval::Series;
using eval::Value;

// Strips the metric name from flagged series and merges series that now share a label set (see
// eval::MergeSameLabelsets).
void CleanupMatrix(std::vector<Series>* series) {
  for (Series& s : *series) {
    if (s.drop_name) {
      s.labels = eval::DropMetricName(s.labels);
      s.drop_name = false;
    }
  }
  *series = eval::MergeSameLabelsets(std::move(*series));
}

void SortByLabels(Matrix* m) {
  std::sort(m->begin(), m->end(),
            [](const MatrixSeries& a, const MatrixSeries& b) { return a.labels < b.labels; });
}

absl::StatusOr<QueryResult> Execute(const QuerierFactory& querier, const EngineOptions& options,
                                    std::string_view query, int64_t start, int64_t end,
                                    int64_t step, bool range) {
  ParseOptions popts;
  popts.enable_experimental_functions = options.enable_experimental_functions;
  auto parsed = ParseExpr(query, popts);
  if (!parsed.ok()) return parsed.status();
  Expr& root = **parsed;
  DurationContext dctx;
  if (range) {
    dctx.step_ms = step;
    dctx.range_ms = end - start;
  }
  if (absl::Status st = ResolveDurations(root, dctx, query); !st.ok()) return st;
  if (range && root.type() != ValueType::kVector && root.type() != ValueType::kScalar) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid expression type \"", std::string(DocumentedTypeName(root.type())),
                     "\" for range query, must be Scalar or instant Vector"));
  }
  // @ start() / @ end() refer to the query's own range.
  InspectMutable(root, [&](Expr& node, const std::vector<Expr*>&) {
    if (node.kind() == ExprKind::kVectorSelector) {
      auto& vs = node.As<VectorSelector>();
      if (vs.at == AtModifier::kStart) vs.timestamp_ms = start;
      if (vs.at == AtModifier::kEnd) vs.timestamp_ms = end;
    } else if (node.kind() == ExprKind::kSubquery) {
      auto& sq = node.As<SubqueryExpr>();
      if (sq.at == AtModifier::kStart) sq.timestamp_ms = start;
      if (sq.at == AtModifier::kEnd) sq.timestamp_ms = end;
    }
    return true;
  });

  eval::QueryContext ctx;
  ctx.querier = &querier;
  ctx.options = options;  // lookback_delta_ms made positive by the Engine
  ctx.query = query;
  ctx.query_start = start;
  ctx.query_end = end;
  ctx.query_step = range ? step : 0;
  ctx.range_query = range;
  ctx.deadline =
      std::chrono::steady_clock::now() +
      std::chrono::milliseconds(options.timeout_ms > 0 ? options.timeout_ms : int64_t{1} << 40);

  QueryResult result;
  try {
    eval::Evaluator ev(&ctx, start, end, range ? step : 1);
    Value v = ev.Eval(root);
    switch (v.type) {
      case ValueType::kScalar:
        if (!range) {
          result.value = Scalar{start, v.scalars.empty() ? NAN : v.scalars[0]};
        } else {
          Matrix m;
          MatrixSeries s;
          for (int i = 0; i < ev.num_steps(); ++i)
            s.samples.push_back({ev.StepTime(i), v.scalars[i]});
          m.push_back(std::move(s));
          result.value = std::move(m);
        }
        break;
      case ValueType::kString:
        result.value = String{start, v.str};
        break;
      case ValueType::kVector:
      case ValueType::kMatrix: {
        const bool as_vector = !range && v.type == ValueType::kVector;
        if (as_vector) {
          Vector vec;
          vec.reserve(v.series.size());
          // Duplicate label sets are found among equal hashes after sorting them: no node
          // allocation per series as a hash map would need.
          std::vector<std::pair<uint64_t, size_t>> hashes;
          hashes.reserve(v.series.size());
          for (Series& s : v.series) {
            if (s.points.empty()) continue;
            Labels l = s.drop_name ? eval::DropMetricName(s.labels) : std::move(s.labels);
            hashes.push_back({l.Hash(), vec.size()});
            vec.push_back({std::move(l), start, s.points[0].v});
          }
          std::sort(hashes.begin(), hashes.end());
          for (size_t i = 0; i < hashes.size();) {
            size_t j = i + 1;
            while (j < hashes.size() && hashes[j].first == hashes[i].first) ++j;
            for (size_t a = i; a < j; ++a) {
              for (size_t b = a + 1; b < j; ++b) {
                if (vec[hashes[a].second].labels == vec[hashes[b].second].labels) {
                  return absl::InternalError(
                      "vector cannot contain metrics with the same labelset");
                }
              }
            }
            i = j;
          }
          result.value = std::move(vec);
        } else {
          CleanupMatrix(&v.series);
          Matrix m;
          m.reserve(v.series.size());
          for (Series& s : v.series) {
            if (s.points.empty()) continue;
            m.push_back({std::move(s.labels), std::move(s.points)});
          }
          SortByLabels(&m);
          result.value = std::move(m);
        }
        break;
      }
    }
  } catch (EvalError& e) {
    return e.status;
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("query ran out of memory");
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("unexpected error: ", e.what()));
  }
  result.annotations.warnings = std::move(ctx.warnings);
  result.annotations.infos = std::move(ctx.infos);
  return result;
}

}  // namespace

Engine::Engine(QuerierFactory querier, EngineOptions options)
    : querier_(std::move(querier)), options_(options) {
  if (options_.lookback_delta_ms <= 0) options_.lookback_delta_ms = kDefaultLookbackDeltaMs;
}

Engine::~Engine() = default;

absl::StatusOr<QueryResult> Engine::InstantQuery(std::string_view expr, int64_t t) const {
  return Execute(querier_, options_, expr, t, t, 0, false);
}

absl::StatusOr<QueryResult> Engine::RangeQuery(std::string_view expr, int64_t start, int64_t end,
                                               int64_t step) const {
  if (step <= 0) {
    return absl::InvalidArgumentError(
        "zero or negative query resolution step widths are not accepted. Try a positive "
        "integer");
  }
  if (end < start) return absl::InvalidArgumentError("end timestamp must not be before start time");
  return Execute(querier_, options_, expr, start, end, step, true);
}

}  // namespace promql
