#pragma once

#include <redsink/detail/batch.hpp>
#include <redsink/encode.hpp>
#include <redsink/policies/plan.hpp>
#include <redsink/pq/connection.hpp>
#include <redsink/pq/pipeline.hpp>
#include <redsink/sql/dml.hpp>

#include <algorithm>
#include <bit>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace redsink::detail {

struct RetryPolicy {
    int max_attempts = 5;
    std::chrono::milliseconds backoff{100};
    std::chrono::milliseconds backoff_max{10'000};
};

// What one applied batch did.
struct ApplyResult {
    std::size_t inserted = 0;
    std::size_t deleted = 0;
    std::size_t retries = 0;
    std::size_t reconnects = 0;
    std::chrono::nanoseconds db_time{};
};

// Describes the events of a batch for error messages: "12 events, partition 3 offsets 100-111".
[[nodiscard]] inline std::string describe_events(const std::vector<Position>& positions) {
    std::string out = std::to_string(positions.size()) + " events";
    std::vector<std::pair<std::int32_t, std::pair<std::int64_t, std::int64_t>>> ranges;
    for (const auto& position : positions) {
        auto found = std::find_if(ranges.begin(), ranges.end(),
                                  [&](const auto& range) { return range.first == position.partition; });
        if (found == ranges.end()) {
            ranges.push_back({position.partition, {position.offset, position.offset}});
        } else {
            found->second.first = std::min(found->second.first, position.offset);
            found->second.second = std::max(found->second.second, position.offset);
        }
    }
    for (std::size_t i = 0; i < ranges.size() && i < 8; ++i)
        out += (i == 0 ? ", " : "; ") + std::string("partition ") + std::to_string(ranges[i].first) + " offsets " +
               std::to_string(ranges[i].second.first) + "-" + std::to_string(ranges[i].second.second);
    if (ranges.size() > 8) out += "; ...";
    return out;
}

// Writes reduced batches to one table over one connection: each batch in one transaction, with
// the dialect's plan, retried after transient failures.
class TableWriter {
public:
    TableWriter(pq::Connection conn, ApplyPlan plan, bool direct_append, RetryPolicy retry)
        : conn_(std::move(conn)), plan_(std::move(plan)), direct_append_(direct_append), retry_(retry) {}

    [[nodiscard]] pq::Connection& connection() noexcept { return conn_; }
    // Whether an append batch without deletes goes straight into the target by COPY, which can
    // take its rows while they are being encoded (EncodedBatch::encode_until).
    [[nodiscard]] bool streams_direct_append() const noexcept { return direct_append_ && !redshift(); }
    [[nodiscard]] const ApplyPlan& plan() const noexcept { return plan_; }

    // Writes the batch in one transaction; `result` counts what happened, also when it throws.
    void apply(EncodedBatch& batch, ApplyResult& result) {
        for (int attempt = 1;; ++attempt) {
            const auto start = std::chrono::steady_clock::now();
            try {
                apply_once(batch, result);
                result.db_time += std::chrono::steady_clock::now() - start;
                return;
            } catch (const BadValue&) {
                throw;
            } catch (const Error& error) {
                result.db_time += std::chrono::steady_clock::now() - start;
                if (!error.retryable() || attempt >= retry_.max_attempts) {
                    try {
                        batch.ensure_encoded(batch.staged.size());  // for the error's account of the batch
                    } catch (const BadValue&) {
                    }
                    throw located(error, batch, attempt);
                }
                ++result.retries;
                std::this_thread::sleep_for(backoff(attempt));
            }
        }
    }

private:
    static constexpr std::size_t copy_flush_bytes = std::size_t{1} << 20;
    static constexpr std::size_t statement_param_bytes = sql::max_statement_bytes - (std::size_t{1} << 20);
    static constexpr std::size_t max_chunk_rows = 1000;
    static constexpr std::size_t pipeline_depth = 4;
    static constexpr std::size_t encode_ahead = 256;  // rows encoded at a time while a COPY streams

    [[nodiscard]] std::chrono::milliseconds backoff(int attempt) const {
        auto delay = retry_.backoff;
        for (int i = 1; i < attempt && delay < retry_.backoff_max; ++i) delay *= 2;
        return std::min(delay, retry_.backoff_max);
    }

    [[nodiscard]] bool redshift() const noexcept { return plan_.dialect() == Dialect::redshift; }

    // Session state (the stage, prepared statements) is redone after every reconnect.
    void ensure_session(ApplyResult& result) {
        if (!conn_.is_open()) {
            conn_.reconnect();
            ++result.reconnects;
        }
        if (session_ == conn_.session()) return;
        stage_names_.clear();
        target_names_.clear();
        conn_.exec(sql::create_stage_sql(plan_.record_table(), false));
        stage_dirty_ = false;
        session_ = conn_.session();
    }

    // What a statement's affected rows count as.
    enum class Counts { nothing, inserted, deleted };

    // One batch, one transaction, sent as one pipeline: BEGIN, the rows, the plan's statements
    // and COMMIT travel without waiting for each other's answers.
    void apply_once(EncodedBatch& batch, ApplyResult& result) {
        ensure_session(result);
        const bool direct = direct_append_ && batch.staged_deletes == 0;
        if (!(direct && !redshift())) batch.ensure_encoded(batch.staged.size());
        select_rows(batch, !direct);
        if (direct && !redshift()) {
            // One COPY is atomic on its own: no transaction to open and commit.
            result.inserted = rows_.empty() ? 0 : copy_rows(batch, false);
            result.deleted = 0;
            return;
        }
        if (!direct && stage_dirty_) {
            // Emptied before the transaction: TRUNCATE commits on Redshift, and DELETE would leave
            // the stage's dead rows to every later batch. The stage is this session's own.
            conn_.exec(sql::clear_stage_sql());
            stage_dirty_ = false;
        }
        inserted_ = 0;
        deleted_ = 0;
        try {
            if (redshift()) {
                plan_chunks(batch, !direct);
                pq::Pipeline pipeline(conn_);
                send(pipeline, begin_sql(), Counts::nothing);
                if (direct) {
                    send(pipeline, lock_sql_, Counts::nothing);
                    send_chunks(pipeline, batch, false);
                } else {
                    stage_dirty_ = true;
                    send_chunks(pipeline, batch, true);
                    send(pipeline, lock_sql_, Counts::nothing);
                    send_plan(pipeline, batch);
                }
                send(pipeline, commit_sql(), Counts::nothing);
                while (pipeline.in_flight() > 0) receive(pipeline);
                pipeline.finish();
            } else {
                conn_.exec(begin_sql());
                stage_dirty_ = true;
                copy_rows(batch, true);
                pq::Pipeline pipeline(conn_);
                send_plan(pipeline, batch);
                send(pipeline, commit_sql(), Counts::nothing);
                while (pipeline.in_flight() > 0) receive(pipeline);
                pipeline.finish();
            }
        } catch (...) {
            // A failed statement leaves the transaction open and aborted.
            if (conn_.in_transaction()) {
                try {
                    conn_.exec("ROLLBACK");
                } catch (...) {
                }
            }
            throw;
        }
        result.inserted = inserted_;
        result.deleted = deleted_;
    }

    static const std::string& begin_sql() {
        static const std::string sql = "BEGIN";
        return sql;
    }
    static const std::string& commit_sql() {
        static const std::string sql = "COMMIT";
        return sql;
    }

    void send(pq::Pipeline& pipeline, const std::string& statement, Counts counts) {
        pipeline.send(statement);
        counts_.push_back(counts);
        if (pipeline.in_flight() > pipeline_depth) receive(pipeline);
    }

    void receive(pq::Pipeline& pipeline) {
        const auto rows = pipeline.receive();
        const auto counts = counts_.front();
        counts_.pop_front();
        if (counts == Counts::inserted) inserted_ += rows;
        if (counts == Counts::deleted) deleted_ += rows;
    }

    // The plan's statements: deletes first, then inserts, each when the batch has rows of its kind.
    void send_plan(pq::Pipeline& pipeline, const EncodedBatch& batch) {
        if (batch.staged_deletes > 0)
            for (const auto& statement : plan_.delete_statements()) send(pipeline, statement, Counts::deleted);
        if (batch.staged_inserts > 0)
            for (const auto& statement : plan_.insert_statements())
                send(pipeline, statement, statement.starts_with("INSERT") ? Counts::inserted : Counts::nothing);
    }

    // The rows to send: every staged row into the stage, or the inserts straight into the target.
    void select_rows(const EncodedBatch& batch, bool to_stage) {
        rows_.clear();
        for (const auto& row : batch.staged)
            if (to_stage || row.op != sql::op_delete) rows_.push_back(row);
    }

    std::size_t copy_rows(EncodedBatch& batch, bool to_stage) {
        const auto table = to_stage ? sql::quote_identifier(sql::stage_table) : plan_.target();
        const auto sql = sql::copy_sql(table, plan_.record_columns(), to_stage);
        auto copy = conn_.copy_in(sql);
        copy_buffer_.clear();
        for (std::size_t i = 0; i < rows_.size(); ++i) {
            const auto& row = rows_[i];
            if (i % encode_ahead == 0) batch.ensure_encoded(std::min(rows_.size(), i + encode_ahead));
            if (to_stage) {
                copy_buffer_.push_back(row.op);
                copy_buffer_.push_back('\t');
            }
            for (std::size_t column = 0; column < batch.columns; ++column) {
                if (column > 0) copy_buffer_.push_back('\t');
                append_copy_field(copy_buffer_, batch.params, row.event * batch.columns + column);
            }
            copy_buffer_.push_back('\n');
            if (copy_buffer_.size() >= copy_flush_bytes) {
                copy.write(copy_buffer_);
                copy_buffer_.clear();
            }
        }
        copy.write(copy_buffer_);
        try {
            return copy.finish();
        } catch (const Error& error) {
            copy_error_row_ = copy_line(error);
            throw;
        }
    }

    // The row of rows_ that a COPY error's "line N" names.
    [[nodiscard]] std::optional<std::size_t> copy_line(const Error& error) const {
        const auto& detail = error.detail();
        const auto at = detail.find(", line ");
        if (at == std::string::npos) return std::nullopt;
        std::size_t line = 0;
        const char* begin = detail.data() + at + 7;
        const auto parsed = std::from_chars(begin, detail.data() + detail.size(), line);
        if (parsed.ec != std::errc{} || line == 0 || line > rows_.size()) return std::nullopt;
        return line - 1;
    }

    // Splits rows_ into multi-row INSERTs of a few shapes, and prepares those shapes (before the
    // pipeline starts: preparing waits for its answer). Full chunks have the most rows a
    // statement may bind, the rest powers of two: a handful of shapes, each parsed once per
    // session, which is also what Redshift's compiled-query cache needs.
    void plan_chunks(const EncodedBatch& batch, bool to_stage) {
        const std::size_t per_row = batch.columns + (to_stage ? 1 : 0);
        const std::size_t full = std::min(max_chunk_rows, sql::max_rows_per_insert(per_row));
        chunks_.clear();
        for (std::size_t first = 0; first < rows_.size();) {
            const std::size_t left = rows_.size() - first;
            std::size_t count = left < full ? std::bit_floor(left) : full;
            while (count > 1 && chunk_bytes(batch, first, count) > statement_param_bytes)
                count = std::bit_floor(count - 1);
            if (chunk_bytes(batch, first, 1) > statement_param_bytes)
                throw BadValue("(row)", "its values take more than 15 MB, too much for one statement",
                               plan_.table().name.display(), batch.positions[rows_[first].event]);
            chunks_.emplace_back(first, count);
            first += count;
        }
        for (const auto& [first, count] : chunks_) (void)prepared_insert(to_stage, count);
    }

    void send_chunks(pq::Pipeline& pipeline, const EncodedBatch& batch, bool to_stage) {
        for (const auto& [first, count] : chunks_) {
            values_.clear();
            for (std::size_t i = first; i < first + count; ++i) {
                const auto& row = rows_[i];
                if (to_stage) values_.push_back(op_text(row.op));
                for (std::size_t column = 0; column < batch.columns; ++column)
                    values_.push_back(batch.value(row.event, column));
            }
            pipeline.send_prepared(prepared_insert(to_stage, count), values_);
            counts_.push_back(to_stage ? Counts::nothing : Counts::inserted);
            if (pipeline.in_flight() > pipeline_depth) receive(pipeline);
        }
    }

    [[nodiscard]] static const char* op_text(char op) noexcept {
        return op == sql::op_delete ? "d" : op == sql::op_deleted_insert ? "x" : "i";
    }

    [[nodiscard]] std::size_t chunk_bytes(const EncodedBatch& batch, std::size_t first, std::size_t count) const {
        std::size_t bytes = 0;
        for (std::size_t i = first; i < first + count; ++i) bytes += batch.row_bytes[rows_[i].event] + 2;
        return bytes;
    }

    // One prepared statement per chunk shape (a power of two rows): few shapes, parsed once per
    // session, which is also what Redshift's compiled-query cache needs.
    const std::string& prepared_insert(bool to_stage, std::size_t rows) {
        auto& names = to_stage ? stage_names_ : target_names_;
        if (names.size() <= rows) names.resize(rows + 1);
        auto& name = names[rows];
        if (name.empty()) {
            auto fresh = std::string(to_stage ? "redsink_stage_" : "redsink_target_") + std::to_string(rows);
            const auto table = to_stage ? sql::quote_identifier(sql::stage_table) : plan_.target();
            const auto per_row = plan_.record_columns().size() + (to_stage ? 1 : 0);
            conn_.prepare(fresh, sql::insert_values_sql(table, plan_.record_columns(), to_stage, rows, plan_.dialect()),
                          static_cast<int>(per_row * rows));
            name = std::move(fresh);
        }
        return name;
    }

    // The error as the caller sees it: with the table, the batch's events and, where the server
    // named a COPY line, the event at fault.
    [[nodiscard]] Error located(const Error& error, const EncodedBatch& batch, int attempts) {
        std::string context = "writing " + describe_events(batch.positions) + " to " + plan_.table().name.display();
        if (copy_error_row_ && *copy_error_row_ < rows_.size())
            context += ", event at " + to_string(batch.positions[rows_[*copy_error_row_].event]);
        copy_error_row_.reset();
        if (error.retryable()) context += ", after " + std::to_string(attempts) + " attempts";
        if (!error.context().empty()) context += "; " + error.context();
        return Error(error.kind(), error.sqlstate(), error.message(), error.detail(), context);
    }

    pq::Connection conn_;
    ApplyPlan plan_;
    bool direct_append_;
    RetryPolicy retry_;
    std::uint64_t session_ = 0;
    bool stage_dirty_ = false;  // the stage may hold an earlier batch's rows
    std::string lock_sql_ = sql::lock_table_sql(plan_.table());
    std::deque<Counts> counts_;  // of the statements in flight
    std::size_t inserted_ = 0;
    std::size_t deleted_ = 0;
    std::vector<std::string> stage_names_;
    std::vector<std::string> target_names_;
    std::vector<StagedRow> rows_;
    std::vector<std::pair<std::size_t, std::size_t>> chunks_;  // (first row, rows)
    std::vector<const char*> values_;
    std::string copy_buffer_;
    std::optional<std::size_t> copy_error_row_;
};

}  // namespace redsink::detail
