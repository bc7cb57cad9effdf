#pragma once

#include <redsink/pq/connection.hpp>
#include <redsink/pq/error.hpp>
#include <redsink/pq/result.hpp>

#include <libpq-fe.h>

#include <cstddef>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <utility>

namespace redsink::pq {

// Several prepared statements in flight on one connection (libpq's pipeline mode): each is sent
// without waiting for the one before, and their results come back in order. The server parses
// and executes one while the next travels. Inside a transaction; an error aborts the rest and
// is thrown by receive() or finish(). Destroyed early, it drains what is in flight.
class Pipeline final {
public:
    explicit Pipeline(Connection& conn) : conn_(&conn) {
        if (PQenterPipelineMode(conn.native_handle()) != 1) throw conn.error_from(nullptr, "pipeline mode");
    }

    Pipeline(const Pipeline&) = delete;
    Pipeline& operator=(const Pipeline&) = delete;

    ~Pipeline() {
        if (conn_ == nullptr) return;
        try {
            finish();
        } catch (...) {
        }
    }

    [[nodiscard]] std::size_t in_flight() const noexcept { return sent_.size(); }

    // Sends one execution of a prepared statement, and asks the server to send its result now.
    void send_prepared(const std::string& name, std::span<const char* const> values) {
        const auto& sql = conn_->prepared_text(name);
        conn_->notify(TracePoint::sending, sql);
        PGconn* native = conn_->native_handle();
        if (PQsendQueryPrepared(native, name.c_str(), static_cast<int>(values.size()), values.data(), nullptr, nullptr,
                                0) != 1 ||
            PQsendFlushRequest(native) != 1 || PQflush(native) < 0)
            fail(conn_->error_from(nullptr, sql), sql);
        sent_.push_back(&sql);
    }

    // Sends a statement without parameters. `sql` must outlive the pipeline.
    void send(const std::string& sql) {
        conn_->notify(TracePoint::sending, sql);
        PGconn* native = conn_->native_handle();
        if (PQsendQueryParams(native, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) != 1 ||
            PQsendFlushRequest(native) != 1 || PQflush(native) < 0)
            fail(conn_->error_from(nullptr, sql), sql);
        sent_.push_back(&sql);
    }

    // Waits for the oldest statement in flight; returns its affected rows.
    std::size_t receive() {
        const std::string* sql = sent_.front();
        sent_.pop_front();
        PGconn* native = conn_->native_handle();
        std::size_t rows = 0;
        std::optional<Error> error;
        while (PGresult* raw = PQgetResult(native)) {
            Result result(raw);
            const auto status = PQresultStatus(raw);
            if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
                rows += result.affected_rows();
            else if (!error)
                error = conn_->error_from(raw, *sql);
        }
        if (!error && PQstatus(native) == CONNECTION_BAD) error = conn_->error_from(nullptr, *sql);
        if (error) fail(std::move(*error), *sql);
        conn_->notify(TracePoint::done, *sql);
        return rows;
    }

    // Receives every result still in flight, then leaves pipeline mode; returns their rows.
    std::size_t finish() {
        std::size_t rows = 0;
        while (!sent_.empty()) rows += receive();
        leave();
        return rows;
    }

private:
    // Drains the pipeline after an error, leaves pipeline mode, and throws the error.
    [[noreturn]] void fail(Error error, std::string_view sql) {
        conn_->notify(TracePoint::failed, sql);
        sent_.clear();
        leave();
        throw error;
    }

    void leave() noexcept {
        if (conn_ == nullptr) return;
        PGconn* native = std::exchange(conn_, nullptr)->native_handle();
        if (native == nullptr || PQstatus(native) == CONNECTION_BAD) return;
        if (PQpipelineSync(native) == 1) {
            // Everything up to and including the sync point: results of aborted statements too.
            for (int nulls = 0; nulls < 2;) {
                PGresult* raw = PQgetResult(native);
                if (raw == nullptr) {
                    ++nulls;
                    continue;
                }
                nulls = 0;
                const bool synced = PQresultStatus(raw) == PGRES_PIPELINE_SYNC;
                PQclear(raw);
                if (synced) break;
                if (PQstatus(native) == CONNECTION_BAD) return;
            }
        }
        PQexitPipelineMode(native);
    }

    Connection* conn_;
    std::deque<const std::string*> sent_;
};

}  // namespace redsink::pq
