#pragma once

#include <redsink/bulk_load.hpp>
#include <redsink/detail/encoded_batch.hpp>
#include <redsink/detail/staged_rows.hpp>
#include <redsink/detail/step.hpp>
#include <redsink/encode.hpp>
#include <redsink/policies/plan.hpp>
#include <redsink/pq/connection.hpp>
#include <redsink/pq/pipeline.hpp>
#include <redsink/row_values.hpp>
#include <redsink/sql/dml.hpp>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace redsink::detail {

// Splits `rows` (with their encoded sizes) into multi-row INSERT chunks of a few shapes: full
// chunks of the most rows a statement may bind, the rest powers of two, each within `max_bytes`
// of values. A handful of shapes, each prepared once per session (and what Redshift's compiled-query
// cache needs). Returns (first row, rows) pairs.
[[nodiscard]] inline std::vector<std::pair<std::size_t, std::size_t>> chunk_rows(
    std::span<const std::uint32_t> row_bytes, std::size_t values_per_row, std::size_t max_rows = 1000,
    std::size_t max_bytes = max_statement_value_bytes) {
    const std::size_t full = std::max<std::size_t>(1, std::min(max_rows, sql::max_rows_per_insert(values_per_row)));
    const auto bytes = [&](std::size_t first, std::size_t count) {
        std::size_t total = 0;
        for (std::size_t i = first; i < first + count; ++i) total += row_bytes[i] + 2;
        return total;
    };
    std::vector<std::pair<std::size_t, std::size_t>> chunks;
    for (std::size_t first = 0; first < row_bytes.size();) {
        const std::size_t left = row_bytes.size() - first;
        std::size_t count = left < full ? std::bit_floor(left) : full;
        while (count > 1 && bytes(first, count) > max_bytes) count = std::bit_floor(count - 1);
        chunks.emplace_back(first, count);
        first += count;
    }
    return chunks;
}

// A fill step's rows on their way into the stage or the target, by the step's method: prepared
// multi-row INSERTs (a few shapes per session, prepared again after DDL or ROLLBACK as Redshift
// requires, the ones it forgot DEALLOCATEd before the next transaction), COPY FROM STDIN, or a
// bulk loader's upload (before BEGIN) and COPY (in the transaction), checked against the rows sent.
class RowLoader {
public:
    RowLoader(const ApplyPlan& plan, std::size_t max_chunk_rows, std::shared_ptr<BulkLoadSession> bulk)
        : plan_(&plan), max_chunk_rows_(max_chunk_rows), bulk_(std::move(bulk)) {}

    // What the bulk path offers: a session to upload through, or nothing.
    [[nodiscard]] BulkLoadSession* bulk() const noexcept { return bulk_.get(); }

    // The rows a fill sends, of `rows` (staged rows of the batch): every one into the stage, the
    // inserts into the target.
    void select(const EncodedBatch& batch, const StagedRows& staged, std::span<const StagedRow> rows, Step::Into into) {
        values_of_ = staged.values(batch);
        rows_.clear();
        row_bytes_.clear();
        for (const auto& row : rows) {
            if (into == Step::Into::target && row.op == sql::op_delete) continue;
            rows_.push_back(row);
            row_bytes_.push_back(staged.bytes(batch, row));
        }
    }
    [[nodiscard]] std::size_t rows() const noexcept { return rows_.size(); }

    // The selected rows as prepared multi-row INSERTs, each sent with `tag`.
    void insert(pq::Connection& conn, pq::Pipeline& pipeline, Step::Into into, std::uint32_t tag) {
        const bool to_stage = into == Step::Into::stage;
        const auto columns = values_of_.columns();
        for (const auto& [first, count] : chunk_rows(row_bytes_, columns + (to_stage ? 2 : 0), max_chunk_rows_)) {
            values_.clear();
            for (std::size_t i = first; i < first + count; ++i) {
                const auto& row = rows_[i];
                if (to_stage) {
                    values_.push_back(op_text(row.op));
                    values_.push_back(values_of_.keep(row.row()));
                }
                for (std::size_t column = 0; column < columns; ++column)
                    values_.push_back(values_of_.value(row.row(), column));
            }
            pipeline.send_prepared(prepared(conn, into, count), values_, tag);
        }
    }

    // The selected rows by COPY FROM STDIN (outside a pipeline); the rows it loaded. A refusal
    // that names its line names the row's event (failed_event).
    std::size_t copy(pq::Connection& conn, Step::Into into) {
        const bool to_stage = into == Step::Into::stage;
        auto copy = conn.copy_in(sql::copy_sql(table(to_stage), plan_->record_columns(), to_stage));
        buffer_.clear();
        for (const auto& row : rows_) {
            if (to_stage) {
                buffer_.push_back(row.op);
                buffer_.push_back('\t');
                // '0' and '1' only: nothing to escape.
                const char* keep = values_of_.keep(row.row());
                buffer_.append(keep != nullptr ? keep : "\\N");
                buffer_.push_back('\t');
            }
            for (std::size_t column = 0; column < values_of_.columns(); ++column) {
                if (column > 0) buffer_.push_back('\t');
                const auto [buffer, index] = values_of_.locate(row.row(), column);
                append_copy_field(buffer_, *buffer, index);
            }
            buffer_.push_back('\n');
            if (buffer_.size() >= copy_flush_bytes) {
                copy.write(buffer_);
                buffer_.clear();
            }
        }
        copy.write(buffer_);
        try {
            return copy.finish();
        } catch (const Error& error) {
            failed_event_ = copy_line(error);
            throw;
        }
    }

    // Before BEGIN: the selected rows handed to the bulk loader (an upload), unless they were
    // staged ahead (take_staged).
    void stage_bulk(Step::Into into) {
        const auto ahead = std::exchange(ahead_, std::nullopt);
        if (ahead && ahead->into == into && ahead->rows == rows_.size()) return;
        bulk_events_.clear();
        bulk_ops_.clear();
        for (const auto& row : rows_) {
            bulk_events_.push_back(row.row());
            bulk_ops_.push_back(row.op);
        }
        bulk_session().stage(BulkRows(values_of_, bulk_events_, bulk_ops_, into == Step::Into::stage));
    }

    // Takes the bulk session of `ahead`, whose last stage_bulk(into) uploaded the rows the next
    // select() of the same batch chooses: the next stage_bulk(into) of as many rows sends nothing.
    // `ahead` gets this loader's session in exchange, to stage the batch after.
    void take_staged(RowLoader& ahead, Step::Into into) noexcept {
        std::swap(bulk_, ahead.bulk_);
        ahead_ = Ahead{into, ahead.rows_.size()};
    }
    [[nodiscard]] bool holds_staged() const noexcept { return ahead_.has_value(); }
    // After an attempt: what the bulk session holds is removed, what was staged ahead with it.
    void discard_bulk() noexcept {
        ahead_.reset();
        if (bulk_) bulk_->discard();
    }

    // In the transaction: the bulk loader's COPY, its count checked against the rows sent (a
    // mismatch fails the attempt: rolled back, nothing acknowledged); the rows it loaded.
    std::size_t copy_bulk(pq::Connection& conn, Step::Into into) {
        const bool to_stage = into == Step::Into::stage;
        std::vector<std::string> columns;
        if (to_stage) {
            columns.push_back(sql::quote_identifier(sql::op_column));
            columns.push_back(sql::quote_identifier(sql::keep_column));
        }
        for (const auto& column : plan_->record_columns()) columns.push_back(sql::quote_identifier(column.name));
        const auto name = table(to_stage);
        std::uint64_t loaded = 0;
        try {
            loaded = bulk_session().copy(conn, {name, columns});
        } catch (const Error& error) {
            // The server refused the COPY itself (Redshift names no row: its load errors are in
            // sys_load_error_detail), not a transient failure.
            copy_refused_ = !error.sqlstate().empty() && !error.retryable();
            throw;
        }
        if (loaded != rows_.size())
            throw Error(ErrorKind::other, {},
                        "COPY into " + (to_stage ? name : plan_->table().name.display()) + " loaded " +
                            std::to_string(loaded) + " rows (pg_last_copy_count()), but the batch sent " +
                            std::to_string(rows_.size()) + "; the transaction was rolled back");
        return static_cast<std::size_t>(loaded);
    }

    // Before an attempt: nothing known about its failure yet.
    void begin_attempt() noexcept {
        failed_event_.reset();
        copy_refused_ = false;
    }
    // The last attempt failed because the server refused its bulk COPY (not for a transient reason).
    [[nodiscard]] bool copy_refused() const noexcept { return copy_refused_; }
    // The event of the batch that a failed COPY named by its line, if it did.
    [[nodiscard]] std::optional<std::uint32_t> failed_event() const noexcept { return failed_event_; }

    // A new session holds no prepared statement.
    void new_session() noexcept {
        shapes_.clear();
        stale_.clear();
    }
    // After DDL or ROLLBACK: Redshift forgot the prepared shapes; they are freed before the next
    // transaction (deallocate_stale) and prepared again when needed.
    void forget_shapes(pq::Connection& conn) {
        for (auto& shape : shapes_) {
            conn.forget_prepared(shape.name);
            stale_.push_back(std::move(shape.name));
        }
        shapes_.clear();
    }
    [[nodiscard]] bool holds_stale() const noexcept { return !stale_.empty(); }
    // Each DEALLOCATE in an implicit transaction of its own (a sync after it): one the server no
    // longer holds fails alone.
    void deallocate_stale(pq::Connection& conn, pq::Pipeline& pipeline) {
        std::deque<std::string> statements;
        for (const auto& name : stale_) {
            statements.push_back(sql::deallocate_sql(name));
            conn.send({.form = pq::Request::Form::simple, .sql = &statements.back()}, 0, true);
            conn.sync();
        }
        stale_.clear();
        pipeline.drain();
    }

private:
    struct Shape {
        Step::Into into;
        std::size_t rows;
        std::string name;
    };
    // What the bulk session holds, staged ahead: the rows of a fill into `into`.
    struct Ahead {
        Step::Into into;
        std::size_t rows;
    };

    [[nodiscard]] std::string table(bool to_stage) const {
        return to_stage ? sql::quote_identifier(sql::stage_table) : plan_->target();
    }

    [[nodiscard]] BulkLoadSession& bulk_session() const {
        if (!bulk_)
            throw Error(ErrorKind::other, {}, "a batch was planned for the bulk path, but the sink has no bulk loader");
        return *bulk_;
    }

    // The prepared INSERT of `rows` rows into the stage or the target, prepared in the pipeline
    // (after the DDL sent before it) the first time a session needs it.
    const std::string& prepared(pq::Connection& conn, Step::Into into, std::size_t rows) {
        for (const auto& shape : shapes_)
            if (shape.into == into && shape.rows == rows) return shape.name;
        const bool to_stage = into == Step::Into::stage;
        auto name = std::string(to_stage ? "redsink_stage_" : "redsink_target_") + std::to_string(rows) + "_" +
                    std::to_string(++generation_);
        const auto per_row = plan_->record_columns().size() + (to_stage ? 2 : 0);
        conn.send_prepare(
            name, sql::insert_values_sql(table(to_stage), plan_->record_columns(), to_stage, rows, plan_->dialect()),
            static_cast<int>(per_row * rows));
        shapes_.push_back({into, rows, std::move(name)});
        return shapes_.back().name;
    }

    // The event on the line that a COPY error names ("..., line N, ...").
    [[nodiscard]] std::optional<std::uint32_t> copy_line(const Error& error) const {
        const auto& detail = error.detail();
        const auto at = detail.find(", line ");
        if (at == std::string::npos) return std::nullopt;
        std::size_t line = 0;
        const char* begin = detail.data() + at + 7;
        const auto parsed = std::from_chars(begin, detail.data() + detail.size(), line);
        if (parsed.ec != std::errc{} || line == 0 || line > rows_.size()) return std::nullopt;
        return rows_[line - 1].event;
    }

    [[nodiscard]] static const char* op_text(char op) noexcept {
        return op == sql::op_delete ? "d" : op == sql::op_deleted_insert ? "x" : "i";
    }

    // Small enough that the server starts on the first rows while the rest are formatted.
    static constexpr std::size_t copy_flush_bytes = std::size_t{1} << 16;

    const ApplyPlan* plan_;
    std::size_t max_chunk_rows_;
    std::shared_ptr<BulkLoadSession> bulk_;
    std::vector<Shape> shapes_;
    std::vector<std::string> stale_;
    std::uint64_t generation_ = 0;
    RowValues values_of_;  // the values of the selected rows
    std::vector<StagedRow> rows_;
    std::vector<std::uint32_t> row_bytes_;
    std::vector<const char*> values_;
    std::string buffer_;
    std::vector<std::uint32_t> bulk_events_;  // the rows of a bulk COPY, as BulkRows sees them
    std::vector<char> bulk_ops_;
    std::optional<Ahead> ahead_;
    bool copy_refused_ = false;
    std::optional<std::uint32_t> failed_event_;
};

}  // namespace redsink::detail
