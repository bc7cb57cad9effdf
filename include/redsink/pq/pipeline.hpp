#pragma once

#include <redsink/pq/connection.hpp>
#include <redsink/pq/error.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <utility>

namespace redsink::pq {

// Statements in flight on one connection (libpq's pipeline mode): each is sent without waiting
// for the one before, and their results come back in order. The server parses and executes one
// while the next travels. At most `depth` statements are in flight: sending one more first waits
// for the oldest, whose Completion goes to the handler (with the tag it was sent with). The first
// error aborts the rest and is thrown by the call that received it, after the pipeline is
// drained, so the connection goes on. Destroyed early, it drops what is in flight and leaves
// pipeline mode. Statements sent and strings passed must outlive their results.
class Pipeline final {
public:
    using Handler = std::function<void(const Completion&)>;
    static constexpr std::size_t unbounded = static_cast<std::size_t>(-1);

    explicit Pipeline(Connection& conn, std::size_t depth = unbounded, Handler handler = {})
        : conn_(&conn), depth_(depth), handler_(std::move(handler)) {
        conn.enter_pipeline();
    }

    Pipeline(const Pipeline&) = delete;
    Pipeline& operator=(const Pipeline&) = delete;

    ~Pipeline() { conn_->leave_pipeline(); }

    [[nodiscard]] std::size_t in_flight() const noexcept { return conn_->in_flight(); }

    // Any request (Connection::send); `tag` comes back with its Completion.
    void send(const Request& request, std::uint32_t tag = 0) {
        conn_->send(request, tag);
        if (conn_->in_flight() > depth_) handle(conn_->receive());
    }

    // One execution of a prepared statement.
    void send_prepared(const std::string& name, std::span<const char* const> values, std::uint32_t tag = 0) {
        send({.form = Request::Form::prepared, .sql = &conn_->prepared_text(name), .name = &name, .values = values},
             tag);
    }

    // A statement without parameters.
    void send(const std::string& sql, std::uint32_t tag = 0) {
        send({.form = Request::Form::simple, .sql = &sql}, tag);
    }

    // Waits for the oldest statement in flight; returns its affected rows.
    std::size_t receive() {
        const auto done = conn_->receive();
        handle(done);
        return done.rows;
    }

    // Receives every result still in flight; returns their rows.
    std::size_t drain() {
        std::size_t rows = 0;
        while (conn_->in_flight() > 0) rows += receive();
        return rows;
    }

    // Receives every result still in flight, then leaves pipeline mode; returns their rows.
    std::size_t finish() {
        const auto rows = drain();
        conn_->leave_pipeline();
        return rows;
    }

private:
    void handle(const Completion& done) const {
        if (handler_) handler_(done);
    }

    Connection* conn_;
    std::size_t depth_;
    Handler handler_;
};

}  // namespace redsink::pq
