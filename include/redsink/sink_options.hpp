#pragma once

#include <redsink/position.hpp>
#include <redsink/pq/connection.hpp>
#include <redsink/sql/table.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace redsink {

// Numeric knobs and names; the behaviour is in the policies.
struct SinkOptions {
    std::string schema = "public";
    std::string table;  // required
    std::size_t batch_rows = 10'000;
    std::size_t batch_bytes = std::size_t{64} << 20;  // estimated from the rows' sizes
    std::chrono::milliseconds flush_interval{1'000};
    int max_attempts = 5;  // per batch, counting the first
    std::chrono::milliseconds retry_backoff{100};
    std::chrono::milliseconds retry_backoff_max{10'000};
    std::size_t tasks = 1;         // writers, each with its own connection (docs/tasks.md)
    sql::RedshiftLayout layout{};  // only for tables the sink creates, only in the redshift dialect
    pq::TraceHook trace{};         // sees every statement's SQL text (never values), from the first
};

// What one writer (task) did.
struct WriterStats {
    std::size_t events = 0;              // events it was given
    std::size_t rows_inserted = 0;       // rows inserted into the target
    std::size_t rows_deleted = 0;        // rows deleted (or flagged, with soft_delete)
    std::size_t batches = 0;             // batches committed
    std::size_t retries = 0;             // attempts repeated after transient failures
    std::size_t reconnects = 0;          // sessions opened again after one was lost
    std::chrono::nanoseconds db_time{};  // time spent writing batches, retries included
};

struct SinkStats {
    std::size_t events_in = 0;  // events given to write()
    std::size_t rows_inserted = 0;
    std::size_t rows_deleted = 0;
    std::size_t batches = 0;
    std::size_t retries = 0;
    std::size_t reconnects = 0;
    std::chrono::nanoseconds db_time{};
    Positions acknowledged;            // the last positions given to on_commit
    std::vector<WriterStats> writers;  // per task; the totals above add them up
};

}  // namespace redsink
