#pragma once

#include <redsink/pq/connection.hpp>
#include <redsink/pq/error.hpp>
#include <redsink/pq/request.hpp>

#include <libpq-fe.h>

#include <climits>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace redsink::pq {

// An open COPY ... FROM STDIN. write() sends data in COPY text format; finish() ends it and
// surfaces the server's verdict. Destroyed unfinished, it aborts the COPY.
class CopyIn final {
public:
    CopyIn(const CopyIn&) = delete;
    CopyIn& operator=(const CopyIn&) = delete;
    CopyIn(CopyIn&& other) noexcept : conn_(std::exchange(other.conn_, nullptr)), sql_(std::move(other.sql_)) {}
    CopyIn& operator=(CopyIn&&) = delete;
    ~CopyIn() {
        if (conn_ != nullptr) abort("COPY abandoned by the client");
    }

    void write(std::string_view data) {
        PGconn* native = conn_->native_handle();
        while (!data.empty()) {
            const auto part = data.substr(0, static_cast<std::size_t>(INT_MAX / 2));
            if (PQputCopyData(native, part.data(), static_cast<int>(part.size())) != 1) fail();
            data.remove_prefix(part.size());
        }
    }

    // Ends the COPY; returns the rows copied.
    std::size_t finish() {
        if (PQputCopyEnd(conn_->native_handle(), nullptr) != 1) fail();
        Connection* conn = std::exchange(conn_, nullptr);
        return conn->collect(sql_).affected_rows();
    }

private:
    friend class Connection;
    CopyIn(Connection& conn, std::string sql) : conn_(&conn), sql_(std::move(sql)) {}

    [[noreturn]] void fail() {
        auto error = conn_->error_from(nullptr, sql_);
        conn_->notify(TracePoint::failed, sql_);
        abort("COPY failed on the client");
        throw error;
    }

    void abort(const char* reason) noexcept {
        if (conn_ == nullptr) return;
        Connection* conn = std::exchange(conn_, nullptr);
        if (PQputCopyEnd(conn->native_handle(), reason) == 1) {
            while (PGresult* raw = PQgetResult(conn->native_handle())) PQclear(raw);
        }
    }

    Connection* conn_;
    std::string sql_;
};

inline CopyIn Connection::copy_in(const std::string& sql) {
    const auto started = run({.form = Request::Form::simple, .sql = &sql});
    if (PQresultStatus(started.native_handle()) != PGRES_COPY_IN)
        throw Error(ErrorKind::other, {}, "the statement did not start a COPY FROM STDIN", {}, statement_context(sql));
    return CopyIn(*this, sql);
}

inline std::size_t Connection::copy_from_stdin(const std::string& sql, std::string_view data) {
    auto copy = copy_in(sql);
    copy.write(data);
    return copy.finish();
}

}  // namespace redsink::pq
