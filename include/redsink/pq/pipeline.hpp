#pragma once

#include <redsink/pq/connection.hpp>
#include <redsink/pq/error.hpp>

#include <cstddef>
#include <span>
#include <string>

namespace redsink::pq {

// Statements in flight on one connection (libpq's pipeline mode): each is sent without waiting
// for the one before, and their results come back in order. The server parses and executes one
// while the next travels. The first error aborts the rest and is thrown by receive() or finish(),
// after the pipeline is drained, so the connection goes on. Destroyed early, it drains what is in
// flight and leaves pipeline mode. Statements sent and strings passed must outlive their results.
class Pipeline final {
public:
    explicit Pipeline(Connection& conn) : conn_(&conn) { conn.enter_pipeline(); }

    Pipeline(const Pipeline&) = delete;
    Pipeline& operator=(const Pipeline&) = delete;

    ~Pipeline() { conn_->leave_pipeline(); }

    [[nodiscard]] std::size_t in_flight() const noexcept { return conn_->in_flight(); }

    // One execution of a prepared statement.
    void send_prepared(const std::string& name, std::span<const char* const> values) {
        conn_->send(
            {.form = Request::Form::prepared, .sql = &conn_->prepared_text(name), .name = &name, .values = values});
    }

    // A statement without parameters.
    void send(const std::string& sql) { conn_->send({.form = Request::Form::simple, .sql = &sql}); }

    // Waits for the oldest statement in flight; returns its affected rows.
    std::size_t receive() { return conn_->receive().rows; }

    // Receives every result still in flight, then leaves pipeline mode; returns their rows.
    std::size_t finish() {
        std::size_t rows = 0;
        while (conn_->in_flight() > 0) rows += receive();
        conn_->leave_pipeline();
        return rows;
    }

private:
    Connection* conn_;
};

}  // namespace redsink::pq
