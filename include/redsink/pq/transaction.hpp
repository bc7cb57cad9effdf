#pragma once

#include <redsink/pq/connection.hpp>

#include <functional>
#include <string>
#include <utility>

namespace redsink::pq {

// BEGIN on construction; COMMIT on commit(); ROLLBACK when destroyed uncommitted (errors of
// that ROLLBACK are swallowed: a lost session has rolled back already). In pipeline mode BEGIN
// and COMMIT travel with the other statements, and commit() receives everything still in flight
// before it returns: when it returns, the transaction has committed.
class Transaction final {
public:
    explicit Transaction(Connection& conn) : conn_(&conn) {
        if (conn.pipelined())
            conn.send({.form = Request::Form::simple, .sql = &begin_sql()});
        else
            conn.exec(begin_sql());
    }

    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    Transaction(Transaction&&) = delete;
    Transaction& operator=(Transaction&&) = delete;

    ~Transaction() {
        if (conn_ == nullptr || !conn_->is_open()) return;
        conn_->leave_pipeline();
        try {
            if (conn_->in_transaction()) conn_->exec(rollback_sql());
        } catch (...) {
        }
    }

    [[nodiscard]] Connection& connection() const noexcept { return *conn_; }
    [[nodiscard]] bool active() const noexcept { return conn_ != nullptr; }

    // Commits; fails when the server answers COMMIT with ROLLBACK (an earlier statement failed).
    // In pipeline mode, `completed` sees each statement still in flight as it completes.
    // `sent` runs once COMMIT is on its way and before its answer is read (a test seam).
    void commit(const std::function<void(const Completion&)>& completed = {}, const std::function<void()>& sent = {}) {
        if (!conn_->pipelined()) {
            conn_->exec(commit_sql());
            conn_ = nullptr;
            return;
        }
        conn_->send({.form = Request::Form::simple, .sql = &commit_sql()});
        if (sent) sent();
        while (conn_->in_flight() > 0) {
            const auto done = conn_->receive();
            if (completed) completed(done);
        }
        conn_ = nullptr;
    }

    void rollback() {
        Connection* conn = std::exchange(conn_, nullptr);
        conn->leave_pipeline();
        conn->exec(rollback_sql());
    }

private:
    static const std::string& begin_sql() {
        static const std::string sql = "BEGIN";
        return sql;
    }
    static const std::string& commit_sql() {
        static const std::string sql = "COMMIT";
        return sql;
    }
    static const std::string& rollback_sql() {
        static const std::string sql = "ROLLBACK";
        return sql;
    }

    Connection* conn_;
};

}  // namespace redsink::pq
