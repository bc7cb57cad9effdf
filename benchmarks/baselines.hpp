#pragma once

#include "handwritten.hpp"
#include "pg.hpp"

#include <libpq-fe.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <deque>
#include <map>
#include <span>
#include <string>
#include <vector>

// The loaders people write by hand with libpq and fmt, each as a competent engineer would
// write it: values always bound as text parameters, buffers reused, statements built once.
namespace redsink_bench::hand {

template <class R>
class Loader {
public:
    Loader(const std::string& conninfo, std::string table) : conn_(pg::connect(conninfo)), table_(std::move(table)) {}

    // (a) One INSERT per row, all in one transaction.
    void per_row_insert(std::span<const R> rows) {
        const auto sql = insert_sql<R>(table_, 1);
        pg::exec(conn(), "BEGIN");
        for (const auto& row : rows) {
            params_.clear();
            Table<R>::format(row, params_);
            send(sql, params_);
        }
        pg::exec(conn(), "COMMIT");
    }

    // (b) The typical loader: multi-row INSERTs of rows_per_statement rows, PQexecParams.
    void multi_row_insert(std::span<const R> rows) {
        pg::exec(conn(), "BEGIN");
        insert_chunks(table_, rows);
        pg::exec(conn(), "COMMIT");
    }

    // (c) The expert loader: the multi-row INSERT prepared once per session, executed per chunk
    // in pipeline mode with a few chunks in flight.
    void pipelined_insert(std::span<const R> rows) {
        // PQprepare waits for its answer, which pipeline mode forbids: both chunk sizes first.
        const auto& full = prepared(rows_per_statement<R>);
        const auto& last = prepared(rows.size() % rows_per_statement<R>);
        pg::exec(conn(), "BEGIN");
        if (PQenterPipelineMode(conn()) != 1) throw std::runtime_error("could not enter pipeline mode");
        std::size_t in_flight = 0;
        for (std::size_t first = 0; first < rows.size(); first += rows_per_statement<R>) {
            const auto chunk = rows.subspan(first, std::min(rows_per_statement<R>, rows.size() - first));
            const auto& name = chunk.size() == rows_per_statement<R> ? full : last;
            params_.clear();
            for (const auto& row : chunk) Table<R>::format(row, params_);
            if (PQsendQueryPrepared(conn(), name.c_str(), params_.count(), params_.values(), nullptr, nullptr, 0) !=
                    1 ||
                PQpipelineSync(conn()) != 1)
                throw std::runtime_error("pipelined INSERT: " + std::string(PQerrorMessage(conn())));
            if (++in_flight == pipeline_depth) {
                receive_pipelined();
                --in_flight;
            }
        }
        for (; in_flight > 0; --in_flight) receive_pipelined();
        if (PQexitPipelineMode(conn()) != 1) throw std::runtime_error("could not leave pipeline mode");
        pg::exec(conn(), "COMMIT");
    }

    // (d) Redshift's documented merge, one transaction per batch: a TEMP stage table like the
    // target, multi-row INSERTs into it, DELETE ... USING the stage, INSERT ... SELECT, drop.
    void staged_upsert(std::span<const R> rows, std::size_t batch_rows) {
        const auto stage = "bench_stage";
        const auto delete_sql = fmt::format("DELETE FROM {0} USING {1} WHERE {0}.id = {1}.id", table_, stage);
        const auto insert_sql = fmt::format("INSERT INTO {} SELECT * FROM {}", table_, stage);
        for (std::size_t first = 0; first < rows.size(); first += batch_rows) {
            const auto batch = rows.subspan(first, std::min(batch_rows, rows.size() - first));
            pg::exec(conn(), "BEGIN");
            pg::exec(conn(), fmt::format("CREATE TEMP TABLE {} (LIKE {})", stage, table_));
            insert_chunks(stage, batch);
            pg::exec(conn(), delete_sql);
            pg::exec(conn(), insert_sql);
            pg::exec(conn(), fmt::format("DROP TABLE {}", stage));
            pg::exec(conn(), "COMMIT");
        }
    }

    // (f) One COPY, so one transaction, per batch: what a loader that commits as often as the Sink
    // pays on the server (PostgreSQL only).
    void copy_per_batch(std::span<const R> rows, std::size_t batch_rows) {
        for (std::size_t first = 0; first < rows.size(); first += batch_rows)
            copy(rows.subspan(first, std::min(batch_rows, rows.size() - first)));
    }

    // (e) COPY FROM STDIN in text format (PostgreSQL only): the physical-limit reference.
    void copy(std::span<const R> rows) {
        pg::check(conn(), PQexec(conn(), fmt::format("COPY {} ({}) FROM STDIN", table_, Table<R>::column_list).c_str()),
                  PGRES_COPY_IN, "COPY");
        copy_.clear();
        for (const auto& row : rows) {
            Table<R>::format(row, copy_);
            if (copy_.bytes() >= copy_flush_bytes) flush_copy();
        }
        flush_copy();
        if (PQputCopyEnd(conn(), nullptr) != 1) throw std::runtime_error("COPY end: " + error());
        pg::check(conn(), PQgetResult(conn()), PGRES_COMMAND_OK, "COPY");
        pg::Result end(PQgetResult(conn()), &PQclear);
    }

    [[nodiscard]] PGconn* conn() const { return conn_.get(); }

private:
    // Enough statements in flight to hide the round trip; more only holds more memory.
    static constexpr std::size_t pipeline_depth = 4;
    static constexpr std::size_t copy_flush_bytes = std::size_t{1} << 20;

    [[nodiscard]] std::string error() const { return PQerrorMessage(conn()); }

    void send(const std::string& sql, TextParams& params) {
        pg::check(conn(),
                  PQexecParams(conn(), sql.c_str(), params.count(), nullptr, params.values(), nullptr, nullptr, 0),
                  PGRES_COMMAND_OK, "INSERT");
    }

    void insert_chunks(std::string_view table, std::span<const R> rows) {
        for (std::size_t first = 0; first < rows.size(); first += rows_per_statement<R>) {
            const auto chunk = rows.subspan(first, std::min(rows_per_statement<R>, rows.size() - first));
            const auto& sql = statement(table, chunk.size());
            params_.clear();
            for (const auto& row : chunk) Table<R>::format(row, params_);
            send(sql, params_);
        }
    }

    // The INSERT text for a chunk size, built once: the full size and the last, shorter chunk.
    const std::string& statement(std::string_view table, std::size_t rows) {
        auto& sql = statements_[{std::string(table), rows}];
        if (sql.empty()) sql = insert_sql<R>(table, rows);
        return sql;
    }

    const std::string& prepared(std::size_t rows) {
        auto& name = prepared_[rows];
        if (name.empty() && rows > 0) {
            name = fmt::format("bench_insert_{}", rows);
            pg::check(conn(), PQprepare(conn(), name.c_str(), insert_sql<R>(table_, rows).c_str(), 0, nullptr),
                      PGRES_COMMAND_OK, "PREPARE");
        }
        return name;
    }

    // The oldest statement's result, then the NULL that ends it, then its sync point.
    void receive_pipelined() {
        pg::check(conn(), PQgetResult(conn()), PGRES_COMMAND_OK, "pipelined INSERT");
        if (PGresult* end = PQgetResult(conn()); end != nullptr) {
            PQclear(end);
            throw std::runtime_error("pipelined INSERT: more than one result");
        }
        pg::check(conn(), PQgetResult(conn()), PGRES_PIPELINE_SYNC, "pipeline sync");
    }

    void flush_copy() {
        if (copy_.bytes() == 0) return;
        if (PQputCopyData(conn(), copy_.data(), static_cast<int>(copy_.bytes())) != 1)
            throw std::runtime_error("COPY data: " + error());
        copy_.clear();
    }

    pg::Conn conn_;
    std::string table_;
    TextParams params_;
    CopyRows copy_;
    std::map<std::pair<std::string, std::size_t>, std::string> statements_;
    std::map<std::size_t, std::string> prepared_;
};

}  // namespace redsink_bench::hand
