// redsink_bench_loaders: the hand-written libpq loaders and redsink::Sink, writing the same rows
// into fresh tables of the database that REDSINK_TEST_CONNINFO names (scripts/with-postgres).
#include "baselines.hpp"
#include "harness.hpp"

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <libpq-fe.h>

#include <cstddef>
#include <exception>
#include <span>
#include <string>
#include <vector>

namespace redsink_bench {
namespace {

// One hand-written loader: `load(loader, rows, batch)` on a table of its own; a batched loader
// has its batch size as its one argument.
template <class R, class Load>
void baseline_case(benchmark::State& state, std::string_view name, Start start, bool batched, Load load) {
    const auto batch = batched ? state.range(0) : 0;
    try {
        Setup setup(table_name(record_name<R>, name, batch));
        setup.create<R>(start);
        hand::Loader<R> loader(pg::conninfo(), setup.table());
        run_case<R>(
            state, setup, start, [](const std::vector<R>&) {},
            [&](const std::vector<R>& rows) {
                load(loader, std::span<const R>(rows), static_cast<std::size_t>(batch));
            });
    } catch (const std::exception& error) {
        ++failures;
        state.SkipWithError(error.what());
    }
}

template <class R, class Load>
benchmark::internal::Benchmark* register_baseline(std::string_view name, Start start, Load load, bool batched = false) {
    const auto full = fmt::format("{}/{}", record_name<R>, name);
    return timed_once(benchmark::RegisterBenchmark(full.c_str(), [name, start, batched, load](benchmark::State& state) {
        baseline_case<R>(state, name, start, batched, load);
    }));
}

template <class R>
void register_baselines() {
    using Rows = std::span<const R>;
    register_baseline<R>("per_row_insert", Start::empty,
                         [](hand::Loader<R>& loader, Rows rows, std::size_t) { loader.per_row_insert(rows); });
    register_baseline<R>("multi_row_insert", Start::empty,
                         [](hand::Loader<R>& loader, Rows rows, std::size_t) { loader.multi_row_insert(rows); });
    register_baseline<R>("pipelined_insert", Start::empty,
                         [](hand::Loader<R>& loader, Rows rows, std::size_t) { loader.pipelined_insert(rows); });
    register_baseline<R>("copy", Start::empty,
                         [](hand::Loader<R>& loader, Rows rows, std::size_t) { loader.copy(rows); });
    register_baseline<R>(
        "copy_per_batch", Start::empty,
        [](hand::Loader<R>& loader, Rows rows, std::size_t batch) { loader.copy_per_batch(rows, batch); }, true)
        ->ArgNames({"batch"})
        ->Args({1'000})
        ->Args({10'000})
        ->Args({100'000});
    register_baseline<R>(
        "staged_upsert", Start::half_present,
        [](hand::Loader<R>& loader, Rows rows, std::size_t batch) { loader.staged_upsert(rows, batch); }, true)
        ->ArgNames({"batch"})
        ->Args({1'000})
        ->Args({10'000})
        ->Args({100'000});
}

}  // namespace
}  // namespace redsink_bench

int main(int argc, char** argv) {
    using namespace redsink_bench;
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
    try {
        auto conn = pg::connect(pg::conninfo());
        benchmark::AddCustomContext("postgresql_version", pg::query_value(conn.get(), "SHOW server_version"));
        benchmark::AddCustomContext("libpq_version", std::to_string(PQlibVersion()));
    } catch (const std::exception& error) {
        fmt::print(stderr, "redsink_bench_loaders: {}\n", error.what());
        return 1;
    }
    register_baselines<Narrow>();
    register_baselines<Wide>();
    register_sink_cases();
    register_serializable_cases();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    if (failures > 0) fmt::print(stderr, "redsink_bench_loaders: {} case(s) failed\n", failures.load());
    return failures > 0 ? 1 : 0;
}
