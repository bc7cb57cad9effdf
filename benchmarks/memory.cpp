// redsink_bench_memory DIALECT: streams a million narrow events through an upserting Sink with
// batches of 50,000 rows into the database that REDSINK_TEST_CONNINFO names, and prints one JSON
// line: rows/s and the encoded size of a batch. scripts/bench runs it under /usr/bin/time -v,
// whose peak RSS is set next to that size in docs/benchmarks.md (reported, never asserted).
#include "handwritten.hpp"
#include "pg.hpp"
#include "records.hpp"

#include <redsink/sink.hpp>

#include <fmt/format.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

namespace redsink_bench {
namespace {

constexpr std::int64_t events = 1'000'000;
// Half of the events insert new keys, the other half update them.
constexpr std::int64_t keys = 500'000;
constexpr std::size_t batch_rows = 50'000;

// The bytes a batch's values take once encoded: the text with its NULs and a 4-byte offset per
// value, averaged over a sample of the stream.
double encoded_row_bytes() {
    const auto columns = redsink::column_contexts<Narrow>(redsink::Dialect::postgres);
    redsink::ParamBuffer params;
    constexpr std::int64_t sample = 10'000;
    for (std::int64_t i = 0; i < sample; ++i) redsink::encode_row(narrow_row(i * (keys / sample)), params, columns);
    return static_cast<double>(params.bytes() + params.size() * sizeof(std::uint32_t)) / static_cast<double>(sample);
}

template <class Dialect>
int stream(std::string_view dialect) {
    using Sink = redsink::Sink<Narrow, redsink::primary_key<"id">, redsink::upsert, redsink::fixed_schema, Dialect>;
    const std::string table = fmt::format("memory_{}", dialect);
    const std::string qualified = fmt::format("redsink_bench.{}", table);
    auto conn = pg::connect(pg::conninfo());
    pg::exec(conn.get(), "CREATE SCHEMA IF NOT EXISTS redsink_bench");
    pg::exec(conn.get(), "DROP TABLE IF EXISTS " + qualified);
    pg::exec(conn.get(), hand::create_table_sql<Narrow>(qualified, true));

    Sink sink(redsink::ConnectionConfig::parse(pg::conninfo()), {.schema = "redsink_bench",
                                                                 .table = table,
                                                                 .batch_rows = batch_rows,
                                                                 .batch_bytes = std::size_t{1} << 32,
                                                                 .flush_interval = std::chrono::hours(1)});
    const auto start = std::chrono::steady_clock::now();
    for (std::int64_t i = 0; i < events; ++i) sink.write(redsink::upserted(narrow_row(i % keys, 1 + i / keys), {0, i}));
    sink.flush();
    const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;

    const auto rows = std::stoll(pg::query_value(conn.get(), "SELECT count(*) FROM " + qualified));
    if (rows != keys) {
        fmt::print(stderr, "redsink_bench_memory: the table holds {} rows, not {}\n", rows, keys);
        return 1;
    }
    const auto row_bytes = encoded_row_bytes();
    fmt::print(
        "{{\"dialect\": \"{}\", \"events\": {}, \"batch_rows\": {}, \"seconds\": {:.3f}, \"rows_per_second\": {:.0f}, "
        "\"batches\": {}, \"encoded_row_bytes\": {:.1f}, \"batch_bytes_estimate\": {:.0f}, \"event_bytes\": {}}}\n",
        dialect, events, batch_rows, seconds.count(), static_cast<double>(events) / seconds.count(),
        sink.stats().batches, row_bytes, row_bytes * static_cast<double>(batch_rows), sizeof(redsink::Change<Narrow>));
    return 0;
}

}  // namespace
}  // namespace redsink_bench

int main(int argc, char** argv) {
    const std::string_view dialect = argc == 2 ? argv[1] : "";
    if (dialect != "postgres" && dialect != "redshift") {
        fmt::print(stderr, "usage: redsink_bench_memory postgres|redshift\n");
        return 2;
    }
    try {
        return dialect == "postgres" ? redsink_bench::stream<redsink::postgres>(dialect)
                                     : redsink_bench::stream<redsink::redshift>(dialect);
    } catch (const std::exception& error) {
        fmt::print(stderr, "redsink_bench_memory: {}\n", error.what());
        return 1;
    }
}
