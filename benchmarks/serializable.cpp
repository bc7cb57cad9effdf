// The serializable stand-in: tens of thousands of upserts and deletes over a few hundred keys, in
// batches of under a thousand rows, through the Redshift dialect into a database whose sessions
// default to SERIALIZABLE, as every Redshift transaction is; with 1 and with 4 tasks. The report
// compares their times (docs/tasks.md).
#include "harness.hpp"

#include <redsink/sink.hpp>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <map>
#include <string>
#include <vector>

namespace redsink_bench {
namespace {

constexpr std::int64_t serializable_events = 30'000;
constexpr std::int64_t serializable_keys = 500;
constexpr std::size_t serializable_batch = 500;
constexpr std::string_view serializable_database = "redsink_serializable_bench";

// The same database server, another database: created once, its sessions SERIALIZABLE by default.
std::string serializable_conninfo() {
    static const bool created = [] {
        auto conn = pg::connect(pg::conninfo());
        if (pg::query_value(conn.get(), fmt::format("SELECT count(*) FROM pg_database WHERE datname = '{}'",
                                                    serializable_database)) == "0")
            pg::exec(conn.get(), fmt::format("CREATE DATABASE {}", serializable_database));
        pg::exec(conn.get(), fmt::format("ALTER DATABASE {} SET default_transaction_isolation = 'serializable'",
                                         serializable_database));
        return true;
    }();
    (void)created;
    return pg::conninfo() + fmt::format(" dbname={}", serializable_database);
}

// Every fifth event deletes its key; the others upsert it with a new version.
std::vector<redsink::Change<Narrow>> serializable_stream() {
    std::vector<redsink::Change<Narrow>> events;
    events.reserve(serializable_events);
    for (std::int64_t i = 0; i < serializable_events; ++i) {
        const auto id = (i * 7'919 + i / 3) % serializable_keys;
        const redsink::Position position{static_cast<std::int32_t>(id % 4), i};
        if (i % 5 == 0) {
            Narrow key{};
            key.id = id;
            events.push_back(redsink::deleted(key, position));
        } else
            events.push_back(redsink::upserted(narrow_row(id, i), position));
    }
    return events;
}

// "rows sum" of the table the stream leaves (see Setup::fingerprint).
std::string serializable_fingerprint() {
    std::map<std::int64_t, std::int64_t> rows;
    for (const auto& event : serializable_stream()) {
        if (redsink::is_delete(event.op))
            rows.erase(event.row.id);
        else
            rows[event.row.id] = hand::Table<Narrow>::versioned_value(event.row);
    }
    std::int64_t sum = 0;
    for (const auto& [id, value] : rows) sum += value;
    return fmt::format("{} {}", rows.size(), sum);
}

void serializable_case(benchmark::State& state) {
    using Sink = redsink::Sink<Narrow, redsink::primary_key<"id">, redsink::upsert, redsink::hard_delete,
                               redsink::fixed_schema, redsink::redshift>;
    const auto tasks = static_cast<std::size_t>(state.range(0));
    try {
        const auto info = serializable_conninfo();
        auto conn = pg::connect(info);
        const auto table = fmt::format("serializable_{}", tasks);
        const auto qualified = fmt::format("{}.{}", schema, table);
        pg::exec(conn.get(), fmt::format("CREATE SCHEMA IF NOT EXISTS {}", schema));
        pg::exec(conn.get(), "DROP TABLE IF EXISTS " + qualified);
        pg::exec(conn.get(), hand::create_table_sql<Narrow>(qualified, true));
        const auto expected = serializable_fingerprint();
        auto config = redsink::ConnectionConfig::parse(info);
        Sink sink(config, {.schema = std::string(schema),
                           .table = table,
                           .batch_rows = serializable_batch,
                           .batch_bytes = std::size_t{1} << 32,
                           .flush_interval = std::chrono::hours(1),
                           .tasks = tasks});
        std::vector<redsink::Change<Narrow>> events;
        for (auto _ : state) {
            state.PauseTiming();
            pg::exec(conn.get(), "TRUNCATE " + qualified);
            events = serializable_stream();
            state.ResumeTiming();
            for (const auto& event : events) sink.write(event);
            sink.flush();
        }
        const auto found = pg::query_value(
            conn.get(), fmt::format("SELECT count(*) || ' ' || coalesce(sum(account), 0) FROM {}", qualified));
        if (found != expected)
            throw std::runtime_error(fmt::format("the table holds {} (rows, sum of account), not {}", found, expected));
        state.counters["rows_per_second"] =
            benchmark::Counter(static_cast<double>(serializable_events), benchmark::Counter::kIsIterationInvariantRate);
        state.counters["retries"] = static_cast<double>(sink.stats().retries);
    } catch (const std::exception& error) {
        ++failures;
        state.SkipWithError(error.what());
    }
}

}  // namespace

void register_serializable_cases() {
    timed_once(benchmark::RegisterBenchmark("serializable/sink_redshift_upsert", serializable_case))
        ->ArgNames({"tasks"})
        ->Args({1})
        ->Args({4});
}

}  // namespace redsink_bench
