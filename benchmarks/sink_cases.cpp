// redsink::Sink over the same rows and tables as the hand-written loaders, in both dialects
// and both insert modes, at several batch sizes.
#include "harness.hpp"

#include <redsink/row_from_record.hpp>
#include <redsink/sink.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

namespace redsink_bench {
namespace {

template <class R, class Dialect>
using AppendSink = redsink::Sink<R, redsink::append, redsink::fixed_schema, Dialect>;

template <class R, class Dialect>
using UpsertSink = redsink::Sink<R, redsink::primary_key<"id">, redsink::upsert, redsink::fixed_schema, Dialect>;

template <class R, class Dialect>
using AppendOnceSink = redsink::Sink<R, redsink::append, redsink::fixed_schema, redsink::exactly_once, Dialect>;

template <class R, class Dialect>
using UpsertOnceSink = redsink::Sink<R, redsink::primary_key<"id">, redsink::upsert, redsink::fixed_schema,
                                     redsink::exactly_once, Dialect>;

// Rows whose columns are known at run time (redsink::Row), the same columns and key as the struct.
template <class Dialect>
using RowAppendSink = redsink::Sink<redsink::Row, redsink::append, redsink::fixed_schema, Dialect>;

template <class Dialect>
using RowUpsertSink = redsink::Sink<redsink::Row, redsink::upsert, redsink::fixed_schema, Dialect>;

template <class R, class Dialect>
using DeadLetterSink = redsink::Sink<R, redsink::primary_key<"id">, redsink::upsert, redsink::fixed_schema, Dialect,
                                     redsink::dead_letter<"redsink_bench_dead_letters">>;

// The dead-letter cases: the server refuses one row in every 10,000 (a CHECK on the id; the
// keys are new, so the table ends without them), each found by trials and dead-lettered.
inline constexpr std::int64_t refused_every = 10'000;

template <class R>
const std::vector<R>& accepted_rows() {
    static const auto rows = [] {
        std::vector<R> out;
        for (const auto& row : stream_rows<R>())
            if (row.id % refused_every != refused_every / 2 - 1) out.push_back(row);
        return out;
    }();
    return rows;
}

template <class R, class SinkType, bool upsert>
void sink_case(benchmark::State& state, std::string_view loader,
               std::size_t stage_recreate_batches = redsink::SinkOptions{}.stage_recreate_batches, bool refuses = false,
               redsink::UpsertStatement upsert_statement = redsink::UpsertStatement::delete_insert) {
    const auto batch = static_cast<std::size_t>(state.range(0));
    const auto tasks = static_cast<std::size_t>(state.range(1));
    const auto start = upsert ? Start::half_present : Start::empty;
    try {
        Setup setup(table_name(record_name<R>, loader, state.range(0), state.range(1)));
        setup.create<R>(start);
        if (refuses)
            setup.exec(fmt::format("ALTER TABLE {} ADD CHECK (id % {} <> {})", setup.table(), refused_every,
                                   refused_every / 2 - 1));
        const auto table = setup.table().substr(schema.size() + 1);
        // exactly_once: every repetition starts from no positions, as the table starts empty.
        if constexpr (SinkType::delivery_policy::writes_positions)
            setup.exec("DROP TABLE IF EXISTS " +
                       redsink::detail::positions_table(redsink::sql::TableRef::make(schema, table)).quoted());
        // batch_rows alone decides when a batch is written.
        const redsink::SinkOptions options{.schema = std::string(schema),
                                           .table = table,
                                           .batch_rows = batch,
                                           .batch_bytes = std::size_t{1} << 32,
                                           .flush_interval = std::chrono::hours(1),
                                           .tasks = tasks,
                                           .stage_recreate_batches = stage_recreate_batches,
                                           .upsert_statement = upsert_statement};
        using Event = redsink::Change<typename SinkType::record_type>;
        constexpr bool rows = std::is_same_v<typename SinkType::record_type, redsink::Row>;
        // A Row sink: the struct's columns and key as a RowSchema, each event the struct's row as a Row.
        const auto row_schema = redsink::row_schema_of<R, redsink::primary_key<"id">>();
        const auto make_sink = [&] {
            if constexpr (rows)
                return std::make_unique<SinkType>(redsink::ConnectionConfig::parse(pg::conninfo()), options,
                                                  row_schema);
            else
                return std::make_unique<SinkType>(redsink::ConnectionConfig::parse(pg::conninfo()), options);
        };
        const auto sink = make_sink();
        std::vector<Event> events;
        std::int64_t offset = 0;
        run_case<R>(
            state, setup, start,
            [&](const std::vector<R>& input) {
                // The app hands the sink events it owns: building them is not the sink's work.
                events.clear();
                events.reserve(input.size());
                for (const auto& row : input) {
                    const redsink::Position position{0, offset++};
                    if constexpr (rows)
                        events.push_back({upsert ? redsink::Op::update : redsink::Op::create,
                                          redsink::row_of(row, row_schema), position});
                    else
                        events.push_back(upsert ? redsink::upserted(row, position) : redsink::created(row, position));
                }
            },
            [&](const std::vector<R>&) {
                for (auto& event : events) sink->write(std::move(event));
                sink->flush();
            },
            refuses ? &accepted_rows<R>() : nullptr);
    } catch (const std::exception& error) {
        ++failures;
        state.SkipWithError(error.what());
    }
}

template <class R, class SinkType, bool upsert>
void register_sink(std::string_view loader) {
    const auto name = fmt::format("{}/{}", record_name<R>, loader);
    timed_once(benchmark::RegisterBenchmark(
                   name.c_str(), [loader](benchmark::State& state) { sink_case<R, SinkType, upsert>(state, loader); }))
        ->ArgNames({"batch", "tasks"})
        // Every batch size with one task; 2 and 4 tasks at 10,000 rows a batch.
        ->Args({1'000, 1})
        ->Args({10'000, 1})
        ->Args({10'000, 2})
        ->Args({10'000, 4})
        ->Args({100'000, 1});
}

// A Row case: the batch sizes its ratio to the struct case is reported at (one task).
template <class R, class SinkType, bool upsert>
void register_rows(std::string_view loader) {
    const auto name = fmt::format("{}/{}", record_name<R>, loader);
    timed_once(benchmark::RegisterBenchmark(
                   name.c_str(), [loader](benchmark::State& state) { sink_case<R, SinkType, upsert>(state, loader); }))
        ->ArgNames({"batch", "tasks"})
        ->Args({10'000, 1})
        ->Args({100'000, 1});
}

template <class R, class Dialect>
void register_merge(std::string_view loader) {
    const auto name = fmt::format("{}/{}", record_name<R>, loader);
    timed_once(benchmark::RegisterBenchmark(name.c_str(),
                                            [loader](benchmark::State& state) {
                                                sink_case<R, UpsertSink<R, Dialect>, true>(
                                                    state, loader, redsink::SinkOptions{}.stage_recreate_batches, false,
                                                    redsink::UpsertStatement::merge);
                                            }))
        ->ArgNames({"batch", "tasks"})
        ->Args({1'000, 1})
        ->Args({10'000, 1})
        ->Args({100'000, 1});
}

template <class R>
void register_record() {
    register_sink<R, AppendSink<R, redsink::redshift>, false>("sink_redshift_append");
    register_sink<R, UpsertSink<R, redsink::redshift>, true>("sink_redshift_upsert");
    // The other way to empty the stage inside the transaction: drop it and create it again each
    // batch (stage_recreate_batches 1), against DELETE with a new stage every 8th batch.
    const auto recreate = fmt::format("{}/sink_redshift_upsert_recreate", record_name<R>);
    timed_once(benchmark::RegisterBenchmark(recreate.c_str(),
                                            [](benchmark::State& state) {
                                                sink_case<R, UpsertSink<R, redsink::redshift>, true>(
                                                    state, "sink_redshift_upsert_recreate", 1);
                                            }))
        ->ArgNames({"batch", "tasks"})
        ->Args({1'000, 1})
        ->Args({10'000, 1});
    register_sink<R, AppendSink<R, redsink::postgres>, false>("sink_postgres_append");
    register_sink<R, UpsertSink<R, redsink::postgres>, true>("sink_postgres_upsert");
    // upsert by one MERGE (UpsertStatement::merge) instead of DELETE ... USING then INSERT ...
    // SELECT (and, on PostgreSQL, instead of INSERT ... ON CONFLICT).
    register_merge<R, redsink::redshift>("sink_redshift_upsert_merge");
    register_merge<R, redsink::postgres>("sink_postgres_upsert_merge");
    // The same columns as a Row (docs/rows.md): the runtime record against the struct.
    register_rows<R, RowAppendSink<redsink::redshift>, false>("sink_redshift_append_rows");
    register_rows<R, RowUpsertSink<redsink::redshift>, true>("sink_redshift_upsert_rows");
    register_rows<R, RowAppendSink<redsink::postgres>, false>("sink_postgres_append_rows");
    register_rows<R, RowUpsertSink<redsink::postgres>, true>("sink_postgres_upsert_rows");
}

// What exactly_once costs: the same stream as at_least_once, with the positions written in each
// batch's transaction and the fence check's round trip before COMMIT.
template <class SinkType, bool upsert>
void register_once(std::string_view loader) {
    const auto name = fmt::format("{}/{}", record_name<Narrow>, loader);
    timed_once(
        benchmark::RegisterBenchmark(
            name.c_str(), [loader](benchmark::State& state) { sink_case<Narrow, SinkType, upsert>(state, loader); }))
        ->ArgNames({"batch", "tasks"})
        ->Args({1'000, 1})
        ->Args({10'000, 1});
}

// What dead-lettering costs: upserts with one row in 10,000 refused by the server.
template <class Dialect>
void register_dead_letters(std::string_view loader) {
    const auto name = fmt::format("{}/{}", record_name<Narrow>, loader);
    timed_once(benchmark::RegisterBenchmark(name.c_str(),
                                            [loader](benchmark::State& state) {
                                                sink_case<Narrow, DeadLetterSink<Narrow, Dialect>, true>(
                                                    state, loader, redsink::SinkOptions{}.stage_recreate_batches, true);
                                            }))
        ->ArgNames({"batch", "tasks"})
        ->Args({10'000, 1});
}

}  // namespace

void register_sink_cases() {
    register_record<Narrow>();
    register_record<Wide>();
    register_dead_letters<redsink::redshift>("sink_redshift_upsert_refused");
    register_dead_letters<redsink::postgres>("sink_postgres_upsert_refused");
    register_once<AppendOnceSink<Narrow, redsink::redshift>, false>("sink_redshift_append_once");
    register_once<UpsertOnceSink<Narrow, redsink::redshift>, true>("sink_redshift_upsert_once");
    register_once<AppendOnceSink<Narrow, redsink::postgres>, false>("sink_postgres_append_once");
    register_once<UpsertOnceSink<Narrow, redsink::postgres>, true>("sink_postgres_upsert_once");
}

}  // namespace redsink_bench
