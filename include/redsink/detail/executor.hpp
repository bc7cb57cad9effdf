#pragma once

#include <redsink/bulk_load.hpp>
#include <redsink/detail/encoded_batch.hpp>
#include <redsink/detail/positions.hpp>
#include <redsink/detail/transaction_plan.hpp>
#include <redsink/encode.hpp>
#include <redsink/policies/plan.hpp>
#include <redsink/pq/connection.hpp>
#include <redsink/pq/transaction.hpp>
#include <redsink/sink_options.hpp>
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

// What one transaction did to the target.
struct ApplyCounts {
    std::size_t inserted = 0;
    std::size_t deleted = 0;
};

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

// Runs a batch's steps (plan_transaction) on one connection, as one pipeline: every statement is
// sent without waiting for the one before, and COPY, which cannot travel in a pipeline, is a
// barrier. Keeps the session's state: whether the stage exists and what it holds, and the
// prepared INSERT shapes, prepared again after DDL or ROLLBACK as Redshift requires (the ones it
// forgot are DEALLOCATEd before the next transaction). One attempt; retrying is Applier's.
class Executor {
public:
    struct Options {
        std::size_t pipeline_depth = 4;  // statements in flight before the oldest is waited for
        std::size_t max_chunk_rows = 1000;
        std::size_t stage_recreate_batches = 8;           // Redshift: batches a stage holds before it is recreated
        std::vector<std::string> session_settings;        // sent once to every new session (sql::session_settings_sql)
        std::optional<sql::TableSpec> dead_letter_table;  // where a dead_letters step writes
        std::optional<PositionsTarget> positions;         // exactly_once: where a positions step writes
        SessionHook session_hook{};                       // called at SessionPoint::commit_sent
        std::shared_ptr<BulkLoadSession> bulk{};          // Redshift's bulk path (bulk_copy steps), with its threshold
        std::size_t bulk_min_rows = 0;
    };

    Executor(pq::Connection conn, const ApplyPlan& plan, Options options)
        : conn_(std::move(conn)), plan_(&plan), options_(std::move(options)) {}

    // Whether a batch with `rows` rows to stage takes the bulk path.
    [[nodiscard]] bool takes_bulk(std::size_t rows) const noexcept {
        return options_.bulk && plan_->dialect() == Dialect::redshift && rows > 0 && rows >= options_.bulk_min_rows;
    }

    [[nodiscard]] pq::Connection& connection() noexcept { return conn_; }

    // Opens the session again if it was lost, and gives a new session its settings; true when it
    // opened one again.
    bool ensure_session() {
        const bool reopened = !conn_.is_open();
        if (reopened) conn_.reconnect();
        if (session_ != conn_.session()) {
            committed_ = {};
            shapes_.clear();
            stale_.clear();
            for (const auto& setting : options_.session_settings) conn_.exec(setting);
            session_ = conn_.session();
        }
        return reopened;
    }

    // The stage as the last commit of this session left it.
    [[nodiscard]] StageState stage() const noexcept {
        return {committed_.exists, committed_.rows > 0,
                committed_.exists && committed_.batches >= options_.stage_recreate_batches};
    }

    // The last run failed because the server refused its bulk COPY (not for a transient reason).
    [[nodiscard]] bool copy_refused() const noexcept { return copy_refused_; }

    // The event of the batch that a failed COPY named by its line, if it did.
    [[nodiscard]] std::optional<std::uint32_t> failed_event() const noexcept { return failed_event_; }

    [[nodiscard]] bool writes_positions() const noexcept { return options_.positions.has_value(); }

    // exactly_once: the session was lost after the last run sent COMMIT, so whether it committed
    // is not known: verify_commit() tells, before the batch is written again.
    [[nodiscard]] bool commit_uncertain() const noexcept { return uncertain_; }

    // After a lost COMMIT answer, on a session opened again: reads the positions table. The counts
    // of the batch when its transaction committed (every partition it reached holds its offset,
    // written in this sink's epoch), nothing when it did not. Throws the fenced error when a newer
    // sink holds the identity (with Fencing::partition: claimed one of the batch's partitions), and
    // the read's own error (the answer stays unknown) when it fails.
    [[nodiscard]] std::optional<ApplyCounts> verify_commit() {
        auto& target = *options_.positions;
        if (!target.partitions) {
            const auto fence = conn_.exec(read_fence_sql(target.table), target.source);
            if (fence.empty() || fence.as<std::int64_t>(0, 0) != target.epoch) throw fenced_error(conn_, target);
        }
        const auto rows = conn_.exec(read_positions_sql(target.table), target.source);
        uncertain_ = false;
        bool committed = true;
        for (const auto& [partition, offset] : reached_) {
            // Fencing::partition: each partition's row in the epoch this sink holds it with.
            const auto epoch = target.partitions ? claimed_epoch(partition) : target.epoch;
            bool found = false;
            for (int row = 0; row < rows.rows() && !found; ++row) {
                if (rows.as<std::int32_t>(row, 0) != partition) continue;
                // Claimed by a newer sink: whether this batch committed before the claim no longer
                // matters (the newer sink resumed from the table); this one commits nothing more.
                if (target.partitions && rows.as<std::int64_t>(row, 2) != epoch)
                    throw partition_fenced_error(conn_, target, partition, epoch);
                found = rows.as<std::int64_t>(row, 1) >= offset && rows.as<std::int64_t>(row, 2) == epoch;
            }
            if (!found) committed = false;
        }
        if (!committed) return std::nullopt;
        target.known.insert(inserted_.begin(), inserted_.end());
        return counts_;
    }

    // Runs the steps once, with the batch's staged rows or `rows` of them. On failure the
    // transaction is rolled back and the error thrown; the session's state is then as the last
    // commit left it, as it is after steps that end in ROLLBACK (a trial).
    ApplyCounts run(const std::vector<Step>& steps, const EncodedBatch& batch,
                    std::optional<std::span<const StagedRow>> rows = std::nullopt) {
        failed_event_.reset();
        copy_refused_ = false;
        counts_ = {};
        commit_sent_ = false;
        uncertain_ = false;
        letter_sql_.clear();
        attempt_ = committed_;
        staged_ = rows ? *rows : std::span<const StagedRow>(batch.staged);
        // Whatever happens, what the bulk loader staged for this attempt is removed afterwards.
        struct Discard {
            BulkLoadSession* session = nullptr;
            ~Discard() {
                if (session != nullptr) session->discard();
            }
        } discard;
        try {
            for (const auto& step : steps)
                if (step.kind == Step::Kind::bulk_copy) {
                    discard.session = &bulk_session();
                    stage_bulk(batch, step);
                    break;
                }
            execute(steps, batch);
        } catch (...) {
            // The ROLLBACK (the transaction's destructor) undid the stage's DDL, and makes Redshift
            // forget the session's prepared statements.
            forget_shapes();
            uncertain_ = commit_sent_ && options_.positions && !conn_.is_open();
            throw;
        }
        if (!steps.empty() && steps.back().kind == Step::Kind::rollback) {
            forget_shapes();
        } else {
            committed_ = attempt_;
            if (options_.positions) options_.positions->known.insert(inserted_.begin(), inserted_.end());
        }
        return counts_;
    }

private:
    // The session's stage: whether it exists, the rows it holds, and how many batches it held since
    // it was created (each leaves its rows behind, deleted: temporary tables are never vacuumed).
    struct Stage {
        bool exists = false;
        std::size_t rows = 0;
        std::size_t batches = 0;
    };

    struct Shape {
        Step::Into into;
        std::size_t rows;
        std::string name;
    };

    void execute(const std::vector<Step>& steps, const EncodedBatch& batch) {
        // Whatever happens, the connection leaves pipeline mode (after the transaction's rollback).
        struct LeavePipeline {
            pq::Connection& conn;
            ~LeavePipeline() { conn.leave_pipeline(); }
        } leave{conn_};
        const auto pipelined = [&] { conn_.enter_pipeline(); };
        if (!stale_.empty()) {
            pipelined();
            deallocate_stale();
        }
        std::optional<pq::Transaction> transaction;
        for (const auto& step : steps) {
            switch (step.kind) {
                case Step::Kind::begin:
                    pipelined();
                    transaction.emplace(conn_);
                    break;
                case Step::Kind::lock:
                case Step::Kind::statement:
                    pipelined();
                    send(step.sql, step.counts);
                    change_stage(step.stage);
                    break;
                case Step::Kind::fill:
                    if (step.method == Step::Method::copy) {
                        drain();
                        conn_.leave_pipeline();
                        copy_rows(batch, step);
                    } else {
                        pipelined();
                        insert_rows(batch, step);
                    }
                    if (step.into == Step::Into::stage) {
                        attempt_.rows = rows_.size();
                        ++attempt_.batches;
                    }
                    break;
                case Step::Kind::bulk_copy:
                    drain();
                    conn_.leave_pipeline();
                    copy_bulk(step);
                    if (step.into == Step::Into::stage) {
                        attempt_.rows = rows_.size();
                        ++attempt_.batches;
                    }
                    break;
                case Step::Kind::dead_letters:
                    pipelined();
                    insert_dead_letters(batch);
                    break;
                case Step::Kind::positions:
                    pipelined();
                    write_positions(batch);
                    drain();
                    check_positions(transaction);
                    break;
                case Step::Kind::commit:
                    pipelined();
                    commit_sent_ = true;
                    transaction->commit([this](const pq::Completion& done) { account(done); },
                                        [this] {
                                            if (options_.session_hook && options_.positions)
                                                options_.session_hook(conn_, SessionPoint::commit_sent);
                                        });
                    break;
                case Step::Kind::rollback:
                    drain();
                    transaction->rollback();
                    break;
            }
        }
        drain();
    }

    // What the transaction leaves of the stage if it commits.
    void change_stage(Step::Stage effect) {
        switch (effect) {
            case Step::Stage::untouched: return;
            case Step::Stage::creates: attempt_ = {.exists = true}; break;
            case Step::Stage::drops: attempt_ = {}; break;
            case Step::Stage::empties: attempt_.rows = 0; return;
        }
        forget_shapes();  // DDL
    }

    void send(const std::string& sql, RowCount counts) {
        conn_.send({.form = pq::Request::Form::simple, .sql = &sql}, static_cast<std::uint32_t>(counts));
        if (conn_.in_flight() > options_.pipeline_depth) account(conn_.receive());
    }

    void account(const pq::Completion& done) {
        if (done.tag == fence_tag) fence_rows_ += done.rows;
        if (done.tag == position_update_tag && done.rows != 1) missing_rows_ = true;
        if (done.tag >= claimed_update_tag && done.rows != 1 && !fenced_index_)
            fenced_index_ = done.tag - claimed_update_tag;
        const auto counts = static_cast<RowCount>(done.tag);
        if (counts == RowCount::inserted) counts_.inserted += done.rows;
        if (counts == RowCount::deleted) counts_.deleted += done.rows;
    }

    void drain() {
        while (conn_.in_flight() > 0) account(conn_.receive());
    }

    // The statements Redshift forgot, freed before the next transaction, each in an implicit
    // transaction of its own (a sync after it): one that the server no longer holds fails alone.
    void deallocate_stale() {
        std::deque<std::string> statements;
        for (const auto& name : stale_) {
            statements.push_back(sql::deallocate_sql(name));
            conn_.send({.form = pq::Request::Form::simple, .sql = &statements.back()}, 0, true);
            conn_.sync();
        }
        stale_.clear();
        drain();
    }

    void forget_shapes() {
        for (auto& shape : shapes_) {
            conn_.forget_prepared(shape.name);
            stale_.push_back(std::move(shape.name));
        }
        shapes_.clear();
    }

    // The prepared INSERT of `rows` rows into the stage or the target, prepared in the pipeline
    // (after the DDL sent before it) the first time a session needs it.
    const std::string& prepared(Step::Into into, std::size_t rows) {
        for (const auto& shape : shapes_)
            if (shape.into == into && shape.rows == rows) return shape.name;
        const bool to_stage = into == Step::Into::stage;
        auto name = std::string(to_stage ? "redsink_stage_" : "redsink_target_") + std::to_string(rows) + "_" +
                    std::to_string(++generation_);
        const auto table = to_stage ? sql::quote_identifier(sql::stage_table) : plan_->target();
        const auto per_row = plan_->record_columns().size() + (to_stage ? 2 : 0);
        conn_.send_prepare(name,
                           sql::insert_values_sql(table, plan_->record_columns(), to_stage, rows, plan_->dialect()),
                           static_cast<int>(per_row * rows));
        shapes_.push_back({into, rows, std::move(name)});
        return shapes_.back().name;
    }

    void insert_rows(const EncodedBatch& batch, const Step& step) {
        const bool to_stage = step.into == Step::Into::stage;
        select_rows(batch, to_stage);
        const auto chunks = chunk_rows(row_bytes_, batch.columns + (to_stage ? 2 : 0), options_.max_chunk_rows);
        for (const auto& [first, count] : chunks) {
            values_.clear();
            for (std::size_t i = first; i < first + count; ++i) {
                const auto& row = rows_[i];
                if (to_stage) {
                    values_.push_back(op_text(row.op));
                    values_.push_back(batch.keep(row.row()));
                }
                for (std::size_t column = 0; column < batch.columns; ++column)
                    values_.push_back(batch.value(row.row(), column));
            }
            const auto& name = prepared(step.into, count);
            conn_.send({.form = pq::Request::Form::prepared,
                        .sql = &conn_.prepared_text(name),
                        .name = &name,
                        .values = values_},
                       static_cast<std::uint32_t>(step.counts));
            if (conn_.in_flight() > options_.pipeline_depth) account(conn_.receive());
        }
    }

    void copy_rows(const EncodedBatch& batch, const Step& step) {
        const bool to_stage = step.into == Step::Into::stage;
        select_rows(batch, to_stage);
        const auto table = to_stage ? sql::quote_identifier(sql::stage_table) : plan_->target();
        auto copy = conn_.copy_in(sql::copy_sql(table, plan_->record_columns(), to_stage));
        buffer_.clear();
        for (const auto& row : rows_) {
            if (to_stage) {
                buffer_.push_back(row.op);
                buffer_.push_back('\t');
                // '0' and '1' only: nothing to escape.
                const char* keep = batch.keep(row.row());
                buffer_.append(keep != nullptr ? keep : "\\N");
                buffer_.push_back('\t');
            }
            for (std::size_t column = 0; column < batch.columns; ++column) {
                if (column > 0) buffer_.push_back('\t');
                append_copy_field(buffer_, batch.params, row.row() * batch.columns + column);
            }
            buffer_.push_back('\n');
            if (buffer_.size() >= copy_flush_bytes) {
                copy.write(buffer_);
                buffer_.clear();
            }
        }
        copy.write(buffer_);
        try {
            account({static_cast<std::uint32_t>(step.counts), copy.finish()});
        } catch (const Error& error) {
            failed_event_ = copy_line(error);
            throw;
        }
    }

    [[nodiscard]] BulkLoadSession& bulk_session() const {
        if (!options_.bulk)
            throw Error(ErrorKind::other, {}, "a batch was planned for the bulk path, but the sink has no bulk loader");
        return *options_.bulk;
    }

    // Before BEGIN: the rows the bulk_copy step loads, handed to the bulk loader (an upload).
    void stage_bulk(const EncodedBatch& batch, const Step& step) {
        const bool to_stage = step.into == Step::Into::stage;
        select_rows(batch, to_stage);
        bulk_events_.clear();
        bulk_ops_.clear();
        for (const auto& row : rows_) {
            bulk_events_.push_back(row.row());
            bulk_ops_.push_back(row.op);
        }
        bulk_session().stage(BulkRows(batch.params, batch.columns, bulk_events_, bulk_ops_, to_stage, &batch.keeps));
    }

    // In the transaction: the bulk loader's COPY, and its count checked against the rows sent. A
    // mismatch fails the attempt (rolled back: nothing is acknowledged).
    void copy_bulk(const Step& step) {
        const bool to_stage = step.into == Step::Into::stage;
        const auto table = to_stage ? sql::quote_identifier(sql::stage_table) : plan_->target();
        if (bulk_columns_.empty() || bulk_columns_stage_ != to_stage) {
            bulk_columns_.clear();
            if (to_stage) {
                bulk_columns_.push_back(sql::quote_identifier(sql::op_column));
                bulk_columns_.push_back(sql::quote_identifier(sql::keep_column));
            }
            for (const auto& column : plan_->record_columns())
                bulk_columns_.push_back(sql::quote_identifier(column.name));
            bulk_columns_stage_ = to_stage;
        }
        std::uint64_t loaded = 0;
        try {
            loaded = bulk_session().copy(conn_, {table, bulk_columns_});
        } catch (const Error& error) {
            // The server refused the COPY itself (Redshift names no row: its load errors are in
            // sys_load_error_detail), not a transient failure.
            copy_refused_ = !error.sqlstate().empty() && !error.retryable();
            throw;
        }
        if (loaded != rows_.size())
            throw Error(ErrorKind::other, {},
                        "COPY into " + (to_stage ? table : plan_->table().name.display()) + " loaded " +
                            std::to_string(loaded) + " rows (pg_last_copy_count()), but the batch sent " +
                            std::to_string(rows_.size()) + "; the transaction was rolled back");
        account({static_cast<std::uint32_t>(step.counts), static_cast<std::size_t>(loaded)});
    }

    // The batch's dead letters, into their table: multi-row INSERTs with bound values, each within
    // the rows and bytes a statement may carry. Unprepared: dead letters are rare.
    void insert_dead_letters(const EncodedBatch& batch) {
        if (!options_.dead_letter_table)
            throw Error(ErrorKind::other, {}, "a batch holds dead letters, but the sink has no dead-letter table");
        const auto& spec = *options_.dead_letter_table;
        const auto& letters = batch.dead_letters;
        const auto target = plan_->table().name.display();
        const std::size_t most =
            std::min<std::size_t>(options_.max_chunk_rows, sql::max_rows_per_insert(spec.columns.size()));
        std::deque<std::string> numbers;
        for (std::size_t first = 0; first < letters.size();) {
            std::size_t count = 0;
            std::size_t bytes = 0;
            while (first + count < letters.size() && count < most) {
                const auto& letter = letters[first + count];
                const auto row = target.size() + letter.column.size() + letter.reason.size() +
                                 (letter.values ? letter.values->size() : 0) + 128;
                if (count > 0 && bytes + row > max_statement_value_bytes) break;
                bytes += row;
                ++count;
            }
            values_.clear();
            numbers.clear();
            const auto text_or_null = [](const std::string& text) { return text.empty() ? nullptr : text.c_str(); };
            for (std::size_t i = first; i < first + count; ++i) {
                const auto& letter = letters[i];
                values_.push_back(target.c_str());
                values_.push_back(numbers.emplace_back(std::to_string(letter.position.partition)).c_str());
                values_.push_back(numbers.emplace_back(std::to_string(letter.position.offset)).c_str());
                values_.push_back(to_string(letter.op).data());
                values_.push_back(text_or_null(letter.column));
                values_.push_back(text_or_null(letter.sqlstate));
                values_.push_back(letter.reason.c_str());
                values_.push_back(letter.values ? letter.values->c_str() : nullptr);
                values_.push_back(letter.recorded_at.c_str());
            }
            const auto& text = letter_sql_.emplace_back(
                sql::insert_values_sql(spec.name.quoted(), spec.columns, false, count, spec.dialect));
            conn_.send({.form = pq::Request::Form::params, .sql = &text, .values = values_});
            if (conn_.in_flight() > options_.pipeline_depth) account(conn_.receive());
            first += count;
        }
    }

    // The highest offset the batch reached in each partition (its dead letters included), each sent
    // as an UPDATE of the partition's row (an INSERT the first time), then the fence check.
    void write_positions(const EncodedBatch& batch) {
        const auto& target = *options_.positions;
        reached_.clear();
        inserted_.clear();
        const auto reach = [&](const Position& position) {
            for (auto& [partition, offset] : reached_)
                if (partition == position.partition) {
                    offset = std::max(offset, position.offset);
                    return;
                }
            reached_.emplace_back(position.partition, position.offset);
        };
        for (const auto& position : batch.positions) reach(position);
        for (const auto& letter : batch.dead_letters) reach(letter.position);
        fence_rows_ = 0;
        missing_rows_ = false;
        fenced_index_.reset();
        position_sql_.clear();
        numbers_.clear();
        const auto now = utc_timestamp_text();
        if (target.partitions) {
            // Fencing::partition: each partition's row, only while it holds this sink's epoch for it.
            const auto& text = position_sql_.emplace_back(update_claimed_position_sql(target.table));
            for (std::size_t i = 0; i < reached_.size(); ++i) {
                const auto [partition, offset] = reached_[i];
                values_ = {target.source.c_str(),
                           numbers_.emplace_back(std::to_string(partition)).c_str(),
                           numbers_.emplace_back(std::to_string(offset)).c_str(),
                           numbers_.emplace_back(std::to_string(claimed_epoch(partition))).c_str(),
                           target.writer.c_str(),
                           now.c_str()};
                conn_.send({.form = pq::Request::Form::params, .sql = &text, .values = values_},
                           claimed_update_tag + static_cast<std::uint32_t>(i));
                if (conn_.in_flight() > options_.pipeline_depth) account(conn_.receive());
            }
            return;
        }
        const auto epoch = std::to_string(target.epoch);
        for (const auto& [partition, offset] : reached_) {
            const bool known = target.known.contains(partition);
            if (!known) inserted_.push_back(partition);
            const auto& text = position_sql_.emplace_back(known ? update_position_sql(target.table)
                                                                : insert_position_sql(target.table));
            values_ = {target.source.c_str(),
                       numbers_.emplace_back(std::to_string(partition)).c_str(),
                       numbers_.emplace_back(std::to_string(offset)).c_str(),
                       epoch.c_str(),
                       target.writer.c_str(),
                       now.c_str()};
            conn_.send({.form = pq::Request::Form::params, .sql = &text, .values = values_},
                       known ? position_update_tag : 0);
            if (conn_.in_flight() > options_.pipeline_depth) account(conn_.receive());
        }
        const auto& check = position_sql_.emplace_back(check_fence_sql(target.table));
        values_ = {target.source.c_str(), epoch.c_str()};
        conn_.send({.form = pq::Request::Form::params, .sql = &check, .values = values_}, fence_tag);
    }

    // Fencing::partition: the epoch this sink holds `partition` with (Sink::write takes no event
    // of a partition it did not claim).
    [[nodiscard]] std::int64_t claimed_epoch(std::int32_t partition) const {
        const auto& target = *options_.positions;
        if (const auto epoch = target.partitions->find(partition)) return *epoch;
        throw Error(ErrorKind::other, {},
                    "the sink for " + target.identity() + " holds no claim on partition " + std::to_string(partition) +
                        "; the batch was rolled back");
    }

    // After every answer of the transaction so far: a fenced sink rolls back and fails, and so
    // does a batch whose partition row is gone.
    void check_positions(std::optional<pq::Transaction>& transaction) {
        const auto& target = *options_.positions;
        if (target.partitions) {
            if (!fenced_index_) return;
            transaction.reset();  // ROLLBACK
            const auto partition = reached_.at(*fenced_index_).first;
            throw partition_fenced_error(conn_, target, partition, claimed_epoch(partition));
        }
        if (fence_rows_ == 1 && !missing_rows_) return;
        transaction.reset();  // ROLLBACK
        if (fence_rows_ != 1) throw fenced_error(conn_, target);
        throw Error(ErrorKind::other, {},
                    "a row of " + target.table.display() + " that the sink for " + target.identity() +
                        " wrote is gone: the positions table was changed under the sink; the batch was rolled back");
    }

    // The rows a fill sends: every staged row into the stage, the inserts into the target.
    void select_rows(const EncodedBatch& batch, bool to_stage) {
        rows_.clear();
        row_bytes_.clear();
        for (const auto& row : staged_) {
            if (!to_stage && row.op == sql::op_delete) continue;
            rows_.push_back(row);
            row_bytes_.push_back(batch.row_bytes[row.row()]);
        }
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

    // Completion tags of the positions step, beside RowCount's.
    static constexpr std::uint32_t fence_tag = 100;
    static constexpr std::uint32_t position_update_tag = 101;
    static constexpr std::uint32_t claimed_update_tag = 1000;  // + the partition's index in reached_

    // Small enough that the server starts on the first rows while the rest are formatted.
    static constexpr std::size_t copy_flush_bytes = std::size_t{1} << 16;

    pq::Connection conn_;
    const ApplyPlan* plan_;
    Options options_;
    std::uint64_t session_ = 0;
    Stage committed_;
    Stage attempt_;
    std::vector<Shape> shapes_;
    std::vector<std::string> stale_;
    std::uint64_t generation_ = 0;
    ApplyCounts counts_;
    std::span<const StagedRow> staged_;  // the rows this run sends
    std::vector<StagedRow> rows_;
    std::vector<std::uint32_t> row_bytes_;
    std::vector<const char*> values_;
    std::deque<std::string> letter_sql_;  // the dead-letter INSERTs of this run, named in errors
    std::string buffer_;
    std::vector<std::uint32_t> bulk_events_;  // the rows of a bulk_copy step, as BulkRows sees them
    std::vector<char> bulk_ops_;
    std::vector<std::string> bulk_columns_;  // quoted, the op column first into the stage
    bool bulk_columns_stage_ = false;
    bool copy_refused_ = false;
    std::optional<std::uint32_t> failed_event_;
    // exactly_once: what the last run's positions step wrote, and what its answers said.
    std::vector<std::pair<std::int32_t, std::int64_t>> reached_;
    std::vector<std::int32_t> inserted_;  // partitions whose row it inserted
    std::deque<std::string> position_sql_;
    std::deque<std::string> numbers_;
    std::size_t fence_rows_ = 0;
    bool missing_rows_ = false;
    std::optional<std::size_t> fenced_index_;  // Fencing::partition: the first partition whose update found no row
    bool commit_sent_ = false;
    bool uncertain_ = false;
};

}  // namespace redsink::detail
