#pragma once

#include <redsink/pq/connection.hpp>

#include <string_view>
#include <utility>

namespace redsink::pq {

// BEGIN on construction; COMMIT on commit(); ROLLBACK when destroyed uncommitted (errors of
// that ROLLBACK are swallowed: a lost session has rolled back already).
class Transaction final {
public:
    explicit Transaction(Connection& conn) : conn_(&conn) { conn_->exec("BEGIN"); }

    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    Transaction(Transaction&&) = delete;
    Transaction& operator=(Transaction&&) = delete;

    ~Transaction() {
        if (conn_ == nullptr || !conn_->is_open()) return;
        try {
            conn_->exec("ROLLBACK");
        } catch (...) {
        }
    }

    [[nodiscard]] Connection& connection() const noexcept { return *conn_; }
    [[nodiscard]] bool active() const noexcept { return conn_ != nullptr; }

    void commit() {
        Connection* conn = std::exchange(conn_, nullptr);
        const auto result = conn->exec("COMMIT");
        // PostgreSQL answers COMMIT of a failed transaction with ROLLBACK, not an error.
        if (std::string_view(PQcmdStatus(result.native_handle())) == "ROLLBACK")
            throw Error(ErrorKind::other, {}, "COMMIT rolled back: an earlier statement of the transaction failed");
    }

    void rollback() {
        Connection* conn = std::exchange(conn_, nullptr);
        conn->exec("ROLLBACK");
    }

private:
    Connection* conn_;
};

}  // namespace redsink::pq
