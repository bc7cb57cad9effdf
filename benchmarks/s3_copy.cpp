// The client's work per row on Redshift's two load paths, the redshift dialect's Sink on the
// PostgreSQL stand-in: bound multi-row INSERTs, against COPY from S3 (encode, CSV, compression to
// a temporary file, PUT to the local S3 server, the COPY statement, the DELETE), the S3 path once
// per compression: gzip level 1 (the default before zstd), zstd levels 1 and 3 and its fast levels
// -1 and -5; and the wall time of a batch cut into parts, uploaded one at a time against several
// at once (CopyOptions::upload_concurrency); and the wall time of batches staged ahead against
// in turn, with a COPY that takes time (CopyOptions::stage_ahead). Measured as the
// process's CPU time (the sink's tasks included; the database and the S3 server are other
// processes), so the server side counts on neither path: it cannot be measured without a
// cluster. On the S3 path the COPY itself is not run (PostgreSQL cannot read s3://): the runner
// answers the rows sent.
//
//   scripts/with-postgres scripts/with-s3 build/benchmarks/redsink_bench_s3
#include "pg.hpp"
#include "records.hpp"

#include <benchmark/benchmark.h>
#include <redsink/s3/copy.hpp>
#include <redsink/sink.hpp>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace redsink_bench {
namespace {

using Sink = redsink::Sink<Narrow, redsink::append, redsink::create_table, redsink::redshift>;

std::string env(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0')
        throw std::runtime_error(std::string(name) + " is not set: run under scripts/with-s3");
    return value;
}

// A case of the S3 path: its compression and level, and its name's part (client_s3_<name>).
struct S3Case {
    const char* name;
    redsink::s3::Compression compression;
    int level;
};

constexpr S3Case s3_cases[] = {{"gzip1", redsink::s3::Compression::gzip, 1},
                               {"zstd1", redsink::s3::Compression::zstd, 1},
                               {"zstd3", redsink::s3::Compression::zstd, 3},
                               {"zstd_fast1", redsink::s3::Compression::zstd, -1},
                               {"zstd_fast5", redsink::s3::Compression::zstd, -5}};

// How a batch is cut into parts and uploaded: CopyOptions' defaults, or parts of `part_bytes` of
// CSV, `concurrency` at a time, under a prefix holding `marker` (the test server holds each PUT
// whose key has "slow-put" 150 ms: a link to S3 slower than this machine's loopback).
// `ahead`: CopyOptions::stage_ahead. `copy_ms`: how long the runner takes for a COPY (a cluster's
// COPY, which the stand-in does not run).
struct Parts {
    std::uint64_t part_bytes = std::uint64_t{128} << 20;
    std::size_t concurrency = 4;
    const char* marker = "";
    bool ahead = true;
    int copy_ms = 0;
};

std::shared_ptr<redsink::BulkLoader> loader(const S3Case& s3, const Parts& parts = {}) {
    return redsink::s3::copy_loader(
        {.client = {.bucket = env("REDSINK_TEST_S3_BUCKET"),
                    .region = env("REDSINK_TEST_S3_REGION"),
                    .endpoint = env("REDSINK_TEST_S3_ENDPOINT"),
                    .path_style = true,
                    .credentials = redsink::s3::Credentials{.access_key_id = env("REDSINK_TEST_S3_ACCESS_KEY"),
                                                            .secret_access_key = env("REDSINK_TEST_S3_SECRET_KEY")}},
         .prefix = std::string("bench") + parts.marker,
         .min_rows = 1,
         .compression = s3.compression,
         .compression_level = s3.level,
         .part_bytes = parts.part_bytes,
         .upload_concurrency = parts.concurrency,
         .stage_ahead = parts.ahead,
         .run_copy = [copy_ms = parts.copy_ms](redsink::pq::Connection&, const redsink::s3::CopyCommand& command) {
             if (copy_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(copy_ms));
             return command.rows;
         }});
}

// `s3`: the S3 path with that case's compression; none: the INSERT path.
void client_work(benchmark::State& state, const S3Case* s3, const Parts& parts = {}, const char* table_name = nullptr) {
    constexpr std::size_t rows = 100'000;
    const auto batch = static_cast<std::size_t>(state.range(0));
    try {
        const std::string table = table_name != nullptr ? std::string(table_name)
                                  : s3                  ? std::string("narrow_client_s3_") + s3->name
                                                        : "narrow_client_insert";
        {
            const auto conn = pg::connect(pg::conninfo());
            pg::exec(conn.get(), "CREATE SCHEMA IF NOT EXISTS redsink_bench");
            pg::exec(conn.get(), "DROP TABLE IF EXISTS redsink_bench." + table);
        }
        Sink sink(redsink::ConnectionConfig::parse(pg::conninfo()), {.schema = "redsink_bench",
                                                                     .table = table,
                                                                     .batch_rows = batch,
                                                                     .batch_bytes = std::size_t{1} << 32,
                                                                     .flush_interval = std::chrono::hours(1),
                                                                     .bulk_load = s3 ? loader(*s3, parts) : nullptr});
        std::vector<redsink::Change<Narrow>> events;
        std::int64_t offset = 0;
        for (auto _ : state) {
            state.PauseTiming();
            events.clear();
            for (std::size_t i = 0; i < rows; ++i)
                events.push_back(redsink::created(narrow_row(static_cast<std::int64_t>(i)), {0, offset++}));
            state.ResumeTiming();
            for (auto& event : events) sink.write(std::move(event));
            sink.flush();
        }
        // Rows per second of the process's CPU time: the inverse of the client's work per row.
        state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * rows));
    } catch (const std::exception& error) {
        state.SkipWithError(error.what());
    }
}

}  // namespace
}  // namespace redsink_bench

int main(int argc, char** argv) {
    using namespace redsink_bench;
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
    std::vector<const S3Case*> cases = {nullptr};
    for (const auto& s3 : s3_cases) cases.push_back(&s3);
    for (const S3Case* s3 : cases) {
        const auto name = s3 ? std::string("narrow/client_s3_") + s3->name : std::string("narrow/client_insert");
        benchmark::RegisterBenchmark(name.c_str(), [s3](benchmark::State& state) { client_work(state, s3); })
            ->ArgName("batch")
            ->Arg(10'000)
            ->Arg(100'000)
            ->MeasureProcessCPUTime()
            ->Iterations(3)
            ->Unit(benchmark::kMillisecond);
    }
    // A batch of 100,000 rows (8.7 MB of CSV) in parts of 1 MiB, zstd level 1, uploaded one at a
    // time or four at once while the next part is written: the wall time of a pass, against the
    // local server as it is and with each PUT held 150 ms.
    static constexpr S3Case zstd1{"zstd1", redsink::s3::Compression::zstd, 1};
    for (const bool held : {false, true})
        for (const std::size_t concurrency : {1, 4}) {
            const auto name = std::string("narrow/parts_s3_zstd1") + (held ? "_held150ms" : "") + "_uploads" +
                              std::to_string(concurrency);
            const Parts parts{
                .part_bytes = std::uint64_t{1} << 20, .concurrency = concurrency, .marker = held ? "-slow-put" : ""};
            benchmark::RegisterBenchmark(
                name.c_str(),
                [parts](benchmark::State& state) { client_work(state, &zstd1, parts, "narrow_client_s3_parts"); })
                ->ArgName("batch")
                ->Arg(100'000)
                ->UseRealTime()
                ->Iterations(3)
                ->Unit(benchmark::kMillisecond);
        }
    // 100,000 rows in batches of 10,000, each COPY taking 100 ms (a cluster's, which the stand-in
    // does not run): each batch uploaded when its turn comes, or staged ahead while the batch
    // before is in its transaction (CopyOptions::stage_ahead); wall time of a pass, against the
    // local server as it is and with each PUT held 150 ms.
    for (const bool held : {false, true})
        for (const bool ahead : {false, true}) {
            const auto name = std::string("narrow/ahead_s3_zstd1_copy100ms") + (held ? "_held150ms" : "") +
                              (ahead ? "_ahead" : "_in_turn");
            const Parts parts{.marker = held ? "-slow-put" : "", .ahead = ahead, .copy_ms = 100};
            benchmark::RegisterBenchmark(
                name.c_str(),
                [parts](benchmark::State& state) { client_work(state, &zstd1, parts, "narrow_client_s3_ahead"); })
                ->ArgName("batch")
                ->Arg(10'000)
                ->UseRealTime()
                ->Iterations(3)
                ->Unit(benchmark::kMillisecond);
        }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
