#pragma once

#include <redsink/encode.hpp>
#include <redsink/pq/connection.hpp>
#include <redsink/row_values.hpp>
#include <redsink/sql/table.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

// The seam between the engine and a bulk load path (Redshift's COPY from S3: redsink/s3/copy.hpp,
// target redsink::s3). The engine knows only these interfaces, so the core target needs no HTTP
// client: a sink takes a bulk loader through SinkOptions::bulk_load, and its tasks call it for the
// batches plan_transaction sends that way (docs/s3-copy.md).
namespace redsink {

// The rows of one COPY, as a bulk loader writes them: `rows()` rows of `columns()` values, the
// stage's op and keep columns first when `with_op()`. Each value is its encoded text (encode.hpp),
// or nullptr for NULL. A view of the batch: valid during the call it is given to.
class BulkRows {
public:
    // `rows`: the rows of `values` to send, in order, each with its op.
    BulkRows(RowValues values, std::span<const std::uint32_t> rows, std::span<const char> ops, bool with_op) noexcept
        : values_(values), rows_(rows), ops_(ops), with_op_(with_op) {}
    // `rows`: the rows of `params` (and of `keeps`, one keep text per row) to send, in order.
    BulkRows(const ParamBuffer& params, std::size_t record_columns, std::span<const std::uint32_t> rows,
             std::span<const char> ops, bool with_op, const ParamBuffer* keeps = nullptr) noexcept
        : BulkRows(RowValues(params, record_columns, keeps), rows, ops, with_op) {}

    [[nodiscard]] std::size_t rows() const noexcept { return rows_.size(); }
    [[nodiscard]] std::size_t columns() const noexcept { return values_.columns() + (with_op_ ? leading : 0); }
    [[nodiscard]] bool with_op() const noexcept { return with_op_; }
    // Value `column` of row `row`: with_op(), the op ("i", "d" or "x") and the keep text (NULL
    // unless the row keeps stored values) first, then the record's.
    [[nodiscard]] const char* value(std::size_t row, std::size_t column) const noexcept {
        if (with_op_) {
            if (column == 0) return op_text(ops_[row]);
            if (column == 1) return values_.keep(rows_[row]);
            column -= leading;
        }
        return values_.value(rows_[row], column);
    }
    [[nodiscard]] std::string_view view(std::size_t row, std::size_t column) const noexcept {
        if (with_op_) {
            if (column == 0) return op_text(ops_[row]);
            if (column == 1) {
                const char* keep = values_.keep(rows_[row]);
                return keep != nullptr ? std::string_view(keep) : std::string_view();
            }
            column -= leading;
        }
        return values_.view(rows_[row], column);
    }

private:
    static constexpr std::size_t leading = 2;  // op, keep
    [[nodiscard]] static const char* op_text(char op) noexcept { return op == 'd' ? "d" : op == 'x' ? "x" : "i"; }

    RowValues values_;
    std::span<const std::uint32_t> rows_;
    std::span<const char> ops_;
    bool with_op_;
};

// Where one COPY goes: the table (quoted) and its columns (quoted), in the order of the rows' values.
struct BulkTarget {
    std::string_view table{};
    std::span<const std::string> columns{};
};

// One task's bulk loads, used by one thread at a time. For a batch it sends that way, the executor
// calls stage() before the transaction begins, copy() in it (after LOCK and the stage's DDL), and
// discard() when the attempt is over, committed or not. When the loader stages ahead, stage() may
// run on a helper thread of the task while the task's other session is in a transaction; copy()
// and discard() follow on the task's thread.
class BulkLoadSession {
public:
    virtual ~BulkLoadSession() = default;
    // Writes the rows where the server's COPY reads them (an upload): outside the transaction, so
    // no lock is held meanwhile. Throws redsink::Error (transient when a later try may succeed).
    virtual void stage(const BulkRows& rows) = 0;
    // Loads what stage() wrote into `target` on `conn`, inside the batch's transaction; returns
    // the rows the server says it loaded (pg_last_copy_count()), which the executor checks.
    virtual std::uint64_t copy(pq::Connection& conn, const BulkTarget& target) = 0;
    // Removes what stage() wrote. Never throws: what it cannot remove, the next start's sweep does.
    virtual void discard() noexcept = 0;
};

// A bulk load path for a sink: how large a batch must be to take it, the sweep at start, and a
// session per task (two when it stages ahead). Shared by the sink's tasks: start() and session()
// are called before any task runs.
class BulkLoader {
public:
    virtual ~BulkLoader() = default;
    // Batches with at least this many rows to stage take the bulk path; smaller ones INSERT.
    [[nodiscard]] virtual std::size_t min_rows() const noexcept = 0;
    // Called when the sink starts, with its identity (schema.table, and source_name if any):
    // removes what an earlier run of the same sink left behind.
    virtual void start(std::string_view identity) = 0;
    [[nodiscard]] virtual std::unique_ptr<BulkLoadSession> session(std::size_t task) = 0;
    // True: each task asks for a second session, on which the batch queued behind the one in its
    // transaction is staged meanwhile (docs/s3-copy.md, "Staging ahead"). Two sessions of one task
    // are staged at once, so what they stage must not collide.
    [[nodiscard]] virtual bool stages_ahead() const noexcept { return false; }
};

}  // namespace redsink
